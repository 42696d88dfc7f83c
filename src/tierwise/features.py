"""Per-customer features as of a date, written once as Ibis expressions.

The same definitions compile to DuckDB SQL (the embedded default) and to Spark SQL. A run as of
day D reads only orders and events stamped before D + 1 day: nothing after the as-of date leaks
in. A window of ``w`` days covers the ``w`` days that end on D (D included).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import ibis
import ibis.expr.datatypes as dt_
import ibis.expr.types as ir
import pyarrow as pa

from tierwise.config import Config, FeatureConfig, IntentionConfig

if TYPE_CHECKING:
    from tierwise.carry import CarrySource
    from tierwise.rollups import RollupTables

__all__ = [
    "ATTRIBUTE_COLUMNS",
    "INTENTION_SUM",
    "customer_features",
    "cutoff_of",
    "event_weight",
    "feature_columns",
    "intention_score",
    "known_customers",
    "needed_features",
    "referral_pairs",
    "rollup_intention_sums",
    "rollup_intention_terms",
]

ATTRIBUTE_COLUMNS = ("gender", "city", "city_tier", "age_band", "member_level", "referrer_id")
_SECONDS_PER_DAY = 86_400
_MONEY = dt_.Decimal(38, 4)


def cutoff_of(as_of: dt.date) -> ir.TimestampValue:
    """The first instant after the as-of day: everything a run reads is stamped before it."""
    return ibis.timestamp(dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time()))


def known_customers(customers: ir.Table, as_of: dt.date) -> ir.Table:
    """The customers a run as of ``as_of`` profiles: first seen by that day, or never."""
    seen = customers.first_seen
    return customers.filter(seen.isnull() | (seen < cutoff_of(as_of)))


def _earliest(*values: ir.Value) -> ir.Value:
    """Smallest non-missing value, the same on every engine."""
    firsts = [ibis.coalesce(v, *[o for o in values if o is not v]) for v in values]
    return ibis.least(*firsts)


def _exact_sum(values: ir.NumericValue, where: ir.BooleanValue | None = None) -> ir.FloatingValue:
    """A sum of money done in decimal, so every engine gets the same float back."""
    return values.cast(_MONEY).sum(where=where).cast("float64")


def _safe_div(num: ir.NumericValue, den: ir.NumericValue) -> ir.NumericValue:
    return ibis.ifelse(den > 0, num.cast("float64") / den.cast("float64"), ibis.null("float64"))


def _order_aggregates(
    orders: ir.Table, as_of: ir.DateValue, cutoff: ir.TimestampValue, cfg: FeatureConfig
) -> tuple[ir.Table, dict[str, ir.Value]]:
    """Order features from raw order rows."""
    o = orders.filter(orders.paid_at < cutoff)
    paid = o.status == "paid"
    days_ago = as_of.delta(o.paid_at.date(), unit="day")
    margin = ibis.coalesce(o.gross_margin, o.amount - o.cost)
    recent = paid & (days_ago < 365)
    known_channels = o.channel.isin(cfg.order_channels)
    aggs: dict[str, ir.Value] = {
        "orders": o.count(where=paid),
        "order_days": o.paid_at.date().nunique(where=paid),
        "monetary_total": _exact_sum(o.amount, paid),
        "margin_total": _exact_sum(margin, paid),
        "margin_orders": margin.count(where=paid),
        "first_order_at": o.paid_at.min(where=paid),
        "last_order_at": o.paid_at.max(where=paid),
        "orders_365": o.count(where=recent),
        "monetary_365": _exact_sum(o.amount, recent),
        "items_total": o.item_count.sum(where=paid),
        "refunds": o.count(where=o.status == "refunded"),
        "coupon_orders": o.count(where=paid & o.coupon_used.fill_null(False)),
        "deal_orders": o.count(where=paid & o.channel.isin(cfg.deal_channels)),
    }
    for ch in cfg.order_channels:
        aggs[f"orders_ch_{ch}"] = o.count(where=paid & (o.channel == ch))
    aggs["orders_ch_other"] = o.count(where=paid & ~known_channels.fill_null(False))
    return o, aggs


def _both(within: ir.BooleanValue | None, cond: ir.BooleanValue | None) -> ir.BooleanValue | None:
    if within is None or cond is None:
        return cond if within is None else within
    return within & cond


_MONEY_SUMS = ("monetary_total", "margin_total", "monetary_365")
"""Order sums of money: summed in decimal, given out as float64."""


def order_day_sums(
    d: ir.Table, as_of: ir.DateValue, cfg: FeatureConfig, within: ir.BooleanValue | None = None
) -> dict[str, ir.Value]:
    """Order features over rows ``d`` of the per customer, day and channel rollup, as of
    ``as_of``, counting only the rows where ``within`` holds; money stays in decimal."""
    recent = as_of.delta(d.day, unit="day") < 365
    known_channels = d.channel.isin(cfg.order_channels)

    def paid(cond: ir.BooleanValue | None = None) -> ir.IntegerValue:
        return d.paid.sum(where=_both(within, cond))

    aggs: dict[str, ir.Value] = {
        "orders": paid(),
        "order_days": d.day.nunique(where=_both(within, d.paid > 0)),
        "monetary_total": d.amount.sum(where=within),
        "margin_total": d.margin.sum(where=within),
        "margin_orders": d.margin_n.sum(where=within),
        "first_order_at": d.first_paid_at.min(where=within),
        "last_order_at": d.last_paid_at.max(where=within),
        "orders_365": paid(recent),
        "monetary_365": d.amount.sum(where=_both(within, recent)),
        "items_total": d.items.sum(where=within),
        "refunds": d.refunded.sum(where=within),
        "coupon_orders": d.coupon.sum(where=within),
        "deal_orders": paid(d.channel.isin(cfg.deal_channels)),
    }
    for ch in cfg.order_channels:
        aggs[f"orders_ch_{ch}"] = paid(d.channel == ch)
    aggs["orders_ch_other"] = paid(~known_channels.fill_null(False))
    return aggs


def _order_rollup_aggregates(
    daily: ir.Table, as_of: ir.DateValue, cfg: FeatureConfig
) -> tuple[ir.Table, dict[str, ir.Value]]:
    """The same order features from the per customer, day and channel rollup."""
    d = daily.filter(daily.day <= as_of)
    aggs = order_day_sums(d, as_of, cfg)
    return d, {k: v.cast("float64") if k in _MONEY_SUMS else v for k, v in aggs.items()}


def _event_aggregates(
    events: ir.Table, as_of: ir.DateValue, cutoff: ir.TimestampValue, cfg: FeatureConfig
) -> tuple[ir.Table, dict[str, ir.Value]]:
    """Event features from raw event rows."""
    e = events.filter(events.occurred_at < cutoff)
    days_ago = as_of.delta(e.occurred_at.date(), unit="day")
    creator = e.event_type.isin(cfg.creator_types)

    def count(where: ir.BooleanValue | None = None) -> ir.IntegerValue:
        return e.count(where=where)

    aggs = _event_counts(count, e.event_type, days_ago, cfg)
    aggs["first_event_at"] = e.occurred_at.min()
    aggs["last_event_at"] = e.occurred_at.max()
    aggs["last_creator_post_at"] = e.occurred_at.max(where=creator)
    aggs["intention_score"] = intention_score(e, cutoff, cfg.intention).sum().round(4)
    return e, aggs


def event_day_counts(
    d: ir.Table, as_of: ir.DateValue, cfg: FeatureConfig, within: ir.BooleanValue | None = None
) -> dict[str, ir.Value]:
    """Event counts, first and last times over rows ``d`` of the per customer, day, type and
    channel rollup, as of ``as_of``, counting only the rows where ``within`` holds."""
    days_ago = as_of.delta(d.day, unit="day")
    creator = d.event_type.isin(cfg.creator_types)

    def count(where: ir.BooleanValue | None = None) -> ir.IntegerValue:
        return d.n.sum(where=_both(within, where))

    aggs = _event_counts(count, d.event_type, days_ago, cfg)
    aggs["first_event_at"] = d.first_at.min(where=within)
    aggs["last_event_at"] = d.last_at.max(where=within)
    aggs["last_creator_post_at"] = d.last_at.max(where=_both(within, creator))
    return aggs


INTENTION_SUM = "intention_sum"
"""The unrounded intention score a run keeps for the next one to carry over (not a feature)."""


def rollup_intention_sums(daily: ir.Table, as_of: dt.date, cfg: FeatureConfig) -> ir.Table:
    """The unrounded intention score (``customer_id``, `INTENTION_SUM`) from the events rollup
    ``daily`` as of ``as_of``; customers without a weighted event in the lookback are left out
    (see `rollup_intention_terms`)."""
    lookback = cfg.intention.lookback_days
    start = ibis.date(as_of - dt.timedelta(days=lookback - 1))
    terms = rollup_intention_terms(daily.filter(daily.day.between(start, ibis.date(as_of))), cfg)
    if terms is None:  # nothing weighted: every score is 0
        return daily.select("customer_id", **{INTENTION_SUM: ibis.literal(0.0)}).limit(0)
    d, term = terms
    return d.group_by("customer_id").aggregate(**{INTENTION_SUM: term(as_of).sum()})


def rollup_intention_terms(
    daily: ir.Table, cfg: FeatureConfig
) -> tuple[ir.Table, Callable[[dt.date], ir.FloatingValue]] | None:
    """The weighted rows of the events rollup ``daily`` and, given an as-of day, each row's
    term of the intention score on that day (0 outside its lookback; ``None``: no event type
    is weighted).

    The decayed score is exact per day: an event ``s`` seconds into day X, ``k`` days before
    the cutoff, has age ``k - s / 86400`` days, so its decay is ``0.5 ** (k / h)`` times
    ``2 ** (s / 86400 / h)``, summed per day in the rollup (``decay``, events after midnight;
    ``at_midnight`` counts the others). Only on the oldest day of the lookback does the
    second matter: events at midnight have an age of exactly ``lookback_days`` and are left
    out, as in `intention_score`. The weights are looked up by a join on type and channel
    (the weights of `event_weight`, most specific first).
    """
    ic = cfg.intention
    lookback = ic.lookback_days
    first = {}
    for channel, etype, weight in ic.weight_table():
        first.setdefault((channel, etype), float(weight))
    if not first:
        return None
    d = daily.filter(daily.event_type.isin(sorted({t for _, t in first})))
    by_channel = {k: w for k, w in first.items() if k[0] is not None}
    by_type = {t: w for (c, t), w in first.items() if c is None}
    specific = ibis.memtable(pa.table({
        "w_channel": pa.array([c for c, _ in by_channel], pa.string()),
        "w_type": pa.array([t for _, t in by_channel], pa.string()),
        "w_specific": pa.array(list(by_channel.values()), pa.float64()),
    }))  # fmt: skip
    general = ibis.memtable(pa.table({
        "w_type": pa.array(list(by_type), pa.string()),
        "w_general": pa.array(list(by_type.values()), pa.float64()),
    }))  # fmt: skip
    d = d.left_join(specific, [d.channel == specific.w_channel, d.event_type == specific.w_type])
    d = d.left_join(general, d.event_type == general.w_type)
    weight = ibis.coalesce(d.w_specific, d.w_general, 0.0)

    def term(as_of: dt.date) -> ir.FloatingValue:
        k = ibis.date(as_of).delta(d.day, unit="day") + 1
        inside = ibis.cases(
            (k < 1, 0.0),
            (k < lookback, d.decay + d.at_midnight.cast("float64")),
            (k == lookback, d.decay),
            else_=0.0,
        )
        decay = ibis.literal(0.5) ** (k.cast("float64") / float(ic.half_life_days))
        return weight * decay * inside

    return d, term


def _event_rollup_aggregates(
    daily: ir.Table, as_of: ir.DateValue, cfg: FeatureConfig
) -> tuple[ir.Table, dict[str, ir.Value]]:
    """The same event features from the per customer, day, type and channel rollup."""
    d = daily.filter(daily.day <= as_of)
    return d, event_day_counts(d, as_of, cfg)


def _event_counts(
    count: Callable[..., ir.IntegerValue],
    event_type: ir.StringValue,
    days_ago: ir.IntegerValue,
    cfg: FeatureConfig,
) -> dict[str, ir.Value]:
    """Counts of events per window and type; ``count(where)`` counts the rows that hold."""
    aggs: dict[str, ir.Value] = {"events_total": count()}
    for w in cfg.windows:
        aggs[f"events_{w}"] = count(days_ago < w)
        aggs[f"interactions_{w}"] = count(event_type.isin(cfg.interaction_types) & (days_ago < w))
    if 365 not in cfg.windows:
        aggs["events_365"] = count(days_ago < 365)
    creator = event_type.isin(cfg.creator_types)
    aggs["creator_posts_365"] = count(creator & (days_ago < 365))
    for t in cfg.event_types:
        for w in cfg.windows:
            aggs[f"ev_{t}_{w}"] = count((event_type == t) & (days_ago < w))
    return aggs


def _aggregate(table_aggs: tuple[ir.Table, dict[str, ir.Value]], need: set[str]) -> ir.Table | None:
    """Group the needed aggregates by customer (``None`` when none is needed)."""
    table, aggs = table_aggs
    wanted = {k: v for k, v in aggs.items() if k in need}
    return table.group_by("customer_id").aggregate(**wanted) if wanted else None


def event_weight(events: ir.Table, cfg: IntentionConfig) -> ir.FloatingValue:
    """Each event's undecayed intention weight: by channel and type, 0 when not weighted."""
    branches = []
    for channel, etype, weight in cfg.weight_table():
        cond = events.event_type == etype
        if channel is not None:
            cond = cond & (events.channel == channel)
        branches.append((cond, ibis.literal(float(weight))))
    if not branches:
        return ibis.literal(0.0)
    return ibis.cases(*branches, else_=ibis.literal(0.0))


