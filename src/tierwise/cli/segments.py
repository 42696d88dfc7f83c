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
from tierwise.cli._i18n import t

segment_app = typer.Typer(
    help=t(
        "Segments: conditions over labels, tags and history (docs/segments.md).",
        "分群：基于标签、标记和历史的条件（见 docs/segments.md）。",
    ),
    no_args_is_help=True,
)
audience_app = typer.Typer(
    help=t(
        "Audiences: a segment's members as a file, personal data masked.",
        "人群包：将分群成员导出为文件，个人信息脱敏。",
    ),
    no_args_is_help=True,
)
app.add_typer(segment_app, name="segment")
app.add_typer(audience_app, name="audience")

Columns = Annotated[
    str | None,
    typer.Option(
        help=t(
            "Columns, comma-separated (profile columns, attributes, attributes.KEY).",
            "导出列，逗号分隔（画像列、attributes、attributes.KEY）。",
        )
    ),
]
Encoding = Annotated[
    str,
    typer.Option(
        help=t(
            "CSV encoding: utf-8-sig (Excel), utf-8, gb18030 or gbk.",
            "CSV 编码：utf-8-sig（Excel）、utf-8、gb18030 或 gbk。",
        )
    ),
]
Unmask = Annotated[
    bool,
    typer.Option(
        "--unmask-pii",
        help=t("Write personal data unmasked (logged).", "不脱敏导出个人信息（会记录日志）。"),
    ),
]


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


