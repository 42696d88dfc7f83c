"""Features carried over from an earlier run, so that a daily run reads days, not history.

A run as of day D2 after a run as of day D (read from rollups of generation ``g``) needs, for
a customer whose rollup rows up to D are unchanged since, only the rollup rows of the days
that came in (D, D2] and of the days that left a window (``D - w < day <= D2 - w`` for a
window of ``w`` days): each sum is the earlier sum plus the sum as of D2 over those rows
minus the sum as of D over them; first and last times take the earlier value or the new
rows'. Money is added in decimal (a float64 of four decimals converts back exactly), so the
carried features equal the features computed from every rollup row. The intention score
decays by ``0.5 ** (days / half_life)`` from one day to the next: the unrounded score the
earlier run kept beside its snapshot (`tierwise.features.INTENTION_SUM`) times that factor,
less the terms of the rows that moved as they were on D (times the factor), plus their terms
on D2 (equal to the score summed over the lookback up to a float rounding, far below the 4
decimals of the profile); without it the score is summed again over its lookback. The
campaign and referral features are computed as before.

Customers whose rollup rows up to D changed since generation ``g`` (an import updated or
back-filled them; `tierwise.store.Store.refresh_rollups` logs them) and customers the
earlier run did not have are computed from all their rollup rows.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir

from tierwise.config import FeatureConfig
from tierwise.features import (
    _MONEY_SUMS,
    INTENTION_SUM,
    event_day_counts,
    order_day_sums,
    rollup_intention_sums,
    rollup_intention_terms,
)

if TYPE_CHECKING:
    from tierwise.rollups import RollupTables
    from tierwise.steps.base import StepContext

__all__ = [
    "CarriedParts", "CarrySource", "StepCarry", "carried_parts", "carry_refusal",
    "changed_customers", "step_carry",
]  # fmt: skip

_MONEY = ibis.dtype("decimal(38, 4)")
_FIRSTS = {"first_order_at", "first_event_at"}
_LASTS = {"last_order_at", "last_event_at", "last_creator_post_at"}
_SETTINGS_NOT_COMPARED = ("carry_days", "keep_columns", "profile_columns")


@dataclass(frozen=True)
class CarrySource:
    """An earlier run to carry features over from.

    ``profile`` is its stored profile as an Ibis table on the rollups' backend; ``as_of`` its
    day; ``build`` and ``generation`` the rollups it read; ``features`` the ``features``
    config block it ran under (as stored); ``intention`` the unrounded intention scores it
    kept (``customer_id``, `tierwise.features.INTENTION_SUM`; ``None``: none kept).
    """

    profile: ir.Table
    as_of: dt.date
    build: str | None
    generation: int | None
    features: dict | None
    intention: ir.Table | None = None


@dataclass(frozen=True)
class CarriedParts:
    """The feature parts of every customer, carried over or computed anew (``None``: not
    needed, or for ``intention``, not carried over)."""

    orders: ir.Table | None
    events: ir.Table | None
    """Without the intention score."""
    main_channel: ir.Table | None
    intention: ir.Table | None
    """``customer_id`` and `tierwise.features.INTENTION_SUM`."""
    anew: ir.Table
    """The customers computed anew (``customer_id``)."""


def carry_refusal(
    source: CarrySource, rollups: RollupTables, as_of: dt.date, cfg: FeatureConfig,
    need: set[str],
) -> str | None:  # fmt: skip
    """Why the features cannot be carried over from ``source`` (``None``: they can)."""
    days = (as_of - source.as_of).days
    if not 0 < days <= cfg.carry_days:
        return f"it is {days} days before this run (features.carry_days: {cfg.carry_days})"
    if source.generation is None or source.build is None:
        return "it did not read the rollups"
    if source.build != rollups.build or rollups.changes is None:
        return "the rollups were built anew since"
    now = {k: v for k, v in cfg.model_dump(mode="json").items() if k not in _SETTINGS_NOT_COMPARED}
    then = {k: v for k, v in (source.features or {}).items() if k not in _SETTINGS_NOT_COMPARED}
    if now != then:
        return "it ran under another features block"
    missing = sorted((need & _carried(cfg)) - set(source.profile.columns))
    if missing:
        return f"its profile lacks {', '.join(missing[:3])}"
    return None


def _carried(cfg: FeatureConfig) -> set[str]:
    """Every feature that is carried (the order and event sums and times, main channel)."""
    t = ibis.table({"customer_id": "string", "day": "date", "channel": "string", "paid": "int64",
                    "amount": "decimal(38, 4)", "margin": "decimal(38, 4)", "margin_n": "int64",
                    "first_paid_at": "timestamp", "last_paid_at": "timestamp", "items": "int64",
                    "refunded": "int64", "coupon": "int64", "event_type": "string",
                    "n": "int64", "first_at": "timestamp", "last_at": "timestamp"},
                   name="rollup")  # fmt: skip
    day = ibis.date(dt.date(2000, 1, 1))
    return {*order_day_sums(t, day, cfg), *event_day_counts(t, day, cfg), "main_channel"}


def _moved_days(day: ir.DateValue, then: dt.date, now: dt.date, windows: set[int]
                ) -> ir.BooleanValue:  # fmt: skip
    """Rows whose day came in since ``then`` or left one of the windows."""
    cond = day.between(ibis.date(then + dt.timedelta(days=1)), ibis.date(now))
    for w in sorted(windows):
        lo, hi = then - dt.timedelta(days=w - 1), now - dt.timedelta(days=w)
        cond = cond | day.between(ibis.date(lo), ibis.date(hi))
    return cond


def _latest(a: ir.Value, b: ir.Value) -> ir.Value:
    return ibis.greatest(ibis.coalesce(a, b), ibis.coalesce(b, a))


def _earliest(a: ir.Value, b: ir.Value) -> ir.Value:
    return ibis.least(ibis.coalesce(a, b), ibis.coalesce(b, a))


def _carry(
    prev: ir.Table, daily: ir.Table, sums: callable, keys: list[str], then: dt.date,
    now: dt.date, cfg: FeatureConfig,
) -> ir.Table:  # fmt: skip
    """``prev``'s ``keys`` brought from ``then`` to ``now`` with the moved rollup rows."""
    d = daily.filter(_moved_days(daily.day, then, now, {*cfg.windows, 365}))
    new = sums(d, ibis.date(now), cfg)
    old = sums(d, ibis.date(then), cfg, within=d.day <= ibis.date(then))
    aggs = {f"n_{k}": new[k] for k in keys}
    aggs |= {f"o_{k}": old[k] for k in keys if k not in _FIRSTS | _LASTS}
    delta = d.group_by("customer_id").aggregate(**aggs)
    j = prev.left_join(delta, "customer_id")
    out: dict[str, ir.Value] = {}
    for k in keys:
        n = j[f"n_{k}"]
        if k in _FIRSTS:
            out[k] = _earliest(j[k], n)
        elif k in _LASTS:
            out[k] = _latest(j[k], n)
        else:
            o = j[f"o_{k}"]
            was = j[k].cast(_MONEY) if k in _MONEY_SUMS else j[k]
            zero = ibis.literal(0).cast(was.type())
            value = ibis.coalesce(was, zero) + ibis.coalesce(n, zero) - ibis.coalesce(o, zero)
            # a sum with no value on either side stays missing (a margin never known)
            out[k] = ibis.ifelse(j[k].isnull() & n.isnull(), ibis.null(was.type()), value)
    return j.select(j.customer_id, **out)


