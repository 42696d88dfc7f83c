"""Saved segments: ``segments.yaml`` in the project folder, beside ``tierwise.yaml``.

Definitions are rules people write and review, like the schemes of the config: a plain file
can be read, diffed and kept in version control, and editing it never needs the store (so
``segment add`` does not wait for a running ``tierwise run``). What a segment held on each
day is data and lives in the store (see `tierwise.segments.membership`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from tierwise.errors import ConfigError
from tierwise.segments.language import SegmentError, closest, parse, segments_used

__all__ = ["SEGMENTS_FILE", "SavedSegment", "SegmentBook"]

SEGMENTS_FILE = "segments.yaml"
_NAME = re.compile(r"^[A-Za-z_\u4e00-\u9fff][A-Za-z0-9_\-\u4e00-\u9fff]*$")
_HEADER = (
    "# Saved segments of this tierwise project.\n"
    "# Edited by `tierwise segment add/remove`; hand edits are fine (check them with\n"
    "# `tierwise segment list`). See docs/segments.md for the language.\n"
)


@dataclass(frozen=True)
class SavedSegment:
    """A named segment expression."""

    name: str
    expr: str
    description: str = ""
    created_at: str = ""
    updated_at: str = ""
    builtin: bool = False
    """Shipped with tierwise (`tierwise.segments.builtin`), not written to the file."""


class SegmentBook:
    """The saved segments of a project folder.

    Parameters
    ----------
    directory : str or Path
        The project folder; the book is its ``segments.yaml`` (absent means none saved).
    """

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory) / SEGMENTS_FILE

    def load(self, *, builtin: bool = True) -> dict[str, SavedSegment]:
        """Every saved segment by name, in file order, then the built-in ones not redefined.

        ``builtin=False``: only the segments of the file.

        Raises
        ------
        ConfigError
            If the file is not valid YAML or an entry lacks its expression.
        """
        saved = self._load_file()
        if builtin:
            from tierwise.segments.builtin import BUILTIN_SEGMENTS

            saved.update({n: s for n, s in BUILTIN_SEGMENTS.items() if n not in saved})
        return saved

    def _load_file(self) -> dict[str, SavedSegment]:
        if not self.path.exists():
            return {}
        try:
            data = yaml.safe_load(self.path.read_text("utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{self.path}: not valid YAML: {exc}") from None
        entries = data.get("segments") if isinstance(data, dict) else None
        if entries is None:
            return {}
        if not isinstance(entries, dict):
            raise ConfigError(f"{self.path}: segments: expected a mapping of name: definition")
        out = {}
        for name, entry in entries.items():
            if isinstance(entry, str):
                entry = {"expr": entry}
            if not isinstance(entry, dict) or not isinstance(entry.get("expr"), str):
                raise ConfigError(f"{self.path}: segments.{name}: needs expr: '…'")
            unknown = set(entry) - {"expr", "description", "created_at", "updated_at"}
            if unknown:
                raise ConfigError(f"{self.path}: segments.{name}: unknown key(s) "
                                  f"{', '.join(sorted(unknown))}")  # fmt: skip
            out[str(name)] = SavedSegment(
                str(name), entry["expr"], str(entry.get("description") or ""),
                str(entry.get("created_at") or ""), str(entry.get("updated_at") or ""),
            )  # fmt: skip
        return out

    def expressions(self) -> dict[str, str]:
        """``{name: expression}`` of every saved segment."""
        return {name: seg.expr for name, seg in self.load().items()}

    def get(self, name: str) -> SavedSegment:
        """One saved segment.

        Raises
        ------
        SegmentError
            If none has that name (with the closest one).
        """
        saved = self.load()
        if name not in saved:
            listing = ", ".join(saved) if saved else "none saved yet"
            raise SegmentError(f"no saved segment {name!r} (saved: {listing})",
                               suggestion=closest(name, saved))  # fmt: skip
        return saved[name]

    def put(self, name: str, expr: str, description: str = "") -> SavedSegment:
        """Save (or replace) a segment; its syntax is checked, the file written atomically."""
        if not _NAME.match(name):
            raise SegmentError(
                f"segment name {name!r}: start with a letter and use letters, digits, _ or -"
            )
        parse(expr)
        saved = self.load()
        now = dt.datetime.now().isoformat(timespec="seconds")
        old = saved.get(name)
        saved[name] = SavedSegment(
            name, expr, description or (old.description if old else ""),
            old.created_at if old else now, now,
        )  # fmt: skip
        self._write(saved)
        return saved[name]

    def remove(self, name: str) -> SavedSegment:
        """Delete a saved segment that no other saved segment refers to."""
        seg = self.get(name)
        if seg.builtin:
            raise SegmentError(f"segment {name!r} is built in and cannot be removed")
        saved = self.load()
        users = [n for n, s in saved.items() if n != name and name in segments_used(parse(s.expr))]
        if users:
            raise SegmentError(
                f"segment {name!r} is used by {', '.join(users)}; change or remove those first"
            )
        del saved[name]
        self._write(saved)
        return seg

    def _write(self, saved: dict[str, SavedSegment]) -> None:
        body = {
            "segments": {
                name: {k: v for k, v in asdict(seg).items() if k not in ("name", "builtin") and v}
                for name, seg in saved.items()
                if not seg.builtin
            }
        }
        text = _HEADER + yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=100)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)
