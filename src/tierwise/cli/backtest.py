"""``tierwise backtest``: do the labels predict what they claim on the orders after a cut?"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from tierwise.cli._app import app
from tierwise.cli._common import (
    AsJson,
    ProjectDir,
    Wait,
    command,
    emit,
    err,
    open_project,
    out,
    parse_date,
    progress,
)
from tierwise.cli._i18n import t

_LABEL_COLUMNS = {
    "label": "label",
    "customers": "customers",
    "repurchase_rate": "bought_rate",
    "revenue_per_customer": "revenue",
    "margin_per_customer": "margin",
    "flag": "flag",
}


def _rows(df: Any, columns: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {new: (None if v != v else v) for new, v in zip(columns.values(), row, strict=True)}
        for row in df[list(columns)].itertuples(index=False)
    ]


@command(
    app,
    "backtest",
    help=t(
        "Run as of --cut on the data up to it; measure every label on the orders after it.",
        "回测：用截至 --cut 的数据运行一次，再用之后的订单检验每个标签。",
    ),
)
def backtest(
    cut: Annotated[
        str,
        typer.Option(
            "--cut", help=t("As-of day of the run under test.", "被回测那次运行的截止日。")
        ),
    ],
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help=t("Last day of the holdout [default: newest].", "检验期最后一天 [默认：最新]。"),
        ),
    ] = None,
    scheme: Annotated[
        list[str] | None,
        typer.Option(
            "--scheme", help=t("Only these schemes (repeatable).", "只看这些分层方案（可重复）。")
        ),
    ] = None,
    project: ProjectDir = None,
    wait: Wait = 0.0,
    as_json: AsJson = False,
) -> None:
    """Run as of --cut on the data up to it; measure every label on the orders after it."""
    cut_day = parse_date(cut, "--cut")
    until_day = parse_date(until, "--until")
    with open_project(project, read_only=True, wait=wait) as p:
        with err.status("backtest") as status:
            result = p.backtest(cut_day, until_day, progress=progress(status))
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, default=str))
        return
    figures = result.to_dict()
    out.print(
        f"run as of {result.cut}, holdout {result.cut} < day <= {result.until}: "
        f"{figures['customers']:,} customers, {figures['holdout_buyers']:,} bought",
        highlight=False,
    )
    labels = result.labels[result.labels.customers > 0]
    checks = result.checks[result.checks.status != "no customers"]
    if scheme:
        labels = labels[labels.scheme.isin(scheme)]
        checks = checks[checks.scheme.isin(scheme)]
    for name, part in labels.groupby("scheme", sort=False):
        emit(f"{name}: holdout per customer", _rows(part, _LABEL_COLUMNS))
    if len(checks):
        short = checks.metric.str.replace("_per_customer", "").str.replace("_rate", "")
        view = checks.assign(claim=checks.higher + " > " + checks.lower, metric=short)
        emit(
            "declared orderings (difference ± 95 % interval)",
            _rows(
                view,
                {
                    "scheme": "scheme",
                    "metric": "metric",
                    "claim": "claim",
                    "difference": "difference",
                    "margin95": "±95%",
                    "status": "status",
                },
            ),
        )
    if len(result.clv_deciles):
        emit(
            "CLV deciles: predicted vs holdout per customer",
            _rows(
                result.clv_deciles,
                {
                    "decile": "decile",
                    "clv": "clv",
                    "predicted_margin": "pred_margin",
                    "actual_margin": "margin",
                    "revenue_per_customer": "revenue",
                    "repurchase_rate": "bought_rate",
                    "revenue_share": "revenue_share",
                },
            ),
        )
        emit(
            "P(alive) deciles: predicted vs holdout",
            _rows(
                result.p_alive_deciles,
                {
                    "decile": "decile",
                    "p_alive": "p_alive",
                    "p_purchase": "p_buy",
                    "repurchase_rate": "bought_rate",
                    "predicted_purchases": "pred_buys",
                    "actual_purchases": "buys",
                },
            ),
        )
    cal = result.calibration
    for key, value in cal.items():
        if isinstance(value, list):
            value = ", ".join(value) or "none"
        elif isinstance(value, float):
            value = f"{value:.4g}"
        out.print(f"{key}: {value}", highlight=False)
    bad = result.contradictions
    if len(bad):
        out.print(f"[red]{len(bad)} contradicted[/red]", highlight=False)
        for r in bad.itertuples():
            out.print(
                f"  {r.scheme} {r.metric}: {r.higher} < {r.lower} by {-r.difference:.4g} "
                f"(±{r.margin95:.4g})",
                highlight=False,
            )
    else:
        out.print("no declared ordering is contradicted", highlight=False)
    if result.note:
        out.print(f"note: {result.note}", highlight=False)