def intention_score(
    events: ir.Table, cutoff: ir.TimestampValue, cfg: IntentionConfig
) -> ir.FloatingValue:
    """Each event's contribution to the intention score (seed 001), as of ``cutoff``.

    ``weight(type, channel) * 0.5 ** (age_days / half_life_days)``, age measured from the end
    of the as-of day; 0 for events older than ``lookback_days``.
    """
    age = (cutoff.epoch_seconds() - events.occurred_at.epoch_seconds()).cast("float64") / float(
        _SECONDS_PER_DAY
    )
    decay = ibis.literal(0.5) ** (age / cfg.half_life_days)
    return ibis.ifelse(age < cfg.lookback_days, event_weight(events, cfg) * decay, 0.0)


def _rounded_score(total: ir.FloatingValue) -> ir.FloatingValue:
    """The intention score as the profile keeps it: rounded to 4 decimals, never -0.0."""
    score = total.round(4)
    # a carried score that fell to 0 may be a tiny negative
    return ibis.ifelse(score == 0, 0.0, score)


def _main_channel(orders: ir.Table, cutoff: ir.TimestampValue) -> ir.Table:
    """The channel of most paid orders (ties: the most recent, then by name)."""
    o = orders.filter(
        (orders.paid_at < cutoff) & (orders.status == "paid") & orders.channel.notnull()
    )
    per = o.group_by(["customer_id", "channel"]).aggregate(n=o.count(), last=o.paid_at.max())
    return _top_channel(per)