def carried_parts(
    base_ids: ir.Table, rollups: RollupTables, source: CarrySource, as_of: dt.date,
    cfg: FeatureConfig, need: set[str],
) -> CarriedParts:  # fmt: skip
    """The order part, the event part, the main channel and the unrounded intention score of
    every customer in ``base_ids``: carried over from ``source`` or computed from all of the
    customer's rollup rows.

    Call `carry_refusal` first: this assumes it found nothing.
    """
    from tierwise.features import _main_channel_rollup, _order_rollup_aggregates

    then, now = source.as_of, as_of
    dirty = changed_customers(rollups, then, source.generation)
    kept = source.profile.select("customer_id").anti_join(dirty, "customer_id")
    kept = kept.semi_join(base_ids, "customer_id")
    anew = base_ids.select("customer_id").anti_join(kept, "customer_id")
    o_keys = [k for k in order_day_sums(rollups.orders, ibis.date(now), cfg) if k in need]
    e_keys = [k for k in event_day_counts(rollups.events, ibis.date(now), cfg) if k in need]
    prev = source.profile.semi_join(kept, "customer_id")

    def union(carried: ir.Table, fresh: ir.Table) -> ir.Table:
        schema = fresh.schema()
        carried = carried.select(*[carried[c].cast(schema[c]).name(c) for c in fresh.columns])
        return carried.union(fresh, distinct=False)

    of = ef = mc = None
    if o_keys:
        carried = _carry(prev.select("customer_id", *o_keys), rollups.orders, order_day_sums,
                         o_keys, then, now, cfg)  # fmt: skip
        money = [k for k in o_keys if k in _MONEY_SUMS]
        carried = carried.mutate(**{k: carried[k].cast("float64") for k in money})
        orders = rollups.orders.semi_join(anew, "customer_id")
        table, aggs = _order_rollup_aggregates(orders, ibis.date(now), cfg)
        fresh = table.group_by("customer_id").aggregate(**{k: aggs[k] for k in o_keys})
        of = union(carried, fresh)
    if e_keys:
        carried = _carry(prev.select("customer_id", *e_keys), rollups.events, event_day_counts,
                         e_keys, then, now, cfg)  # fmt: skip
        events = rollups.events.semi_join(anew, "customer_id")
        d = events.filter(events.day <= ibis.date(now))
        aggs = event_day_counts(d, ibis.date(now), cfg)
        fresh = d.group_by("customer_id").aggregate(**{k: aggs[k] for k in e_keys})
        ef = union(carried, fresh)
    if "main_channel" in need:
        o = rollups.orders
        bought = o.filter(
            o.day.between(ibis.date(then + dt.timedelta(days=1)), ibis.date(now))
            & (o.paid > 0) & o.channel.notnull()
        ).select("customer_id")  # fmt: skip
        again = anew.union(bought.semi_join(kept, "customer_id"), distinct=True)
        fresh = _main_channel_rollup(o.semi_join(again, "customer_id"), ibis.date(now))
        still = prev.anti_join(again, "customer_id").filter(ibis._.main_channel.notnull())
        mc = union(still.select("customer_id", "main_channel"), fresh)
    it = None
    if "intention_score" in need and source.intention is not None:
        it = _carried_intention(kept, anew, rollups, source, now, cfg)
    return CarriedParts(of, ef, mc, it, anew)


