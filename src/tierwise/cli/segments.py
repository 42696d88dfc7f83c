"""``tierwise segment``, ``tierwise moves``, ``tierwise audience``: act on the tiers."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from tierwise.cli._app import app
from tierwise.cli._common import (
    AsJson,
    AsOf,
    Format,
    ProjectDir,
    Wait,
    command,
    emit,
    human,
    open_project,
    out,
    parse_date,
)

segment_app = typer.Typer(
    help="Segments: conditions over labels, tags and history (docs/segments.md).",
    no_args_is_help=True,
)
audience_app = typer.Typer(
    help="Audiences: a segment's members as a file, personal data masked.", no_args_is_help=True
)
app.add_typer(segment_app, name="segment")
app.add_typer(audience_app, name="audience")

Columns = Annotated[
    str | None,
    typer.Option(help="Columns, comma-separated (profile columns, attributes, attributes.KEY)."),
]
Encoding = Annotated[
    str, typer.Option(help="CSV encoding: utf-8-sig (Excel), utf-8, gb18030 or gbk.")
]
Unmask = Annotated[
    bool, typer.Option("--unmask-pii", help="Write personal data unmasked (logged).")
]


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


@command(segment_app, "add")
def segment_add(
    name: Annotated[str, typer.Argument(help="Name to save it under.")],
    expr: Annotated[str, typer.Argument(help='The condition, e.g. "orders > 2 and …".')],
    description: Annotated[str, typer.Option(help="What the segment is for.")] = "",
    project: ProjectDir = None,
    wait: Wait = 0.0,
) -> None:
    """Check a segment on the newest snapshot and save it in segments.yaml."""
    with open_project(project, read_only=True, wait=wait) as p:
        checked = bool(p.store.snapshots())
        seg = p.add_segment(name, expr, description=description)
        count = p.segment_count(name, sample=0) if checked else None
    what = "updated" if seg.created_at != seg.updated_at else "saved"
    out.print(f"{what} segment {seg.name} in {p.directory / 'segments.yaml'}", highlight=False)
    if count is not None:
        out.print(f"{count.customers:,} of {count.total:,} customers as of {count.as_of}",
                  highlight=False)  # fmt: skip
    else:
        out.print("no snapshot yet: only the syntax was checked", highlight=False)


@command(segment_app, "list")
def segment_list(
    project: ProjectDir = None, as_json: AsJson = False, fmt: Format = "table"
) -> None:
    """Saved segments with their last recorded size."""
    with open_project(project, read_only=True) as p:
        saved = p.segment_book().load()
        counts = p.store.segment_counts().to_pylist()
    last: dict[str, dict] = {}
    for row in counts:
        last[row["segment"]] = row
    rows = [
        {
            "segment": name,
            "customers": last.get(name, {}).get("customers"),
            "as_of": last.get(name, {}).get("as_of"),
            "description": seg.description,
            "expression": seg.expr,
            "builtin": seg.builtin,
        }
        for name, seg in saved.items()
    ]
    emit("saved segments", rows, fmt=fmt, as_json=as_json)


@command(segment_app, "show")
def segment_show(
    name: Annotated[str, typer.Argument(help="A saved segment.")],
    project: ProjectDir = None,
    since: Annotated[str | None, typer.Option(help="History from this day (YYYY-MM-DD).")] = None,
    as_json: AsJson = False,
) -> None:
    """A saved segment: its definition, size now, and entries/exits per recorded day."""
    with open_project(project, read_only=True) as p:
        seg = p.segment_book().get(name)
        now = p.segment_count(name, sample=0)
        history = p.segment_changes(name, since=parse_date(since, "--since"), format="arrow")
    rows = history.drop_columns(["definition"]).to_pylist()
    if as_json:
        _print_json({"segment": seg.name, "expression": seg.expr, "description": seg.description,
                     "created_at": seg.created_at, "updated_at": seg.updated_at,
                     "now": now.to_dict(), "history": rows})  # fmt: skip
        return
    out.print(f"[bold]{seg.name}[/bold]  {seg.description}", highlight=False)
    out.print(f"  {seg.expr}", highlight=False, soft_wrap=True)
    out.print(f"  {now.customers:,} of {now.total:,} customers ({human(now.share, 'share')}) "
              f"as of {now.as_of}", highlight=False)  # fmt: skip
    if rows:
        emit("recorded by each run", rows)
    else:
        out.print("  no run has recorded it yet (`tierwise segment record`)", highlight=False)


@command(segment_app, "count")
def segment_count(
    expr: Annotated[str, typer.Argument(help="An expression, or a saved segment's name.")],
    project: ProjectDir = None,
    as_of: AsOf = None,
    sample: Annotated[int, typer.Option(help="Members shown.")] = 10,
    as_json: AsJson = False,
    fmt: Format = "table",
) -> None:
    """How many customers match, and a sample of them (nothing is saved)."""
    with open_project(project, read_only=True) as p:
        result = p.segment_count(expr, parse_date(as_of), sample=sample)
    if as_json or fmt == "json":
        _print_json(result.to_dict())
        return
    share = human(result.share, "share")
    out.print(
        f"{result.customers:,} of {result.total:,} customers ({share}) as of {result.as_of}",
        highlight=False,
    )
    if result.sample:
        emit(f"first {len(result.sample)} by id", result.sample, fmt=fmt)


@command(segment_app, "changes")
def segment_changes(
    name: Annotated[str, typer.Argument(help="A saved segment.")],
    project: ProjectDir = None,
    since: Annotated[str | None, typer.Option(help="From this day (YYYY-MM-DD).")] = None,
    customers: Annotated[
        bool, typer.Option("--customers", help="List who entered and exited on each day.")
    ] = False,
    as_json: AsJson = False,
    fmt: Format = "table",
) -> None:
    """Entries and exits of a saved segment between the days runs recorded it."""
    with open_project(project, read_only=True) as p:
        table = p.segment_changes(name, since=parse_date(since, "--since"), format="arrow")
        rows = table.drop_columns(["definition"]).to_pylist()
        if customers:
            movers = []
            for row in rows:
                if row["previous_as_of"] is None:
                    continue
                for m in p.store.segment_movers(name, row["as_of"], row["previous_as_of"]) \
                        .to_pylist():  # fmt: skip
                    movers.append({"as_of": row["as_of"], **m})
            rows = movers
    emit(f"changes of {name}", rows, fmt=fmt, as_json=as_json)


@command(segment_app, "export")
def segment_export(
    name: Annotated[str, typer.Argument(help="A saved segment (or an expression).")],
    file: Annotated[Path, typer.Argument(help=".csv, .xlsx or .parquet")],
    project: ProjectDir = None,
    columns: Columns = None,
    as_of: AsOf = None,
    encoding: Encoding = "utf-8-sig",
    unmask_pii: Unmask = False,
    as_json: AsJson = False,
    wait: Wait = 0.0,
) -> None:
    """Write a segment's members to a file (same as `tierwise audience export`)."""
    _export(name, file, project, columns, as_of, encoding, unmask_pii, as_json, wait)


