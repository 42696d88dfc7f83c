"""Distributors (分销员) and referral links: which orders each one brought, and their commission.

`attribute_orders` gives every paid order up to the as-of day its distributor, if any: the one
the order names (``distributors.order_fields``), else the link touch within ``window_days``
before it chosen by ``attribution`` (the earliest or the newest), with the commission of the
first ``commission`` rule that fits. `distributor_report` sums them per distributor: customers
brought, orders, revenue, their repurchase rate, commission, joined with the influence scores
of a snapshot.
"""

from __future__ import annotations

import json
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from tierwise.config import CommissionRule, DistributorsConfig
from tierwise.errors import ConfigError

__all__ = ["ORDER_COLUMNS", "attribute_orders", "commission_rule", "distributor_report"]

ORDER_COLUMNS = [
    "order_id", "customer_id", "paid_at", "amount", "distributor_id", "attribution",
    "touch_at", "touch_row", "order_kind", "category", "level", "rule", "rate", "commission",
]  # fmt: skip
"""Columns of `attribute_orders`."""


def _field(frame: pd.DataFrame, field: str, where: str) -> pd.Series:
    """A column, or the key of the attributes JSON, as text (missing: None)."""
    if field.startswith("attributes."):
        key = field.split(".", 1)[1]

        def get(raw: Any) -> Any:
            try:
                value = json.loads(raw) if isinstance(raw, str) else None
            except ValueError:
                return None
            found = value.get(key) if isinstance(value, dict) else None
            return None if found is None or str(found).strip() == "" else str(found).strip()

        return frame["attributes"].map(get)
    if field not in frame.columns:
        raise ConfigError(f"{where}: no column {field!r} (or use attributes.KEY)")
    return frame[field].map(lambda v: None if pd.isna(v) or str(v) == "" else str(v))


def commission_rule(
    rules: list[CommissionRule], *, category: str | None, level: str | None, first: bool
) -> int | None:
    """Index of the first rule that fits an order, or ``None``."""
    for i, rule in enumerate(rules):
        if rule.category and category not in rule.category:
            continue
        if rule.level and level not in rule.level:
            continue
        if (rule.order == "first" and not first) or (rule.order == "repeat" and first):
            continue
        return i
    return None


def _touches(events: ir.Table, cutoff: Any, cfg: DistributorsConfig) -> pd.DataFrame:
    cols = ["customer_id", "distributor_id", "at", "row"]
    frames = []
    if cfg.link_types:
        e = events.filter(
            (events.occurred_at < cutoff) & events.event_type.isin(cfg.link_types)
            & events.target_customer_id.notnull()
            & (events.target_customer_id != events.customer_id)
        )  # fmt: skip
        links = e.select(customer_id=e.target_customer_id, distributor_id=e.customer_id,
                         at=e.occurred_at, row=e.event_id).to_pandas()  # fmt: skip
        frames.append(links)
    for i, field in enumerate(cfg.event_fields):
        e = events.filter(events.occurred_at < cutoff)
        if field.startswith("attributes."):
            key = json.dumps(field.split(".", 1)[1], ensure_ascii=False)
            e = e.filter(e.attributes.notnull() & e.attributes.contains(key))
        rows = e.to_pandas()
        if rows.empty:
            continue
        rows["distributor_id"] = _field(rows, field, f"distributors.event_fields[{i}]")
        rows = rows[rows.distributor_id.notna() & (rows.distributor_id != rows.customer_id)]
        frames.append(rows.rename(columns={"occurred_at": "at", "event_id": "row"})[cols])
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    out = pd.concat(frames, ignore_index=True)
    out["at"] = pd.to_datetime(out["at"])
    return out