def _main_channel_rollup(daily: ir.Table, as_of: ir.DateValue) -> ir.Table:
    """`_main_channel` from the order rollup."""
    d = daily.filter((daily.day <= as_of) & (daily.paid > 0) & daily.channel.notnull())
    per = d.group_by(["customer_id", "channel"]).aggregate(
        n=d.paid.sum(), last=d.last_paid_at.max()
    )
    return _top_channel(per)


def _top_channel(per: ir.Table) -> ir.Table:
    rank = ibis.row_number().over(
        group_by=per.customer_id, order_by=[per.n.desc(), per.last.desc(), per.channel]
    )
    ranked = per.mutate(rank=rank)
    return ranked.filter(ranked.rank == 0).select("customer_id", main_channel=ranked.channel)


def _campaign_features(
    events: ir.Table,
    orders: ir.Table,
    as_of: ir.DateValue,
    cutoff: ir.TimestampValue,
    cfg: FeatureConfig,
) -> ir.Table:
    """Campaign sends in the last 365 days and how many drew a response within the window."""
    e = events.filter(events.occurred_at < cutoff)
    sends = e.filter(
        e.event_type.isin(cfg.campaign_send_types)
        & (as_of.delta(e.occurred_at.date(), unit="day") < 365)
    ).select(send_id=e.event_id, customer_id=e.customer_id, send_s=e.occurred_at.epoch_seconds())
    responses = e.filter(e.event_type.isin(cfg.campaign_response_types)).select(
        r_customer=e.customer_id, r_s=e.occurred_at.epoch_seconds()
    )
    o = orders.filter((orders.paid_at < cutoff) & (orders.status == "paid"))
    responses = responses.union(
        o.select(r_customer=o.customer_id, r_s=o.paid_at.epoch_seconds()), distinct=False
    )
    window = cfg.response_window_days * _SECONDS_PER_DAY
    hits = (
        sends.join(
            responses,
            [
                sends.customer_id == responses.r_customer,
                responses.r_s >= sends.send_s,
                responses.r_s < sends.send_s + window,
            ],
        )
        .select("send_id")
        .distinct()
        .mutate(responded=ibis.literal(1))
    )
    per_send = sends.left_join(hits, "send_id").select(
        "customer_id", responded=ibis._.responded.fill_null(0)
    )
    return per_send.group_by("customer_id").aggregate(
        campaign_sends_365=ibis._.count(), campaign_responses_365=ibis._.responded.sum()
    )