@command(
    segment_app,
    "add",
    help=t(
        "Check a segment on the newest snapshot and save it in segments.yaml.",
        "在最新快照上检查分群，并保存到 segments.yaml。",
    ),
)
def segment_add(
    name: Annotated[str, typer.Argument(help=t("Name to save it under.", "保存的名称。"))],
    expr: Annotated[
        str,
        typer.Argument(
            help=t('The condition, e.g. "orders > 2 and …".', '条件，如 "orders > 2 and …"。')
        ),
    ],
    description: Annotated[
        str, typer.Option(help=t("What the segment is for.", "分群的用途说明。"))
    ] = "",
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


@command(
    segment_app,
    "list",
    help=t("Saved segments with their last recorded size.", "已保存的分群及最近记录的人数。"),
)
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


@command(
    segment_app,
    "show",
    help=t(
        "A saved segment: its definition, size now, and entries/exits per recorded day.",
        "查看已保存的分群：定义、当前人数，以及每个记录日的进入/退出人数。",
    ),
)
def segment_show(
    name: Annotated[str, typer.Argument(help=t("A saved segment.", "已保存的分群。"))],
    project: ProjectDir = None,
    since: Annotated[
        str | None,
        typer.Option(
            help=t("History from this day (YYYY-MM-DD).", "从该日起的历史（YYYY-MM-DD）。")
        ),
    ] = None,
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


@command(
    segment_app,
    "count",
    help=t(
        "How many customers match, and a sample of them (nothing is saved).",
        "符合条件的客户数及样例（不保存）。",
    ),
)
def segment_count(
    expr: Annotated[
        str,
        typer.Argument(
            help=t("An expression, or a saved segment's name.", "条件表达式，或已保存分群的名称。")
        ),
    ],
    project: ProjectDir = None,
    as_of: AsOf = None,
    sample: Annotated[int, typer.Option(help=t("Members shown.", "显示的成员数。"))] = 10,
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


@command(
    segment_app,
    "changes",
    help=t(
        "Entries and exits of a saved segment between the days runs recorded it.",
        "已保存分群在各记录日之间的进入与退出。",
    ),
)
def segment_changes(
    name: Annotated[str, typer.Argument(help=t("A saved segment.", "已保存的分群。"))],
    project: ProjectDir = None,
    since: Annotated[
        str | None, typer.Option(help=t("From this day (YYYY-MM-DD).", "从该日起（YYYY-MM-DD）。"))
    ] = None,
    customers: Annotated[
        bool,
        typer.Option(
            "--customers",
            help=t("List who entered and exited on each day.", "列出每天进入和退出的客户。"),
        ),
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


@command(
    segment_app,
    "export",
    help=t(
        "Write a segment's members to a file (same as `tierwise audience export`).",
        "将分群成员写入文件（同 `tierwise audience export`）。",
    ),
)
def segment_export(
    name: Annotated[
        str,
        typer.Argument(
            help=t("A saved segment (or an expression).", "已保存的分群（或条件表达式）。")
        ),
    ],
    file: Annotated[
        Path, typer.Argument(help=t(".csv, .xlsx or .parquet", ".csv、.xlsx 或 .parquet"))
    ],
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


@command(
    segment_app,
    "remove",
    help=t(
        "Delete a saved segment (its recorded history stays in the store).",
        "删除已保存的分群（已记录的历史仍保留在数据库中）。",
    ),
)
def segment_remove(
    name: Annotated[str, typer.Argument(help=t("A saved segment.", "已保存的分群。"))],
    project: ProjectDir = None,
) -> None:
    """Delete a saved segment (its recorded history stays in the store)."""
    with open_project(project, read_only=True) as p:
        p.remove_segment(name)
    out.print(f"removed segment {name}", highlight=False)


@command(
    segment_app,
    "record",
    help=t(
        "Record the saved segments' members on a snapshot (each `run` does this itself).",
        "在快照上记录已保存分群的成员（每次 `run` 会自动记录）。",
    ),
)
def segment_record(
    project: ProjectDir = None,
    as_of: AsOf = None,
    all_snapshots: Annotated[
        bool,
        typer.Option(
            "--all",
            help=t(
                "Every stored snapshot (to fill the history).", "所有已保存的快照（用于补全历史）。"
            ),
        ),
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


@command(
    app,
    "moves",
    help=t(
        "How customers moved between the labels of a scheme from one snapshot to another.",
        "客户在两个快照之间于某分层方案各标签间的流转。",
    ),
)
def moves(
    scheme: Annotated[
        str,
        typer.Argument(
            help=t(
                "A scheme, e.g. intention, quadrant, lifecycle.",
                "分层方案，如 intention、quadrant、lifecycle。",
            )
        ),
    ],
    from_: Annotated[
        str,
        typer.Option(
            "--from", help=t("Earlier snapshot day (YYYY-MM-DD).", "较早的快照日（YYYY-MM-DD）。")
        ),
    ],
    to: Annotated[
        str,
        typer.Option(
            "--to", help=t("Later snapshot day (YYYY-MM-DD).", "较晚的快照日（YYYY-MM-DD）。")
        ),
    ],
    project: ProjectDir = None,
    lang: Annotated[
        str, typer.Option(help=t("Label names: zh, en or id.", "标签名称：zh、en 或 id。"))
    ] = "en",
    matrix: Annotated[
        bool,
        typer.Option(
            help=t("Show customers as a from × to grid.", "以 起始 × 去向 矩阵显示客户数。")
        ),
    ] = False,
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


@command(
    audience_app,
    "export",
    help=t(
        "Write a segment's members with a manifest beside the file; the export is logged.",
        "导出分群成员，并在文件旁写一份清单；导出会被记录。",
    ),
)
def audience_export(
    segment: Annotated[
        str,
        typer.Argument(
            help=t("A saved segment's name or an expression.", "已保存分群的名称或条件表达式。")
        ),
    ],
    file: Annotated[
        Path, typer.Argument(help=t(".csv, .xlsx or .parquet", ".csv、.xlsx 或 .parquet"))
    ],
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


@command(
    audience_app,
    "log",
    help=t(
        "Every audience export: who, when, which file and segment, masked or not.",
        "所有人群包导出记录：谁、何时、哪个文件和分群、是否脱敏。",
    ),
)
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