@command(segment_app, "remove")
def segment_remove(
    name: Annotated[str, typer.Argument(help="A saved segment.")], project: ProjectDir = None
) -> None:
    """Delete a saved segment (its recorded history stays in the store)."""
    with open_project(project, read_only=True) as p:
        p.remove_segment(name)
    out.print(f"removed segment {name}", highlight=False)


@command(segment_app, "record")
def segment_record(
    project: ProjectDir = None,
    as_of: AsOf = None,
    all_snapshots: Annotated[
        bool, typer.Option("--all", help="Every stored snapshot (to fill the history).")
    ] = False,
    wait: Wait = 0.0,
) -> None:
    """Record the saved segments' members on a snapshot (each `run` does this itself)."""
    with open_project(project, wait=wait) as p:
        days = p.snapshots() if all_snapshots else [parse_date(as_of) or p.store.latest_snapshot()]
        rows = []
        for day in days:
            for rec in p.record_segments(day):
                rows.append({"as_of": rec.as_of, "segment": rec.segment,
                             "customers": rec.customers, "error": rec.error})  # fmt: skip
    if not rows:
        out.print("no saved segments (`tierwise segment add NAME 'EXPR'`)", highlight=False)
        return
    emit("recorded", rows)


@command(app, "moves")
def moves(
    scheme: Annotated[str, typer.Argument(help="A scheme, e.g. intention, quadrant, lifecycle.")],
    from_: Annotated[str, typer.Option("--from", help="Earlier snapshot day (YYYY-MM-DD).")],
    to: Annotated[str, typer.Option("--to", help="Later snapshot day (YYYY-MM-DD).")],
    project: ProjectDir = None,
    lang: Annotated[str, typer.Option(help="Label names: zh, en or id.")] = "en",
    matrix: Annotated[bool, typer.Option(help="Show customers as a from × to grid.")] = False,
    as_json: AsJson = False,
    fmt: Format = "table",
) -> None:
    """How customers moved between the labels of a scheme from one snapshot to another."""
    if lang not in ("zh", "en", "id"):
        raise typer.BadParameter("--lang: zh, en or id")
    start, end = parse_date(from_, "--from"), parse_date(to, "--to")
    with open_project(project, read_only=True) as p:
        table = p.moves(scheme, start, end, format="arrow")
    rows = table.to_pylist()
    if as_json or fmt in ("json", "csv"):
        emit("", rows, fmt=fmt, as_json=as_json)
        return

    def name(row: dict, side: str) -> str:
        return row[f"{side}_label"] if lang == "id" else row[f"{side}_{lang}"]

    title = f"{scheme}: {start} → {end}"
    if not matrix:
        emit(title, [{"from": name(r, "from"), "to": name(r, "to"), "customers": r["customers"],
                      "share": r["share"], "revenue": r["revenue"]} for r in rows])  # fmt: skip
        return
    froms = list(dict.fromkeys(name(r, "from") for r in rows))
    tos = list(dict.fromkeys(name(r, "to") for r in rows))
    cells = {(name(r, "from"), name(r, "to")): r["customers"] for r in rows}
    grid = [{"from \\ to": f, **{t: cells.get((f, t), 0) for t in tos}} for f in froms]
    emit(title, grid)


