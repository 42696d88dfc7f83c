"""``tierwise intention``: the grades of seed 001 and the hard-sell-now list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tierwise.cli._app import app
from tierwise.cli._common import (
    AsJson,
    AsOf,
    Format,
    ProjectDir,
    command,
    emit,
    open_project,
    out,
    parse_date,
)
from tierwise.cli._i18n import t

intention_app = typer.Typer(
    help=t("Intention grades and the hard-sell-now list.", "意向等级与「立即强力推销」名单。"),
    no_args_is_help=True,
)
app.add_typer(intention_app, name="intention")


@command(
    intention_app,
    "risers",
    help=t(
        "Customers whose intention score rose past a grade threshold: switch to a hard sell.",
        "意向分越过等级阈值的客户：转为强力推销。",
    ),
)
def intention_risers(
    project: ProjectDir = None,
    as_of: AsOf = None,
    since: Annotated[
        str | None, typer.Option(help="Crossings after this day (default: previous snapshot).")
    ] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Also write to a file.")] = None,
    as_json: AsJson = False,
    fmt: Format = "table",
) -> None:
    """Customers whose intention score rose past a grade threshold: switch to a hard sell."""
    with open_project(project) as p:
        table = p.intention_risers(
            since=parse_date(since, "--since"), as_of=parse_date(as_of), format="arrow"
        )
    if out_file is not None:
        from tierwise.export import write_table

        write_table(table, out_file)
    rows = table.to_pylist()
    machine = as_json or fmt != "table"
    emit(f"{len(rows)} rises past an intention threshold", rows if machine else rows[:50],
         fmt=fmt, as_json=as_json)  # fmt: skip
    if not machine and len(rows) > 50:
        out.print(f"… {len(rows) - 50} more (use --out FILE)")