def _carried_intention(
    kept: ir.Table, anew: ir.Table, rollups: RollupTables, source: CarrySource, now: dt.date,
    cfg: FeatureConfig,
) -> ir.Table | None:  # fmt: skip
    """The unrounded intention score of the ``kept`` customers carried over from
    ``source``, of the customers ``anew`` summed over the lookback (``None``: no event type
    is weighted)."""
    then, lookback = source.as_of, cfg.intention.lookback_days
    factor = 0.5 ** ((now - then).days / float(cfg.intention.half_life_days))
    e = rollups.events
    # rows that came in, or whose term is not the earlier one times the factor: leaving the
    # lookback (a window of its days) or reaching its oldest day (one day less)
    moved = _moved_days(e.day, then, now, {lookback, lookback - 1})
    terms = rollup_intention_terms(e.filter(moved).semi_join(kept, "customer_id"), cfg)
    if terms is None:
        return None
    d, term = terms
    delta = d.group_by("customer_id").aggregate(new=term(now).sum(), old=term(then).sum())
    before = source.intention
    j = kept.left_join(before, "customer_id").drop("customer_id_right")
    j = j.left_join(delta, "customer_id")
    was, old, new = (ibis.coalesce(x, 0.0) for x in (j[INTENTION_SUM], j.old, j.new))
    carried = j.select("customer_id", **{INTENTION_SUM: (was - old) * factor + new})
    fresh = rollup_intention_sums(e.semi_join(anew, "customer_id"), now, cfg)
    return carried.union(fresh.select("customer_id", INTENTION_SUM), distinct=False)


def changed_customers(rollups: RollupTables, then: dt.date, generation: int) -> ir.Table:
    """Customers (``customer_id``) some of whose order or event rows up to ``then`` changed
    (updated, back-filled) after rollup generation ``generation``."""
    changes = rollups.changes
    return changes.filter(
        (changes.generation > generation)
        & (changes.since.isnull() | (changes.since <= ibis.date(then)))
    ).select("customer_id")


@dataclass(frozen=True)
class StepCarry:
    """The snapshot a step carries its columns over from: its ``profile`` (an Ibis table on
    the store), ``as_of`` day, the store's ``rollups`` and the rollup ``generation`` the
    snapshot read."""

    profile: ir.Table
    as_of: dt.date
    rollups: RollupTables
    generation: int


def step_carry(ctx: StepContext, section: str, columns: Iterable[str], *tables: str
               ) -> StepCarry | None:  # fmt: skip
    """What the step of config block ``section`` may carry over from (``None``: nothing).

    It may when this run's features were carried over from the snapshot before (same
    rollups, nothing rebuilt), that snapshot ran under the same ``section`` block and has
    ``columns``, and the canonical ``tables`` the step reads are the store's own.
    """
    from tierwise.rollups import stored_rollups

    before, features = ctx.previous, ctx.earlier.get("features") or {}
    if before is None or before.table is None:
        return None
    if features.get("carried_from") != before.as_of.isoformat():
        return None
    block = getattr(ctx.config, section).model_dump(mode="json")
    then = json.loads(json.dumps((before.meta.get("config") or {}).get(section), default=str))
    others = {name: ctx.tables[name] for name in tables if name != "orders"}
    rollups = stored_rollups(ctx.tables["orders"], **others)
    if then != block or rollups is None or rollups.changes is None:
        return None
    if not set(columns) <= set(before.columns):
        return None
    generation = before.meta["features"]["rollups"]["generation"]
    return StepCarry(before.table(), before.as_of, rollups, generation)
