"""What every command shares: consoles, options, one error-mapping layer, table output."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tierwise.cli._i18n import t
from tierwise.errors import TierwiseError

if TYPE_CHECKING:
    from tierwise.project import Project

__all__ = [
    "GLOBAL_PROJECT",
    "AsJson",
    "AsOf",
    "Format",
    "ProjectDir",
    "command",
    "emit",
    "err",
    "human",
    "open_project",
    "out",
    "parse_date",
    "people_summary",
    "progress",
]

GLOBAL_PROJECT: list[Path | None] = [None]
"""The ``-p`` given before the command name (``tierwise -p DIR run``)."""


class _Console:
    """A Rich console made at each use, so it sizes to the terminal (or COLUMNS) of that call."""

    def __init__(self, *, stderr: bool = False) -> None:
        self.stderr = stderr

    def __getattr__(self, name: str) -> Any:
        from rich.console import Console

        return getattr(Console(stderr=self.stderr), name)


out = _Console()
err = _Console(stderr=True)

ProjectDir = Annotated[
    Path | None,
    typer.Option(
        "--project",
        "-p",
        envvar="TIERWISE_PROJECT",
        help=t("Project folder [default: .]", "项目文件夹 [默认：当前目录]"),
    ),
]
AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help=t(
            "Day as YYYY-MM-DD (default: newest snapshot/data).",
            "日期，格式 YYYY-MM-DD（默认：最新快照/数据）。",
        ),
    ),
]
AsJson = Annotated[
    bool, typer.Option("--json", help=t("Print JSON for machines.", "输出 JSON，供程序读取。"))
]
Format = Annotated[
    str, typer.Option("--format", help=t("table, json or csv.", "table、json 或 csv。"))
]
Wait = Annotated[
    float,
    typer.Option(
        help=t(
            "Seconds to wait while another tierwise command holds the store.",
            "其他 tierwise 命令占用数据库时等待的秒数。",
        )
    ),
]


def project_dir(project: Path | None) -> Path:
    """The project folder: the command's ``-p``, the global ``-p``, or the current folder."""
    return project or GLOBAL_PROJECT[0] or Path(".")


def open_project(project: Path | None, *, read_only: bool = False, wait: float = 0.0) -> Project:
    """Open the project a command works on."""
    from tierwise.project import Project

    return Project(project_dir(project), read_only=read_only, wait=wait)


def parse_date(value: str | None, option: str = "--as-of") -> dt.date | None:
    """A YYYY-MM-DD option value as a date."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise TierwiseError(f"{option} {value!r} is not a date like 2025-12-31") from None


def _message(exc: BaseException) -> tuple[str, int]:
    """The one line a failure prints, and the exit code."""
    if isinstance(exc, TierwiseError):
        return str(exc), 1
    if isinstance(exc, ValueError):
        return str(exc), 1
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted; nothing half-written was kept", 130
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror}", 1
    name = type(exc).__name__
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return (f"unexpected {name}: {first} (TIERWISE_DEBUG=1 shows the traceback)", 2)


def command(group: typer.Typer, name: str | None = None, **kwargs: Any) -> Callable:
    """Register a command whose failures print one line ``error: …`` and exit non-zero."""

    def register(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def guarded(*args: Any, **kw: Any) -> Any:
            try:
                return fn(*args, **kw)
            except (typer.Exit, typer.Abort, SystemExit):
                raise
            except BaseException as exc:  # one mapping for every command
                if os.environ.get("TIERWISE_DEBUG"):
                    raise
                text, code = _message(exc)
                err.print(f"[red]error:[/red] {text}", highlight=False, soft_wrap=True)
                raise typer.Exit(code) from None

        group.command(name, **kwargs)(guarded)
        return fn

    return register


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` and give the exit to raise."""
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _is_share(column: str) -> bool:
    return column == "share" or column.endswith(("_share", "_rate")) or column == "rate"


def human(value: Any, column: str = "") -> str:
    """A value for people: 4 significant digits, thousands grouped from 1,000 on (so a
    column of counts reads alike), shares as %, ids and text whole."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if _is_share(column) and -1.0 <= value <= 1.0:
            return f"{value * 100:.1f}%"
        if abs(value) >= 1_000:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    if isinstance(value, int) and abs(value) >= 1_000 and not column.endswith("_id"):
        return f"{value:,}"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def emit(
    title: str, rows: list[dict[str, Any]], *, fmt: str = "table", as_json: bool = False
) -> None:
    """Print rows as a table for people, or as JSON / CSV for machines."""
    fmt = "json" if as_json else fmt
    if fmt == "json":
        data = [{k: _jsonable(v) for k, v in r.items()} for r in rows]
        sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
        return
    if fmt == "csv":
        buf = io.StringIO()
        if rows:
            writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows({k: _jsonable(v) for k, v in r.items()} for r in rows)
        sys.stdout.write(buf.getvalue())
        return
    if fmt != "table":
        raise TierwiseError(f"--format {fmt!r}: use table, json or csv")
    from rich import box
    from rich.cells import cell_len
    from rich.table import Table

    cells = [[human(v, k) for k, v in row.items()] for row in rows]
    columns = list(rows[0]) if rows else []
    widths = []
    for i, col in enumerate(columns):
        values = [r[i] for r in cells]
        numeric = all(isinstance(row[col], int | float) or row[col] is None for row in rows)
        whole = numeric or col.endswith("_id") or col in ("id", "label", "scheme", "tag")
        longest_word = max((cell_len(w) for v in values for w in v.split()), default=0)
        longest = max((cell_len(v) for v in values), default=0)
        need = max(longest if whole else min(longest_word, 24), cell_len(str(col)), 1)
        widths.append((col, numeric, need))
    console_width = out.size.width
    if columns and sum(w for _, _, w in widths) + 2 * len(columns) >= console_width:
        # too wide for the terminal: one block per row, one line per column
        if title:
            out.print(title, highlight=False, markup=False)
        label = max(cell_len(str(c)) for c in columns)
        for row in cells:
            out.print("")
            for col, value in zip(columns, row, strict=True):
                pad = " " * (label - cell_len(str(col)))
                out.print(f"  {col}{pad}  {value}", highlight=False, markup=False)
        return
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    for col, numeric, need in widths:
        table.add_column(str(col), overflow="fold", min_width=need,
                         justify="right" if numeric else "left")  # fmt: skip
    for row in cells:
        table.add_row(*row)
    out.print(table)


def people_summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A label summary for people: one name column in the chosen language."""
    from tierwise.cli._i18n import lang

    keep = "label_zh" if lang() == "zh" else "label_en"
    return [{("name" if k == keep else k): v for k, v in r.items()
             if k not in ("label_zh", "label_en") or k == keep} for r in rows]  # fmt: skip


def progress(status: Any) -> Callable[[str], None]:
    """A progress callback that updates a Rich status line."""
    return lambda msg: status.update(f"[bold]{msg}…")
