"""Do the labels predict what they claim? A backtest on the orders after a cut day.

The run as of the cut reads only data stamped up to the end of that day; the outcome of every
customer of that run is read from the paid orders after it, up to ``until``. Per scheme and
label the backtest reports customers, repurchase rate, orders, revenue and margin per customer;
it checks every ordering a scheme declares under ``expect:`` (see `tierwise.config.Expectation`)
and the calibration of CLV and P(alive) by decile.

A difference is called *contradicted* only when it lies outside its 95 % interval (normal
approximation of the difference of two means, unequal variances); an inversion inside it is
*within noise*, and a declared order shown outside the interval *holds*.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tierwise.errors import TierwiseError

if TYPE_CHECKING:
    from tierwise.config import Expectation, RuleScheme

__all__ = [
    "METRICS",
    "Backtest",
    "backtest",
    "compare",
    "decile_table",
    "label_members",
]

METRICS: dict[str, tuple[str, str]] = {
    "repurchase_rate": ("bought", "share of customers with a paid order in the holdout"),
    "orders_per_customer": ("holdout_orders", "paid orders in the holdout per customer"),
    "revenue_per_customer": ("holdout_revenue", "revenue in the holdout per customer"),
    "margin_per_customer": ("holdout_margin", "gross margin in the holdout per customer"),
}
"""Metric name: (the per-customer outcome column it averages, meaning)."""

_SHORT = {
    "repurchase_rate": "repurchase",
    "orders_per_customer": "orders",
    "revenue_per_customer": "revenue",
    "margin_per_customer": "margin",
}
_Z95 = 1.959963984540054
_UNIT_DAYS = {"D": 1.0, "W": 7.0}
HOLDS, NOISE, CONTRADICTED, EMPTY = "holds", "within noise", "contradicted", "no customers"


@dataclass(frozen=True)
class Backtest:
    """What the labels and predictions made as of ``cut`` were worth after it.

    Attributes
    ----------
    cut, until : datetime.date
        The run's as-of day and the last day of the holdout.
    labels : DataFrame
        Per scheme and label: ``customers`` and the mean of every metric (`METRICS`);
        ``flag`` names the declared orderings the holdout contradicts.
    checks : DataFrame
        Every declared ordering, pair by pair: both means, the ``difference`` (higher side
        minus lower side), its ``relative`` size, the half-width ``margin95`` of its 95 %
        interval and the ``status`` (holds, within noise, contradicted, no customers).
    clv_deciles, p_alive_deciles, p_purchase_deciles : DataFrame
        Buyers as of the cut in ten equal groups (1 lowest) by predicted CLV, by P(alive) and
        by the predicted probability of a purchase in the holdout (``p_purchase``), predicted
        against actual.
    decile_checks : DataFrame
        Each decile against the next one (holdout revenue for CLV, repurchase for P(alive)
        and P(purchase)), in the form of ``checks``.
    calibration : dict
        Spearman correlations, top-decile capture (with past revenue as the baseline), and
        whether the decile outcomes rise monotonically.
    customers : DataFrame
        Per customer of the cut's run: every label column, the predictions and the outcome.
    """

    cut: dt.date
    until: dt.date
    labels: pd.DataFrame
    checks: pd.DataFrame
    clv_deciles: pd.DataFrame
    p_alive_deciles: pd.DataFrame
    p_purchase_deciles: pd.DataFrame
    decile_checks: pd.DataFrame
    calibration: dict[str, Any] = field(default_factory=dict)
    customers: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    note: str = ""

    @property
    def contradictions(self) -> pd.DataFrame:
        """The declared orderings and decile steps the holdout contradicts."""
        both = pd.concat([self.checks, self.decile_checks], ignore_index=True)
        return both[both.status == CONTRADICTED].reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-friendly), without the per-customer table."""

        def records(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: _plain(v) for k, v in r.items()} for r in df.to_dict("records")]

        return {
            "cut": self.cut.isoformat(),
            "until": self.until.isoformat(),
            "customers": len(self.customers),
            "holdout_buyers": int(self.customers.bought.sum()) if len(self.customers) else 0,
            "labels": records(self.labels[self.labels.customers > 0]),
            "checks": records(self.checks),
            "clv_deciles": records(self.clv_deciles),
            "p_alive_deciles": records(self.p_alive_deciles),
            "p_purchase_deciles": records(self.p_purchase_deciles),
            "decile_checks": records(self.decile_checks),
            "calibration": {k: _plain(v) for k, v in self.calibration.items()},
            "contradictions": records(self.contradictions),
            "note": self.note,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# -- outcomes and label members -------------------------------------------------------------
def _outcomes(profiles: pd.DataFrame, holdout: pd.DataFrame) -> pd.DataFrame:
    """The cut's customers with their holdout orders (0 for those who bought nothing)."""
    ids = profiles.customer_id.astype(str)
    held = holdout.set_index(holdout.customer_id.astype(str))
    out = pd.DataFrame(index=pd.Index(ids, name="customer_id"))
    for col in ("orders", "purchase_days", "revenue", "margin"):
        values = held[col] if col in held else pd.Series(dtype=float)
        out[f"holdout_{col}"] = values.reindex(out.index).fillna(0).astype(float).to_numpy()
    out["bought"] = (out.holdout_orders > 0).astype(float)
    return out


def label_members(profiles: pd.DataFrame, name: str, scheme: RuleScheme) -> dict[str, pd.Index]:
    """The customers of each label of a scheme, in the scheme's label order.

    Exclusive schemes: the customers whose label it is. Multi-label schemes: every customer
    carrying it (``<scheme>_all``), so a customer counts under each label whose rule held.
    """
    ids = profiles.customer_id.astype(str)
    if scheme.mode == "multi" and f"{name}_all" in profiles:
        carried = profiles[f"{name}_all"].fillna("").astype(str).str.split(";")
        pairs = pd.DataFrame({"customer_id": ids.to_numpy(), "label": carried.to_numpy()})
        pairs = pairs.explode("label")
        pairs = pairs[pairs.label != ""]
    else:
        pairs = pd.DataFrame({"customer_id": ids.to_numpy(), "label": profiles[name].to_numpy()})
        pairs = pairs[pairs.label.notna()]
    groups = {str(k): pd.Index(v.customer_id) for k, v in pairs.groupby("label", sort=False)}
    order = [lab.id for lab in scheme.labels] + ([scheme.default] if scheme.default else [])
    order += sorted(set(groups) - set(order))
    return {lab: groups.get(lab, pd.Index([], dtype=object)) for lab in order}


# -- comparisons ----------------------------------------------------------------------------
def compare(higher: pd.Series, lower: pd.Series) -> dict[str, Any]:
    """Whether ``higher`` has the larger mean, with the 95 % interval of the difference.

    Returns
    -------
    dict
        ``higher_value``, ``lower_value``, ``difference``, ``relative`` (difference over the
        lower mean), ``margin95`` (half-width of the interval; infinite with fewer than two
        customers on a side) and ``status``.
    """
    nh, nl = len(higher), len(lower)
    if nh == 0 or nl == 0:
        return {"higher_value": higher.mean() if nh else math.nan,
                "lower_value": lower.mean() if nl else math.nan, "difference": math.nan,
                "relative": math.nan, "margin95": math.nan, "status": EMPTY}  # fmt: skip
    mh, ml = float(higher.mean()), float(lower.mean())
    var = (higher.var(ddof=1) / nh if nh > 1 else math.inf) + (
        lower.var(ddof=1) / nl if nl > 1 else math.inf
    )
    half = _Z95 * math.sqrt(var)
    diff = mh - ml
    if diff > half:
        status = HOLDS
    elif diff < -half:
        status = CONTRADICTED
    else:
        status = NOISE
    return {"higher_value": mh, "lower_value": ml, "difference": diff,
            "relative": diff / abs(ml) if ml else math.nan, "margin95": half,
            "status": status}  # fmt: skip


def _pairs(exp: Expectation, members: dict[str, pd.Index]) -> list[tuple[list[str], list[str]]]:
    if exp.order:
        present = [lab for lab in exp.order if len(members.get(lab, ())) > 0]
        if len(present) < 2:
            return [([a], [b]) for a, b in itertools.pairwise(exp.order)]
        return [([a], [b]) for a, b in itertools.pairwise(present)]
    return [(list(exp.higher), list(exp.lower))]


def _union(members: dict[str, pd.Index], labels: list[str]) -> pd.Index:
    out = pd.Index([], dtype=object)
    for lab in labels:
        out = out.union(members.get(lab, pd.Index([], dtype=object)))
    return out


def _scheme_checks(
    name: str, scheme: RuleScheme, members: dict[str, pd.Index], outcomes: pd.DataFrame
) -> list[dict[str, Any]]:
    rows = []
    for exp in scheme.expect:
        column = METRICS[exp.metric][0]
        for high, low in _pairs(exp, members):
            result = compare(
                outcomes.loc[_union(members, high), column],
                outcomes.loc[_union(members, low), column],
            )
            rows.append({"scheme": name, "metric": exp.metric, "higher": "+".join(high),
                         "lower": "+".join(low), **result, "note": exp.note})  # fmt: skip
    return rows


def _flag(check: dict[str, Any]) -> str:
    metric = _SHORT[check["metric"]]
    rel = check["relative"]
    by = f" {rel:+.0%}" if isinstance(rel, float) and math.isfinite(rel) else ""
    text = f"{metric} < {check['lower']}{by}"
    return text if check["status"] == CONTRADICTED else f"{text} (within noise)"


def _label_table(
    schemes: dict[str, RuleScheme], profiles: pd.DataFrame, outcomes: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    for name, scheme in schemes.items():
        if name not in profiles:
            continue
        members = label_members(profiles, name, scheme)
        scheme_checks = _scheme_checks(name, scheme, members, outcomes)
        checks += scheme_checks
        for label, ids in members.items():
            part = outcomes.loc[ids]
            flags = [
                _flag(c)
                for c in scheme_checks
                if label in c["higher"].split("+")
                and c["status"] in (CONTRADICTED, NOISE)
                and c["difference"] < 0
            ]
            rows.append({
                "scheme": name, "label": label, "customers": len(part),
                **{m: float(part[col].mean()) if len(part) else math.nan
                   for m, (col, _) in METRICS.items()},
                "flag": "; ".join(flags),
            })  # fmt: skip
    columns = ["scheme", "label", "customers", *METRICS, "flag"]
    check_columns = ["scheme", "metric", "higher", "lower", "higher_value", "lower_value",
                     "difference", "relative", "margin95", "status", "note"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns), pd.DataFrame(checks, columns=check_columns)


# -- calibration by decile ------------------------------------------------------------------
def _deciles(score: pd.Series) -> pd.Series:
    """Decile 1 (lowest) to 10 of a score, ten equal groups; ties are split by customer id."""
    order = pd.DataFrame({"score": score.to_numpy(), "id": score.index.astype(str)})
    rank = order.sort_values(["score", "id"]).index.to_numpy()
    position = np.empty(len(order), dtype=float)
    position[rank] = np.arange(1, len(order) + 1)
    return pd.Series(np.ceil(position * 10 / len(order)).astype(int), index=score.index)


def decile_table(score: pd.Series, frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Means of ``frame`` columns per decile of ``score`` (1 lowest), with each decile's range.

    ``columns`` maps an output name to a column of ``frame`` (indexed like ``score``).
    """
    if score.empty:
        return pd.DataFrame(columns=["decile", "customers", "low", "high", *columns])
    dec = _deciles(score)
    grouped = frame.assign(_d=dec, _s=score).groupby("_d")
    table = pd.DataFrame({
        "customers": grouped.size(), "low": grouped._s.min(), "high": grouped._s.max(),
        **{out: grouped[col].mean() for out, col in columns.items()},
    })  # fmt: skip
    return table.rename_axis("decile").reset_index()


def _decile_steps(
    score: pd.Series, frame: pd.DataFrame, column: str, metric: str, name: str
) -> list[dict[str, Any]]:
    if score.empty:
        return []
    dec = _deciles(score)
    rows = []
    for d in range(1, 10):
        upper, lower = frame.loc[dec == d + 1, column], frame.loc[dec == d, column]
        rows.append({"scheme": name, "metric": metric, "higher": f"decile {d + 1}",
                     "lower": f"decile {d}", **compare(upper, lower), "note": ""})  # fmt: skip
    return rows


def _spearman(a: pd.Series, b: pd.Series) -> float:
    if len(a) < 3 or a.nunique() < 2 or b.nunique() < 2:
        return math.nan
    return float(a.rank().corr(b.rank()))


def _top_decile_capture(score: pd.Series, revenue: pd.Series) -> float:
    total = revenue.sum()
    if len(score) < 10 or total <= 0:
        return math.nan
    return float(revenue[_deciles(score) == 10].sum() / total)


def _holdout_predictions(
    profiles: pd.DataFrame, model: Any, cut: dt.date, until: dt.date, time_unit: str
) -> pd.DataFrame:
    """The model's expected purchase days in (cut, until] for every buyer of the run, and the
    probability of at least one."""
    buyers = profiles[profiles.order_days.fillna(0) > 0]
    unit = _UNIT_DAYS.get(time_unit, 7.0)
    first = pd.to_datetime(buyers.first_order_at).dt.normalize()
    last = pd.to_datetime(buyers.last_order_at).dt.normalize()
    day = pd.Timestamp(cut)
    x = (buyers.order_days.astype(float) - 1).to_numpy()
    tx = ((last - first).dt.days / unit).to_numpy(float)
    t_end = ((day - first).dt.days / unit).to_numpy(float)
    horizon = (until - cut).days / unit
    expected = model.conditional_expected_number_of_purchases_up_to_time(horizon, x, tx, t_end)
    p_buy = model.conditional_probability_of_purchase(horizon, x, tx, t_end)
    return pd.DataFrame(
        {"predicted_purchases": np.asarray(expected, float), "p_purchase": np.asarray(p_buy)},
        index=buyers.customer_id.astype(str).to_numpy(),
    )


def _calibration(
    profiles: pd.DataFrame,
    outcomes: pd.DataFrame,
    model: Any,
    cut: dt.date,
    until: dt.date,
    time_unit: str,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    p = profiles.set_index(profiles.customer_id.astype(str))
    if "clv" not in p or p.clv.notna().sum() == 0:
        empty = decile_table(pd.Series(dtype=float), outcomes, {})
        return empty, empty, empty, pd.DataFrame(), {"note": "no CLV in the run as of the cut"}
    buyers = p[p.clv.notna()]
    frame = outcomes.loc[buyers.index].copy()
    frame["clv"] = buyers.clv
    frame["p_alive"] = buyers.p_alive
    frame["past_revenue"] = buyers.monetary_total.astype(float)
    if model is not None:
        predicted = _holdout_predictions(buyers.reset_index(drop=True), model, cut, until,
                                         time_unit)  # fmt: skip
        frame = frame.join(predicted)
        frame["predicted_margin"] = frame.predicted_purchases * buyers.expected_avg_value
    else:
        frame[["predicted_purchases", "p_purchase", "predicted_margin"]] = math.nan
    clv = decile_table(frame.clv, frame, {
        "clv": "clv", "predicted_purchases": "predicted_purchases",
        "actual_purchases": "holdout_purchase_days", "predicted_margin": "predicted_margin",
        "actual_margin": "holdout_margin", "revenue_per_customer": "holdout_revenue",
        "repurchase_rate": "bought",
    })  # fmt: skip
    total = frame.holdout_revenue.sum()
    clv["revenue_share"] = (
        frame.groupby(_deciles(frame.clv)).holdout_revenue.sum().to_numpy() / total
        if total > 0
        else math.nan
    )
    alive = decile_table(frame.p_alive, frame, {
        "p_alive": "p_alive", "p_purchase": "p_purchase", "repurchase_rate": "bought",
        "predicted_purchases": "predicted_purchases", "actual_purchases": "holdout_purchase_days",
    })  # fmt: skip
    buying = frame.p_purchase.dropna()
    purchase = decile_table(buying, frame.loc[buying.index], {
        "p_purchase": "p_purchase", "repurchase_rate": "bought", "p_alive": "p_alive",
    })  # fmt: skip
    steps = pd.DataFrame(
        _decile_steps(frame.clv, frame, "holdout_revenue", "revenue_per_customer", "clv")
        + _decile_steps(frame.p_alive, frame, "bought", "repurchase_rate", "p_alive")
        + _decile_steps(buying, frame.loc[buying.index], "bought", "repurchase_rate", "p_purchase")
    )
    # nobody buys without being alive: a decile buying more often than its mean P(alive)
    # (beyond the binomial noise) shows P(alive) too low there
    noise = _Z95 * np.sqrt(alive.p_alive * (1 - alive.p_alive) / alive.customers)
    too_low = alive[alive.repurchase_rate - alive.p_alive > noise].decile.tolist()

    def inversions(name: str) -> list[str]:
        part = steps[(steps.scheme == name) & (steps.difference < 0)]
        return [f"{r.lower} > {r.higher}" + ("" if r.status == CONTRADICTED else " (noise)")
                for r in part.itertuples()]  # fmt: skip

    figures = {
        "buyers": len(frame),
        "spearman_clv_revenue": _spearman(frame.clv, frame.holdout_revenue),
        "spearman_past_revenue_revenue": _spearman(frame.past_revenue, frame.holdout_revenue),
        "spearman_p_alive_repurchase": _spearman(frame.p_alive, frame.bought),
        "spearman_p_purchase_repurchase": _spearman(frame.p_purchase, frame.bought),
        "predicted_repurchase_rate": float(frame.p_purchase.mean()),
        "actual_repurchase_rate": float(frame.bought.mean()),
        "top_decile_capture": _top_decile_capture(frame.clv, frame.holdout_revenue),
        "top_decile_capture_past_revenue": _top_decile_capture(
            frame.past_revenue, frame.holdout_revenue
        ),
        "predicted_purchases": float(frame.predicted_purchases.sum()),
        "actual_purchases": float(frame.holdout_purchase_days.sum()),
        "clv_monotone": not inversions("clv"),
        "clv_inversions": inversions("clv"),
        "p_alive_monotone": not inversions("p_alive"),
        "p_alive_inversions": inversions("p_alive"),
        "p_alive_below_repurchase": [f"decile {d}" for d in too_low],
        "p_purchase_monotone": not inversions("p_purchase"),
        "p_purchase_inversions": inversions("p_purchase"),
    }
    return clv, alive, purchase, steps, figures


# -- the backtest ---------------------------------------------------------------------------
def backtest(
    profiles: pd.DataFrame,
    holdout: pd.DataFrame,
    schemes: dict[str, RuleScheme],
    *,
    cut: dt.date,
    until: dt.date,
    clv_model: Any = None,
    time_unit: str = "W",
    note: str = "",
) -> Backtest:
    """Measure the labels and predictions of a run as of ``cut`` on the orders after it.

    Parameters
    ----------
    profiles : DataFrame
        The profile table of the run as of ``cut`` (labels, features, CLV columns).
    holdout : DataFrame
        Per customer, the paid orders in (cut, until]: ``customer_id``, ``orders``,
        ``purchase_days``, ``revenue``, ``margin`` (`tierwise.store.Store.holdout_outcomes`).
    schemes : dict of str to RuleScheme
        The schemes of the run, with their ``expect:`` orderings.
    cut, until : datetime.date
        The run's as-of day and the last day of the holdout.
    clv_model : fitted purchase model, optional
        To predict each buyer's purchases over the holdout.
    time_unit : {"W", "D"}
        The model's time unit.

    Returns
    -------
    Backtest
    """
    if until <= cut:
        raise TierwiseError(f"the holdout must end after the cut: {until} is not after {cut}")
    outcomes = _outcomes(profiles, holdout)
    labels, checks = _label_table(schemes, profiles, outcomes)
    clv, alive, purchase, steps, figures = _calibration(
        profiles, outcomes, clv_model, cut, until, time_unit
    )
    columns = checks.columns
    steps = steps.reindex(columns=columns) if len(steps) else pd.DataFrame(columns=columns)
    table = profiles.set_index(profiles.customer_id.astype(str)).drop(columns="customer_id")
    customers = table.join(outcomes)
    return Backtest(
        cut, until, labels, checks, clv, alive, purchase, steps, figures, customers, note
    )
