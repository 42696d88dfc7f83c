"""The import commands: ``tierwise import`` and ``tierwise mappings list|show``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from tierwise.cli._app import app
from tierwise.cli._common import AsJson, ProjectDir, command, emit, err, fail, open_project, out
from tierwise.cli._i18n import t

mappings_app = typer.Typer(help=t(
    "Mappings shipped with tierwise (use them with --mapping NAME).",
    "tierwise 自带的字段映射（用 --mapping 名称 引用）。"))  # fmt: skip
app.add_typer(mappings_app, name="mappings")

SHOWN_PROBLEMS = 20
"""Problems printed on the terminal; the quarantine file has them all."""


class _ProgressBar:
    """A Rich progress bar on stderr, shown only when stderr is a terminal and the import
    has run for more than a second."""

    def __init__(self, delay: float = 1.0) -> None:
        self.start = time.monotonic()
        self.delay = delay
        self.bar: Any = None
        self.task: Any = None
        self.enabled = sys.stderr.isatty()

    def __call__(self, step: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            if time.monotonic() - self.start < self.delay:
                return
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(step, total=total)
        self.bar.update(self.task, description=step, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _sheet(value: str | None) -> str | int | None:
    if value is None:
        return None
    return int(value) if value.isdigit() else value


def _print_report(report: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.to_dict(max_problems=1000), ensure_ascii=False, default=str))
        return
    out.print(report.summary(), highlight=False, soft_wrap=True)
    if report.encoding:
        out.print(f"  encoding: {report.encoding}", highlight=False)
    for name, columns in (
        (t("mapped", "映射"), [f"{s} -> {c}" for s, c in report.columns_mapped.items() if s != c]),
        (t("kept in attributes", "存入 attributes"), report.columns_kept),
        (t("ignored", "忽略"), report.columns_ignored),
    ):
        if columns:
            out.print(f"  {name}: {', '.join(columns)}", highlight=False, markup=False)
    for note in report.notes:
        out.print(f"  note: {note}", highlight=False, markup=False)
    for warning in report.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
    for problem in report.problems[:SHOWN_PROBLEMS]:
        err.print(f"  {problem}", highlight=False, markup=False)
    if len(report.problems) > SHOWN_PROBLEMS:
        more = len(report.problems) - SHOWN_PROBLEMS
        where = f" in {report.quarantine_path}" if report.quarantine_path else ""
        err.print(f"  … {more} more{where}", highlight=False)


@command(app, "import", help=t(
    "Load a file into the store; rejected rows go to a quarantine file with the reason.",
    "把文件导入存储；被拒绝的行连同原因写入隔离文件。"))  # fmt: skip
def import_(
    entity: Annotated[str, typer.Argument(help="customers, orders, events or identities.")],
    file: Annotated[Path, typer.Argument(help="CSV/TXT, .xlsx, .parquet or .jsonl file.")],
    project: ProjectDir = None,
    mapping: Annotated[
        str | None,
        typer.Option(help="YAML mapping file, or the name of a shipped one (tierwise mappings)."),
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: detect).")] = None,
    delimiter: Annotated[
        str | None,
        typer.Option(help="Separator: a character, tab, or whitespace (default: sniff)."),
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet name or 0-based index.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and report; write nothing.")
    ] = False,
    max_quarantined: Annotated[
        float | None,
        typer.Option(help="Fail, writing no rows, when more than this share is quarantined."),
    ] = None,
    unknown_columns: Annotated[str, typer.Option(help="keep or ignore.")] = "keep",
    unknown_customers: Annotated[str, typer.Option(help="create or quarantine.")] = "create",
    on_conflict: Annotated[str, typer.Option(help="quarantine or update.")] = "quarantine",
    as_json: AsJson = False,
) -> None:
    """Load a file into the store; rejected rows go to a quarantine file with the reason.

    Exits 1 when nothing could be imported (every row quarantined) or when more rows than
    --max-quarantined were quarantined (then nothing is written).
    """
    from tierwise.io import ImportRejected

    bar = _ProgressBar()
    try:
        with open_project(project) as p:
            report = p.import_file(
                entity, file, mapping=mapping, encoding=encoding, delimiter=delimiter,
                sheet=_sheet(sheet), dry_run=dry_run, max_quarantined=max_quarantined,
                unknown_columns=unknown_columns, unknown_customers=unknown_customers,
                on_conflict=on_conflict, progress=bar,
            )  # fmt: skip
    except ImportRejected as exc:
        bar.close()
        _print_report(exc.report, as_json)
        raise fail(str(exc)) from None
    finally:
        bar.close()
    _print_report(report, as_json)
    if report.nothing_imported:
        where = f"; reasons in {report.quarantine_path}" if report.quarantine_path else ""
        raise fail(f"{report.file}: every row was quarantined, nothing imported{where}")


@command(mappings_app, "list")
def mappings_list(as_json: AsJson = False) -> None:
    """List the shipped mappings."""
    from tierwise.io.mapping import load_mapping, shipped_mapping_text, shipped_mappings

    rows = []
    for name in shipped_mappings():
        text = shipped_mapping_text(name)
        first = next((ln[1:].strip() for ln in text.splitlines() if ln.startswith("#")), "")
        rows.append({"name": name, "entity": load_mapping(name).entity, "for": first})
    emit("shipped mappings (tierwise import ENTITY FILE --mapping NAME)", rows, as_json=as_json)


@command(mappings_app, "show")
def mappings_show(name: Annotated[str, typer.Argument(help="Name of a shipped mapping.")]) -> None:
    """Print a shipped mapping (copy it to adapt it to your export)."""
    from tierwise.io.mapping import shipped_mapping_text

    typer.echo(shipped_mapping_text(name), nl=False)
