"""``tierwise clv``: fit, validate and show the lifetime-value models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tierwise.cli._app import app
from tierwise.cli._common import (
    AsJson,
    AsOf,
    ProjectDir,
    command,
    emit,
    fail,
    open_project,
    out,
    parse_date,
)
from tierwise.cli._i18n import t

clv_app = typer.Typer(
    help=t("Lifetime value: fit, validate, show.", "客户生命周期价值：拟合、验证、查看。"),
    no_args_is_help=True,
)
app.add_typer(clv_app, name="clv")


@command(
    clv_app,
    "fit",
    help=t(
        "Fit the purchase and spend models on every buyer; print parameters and errors.",
        "在全部购买客户上拟合购买与消费模型，打印参数及标准误。",
    ),
)
def clv_fit(
    project: ProjectDir = None,
    as_of: AsOf = None,
    model: Annotated[str | None, typer.Option(help="paretonbd, bgnbd or mbgnbd.")] = None,
    as_json: AsJson = False,
) -> None:
    """Fit the purchase and spend models on every buyer; print parameters and errors."""
    from tierwise.steps.quadrant_lines import learn_lines

    with open_project(project, read_only=True) as p:
        result = p.clv_fit(parse_date(as_of), model=model)
        lines = learn_lines(result.table, p.config.quadrant_lines) if len(result.table) else {}
    if result.model is None:
        raise fail(result.note)
    if as_json:
        typer.echo(json.dumps({**result.meta(), "quadrant_lines": lines}, ensure_ascii=False))
        return
    for m in (result.model, result.spend_model):
        if m is not None:
            rows = m.summary().reset_index().to_dict("records")
            emit(f"{type(m).__name__}: log-likelihood {m.log_likelihood_:.1f}", rows)
    for key in ("loyalty", "profit"):
        line, how = lines[f"{key}_threshold"], lines[f"{key}_line_method"]
        out.print(f"quadrant {key} line: {line:.4g} ({how})", highlight=False)
    if result.note:
        out.print(f"note: {result.note}", highlight=False)


@command(
    clv_app,
    "validate",
    help=t(
        "Calibration/holdout check: predicted vs actual repeat purchases.",
        "校准/留出检验：预测与实际复购对比。",
    ),
)
def clv_validate(
    calibration_end: Annotated[str, typer.Argument(help="Last day of calibration.")],
    project: ProjectDir = None,
    observation_end: Annotated[
        str | None, typer.Option(help="Last day of the holdout (default: newest order).")
    ] = None,
    model: Annotated[str | None, typer.Option(help="paretonbd, bgnbd or mbgnbd.")] = None,
    penalizer: Annotated[
        float | None, typer.Option(help="L2 penalty (default: clv.penalizer of the config).")
    ] = None,
    plots: Annotated[Path | None, typer.Option(help="Write the model-check PNGs here.")] = None,
    as_json: AsJson = False,
) -> None:
    """Calibration/holdout check: predicted vs actual repeat purchases."""
    with open_project(project, read_only=True) as p:
        report = p.clv_validate(
            parse_date(calibration_end, "calibration end"),
            parse_date(observation_end, "--observation-end"),
            model=model,
            penalizer=penalizer,
            plots_dir=plots,
        )
    figures = report.to_dict()
    if as_json:
        typer.echo(json.dumps(figures, ensure_ascii=False, default=str))
        return
    rows = [{"figure": k, "value": v} for k, v in figures.items() if not isinstance(v, dict)]
    emit(f"{report.model}: calibration to {calibration_end}", rows)
    params = [{"parameter": k, "estimate": v} for k, v in figures["params"].items()]
    emit("fitted parameters", params)
    if plots is not None:
        out.print(f"plots written to {plots}")


@command(
    clv_app,
    "show",
    help=t(
        "What a snapshot's CLV step fitted: models, parameters, notes.",
        "某快照的 CLV 步骤拟合结果：模型、参数、说明。",
    ),
)
def clv_show(project: ProjectDir = None, as_of: AsOf = None) -> None:
    """What a snapshot's CLV step fitted: models, parameters, quadrant thresholds."""
    with open_project(project, read_only=True) as p:
        meta = p.clv_meta(parse_date(as_of))
    typer.echo(json.dumps(meta, ensure_ascii=False, indent=2))
