"""The Typer application, its global options and the entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tierwise import __version__
from tierwise.cli import _common

app = typer.Typer(
    name="tierwise",
    help="Customer tiering: lifecycle, RFM, value, behaviour and intention labels with evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        _common.out.print(f"tierwise {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _global(
    project: Annotated[
        Path | None,
        typer.Option("--project", "-p", help="Project folder, for every command that takes one."),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print version.")
    ] = False,
) -> None:
    """Customer tiering: lifecycle, RFM, value, behaviour and intention labels with evidence."""
    _common.GLOBAL_PROJECT[0] = project


def main() -> None:
    """Entry point of the ``tierwise`` command."""
    app()
