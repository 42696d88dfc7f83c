"""The command line's language: English or Chinese (``--lang``, ``TIERWISE_LANG``, locale)."""

from __future__ import annotations

import os
import sys

__all__ = ["CHOSEN", "lang", "t"]

CHOSEN: list[str | None] = [None]
"""The ``--lang`` given to this invocation (set by the app's callback)."""


def lang() -> str:
    """``zh`` or ``en``: ``--lang`` on the command line, else ``TIERWISE_LANG``, else locale."""
    if CHOSEN[0]:
        return "zh" if CHOSEN[0].lower().startswith("zh") else "en"
    argv = sys.argv[1:]
    for i, arg in enumerate(argv):
        if arg.startswith("--lang="):
            return "zh" if arg.split("=", 1)[1].lower().startswith("zh") else "en"
        if arg == "--lang" and i + 1 < len(argv):
            return "zh" if argv[i + 1].lower().startswith("zh") else "en"
    chosen = os.environ.get("TIERWISE_LANG")
    if chosen:
        return "zh" if chosen.lower().startswith("zh") else "en"
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def t(en: str, zh: str) -> str:
    """The text in the chosen language."""
    return zh if lang() == "zh" else en
