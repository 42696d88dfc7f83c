"""Uplift: treated versus control, per segment and action, with 95 % intervals.

*Treated* customers are the planned rows of a plan with a send event of that playbook and
action (event ``attributes`` ``{"playbook": …, "action": …}``, and ``"plan": "<as_of>"`` when
given); their window starts at the first such send. *Control* customers are the plan's held-out
rows of the same rule; their window starts at the time the action would have been sent. Within
``window_days`` after the start, a customer *converts* with any paid order; revenue is the
amount paid and margin the gross margin (``amount - cost`` where only the cost is known, else
``amount * default_margin_rate``).

Differences (treated minus control) carry a 95 % interval: the normal approximation for the
difference of two proportions (unpooled Wald), Welch's t interval for the difference of two
means (revenue and margin per customer). An interval holding zero reads "no evidence of an
effect".
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from tierwise.playbooks._plan import attribute

__all__ = ["UPLIFT_COLUMNS", "uplift_customers", "uplift_table"]

UPLIFT_COLUMNS = (
    "rule", "segment", "action", "n_treated", "n_control", "not_sent",
    "conversion_treated", "conversion_control", "conversion_diff", "conversion_low",
    "conversion_high", "revenue_treated", "revenue_control", "revenue_diff", "revenue_low",
    "revenue_high", "margin_treated", "margin_control", "margin_diff", "margin_low",
    "margin_high", "cost_per_customer", "verdict", "words",
)  # fmt: skip


def uplift_customers(
    plans: ir.Table,
    events: ir.Table,
    orders: ir.Table,
    *,
    playbook: str,
    since: dt.date,
    window_days: int,
    default_margin_rate: float = 1.0,
    send_types: Sequence[str] = ("campaign_send",),
) -> ir.Table:
    """One row per planned or control row of the playbook's plans since a day: the group,
    the start of the window, and whether the customer converted, revenue and margin."""
    window = ibis.interval(days=window_days)
    p = plans.filter(
        (plans.playbook == playbook)
        & (plans.as_of >= ibis.literal(since))
        & plans.status.isin(["planned", "control"])
    )
    p = p.select(
        "as_of", "customer_id", "rule", "segment", "action", "status", "send_at", "cost",
        plan_day=p.as_of.cast("string"),
        opens=(p.as_of.cast("timestamp") + ibis.interval(days=1)),
    )  # fmt: skip
    e = events.filter(events.event_type.isin(list(send_types)))
    e = e.select(
        customer_id=e.customer_id.cast("string"),
        at=e.occurred_at,
        s_playbook=attribute(e.attributes, "playbook"),
        s_action=attribute(e.attributes, "action"),
        s_plan=attribute(e.attributes, "plan"),
    ).filter(lambda t: t.s_playbook == playbook)
    treated = p.filter(p.status == "planned")
    j = treated.join(
        e,
        (treated.customer_id == e.customer_id)
        & (treated.action == e.s_action)
        & (e.s_plan.isnull() | (e.s_plan == treated.plan_day))
        & (e.at >= treated.opens)
        & (e.at < treated.opens + window),
    )
    sent = j.group_by(["as_of", "customer_id", "rule"]).aggregate(start=j.at.min())
    treated = treated.left_join(sent, ["as_of", "customer_id", "rule"])
    treated = treated.select(
        "as_of", "customer_id", "rule", "segment", "action", "cost",
        group=ibis.cases((treated.start.isnull(), "not_sent"), else_="treated"),
        start=treated.start,
    )  # fmt: skip
    control = p.filter(p.status == "control").select(
        "as_of", "customer_id", "rule", "segment", "action", "cost",
        group=ibis.literal("control"), start=p.send_at,
    )  # fmt: skip
    rows = treated.union(control)
    o = orders.filter(orders.status == "paid")
    margin = ibis.coalesce(o.gross_margin, o.amount - o.cost, o.amount * default_margin_rate)
    o = o.select(o_customer=o.customer_id.cast("string"), paid_at=o.paid_at, amount=o.amount,
                 margin=margin)  # fmt: skip
    hit = rows.left_join(
        o,
        (rows.customer_id == o.o_customer)
        & (o.paid_at >= rows.start)
        & (o.paid_at < rows.start + window),
    )
    return hit.group_by(
        ["as_of", "customer_id", "rule", "segment", "action", "cost", "group", "start"]
    ).aggregate(
        converted=hit.paid_at.notnull().max().cast("int64"),
        revenue=hit.amount.sum().fill_null(0.0),
        margin=hit.margin.sum().fill_null(0.0),
    )


def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2))


def _proportions(k1: int, n1: int, k0: int, n0: int, level: float) -> tuple[float, ...]:
    if n1 == 0 or n0 == 0:
        return (math.nan,) * 3
    p1, p0 = k1 / n1, k0 / n0
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    d = p1 - p0
    return d, d - _z(level) * se, d + _z(level) * se


def _welch(a: pd.Series, b: pd.Series, level: float) -> tuple[float, ...]:
    from scipy.stats import t

    n1, n0 = len(a), len(b)
    if n1 < 2 or n0 < 2:
        return (math.nan,) * 3
    d = float(a.mean() - b.mean())
    v1, v0 = float(a.var(ddof=1)) / n1, float(b.var(ddof=1)) / n0
    se = math.sqrt(v1 + v0)
    if se == 0:
        return d, d, d
    df = (v1 + v0) ** 2 / (v1**2 / (n1 - 1) + v0**2 / (n0 - 1))
    q = float(t.ppf(0.5 + level / 2, df))
    return d, d - q * se, d + q * se


def _words(row: dict[str, Any], level: float) -> tuple[str, str]:
    pct = f"{level:.0%}"
    if row["n_treated"] == 0 or row["n_control"] == 0:
        return "no data", "no treated or no control customers yet"
    parts, harmful, helps = [], False, False
    for key, label, scale, unit in (("conversion", "conversion", 100, " pts"),
                                    ("revenue", "revenue/customer", 1, ""),
                                    ("margin", "margin/customer", 1, "")):  # fmt: skip
        d, lo, hi = (row[f"{key}_{x}"] for x in ("diff", "low", "high"))
        if any(math.isnan(x) for x in (d, lo, hi)):
            parts.append(f"{label}: too few customers")
            continue
        span = f"{d * scale:+.3g}{unit} ({pct} CI {lo * scale:+.3g} to {hi * scale:+.3g})"
        if lo <= 0 <= hi:
            parts.append(f"{label} {span}: no evidence of an effect")
        elif hi < 0:
            harmful |= key in ("conversion", "margin")
            parts.append(f"{label} {span}: lower")
        else:
            helps |= key in ("conversion", "margin")
            parts.append(f"{label} {span}: higher")
    verdict = "harmful" if harmful else ("helps" if helps else "no evidence of an effect")
    return verdict, "; ".join(parts)


def uplift_table(customers: pd.DataFrame, *, level: float = 0.95) -> list[dict[str, Any]]:
    """Per rule (segment x action): treated vs control conversion, revenue and margin per
    customer, their differences with intervals, and a verdict in words."""
    out = []
    keys = ["rule", "segment", "action"]
    for (rule, segment, action), g in customers.groupby(keys, sort=True):
        t, c = g[g.group == "treated"], g[g.group == "control"]
        row: dict[str, Any] = {"rule": rule, "segment": segment, "action": action,
                               "n_treated": len(t), "n_control": len(c),
                               "not_sent": int((g.group == "not_sent").sum())}  # fmt: skip
        row["conversion_treated"] = float(t.converted.mean()) if len(t) else math.nan
        row["conversion_control"] = float(c.converted.mean()) if len(c) else math.nan
        d = _proportions(int(t.converted.sum()), len(t), int(c.converted.sum()), len(c), level)
        row.update(zip(("conversion_diff", "conversion_low", "conversion_high"), d, strict=True))
        for key in ("revenue", "margin"):
            row[f"{key}_treated"] = float(t[key].mean()) if len(t) else math.nan
            row[f"{key}_control"] = float(c[key].mean()) if len(c) else math.nan
            d = _welch(t[key], c[key], level)
            row.update(zip((f"{key}_diff", f"{key}_low", f"{key}_high"), d, strict=True))
        row["cost_per_customer"] = float(t.cost.mean()) if len(t) else math.nan
        row["verdict"], row["words"] = _words(row, level)
        out.append({k: row[k] for k in UPLIFT_COLUMNS})
    return out
