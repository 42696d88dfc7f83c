"""``tierwise members`` and ``tierwise funnel``: member levels and the customer path."""

from __future__ import annotations

from typing import Annotated

import typer

from tierwise.cli._app import app
from tierwise.cli._common import AsJson, AsOf, Format, ProjectDir, command, emit, open_project
from tierwise.cli._common import parse_date as _date
from tierwise.cli._i18n import t

members_app = typer.Typer(
    help=t("Member levels: the level table, history, moves, imported levels.",
           "会员等级：等级表、历史、升降级、与导入等级的对比。"),
    no_args_is_help=True,
)  # fmt: skip
app.add_typer(members_app, name="members")


def _rows(table: object) -> list[dict]:
    return table.to_pylist()  # type: ignore[attr-defined]


@command(members_app, "levels", help=t("The level table with customers per level.",
                                       "等级表及每个等级的客户数。"))  # fmt: skip
def members_levels(
    project: ProjectDir = None, as_of: AsOf = None, as_json: AsJson = False,
    fmt: Format = "table",
) -> None:  # fmt: skip
    """The level table (threshold, keep, benefits) with customers per level on a snapshot."""
    with open_project(project, read_only=True) as p:
        table = p.member_levels(_date(as_of), format="arrow")
    emit(t("member levels", "会员等级"), _rows(table), fmt=fmt, as_json=as_json)


@command(members_app, "compare", help=t(
    "Customers whose computed level differs from the merchant's own.",
    "计算等级与商家导入等级不一致的客户。"))  # fmt: skip
def members_compare(
    source: Annotated[str | None, typer.Argument(
        help="A file (customer_id + level column) or a customers column; default: config.")
    ] = None,
    project: ProjectDir = None, as_of: AsOf = None, as_json: AsJson = False,
    fmt: Format = "table",
) -> None:  # fmt: skip
    """Customers whose computed level differs from the imported one."""
    with open_project(project, read_only=True) as p:
        table = p.member_compare(source, as_of=_date(as_of), format="arrow")
    rows = _rows(table)
    if not rows and not as_json and fmt == "table":
        typer.echo(t("computed and imported levels agree", "计算等级与导入等级一致"))
        return
    emit(t(f"{len(rows)} disagreements", f"{len(rows)} 处不一致"), rows, fmt=fmt,
         as_json=as_json)  # fmt: skip


@command(members_app, "history", help=t("One customer's level changes with evidence.",
                                        "某客户的等级变化及依据。"))  # fmt: skip
def members_history(
    customer: Annotated[str, typer.Argument(help="Customer id.")],
    project: ProjectDir = None, as_json: AsJson = False, fmt: Format = "table",
) -> None:  # fmt: skip
    """A customer's recorded level changes (new, upgrade, downgrade) and their evidence."""
    with open_project(project, read_only=True) as p:
        rows = _rows(p.member_history(customer, format="arrow"))
    if not (as_json or fmt != "table"):
        rows = [{k: v for k, v in r.items() if k != "customer_id"} for r in rows]
    emit(t(f"levels of {customer}", f"{customer} 的等级"), rows, fmt=fmt, as_json=as_json)


@command(members_app, "moves", help=t("New members, upgrades and downgrades per day.",
                                      "每天的新会员、升级与降级人数。"))  # fmt: skip
def members_moves(project: ProjectDir = None, as_json: AsJson = False, fmt: Format = "table"
                  ) -> None:  # fmt: skip
    """New members, upgrades and downgrades per snapshot day."""
    with open_project(project, read_only=True) as p:
        rows = _rows(p.member_moves(format="arrow"))
    emit(t("member moves", "会员升降级"), rows, fmt=fmt, as_json=as_json)


@command(app, "funnel", help=t(
    "The path fan → customer → member → lifetime → KOC: reached, conversion, days.",
    "粉丝→顾客→会员→终身顾客→KOC 路径漏斗：到达人数、转化率、所需天数。"))  # fmt: skip
def funnel(
    project: ProjectDir = None,
    as_of: AsOf = None,
    by: Annotated[str | None, typer.Option(
        help="A breakdown of funnel.by (channel, entrance) or a profile column.")] = None,
    as_json: AsJson = False,
    fmt: Format = "table",
) -> None:  # fmt: skip
    """Customers reaching each stage of the path, conversion from the stage before and the
    median days it took (from the snapshot history)."""
    with open_project(project, read_only=True) as p:
        rows = _rows(p.funnel(_date(as_of), by=by, format="arrow"))
    if not (as_json or fmt != "table"):
        name = "zh" if t("en", "zh") == "zh" else "en"
        rows = [{**({"group": r["group"]} if by else {}), "stage": r[name],
                 "at stage": r["at_stage"], "reached": r["reached"],
                 "conversion_rate": r["conversion_rate"],
                 "first_stage_share": r["first_stage_share"], "moved": r["moved"],
                 "median days": r["median_days"]} for r in rows]  # fmt: skip
    emit(t("path funnel", "路径漏斗"), rows, fmt=fmt, as_json=as_json)
