"""``tierwise entrance`` and ``tierwise distributors``: entrances, and who brought whom."""

from __future__ import annotations

from typing import Annotated

import typer

from tierwise.cli._app import app
from tierwise.cli._common import AsJson, AsOf, Format, ProjectDir, command, emit, open_project
from tierwise.cli._common import parse_date as _date
from tierwise.cli._i18n import t

entrance_app = typer.Typer(
    help=t("Entrance channels and entrance segments.", "入口渠道与入口分群。"),
    no_args_is_help=True,
)
app.add_typer(entrance_app, name="entrance")

distributors_app = typer.Typer(
    help=t("Distributors and referral links: attribution and commission.",
           "分销员与推荐链接：归因与佣金。"),
    no_args_is_help=True,
)  # fmt: skip
app.add_typer(distributors_app, name="distributors")


def _mix(value: dict) -> str:
    return " ".join(f"{k} {v * 100:.0f}%" for k, v in value.items())


@command(
    entrance_app,
    "report",
    help=t(
        "Per entrance channel (or segment): customers, conversion to a first order, repeat "
        "rate, mean CLV and quadrant mix.",
        "按入口渠道（或分群）：客户数、首单转化、复购率、平均 CLV 与象限构成。",
    ),
)
def entrance_report(
    project: ProjectDir = None,
    by: Annotated[
        str, typer.Option(help="channel, kind, segment (entrance segment) or latest.")
    ] = "channel",
    as_of: AsOf = None,
    as_json: AsJson = False,
    fmt: Format = "table",
) -> None:
    """Per entrance channel (or segment): conversion, repeat rate, mean CLV, quadrant mix."""
    with open_project(project, read_only=True) as p:
        table = p.entrance_report(by, as_of=_date(as_of))
    rows = table.to_dict("records")
    if not (as_json or fmt != "table"):
        rows = [{**r, "quadrant_mix": _mix(r["quadrant_mix"])} for r in rows]
    emit(t(f"entrances by {by}", f"按 {by} 的入口"), rows, fmt=fmt, as_json=as_json)


@command(
    distributors_app,
    "report",
    help=t(
        "Per distributor: customers brought, revenue, repurchase rate, commission and "
        "influence score.",
        "每位分销员：带来的客户、营收、复购率、佣金与影响力分。",
    ),
)
def distributors_report(
    project: ProjectDir = None,
    as_of: AsOf = None,
    top: Annotated[int, typer.Option(help="Distributors shown (0: all).")] = 50,
    as_json: AsJson = False,
    fmt: Format = "table",
) -> None:
    """Per distributor: customers brought, revenue, repurchase rate, commission, influence."""
    with open_project(project, read_only=True) as p:
        table = p.distributors_report(as_of=_date(as_of))
    rows = table.to_dict("records")
    shown = rows if top <= 0 or as_json or fmt != "table" else rows[:top]
    emit(t(f"{len(rows)} distributors", f"{len(rows)} 位分销员"), shown, fmt=fmt,
         as_json=as_json)  # fmt: skip