def _export(
    spec: str, file: Path, project: Path | None, columns: str | None, as_of: str | None,
    encoding: str, unmask_pii: bool, as_json: bool, wait: float,
) -> None:  # fmt: skip
    with open_project(project, wait=wait) as p:
        result = p.export_audience(
            spec, file, columns=columns.split(",") if columns else None,
            as_of=parse_date(as_of), encoding=encoding, unmask_pii=unmask_pii,
        )  # fmt: skip
    if as_json:
        _print_json(result.to_dict())
        return
    out.print(f"wrote {result.customers:,} customers to {result.file}", highlight=False)
    out.print(f"manifest {result.manifest}", highlight=False)
    if result.pii_unmasked:
        out.print("personal data NOT masked (logged in the store's audience_exports)",
                  highlight=False)  # fmt: skip
    elif result.masked_columns:
        out.print(f"masked: {', '.join(result.masked_columns)}", highlight=False)


@command(audience_app, "export")
def audience_export(
    segment: Annotated[str, typer.Argument(help="A saved segment's name or an expression.")],
    file: Annotated[Path, typer.Argument(help=".csv, .xlsx or .parquet")],
    project: ProjectDir = None,
    columns: Columns = None,
    as_of: AsOf = None,
    encoding: Encoding = "utf-8-sig",
    unmask_pii: Unmask = False,
    as_json: AsJson = False,
    wait: Wait = 0.0,
) -> None:
    """Write a segment's members with a manifest beside the file; the export is logged."""
    _export(segment, file, project, columns, as_of, encoding, unmask_pii, as_json, wait)


@command(audience_app, "log")
def audience_log(
    project: ProjectDir = None, as_json: AsJson = False, fmt: Format = "table"
) -> None:
    """Every audience export: who, when, which file and segment, masked or not."""
    with open_project(project, read_only=True) as p:
        rows = p.store.audience_exports().to_pylist()
    keep = ("exported_at", "exported_by", "segment", "customers", "pii_unmasked", "file")
    if not (as_json or fmt != "table"):
        rows = [{k: r.get(k) for k in keep} for r in rows]
    emit("audience exports", rows, fmt=fmt, as_json=as_json)