def _campaign_rollup_features(
    sends: ir.Table, as_of: ir.DateValue, cutoff: ir.TimestampValue, cfg: FeatureConfig
) -> ir.Table:
    """`_campaign_features` from the sends rollup (each send with its first later response)."""
    s = sends.filter(
        (sends.sent_at < cutoff) & (as_of.delta(sends.sent_at.date(), unit="day") < 365)
    )
    window = cfg.response_window_days * _SECONDS_PER_DAY
    responded = (s.responded_at < cutoff) & (
        s.responded_at.epoch_seconds() < s.sent_at.epoch_seconds() + window
    )
    return s.group_by("customer_id").aggregate(
        campaign_sends_365=s.count(), campaign_responses_365=s.count(where=responded)
    )


def referral_pairs(
    customers: ir.Table,
    events: ir.Table,
    order_feats: ir.Table,
    cutoff: ir.TimestampValue,
    cfg: FeatureConfig,
    *,
    rollups: RollupTables | None = None,
) -> ir.Table:
    """Who brought whom: ``referrer``, ``target``, ``at`` (the target's first paid order) and
    ``revenue`` (what the target paid).

    A referral or share naming a target whose first paid order came at or after it counts, and
    so does a customer record naming a referrer. ``order_feats`` needs ``customer_id``,
    ``orders``, ``first_order_at`` and ``monetary_total`` (the order features, or the feature
    table itself). With ``rollups`` holding the referrals of ``cfg.referral_types``, the
    earliest event of each pair is read from them instead of ``events`` (the same pairs).
    """
    firsts = order_feats.filter(order_feats.orders > 0).select(
        target=order_feats.customer_id,
        target_first=order_feats.first_order_at,
        target_revenue=order_feats.monetary_total,
    )
    rolled = rollups.referrals_of(cfg.referral_types) if rollups is not None else None
    if rolled is not None:
        e = rolled.filter(rolled.occurred_at < cutoff)
    else:
        e = events.filter(
            (events.occurred_at < cutoff)
            & events.event_type.isin(cfg.referral_types)
            & events.target_customer_id.notnull()
            & (events.target_customer_id != events.customer_id)
        )
    by_event = e.join(firsts, e.target_customer_id == firsts.target).filter(
        ibis._.target_first >= ibis._.occurred_at
    ).select(referrer=ibis._.customer_id, target="target", at="target_first",
             revenue="target_revenue")  # fmt: skip
    c = customers.filter(
        customers.referrer_id.notnull() & (customers.referrer_id != customers.customer_id)
    )
    by_record = c.join(firsts, c.customer_id == firsts.target).select(
        referrer=ibis._.referrer_id, target="target", at="target_first", revenue="target_revenue"
    )
    return (
        by_event.union(by_record, distinct=False)
        .group_by(["referrer", "target"])
        .aggregate(at=ibis._.at.min(), revenue=ibis._.revenue.max())
    )


