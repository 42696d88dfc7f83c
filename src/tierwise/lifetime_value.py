"""Lifetime value inside a run: the inputs from the engine, the fitted models, per-customer
predictions and the learned loyalty x profitability thresholds.

The sufficient statistics (purchase days, first/last day, repeat spend and margin, gaps
between purchase days) are computed by engine-neutral Ibis expressions; the models are fitted
on them in Python (`tierwise.clv`) and the predictions joined back, so DuckDB and Spark give
the same figures.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.datatypes as dt_
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from tierwise.config import CLVConfig
from tierwise.errors import TierwiseError
from tierwise.features import cutoff_of

__all__ = ["CLV_COLUMNS", "CLVResult", "clv_inputs", "fit_clv"]

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
    and ``repeat_margin`` sum the purchase days after the first.
    """
    cutoff = cutoff_of(as_of)
    o = orders.filter((orders.paid_at < cutoff) & (orders.status == "paid"))
    margin = ibis.coalesce(o.gross_margin, o.amount - o.cost)
    daily = o.group_by(["customer_id", o.paid_at.date().name("day")]).aggregate(
        amount=o.amount.cast(_MONEY).sum(),
        margin=margin.cast(_MONEY).sum(),
        margin_orders=margin.count(),
        margin_amount=o.amount.cast(_MONEY).sum(where=margin.notnull()),
    )
    first = daily.day.min().over(group_by=daily.customer_id)
    prev = daily.day.lag().over(group_by=daily.customer_id, order_by=daily.day)
    daily = daily.mutate(first_day=first, gap=daily.day.delta(prev, unit="day").cast("float64"))
    repeat = daily.day != daily.first_day
    as_of_d = ibis.date(as_of)
    stats = daily.group_by("customer_id").aggregate(
        purchase_days=daily.count(),
        first_day=daily.day.min(),
        last_day=daily.day.max(),
        total_amount=daily.amount.sum().cast("float64"),
        repeat_amount=daily.amount.sum(where=repeat).cast("float64"),
        repeat_margin=daily.margin.sum(where=repeat & (daily.margin_orders > 0)).cast("float64"),
        repeat_margin_days=daily.count(where=repeat & (daily.margin_orders > 0)),
        known_margin=daily.margin.sum().cast("float64"),
        known_margin_amount=daily.margin_amount.sum().cast("float64"),
        gap_n=daily.gap.count(),
        gap_mean=daily.gap.mean(),
        gap_std=daily.gap.std(how="sample"),
    )
    return stats.mutate(
        recency_days=stats.last_day.delta(stats.first_day, unit="day"),
        t_days=as_of_d.delta(stats.first_day, unit="day"),
    ).drop("first_day", "last_day")


@dataclass
class CLVResult:
    """Per-customer CLV figures and what produced them."""

    table: pd.DataFrame
    model: Any = None
    spend_model: Any = None
    quadrant_thresholds: dict[str, float] = field(default_factory=dict)
    note: str = ""

    def meta(self) -> dict[str, Any]:
        """Fitted parameters, standard errors and thresholds, for the snapshot record."""
        out: dict[str, Any] = {"note": self.note, "quadrant_thresholds": self.quadrant_thresholds}
        for key, m in (("model", self.model), ("spend_model", self.spend_model)):
            if m is not None:
                out[key] = {
                    "name": type(m).__name__,
                    "params": {k: float(v) for k, v in m.params_.items()},
                    "standard_errors": {k: float(v) for k, v in m.standard_errors_.items()},
                    "log_likelihood": float(m.log_likelihood_),
                }
        return out


def _empty(note: str) -> CLVResult:
    cols = {"customer_id": pd.Series(dtype="object")}
    cols |= {c: pd.Series(dtype="float64") for c in CLV_COLUMNS}
    return CLVResult(pd.DataFrame(cols), note=note)


def fit_clv(inputs: pd.DataFrame, margin_rate: pd.Series | None, cfg: CLVConfig) -> CLVResult:
    """Fit the purchase and spend models and predict every buyer.

    Parameters
    ----------
    inputs : DataFrame
        `clv_inputs` pulled from the engine.
    margin_rate : Series or None
        Gross-margin rate per customer id (margin / amount where margins are known); None:
        from the inputs' ``known_margin`` / ``known_margin_amount``. A customer without a
        known margin gets the shop's rate over the orders with one (``default_margin_rate``
        only when no order carries a margin).
    cfg : CLVConfig
        Model, time unit, horizon, discounting, thresholds.

    Returns
    -------
    CLVResult
        With an empty table and a note saying why when the data cannot support a fit (too
        few buyers, or a model that does not converge); the run goes on without CLV.
    """
    from tierwise.clv import (
        GammaGammaModel,
        LoyaltyProfitQuadrant,
        make_model,
        predict_customers,
    )

    if len(inputs) < cfg.min_buyers:
        return _empty(f"CLV skipped: {len(inputs)} buyers, fewer than clv.min_buyers")
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
    summary["first_value"] = np.where(repeat, np.nan, df.total_amount)
    try:
        model, model_note = _fit_purchases(make_model, summary, cfg)
        spend, note = _fit_spend(
            GammaGammaModel, summary[repeat & (summary.monetary_value > 0)], cfg
        )
        note = "; ".join(filter(None, (model_note, note)))
        rate = _margin_rates(df, margin_rate, cfg.default_margin_rate).to_numpy(float)
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
            "margin": rate,
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
                note = f"spend: Gamma-Gamma cannot value every customer ({exc}); "
                note += "each customer's own average is used"
                spend = None
            own = summary.assign(
                monetary_value=np.where(repeat, summary.monetary_value, df.total_amount)
            )
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
    quadrant = LoyaltyProfitQuadrant(
        loyalty_threshold=cfg.loyalty_threshold, profit_threshold=cfg.profit_threshold
    ).fit(table)
    thresholds = {
        "loyalty_threshold": round(float(quadrant.loyalty_threshold_), 6),
        "profit_threshold": round(float(quadrant.profit_threshold_), 6),
    }
    return CLVResult(table, model, spend, thresholds, note)


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
        return model, f"purchases: fitted with penalizer 0.001 ({exc})"


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
                f"spend: Gamma-Gamma fitted with penalizer {penalizer}" if penalizer else ""
            )
        except TierwiseError as exc:
            failure = str(exc)
    return None, f"spend: Gamma-Gamma failed ({failure}); each customer's own average is used"


def _margin_rates(df: pd.DataFrame, given: pd.Series | None, default: float) -> pd.Series:
    """Each buyer's gross-margin rate; the shop's rate where the buyer's margins are unknown."""
    if "known_margin_amount" not in df:
        return (
            (given if given is not None else pd.Series(dtype=float))
            .reindex(df.index)
            .fillna(default)
        )
    amount, margin = df.known_margin_amount.fillna(0.0), df.known_margin.fillna(0.0)
    if given is None:
        given = (margin / amount.where(amount > 0)).where(lambda r: r.between(0, 1))
    shop = margin.sum() / amount.sum() if amount.sum() > 0 else default
    return given.reindex(df.index).fillna(shop if 0 <= shop <= 1 else default)
