"""The ``tierwise`` command: thin commands that call the library.

Each module registers its commands on one Typer app; heavy libraries are imported inside the
commands, so ``tierwise --help`` starts fast.
"""

from __future__ import annotations

from tierwise.cli import (  # noqa: F401  (they register commands)
    backtest,
    clv,
    commands,
    entrance,
    flows,
    identity,
    importing,
    intention,
    members,
    plans,
    report,
    segments,
    sentiment,
    service,
    tags,
)
from tierwise.cli._app import app, main

__all__ = ["app", "main"]