def _referral_features(
    customers: ir.Table,
    events: ir.Table,
    order_feats: ir.Table,
    as_of: ir.DateValue,
    cutoff: ir.TimestampValue,
    cfg: FeatureConfig,
    rollups: RollupTables | None,
) -> ir.Table:
    """How many customers each customer brought, recently, and what they paid."""
    pairs = referral_pairs(customers, events, order_feats, cutoff, cfg, rollups=rollups)
    recent = as_of.delta(pairs.at.date(), unit="day") < 365
    return pairs.group_by(customer_id=pairs.referrer).aggregate(
        brought_customers=pairs.count(),
        brought_customers_365=pairs.count(where=recent),
        brought_revenue=_exact_sum(pairs.revenue),
    )


def customer_features(
    customers: ir.Table,
    orders: ir.Table,
    events: ir.Table,
    as_of: dt.date,
    cfg: FeatureConfig,
    *,
    columns: Iterable[str] | None = None,
    rollups: RollupTables | None = None,
    carry: CarrySource | None = None,
    keep_state: bool = False,
) -> ir.Table:
    """One row per customer known by ``as_of`` with every feature (or the ones asked for).

    Parameters
    ----------
    customers, orders, events : ibis Table
        Canonical tables on any Ibis backend.
    as_of : datetime.date
        The day the features describe; data stamped after it is ignored.
    cfg : FeatureConfig
        Windows, event types and channels.
    columns : iterable of str, optional
        Compute only these features and what they are derived from (see `needed_features`);
        every feature by default. Ids and customer attributes are always kept.
    rollups : RollupTables, optional
        Per-day rollups of orders and events (`tierwise.rollups`) to read instead of the raw
        rows; the features are the same.
    carry : CarrySource, optional
        An earlier run to carry the sums over from (`tierwise.carry`; with ``rollups``, and
        only where `tierwise.carry.carry_refusal` finds nothing); the features are the same.
    keep_state : bool
        With ``rollups``, add the unrounded intention score last (`INTENTION_SUM`), for a
        later run to carry over.

    Returns
    -------
    ibis Table
        Columns in the order of `feature_columns`.
    """
    all_columns = feature_columns(cfg)
    need = _closure(set(all_columns) if columns is None else set(columns), all_columns)
    as_of_d = ibis.date(as_of)
    cutoff = cutoff_of(as_of)
    parts: list[ir.Table | None]
    if rollups is not None:
        if float(rollups.half_life_days) != float(cfg.intention.half_life_days):
            raise ValueError("the rollups were built for another intention half-life")
        it = mc = ef = None
        carried_score = False
        if carry is not None:
            from tierwise.carry import carried_features

            # every customer, as from the rollups: a referral counts customers whose record
            # came later than their first order
            ids = customers.select("customer_id")
            carried = carried_features(ids, rollups, carry, as_of, cfg, need)
            of, carried_score = carried.table, carried.intention
            if carried_score:
                of = of.mutate(intention_score=_rounded_score(of[INTENTION_SUM]))
        else:
            of = _aggregate(_order_rollup_aggregates(rollups.orders, as_of_d, cfg), need)
            ef = _aggregate(_event_rollup_aggregates(rollups.events, as_of_d, cfg), need)
            if "main_channel" in need:
                mc = _main_channel_rollup(rollups.orders, as_of_d)
        if "intention_score" in need and not carried_score:
            sums = rollup_intention_sums(rollups.events, as_of, cfg)
            it = sums.select("customer_id", intention_score=_rounded_score(sums[INTENTION_SUM]),
                             **{INTENTION_SUM: sums[INTENTION_SUM]})  # fmt: skip
        cf = None
        if need & _CAMPAIGN:
            cf = _campaign_rollup_features(rollups.sends, as_of_d, cutoff, cfg)
    else:
        if carry is not None:
            raise ValueError("features are carried over only when read from the rollups")
        it = None
        of = _aggregate(_order_aggregates(orders, as_of_d, cutoff, cfg), need)
        ef = _aggregate(_event_aggregates(events, as_of_d, cutoff, cfg), need)
        cf = _campaign_features(events, orders, as_of_d, cutoff, cfg) if need & _CAMPAIGN else None
        mc = _main_channel(orders, cutoff) if "main_channel" in need else None
    rf = None
    if need & _REFERRAL:
        rf = _referral_features(customers, events, of, as_of_d, cutoff, cfg, rollups)
    parts = [of, ef, it, cf, rf, mc]

    base = known_customers(customers, as_of)
    t = base.select("customer_id", "first_seen", *ATTRIBUTE_COLUMNS)
    for part in parts:
        if part is not None:
            t = t.left_join(part, "customer_id").drop("customer_id_right")

    keep = {"customer_id", "first_seen", *ATTRIBUTE_COLUMNS, *_NULLABLE}
    t = t.mutate(**{c: t[c].fill_null(0) for c in t.columns if c not in keep})
    derived: dict[str, ir.Value] = {}
    if "recency_days" in need:
        derived["recency_days"] = as_of_d.delta(t.last_order_at.date(), unit="day")
    if "event_recency_days" in need:
        derived["event_recency_days"] = as_of_d.delta(t.last_event_at.date(), unit="day")
    if "creator_recency_days" in need:
        derived["creator_recency_days"] = as_of_d.delta(t.last_creator_post_at.date(), unit="day")
    if "tenure_days" in need:
        start = _earliest(t.first_seen, t.first_order_at, t.first_event_at)
        derived["tenure_days"] = as_of_d.delta(start.date(), unit="day")
    if derived:
        t = t.mutate(**derived)
    ratios = {
        "monetary_avg": lambda: _safe_div(t.monetary_total, t.orders),
        "margin_avg": lambda: _safe_div(t.margin_total, t.margin_orders),
        "deal_share": lambda: _safe_div(t.deal_orders, t.orders),
        "coupon_share": lambda: _safe_div(t.coupon_orders, t.orders),
        "annual_purchase_frequency": lambda: (
            t.orders.cast("float64") / ibis.greatest(t.tenure_days.cast("float64") / 365.0, 1.0)
        ),
        "campaign_response_rate": lambda: _safe_div(t.campaign_responses_365, t.campaign_sends_365),
    }
    wanted = {c: make() for c, make in ratios.items() if c in need}
    if wanted:
        t = t.mutate(**wanted)
    kept = (
        [INTENTION_SUM] if keep_state and rollups is not None and "intention_score" in need else []
    )
    return t.select(*[c for c in all_columns if c in need], *kept)