def attribute_orders(
    tables: dict[str, ir.Table], cutoff: Any, cfg: DistributorsConfig
) -> pd.DataFrame:
    """Every paid order before ``cutoff`` with its distributor (if any) and commission.

    Parameters
    ----------
    tables : dict
        The canonical ``customers``, ``orders`` and ``events`` tables (Ibis).
    cutoff : timestamp value
        First instant after the as-of day.
    cfg : DistributorsConfig
        Attribution, window and commission rules.

    Returns
    -------
    DataFrame
        `ORDER_COLUMNS`: ``attribution`` is ``order`` (the order names its distributor),
        ``first_touch`` or ``last_touch`` (a link touch, ``touch_at`` and ``touch_row``) or
        ``None`` (no distributor); ``order_kind`` is ``first`` or ``repeat`` (the customer's
        paid orders in time order); ``rule`` the commission rule's index.
    """
    o = tables["orders"]
    paid = o.filter((o.status == "paid") & (o.paid_at < cutoff)).select(
        "order_id", "customer_id", "paid_at", "amount", "attributes", *[
            f for f in cfg.order_fields if not f.startswith("attributes.") and f in o.columns
        ],
    ).to_pandas()  # fmt: skip
    paid = paid.sort_values(["customer_id", "paid_at", "order_id"]).reset_index(drop=True)
    paid["order_kind"] = np.where(paid.groupby("customer_id").cumcount() == 0, "first", "repeat")
    direct = pd.Series([None] * len(paid), index=paid.index, dtype=object)
    for i, field in enumerate(cfg.order_fields):
        found = _field(paid, field, f"distributors.order_fields[{i}]")
        direct = direct.where(direct.notna(), found)
    paid["distributor_id"] = direct
    paid["attribution"] = np.where(direct.notna(), "order", None)
    paid["touch_at"] = pd.NaT
    paid["touch_row"] = None
    touches = _touches(tables["events"], cutoff, cfg)
    open_ = paid[paid.distributor_id.isna()][["order_id", "customer_id", "paid_at"]]
    if not touches.empty and not open_.empty:
        cand = open_.merge(touches, on="customer_id")
        cand["paid_at"] = pd.to_datetime(cand.paid_at)
        window = pd.Timedelta(days=cfg.window_days)
        cand = cand[(cand["at"] <= cand.paid_at) & (cand["at"] > cand.paid_at - window)]
        last = cfg.attribution == "last_touch"
        cand = cand.sort_values(["order_id", "at", "row"], ascending=[True, not last, not last])
        pick = cand.groupby("order_id", sort=False).head(1).set_index("order_id")
        idx = paid.order_id.map(lambda k: k in pick.index)
        ids = paid.loc[idx, "order_id"]
        paid.loc[idx, "distributor_id"] = ids.map(pick.distributor_id).values
        paid.loc[idx, "attribution"] = cfg.attribution
        paid.loc[idx, "touch_at"] = ids.map(pick["at"]).values
        paid.loc[idx, "touch_row"] = ids.map(pick["row"]).values
    paid["category"] = _field(paid, f"attributes.{cfg.category_key}", "distributors.category_key")
    c = tables["customers"]
    levels = c.filter(c.member_level.notnull()).select("customer_id", "member_level").to_pandas()
    level_of = dict(zip(levels.customer_id, levels.member_level, strict=True))
    paid["level"] = paid.distributor_id.map(lambda d: level_of.get(d) if d else None)
    rules, rates, commission = [], [], []
    for row in paid.itertuples(index=False):
        rule = None
        if row.distributor_id is not None and not pd.isna(row.distributor_id):
            rule = commission_rule(cfg.commission, category=row.category, level=row.level,
                                   first=row.order_kind == "first")  # fmt: skip
        rate = cfg.commission[rule].rate if rule is not None else None
        rules.append(rule)
        rates.append(rate)
        commission.append(round(float(row.amount) * rate, 2) if rate is not None else None)
    paid["rule"] = pd.array(rules, dtype="Int64")
    paid["rate"] = pd.array(rates, dtype="Float64")
    paid["commission"] = pd.array(commission, dtype="Float64")
    return paid[ORDER_COLUMNS]


def distributor_report(
    attributed: pd.DataFrame, influence: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per distributor: customers brought, their orders, revenue, repurchase and commission.

    Parameters
    ----------
    attributed : DataFrame
        `attribute_orders` (every paid order, attributed or not).
    influence : DataFrame, optional
        ``customer_id``, ``influence_score``, ``influence_reach`` of a snapshot, joined on the
        distributor's id (missing when the distributor is not a customer of it).

    Returns
    -------
    DataFrame
        ``distributor_id``, ``customers`` (brought: with an attributed order), ``orders``,
        ``revenue``, ``first_orders``, ``repurchase_rate`` (brought customers with two paid
        orders or more, through anyone), ``commission``, ``influence_score``,
        ``influence_reach``; most revenue first.
    """
    cols = ["distributor_id", "customers", "orders", "revenue", "first_orders",
            "repurchase_rate", "commission", "influence_score", "influence_reach"]  # fmt: skip
    mine = attributed[attributed.distributor_id.notna()]
    if mine.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    n_paid = attributed.groupby("customer_id").size()
    rows = []
    for dist, g in mine.groupby("distributor_id", sort=True):
        brought = g.customer_id.unique()
        rows.append({
            "distributor_id": dist,
            "customers": len(brought),
            "orders": len(g),
            "revenue": round(float(g.amount.sum()), 2),
            "first_orders": int((g.order_kind == "first").sum()),
            "repurchase_rate": round(float((n_paid.reindex(brought) >= 2).mean()), 4),
            "commission": round(float(g.commission.fillna(0).sum()), 2),
        })  # fmt: skip
    out = pd.DataFrame(rows)
    if influence is not None and not influence.empty:
        inf = influence.rename(columns={"customer_id": "distributor_id"})
        out = out.merge(inf[["distributor_id", "influence_score", "influence_reach"]],
                        on="distributor_id", how="left")  # fmt: skip
    else:
        out["influence_score"] = None
        out["influence_reach"] = None
    out = out.astype({"influence_score": "object", "influence_reach": "object"})
    out = out.where(out.notna(), None)
    return out.sort_values(["revenue", "distributor_id"], ascending=[False, True])[
        cols
    ].reset_index(drop=True)
