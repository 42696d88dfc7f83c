"""Step ``clv``: purchase and spend models, per-buyer lifetime value and the quadrant axes.

The per-buyer statistics (purchase days, first/last day, repeat spend and margin, gaps
between purchase days) are engine-neutral Ibis expressions over the orders or their daily
rollup; the models (`tierwise.clv`) are fitted on them in Python and the predictions joined
back, so DuckDB and Spark give the same figures. One definition of paid orders, margins and
regularity serves the run and `tierwise clv fit`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.datatypes as dt_
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from tierwise.config import CLVConfig
from tierwise.errors import TierwiseError
from tierwise.features import cutoff_of
from tierwise.steps.base import Step, StepContext, StepResult
from tierwise.steps.frames import join_frame

__all__ = [
    "CLV_COLUMNS", "COLUMNS", "STEP", "CLVResult", "CLVStep", "clv_inputs",
    "clv_inputs_from_rollup", "fit_clv", "margin_rates",
]  # fmt: skip

CLV_COLUMNS = {
    "p_alive": "probability the customer is still active",
    "p_repurchase": "probability of at least one purchase in the next year",
    "expected_purchases": "expected purchases (purchase days) in the next year",
    "expected_avg_value": "expected margin per purchase (Gamma-Gamma, margin rate applied)",
    "clv": "discounted CLV on margin over the horizon",
    "seed_lifetime_years": "seed formula: expected active years within the horizon",
    "seed_avg_margin": "seed formula: average gross margin per purchase",
    "seed_annual_frequency": "seed formula: purchases per active year",
    "seed_ltv": "seed formula: lifetime x average gross margin x annual repurchase frequency",
    "purchase_regularity": "1 / (1 + CV of the gaps between purchase days)",
    "expected_loyalty": "P(alive) x purchase regularity",
    "potential_profit": "the CLV, as the quadrant's profit axis",
}
"""Profile columns added by the CLV step (missing for non-buyers or when CLV is off)."""

_MONEY = dt_.Decimal(38, 4)
_UNIT_DAYS = {"D": 1.0, "W": 7.0}


def clv_inputs(orders: ir.Table, as_of: dt.date) -> ir.Table:
    """Per buyer: purchase days, first and last day, repeat spend and margin, gap stats.

    Same-day orders are merged into one purchase (as in the BG/NBD paper). ``repeat_amount``
    and ``repeat_margin`` sum the purchase days after the first. ``margin_known`` and
    ``margin_base`` sum the margin and the amount of the orders whose margin is known: their
    ratio is the customer's margin rate (`margin_rates`), the one definition every CLV figure
    uses.
    """
    cutoff = cutoff_of(as_of)
    o = orders.filter((orders.paid_at < cutoff) & (orders.status == "paid"))
    margin = ibis.coalesce(o.gross_margin, o.amount - o.cost)
    daily = o.group_by(["customer_id", o.paid_at.date().name("day")]).aggregate(
        amount=o.amount.cast(_MONEY).sum(),
        margin=margin.cast(_MONEY).sum(),
        margin_orders=margin.count(),
        margin_base=o.amount.cast(_MONEY).sum(where=margin.notnull()),
    )
    return _buyer_stats(daily, as_of)


def clv_inputs_from_rollup(rollup_orders: ir.Table, as_of: dt.date) -> ir.Table:
    """`clv_inputs` from the per customer, day and channel order rollup
    (`tierwise.rollups`): the same figures, read from one row per customer-day-channel."""
    r = rollup_orders.filter((rollup_orders.day <= ibis.date(as_of)) & (rollup_orders.paid > 0))
    rows = r.select("customer_id", "day", "amount", "margin", margin_orders=r.margin_n,
                    margin_base=r.margin_base)  # fmt: skip
    return _buyer_stats(rows, as_of)


def _buyer_stats(rows: ir.Table, as_of: dt.date) -> ir.Table:
    """Per buyer figures of `clv_inputs` from rows of purchase days: one row per customer and
    day, or several (the rollup's channels of a day; a row without a known margin has none).

    One window orders each buyer's rows by day (the day's row with the most margins first):
    a row whose day differs from the row before starts a purchase day, and its gap to that
    day is a gap between purchase days. The gaps' mean is the first-to-last span over their
    count, and their sample variance ``(n * sum(g**2) - span**2) / (n * (n - 1))`` is exact
    in integers, so no second pass over the days is needed.
    """
    w = ibis.window(group_by=rows.customer_id, order_by=[rows.day, rows.margin_orders.desc()])
    gap = rows.day.delta(rows.day.lag().over(w), unit="day")
    rows = rows.mutate(first_day=rows.day.min().over(w), gap=gap)
    repeat = rows.day != rows.first_day
    starts_day = rows.gap.isnull() | (rows.gap > 0)
    as_of_d = ibis.date(as_of)
    stats = rows.group_by("customer_id").aggregate(
        purchase_days=rows.count(where=starts_day),
        first_day=rows.day.min(),
        last_day=rows.day.max(),
        total_amount=rows.amount.sum().cast("float64"),
        margin_known=rows.margin.sum().cast("float64"),
        margin_base=rows.margin_base.sum().cast("float64"),
        repeat_amount=rows.amount.sum(where=repeat).cast("float64"),
        repeat_margin=rows.margin.sum(where=repeat & (rows.margin_orders > 0)).cast("float64"),
        repeat_margin_days=rows.count(where=repeat & (rows.margin_orders > 0) & starts_day),
        gap_squares=(rows.gap * rows.gap).sum(),
    )
    n = stats.purchase_days - 1
    span = stats.last_day.delta(stats.first_day, unit="day")
    spread = (n * stats.gap_squares - span * span).cast("float64")
    return stats.mutate(
        gap_n=n,
        gap_mean=ibis.ifelse(
            n >= 1, span.cast("float64") / n.cast("float64"), ibis.null("float64")
        ),
        gap_std=ibis.ifelse(
            n >= 2, (spread / (n * (n - 1)).cast("float64")).sqrt(), ibis.null("float64")
        ),
        recency_days=span,
        t_days=as_of_d.delta(stats.first_day, unit="day"),
    ).drop("first_day", "last_day", "gap_squares")


def margin_rates(inputs: pd.DataFrame, default: float | None = None) -> pd.Series:
    """Each buyer's gross-margin rate: margin over amount of the paid orders with a known
    margin (missing when no order has one, or when the rate falls outside 0..1).

    With ``default``, the gaps are filled with the shop's rate over all orders with a known
    margin, and with ``default`` itself only when no order of the shop carries a margin.
    """
    df = inputs.set_index("customer_id")
    base = df.margin_base.where(df.margin_base > 0)
    rate = (df.margin_known / base).where(lambda r: r.between(0, 1))
    if default is None:
        return rate
    total = df.margin_base.fillna(0.0).sum()
    shop = df.margin_known.fillna(0.0).sum() / total if total > 0 else default
    return rate.fillna(shop if 0 <= shop <= 1 else default)


@dataclass
class CLVResult:
    """Per-customer CLV figures and what produced them."""

    table: pd.DataFrame
    model: Any = None
    spend_model: Any = None
    note: str = ""
    reused: bool = False

    def state(self) -> dict[str, Any] | None:
        """The fitted models as data (names and parameters), to reuse on a later day."""
        if self.model is None:
            return None
        return {
            "model": {"name": type(self.model).__name__,
                      "params": {k: float(v) for k, v in self.model.params_.items()}},
            "spend_model": None if self.spend_model is None else {
                "name": type(self.spend_model).__name__,
                "params": {k: float(v) for k, v in self.spend_model.params_.items()}},
        }  # fmt: skip

    def meta(self) -> dict[str, Any]:
        """Fitted parameters, standard errors and notes, for the snapshot record."""
        out: dict[str, Any] = {"note": self.note, "reused": self.reused}
        for key, m in (("model", self.model), ("spend_model", self.spend_model)):
            if m is not None:
                out[key] = {
                    "name": type(m).__name__,
                    "params": {k: float(v) for k, v in m.params_.items()},
                }
                if hasattr(m, "standard_errors_"):
                    out[key]["standard_errors"] = {
                        k: float(v) for k, v in m.standard_errors_.items()
                    }
                    out[key]["log_likelihood"] = float(m.log_likelihood_)
        return out


def _empty(note: str) -> CLVResult:
    cols = {"customer_id": pd.Series(dtype="object")}
    cols |= {c: pd.Series(dtype="float64") for c in CLV_COLUMNS}
    return CLVResult(pd.DataFrame(cols), note=note)


def _from_state(state: dict[str, Any]) -> tuple[Any, Any]:
    """Rebuild fitted models from their stored parameters."""
    from tierwise.clv import GammaGammaModel
    from tierwise.clv.holdout import MODELS

    classes = {cls.__name__: cls for cls in MODELS.values()}
    spec = state["model"]
    model = classes[spec["name"]].from_params(**spec["params"])
    spend = None
    if state.get("spend_model"):
        spend = GammaGammaModel.from_params(**state["spend_model"]["params"])
    return model, spend


def _ids(ids: pd.Index, limit: int = 10) -> str:
    shown = ", ".join(map(str, ids[:limit]))
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def fit_clv(
    inputs: pd.DataFrame, cfg: CLVConfig, *, state: dict[str, Any] | None = None
) -> CLVResult:
    """Fit the purchase and spend models (or reuse fitted ones) and predict every buyer.

    Parameters
    ----------
    inputs : DataFrame
        `clv_inputs` pulled from the engine.
    cfg : CLVConfig
        Model, time unit, horizon, discounting.
    state : dict, optional
        `CLVResult.state` of an earlier run: predict with those parameters, fit nothing.

    Returns
    -------
    CLVResult
        With an empty table and a note saying why when the data cannot support a fit (too
        few buyers, or a model that does not converge); the run goes on without CLV.
        Repeat buyers whose repeat purchases sum to zero or less cannot inform the spend
        model: they are left out of its fit and valued at the population mean (the note
        counts them and names them).
    """
    from tierwise.clv import GammaGammaModel, make_model, predict_customers

    if state is None and len(inputs) < cfg.min_buyers:
        return _empty(f"CLV skipped: {len(inputs)} buyers, fewer than clv.min_buyers")
    if inputs.empty:
        return _empty("CLV skipped: no buyers")
    unit = _UNIT_DAYS[cfg.time_unit]
    df = inputs.sort_values("customer_id").set_index("customer_id")
    summary = pd.DataFrame(
        {
            "frequency": (df.purchase_days - 1).astype(float),
            "recency": df.recency_days.astype(float) / unit,
            "T": df.t_days.astype(float) / unit,
        },
        index=df.index,
    )
    repeat = summary.frequency > 0
    summary["monetary_value"] = np.where(
        repeat, df.repeat_amount / summary.frequency.where(repeat, 1.0), 0.0
    )
    # one-time buyers are valued on their first purchase as one observation of their spend
    summary["first_value"] = np.where(repeat, np.nan, df.total_amount)
    notes: list[str] = []
    no_spend = repeat & (summary.monetary_value <= 0)
    if no_spend.any():
        notes.append(
            f"spend: {int(no_spend.sum())} repeat buyers whose repeat purchases were free are "
            "left out of the spend model's fit and valued by its posterior "
            f"({_ids(df.index[no_spend])})"
        )
    try:
        if state is not None:
            model, spend = _from_state(state)
        else:
            model, model_note = _fit_purchases(make_model, summary, cfg)
            spend, spend_note = _fit_spend(GammaGammaModel, summary[repeat & ~no_spend], cfg)
            notes += [n for n in (model_note, spend_note) if n]
        rate = margin_rates(inputs, cfg.default_margin_rate).reindex(df.index)
        rate = rate.fillna(cfg.default_margin_rate)
        regularity = pd.Series(
            np.where(
                df.gap_n >= 2,
                1.0 / (1.0 + df.gap_std / df.gap_mean.where(df.gap_mean > 0, np.nan)),
                np.where(df.gap_n == 1, 0.5, 0.0),
            ),
            index=df.index,
        ).fillna(0.5)
        options = {
            "time": cfg.horizon_months,
            "discount_rate": cfg.monthly_discount_rate,
            "freq": cfg.time_unit,
            "margin": rate.to_numpy(float),
            "regularity": regularity,
            "lifetime": cfg.seed_lifetime,
            "horizon_years": cfg.seed_horizon_years,
        }
        try:
            if spend is None:
                raise TierwiseError("no spend model")
            pred = predict_customers(model, summary, spend_model=spend, **options)
        except TierwiseError as exc:
            if spend is not None:
                notes.append(
                    f"spend: Gamma-Gamma cannot value every customer ({exc}); "
                    "each customer's own average is used"
                )
            own = summary.assign(
                monetary_value=np.where(repeat, summary.monetary_value, df.total_amount)
            ).drop(columns="first_value")
            pred = predict_customers(model, own, **options)
    except TierwiseError as exc:
        return _empty(f"CLV skipped: {exc}")
    table = pd.DataFrame(
        {
            "customer_id": df.index.to_numpy(),
            "p_alive": pred.p_alive.to_numpy(),
            "p_repurchase": pred.p_repurchase.to_numpy(),
            "expected_purchases": pred.expected_purchases.to_numpy(),
            "expected_avg_value": pred.expected_average_value.to_numpy(),
            "clv": pred.clv.to_numpy(),
            "seed_lifetime_years": pred.lifetime_years.to_numpy(),
            "seed_avg_margin": pred.expected_average_value.to_numpy(),
            "seed_annual_frequency": pred.annual_repurchase_frequency.to_numpy(),
            "seed_ltv": pred.seed_ltv.to_numpy(),
            "purchase_regularity": regularity.to_numpy(),
            "expected_loyalty": pred.expected_loyalty.to_numpy(),
            "potential_profit": pred.potential_profit.to_numpy(),
        }
    )
    numeric = table.columns[1:]
    table[numeric] = table[numeric].astype(float).round(6)
    return CLVResult(table, model, spend, "; ".join(notes), reused=state is not None)


def _fit_purchases(make_model: Any, summary: pd.DataFrame, cfg: CLVConfig) -> tuple[Any, str]:
    """Fit the purchase model; if it does not converge, retry once with a small penalty (real
    shops often show too little dropout to pin it down) and say so."""
    data = summary[["frequency", "recency", "T"]]
    try:
        model = make_model(cfg.model)
        model.penalizer = cfg.penalizer
        return model.fit(data), ""
    except TierwiseError as exc:
        if cfg.penalizer >= 1e-3:
            raise
        model = make_model(cfg.model)
        model.penalizer = 1e-3
        model.fit(data)
        return model, f"purchases: refitted with penalizer 0.001 ({exc})"


def _fit_spend(model_class: type, spenders: pd.DataFrame, cfg: CLVConfig) -> tuple[Any, str]:
    """Fit Gamma-Gamma; if it does not converge, retry with a small penalty, and failing that
    value each purchase at the customer's own average (the note says which)."""
    if len(spenders) < 10:
        return None, "spend: fewer than 10 repeat buyers; each customer's own average is used"
    data = spenders[["frequency", "monetary_value"]]
    failure = ""
    for penalizer in dict.fromkeys((cfg.penalizer, max(cfg.penalizer, 1e-3))):
        try:
            return model_class(penalizer=penalizer).fit(data), (
                f"spend: Gamma-Gamma refitted with penalizer {penalizer}" if penalizer else ""
            )
        except TierwiseError as exc:
            failure = str(exc)
    return None, f"spend: Gamma-Gamma failed ({failure}); each customer's own average is used"


COLUMNS = dict.fromkeys(CLV_COLUMNS, "float64")


class CLVStep(Step):
    """Fit (or reuse) the purchase and spend models on every buyer and join the predictions."""

    name = "clv"
    reads_rows = True
    section = "clv"
    learns = True
    columns = COLUMNS

    def run(self, profile: ir.Table, ctx: StepContext, state: dict[str, Any] | None
            ) -> StepResult:  # fmt: skip
        from tierwise.rollups import current_rollups

        rollups = current_rollups(ctx.tables["orders"], ctx.config.features)
        if rollups is not None:
            inputs = clv_inputs_from_rollup(rollups.orders, ctx.as_of).to_pandas()
        else:
            inputs = clv_inputs(ctx.tables["orders"], ctx.as_of).to_pandas()
        result = fit_clv(inputs, ctx.config.clv, state=state)
        schema = ibis.schema({"customer_id": "string", **COLUMNS})
        notes = [result.note] if result.note else []
        joined = join_frame(profile, result.table, schema, ctx.held)
        return StepResult(joined, result.state(), notes, extra=result)


STEP = CLVStep()