_CAMPAIGN = {"campaign_sends_365", "campaign_responses_365"}
_REFERRAL = {"brought_customers", "brought_customers_365", "brought_revenue"}
_DERIVED_FROM: dict[str, set[str]] = {
    "recency_days": {"last_order_at"},
    "event_recency_days": {"last_event_at"},
    "creator_recency_days": {"last_creator_post_at"},
    "tenure_days": {"first_order_at", "first_event_at"},
    "monetary_avg": {"monetary_total", "orders"},
    "margin_avg": {"margin_total", "margin_orders"},
    "deal_share": {"deal_orders", "orders"},
    "coupon_share": {"coupon_orders", "orders"},
    "annual_purchase_frequency": {"orders", "tenure_days"},
    "campaign_response_rate": set(_CAMPAIGN),
    **{key: {"orders", "first_order_at", "monetary_total"} for key in _REFERRAL},
}
"""What each feature is computed from, besides the raw rows."""


def _closure(wanted: set[str], all_columns: list[str]) -> set[str]:
    """The wanted features, what they are derived from, ids and attributes."""
    unknown = sorted(wanted - set(all_columns))
    if unknown:
        raise ValueError(f"unknown feature columns: {', '.join(unknown)}")
    need = {"customer_id", "first_seen", *ATTRIBUTE_COLUMNS, *wanted}
    todo = list(need)
    while todo:
        for dep in _DERIVED_FROM.get(todo.pop(), ()):
            if dep not in need:
                need.add(dep)
                todo.append(dep)
    return need


def needed_features(config: Config, *, extra: Iterable[str] = ()) -> list[str]:
    """The feature columns a run of ``config`` reads, in output order.

    What `tierwise.columns_read.columns_read` finds (rule conditions, the steps, the backtest,
    ``features.keep_columns`` and ``extra``, e.g. the columns of saved segments and playbooks)
    and what those are derived from; ids and attributes always. With
    ``features.profile_columns: all`` every feature column.
    """
    from tierwise.columns_read import columns_read

    all_columns = feature_columns(config.features)
    if config.features.profile_columns == "all":
        return all_columns
    read = columns_read(config, extra=extra)
    need = _closure(read & set(all_columns), all_columns)
    return [c for c in all_columns if c in need]


_NULLABLE = {
    "first_order_at", "last_order_at", "first_event_at", "last_event_at", "margin_total",
    "last_creator_post_at", "main_channel",
}  # fmt: skip


def feature_columns(cfg: FeatureConfig) -> list[str]:
    """Names of the feature columns, in output order."""
    cols = [
        "customer_id", "first_seen", *ATTRIBUTE_COLUMNS,
        "first_order_at", "last_order_at", "recency_days", "tenure_days",
        "orders", "order_days", "orders_365", "refunds",
        "monetary_total", "monetary_avg", "monetary_365",
        "margin_total", "margin_avg", "margin_orders", "annual_purchase_frequency",
        "items_total", "coupon_orders", "coupon_share", "deal_orders", "deal_share",
        *[f"orders_ch_{ch}" for ch in cfg.order_channels], "orders_ch_other", "main_channel",
        "first_event_at", "last_event_at", "event_recency_days", "events_total",
    ]  # fmt: skip
    windows = list(cfg.windows)
    cols += [f"events_{w}" for w in windows]
    if 365 not in windows:
        cols.append("events_365")
    cols += [f"interactions_{w}" for w in windows]
    cols += [f"ev_{t}_{w}" for t in cfg.event_types for w in windows]
    cols += ["creator_posts_365", "last_creator_post_at", "creator_recency_days", "intention_score"]
    cols += [
        "campaign_sends_365", "campaign_responses_365", "campaign_response_rate",
        "brought_customers", "brought_customers_365", "brought_revenue",
    ]  # fmt: skip
    return cols
