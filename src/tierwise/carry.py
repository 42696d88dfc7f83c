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
    "CarriedFeatures", "CarrySource", "StepCarry", "carried_features", "carry_refusal",
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
class CarriedFeatures:
    """The carried features of every customer (see `carried_features`)."""

    table: ir.Table
    """``customer_id``, the order and event sums, the main channel (as needed) and, when
    ``intention`` holds, `tierwise.features.INTENTION_SUM`."""
    intention: bool
    """Whether the unrounded intention score is carried over."""


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


def _moved_sums(daily: ir.Table, sums: callable, keys: list[str], then: dt.date, now: dt.date,
                cfg: FeatureConfig) -> ir.Table:  # fmt: skip
    """Per customer, the sums ``keys`` over the moved rollup rows as of ``now`` (``n_<key>``)
    and as of ``then`` (``o_<key>``; not for first and last times)."""
    d = daily.filter(_moved_days(daily.day, then, now, {*cfg.windows, 365}))
    new = sums(d, ibis.date(now), cfg)
    old = sums(d, ibis.date(then), cfg, within=d.day <= ibis.date(then))
    aggs = {f"n_{k}": new[k] for k in keys}
    aggs |= {f"o_{k}": old[k] for k in keys if k not in _FIRSTS | _LASTS}
    return d.group_by("customer_id").aggregate(**aggs)


def _brought_over(j: ir.Table, keys: list[str]) -> dict[str, ir.Value]:
    """The earlier values of ``keys`` in ``j`` brought over with their moved sums (the
    columns of `_moved_sums`, joined)."""
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
            value = ibis.ifelse(j[k].isnull() & n.isnull(), ibis.null(was.type()), value)
            out[k] = value.cast("float64") if k in _MONEY_SUMS else value
    return out


def carried_features(
    base_ids: ir.Table, rollups: RollupTables, source: CarrySource, as_of: dt.date,
    cfg: FeatureConfig, need: set[str],
) -> CarriedFeatures:  # fmt: skip
    """The order and event sums, the main channel and the unrounded intention score of every
    customer in ``base_ids``: carried over from ``source`` or computed from all of the
    customer's rollup rows.

    Each customer kept is one row of the earlier profile joined to the sums of its moved
    rows, so the table reads the earlier profile once; it may hold customers of the earlier
    profile that are not in ``base_ids`` (a join to them drops those). Call `carry_refusal`
    first: this assumes it found nothing.
    """
    from tierwise.features import _main_channel_rollup, _order_rollup_aggregates

    then, now = source.as_of, as_of
    o_keys = [k for k in order_day_sums(rollups.orders, ibis.date(now), cfg) if k in need]
    e_keys = [k for k in event_day_counts(rollups.events, ibis.date(now), cfg) if k in need]
    main = "main_channel" in need
    dirty = changed_customers(rollups, then, source.generation)
    prev = source.profile.select("customer_id", *o_keys, *e_keys, *(["main_channel"] * main))
    kept = prev.select("customer_id").anti_join(dirty, "customer_id")
    anew = base_ids.select("customer_id").anti_join(kept, "customer_id")

    j, out = prev, {}
    for keys, daily, sums in ((o_keys, rollups.orders, order_day_sums),
                              (e_keys, rollups.events, event_day_counts)):  # fmt: skip
        if keys:
            moved = _moved_sums(daily, sums, keys, then, now, cfg)
            j = j.left_join(moved, "customer_id").drop("customer_id_right")
    for keys in (o_keys, e_keys):
        out |= _brought_over(j, keys)
    o = rollups.orders
    if main:
        bought = o.filter(
            o.day.between(ibis.date(then + dt.timedelta(days=1)), ibis.date(now))
            & (o.paid > 0) & o.channel.notnull()
        ).select("customer_id")  # fmt: skip
        again = _main_channel_rollup(o.semi_join(bought, "customer_id"), ibis.date(now))
        again = again.select("customer_id", _again=again.main_channel)
        j = j.left_join(again, "customer_id").drop("customer_id_right")
        # a customer who paid since takes the channel of all their orders again
        out["main_channel"] = ibis.ifelse(j._again.notnull(), j._again, j.main_channel)
    intention = None
    if "intention_score" in need and source.intention is not None:
        intention = _intention_moves(rollups, source, now, cfg)
    if intention is not None:
        before = source.intention.select("customer_id", _was=source.intention[INTENTION_SUM])
        j = j.left_join(before, "customer_id").drop("customer_id_right")
        j = j.left_join(intention, "customer_id").drop("customer_id_right")
        factor = 0.5 ** ((now - then).days / float(cfg.intention.half_life_days))
        was, old, new = (ibis.coalesce(x, 0.0) for x in (j._was, j._old, j._new))
        out[INTENTION_SUM] = (was - old) * factor + new
    # the changed customers are computed anew; those no longer in ``base_ids`` fall away
    # where the caller joins the features to them (both filtered last, so that the planner
    # does not take the earlier profile's rows for the small side of a join)
    carried = j.select("customer_id", **out).anti_join(dirty, "customer_id")

    fresh = anew
    if o_keys:
        table, aggs = _order_rollup_aggregates(o.semi_join(anew, "customer_id"), ibis.date(now),
                                               cfg)  # fmt: skip
        part = table.group_by("customer_id").aggregate(**{k: aggs[k] for k in o_keys})
        fresh = fresh.left_join(part, "customer_id").drop("customer_id_right")
    if e_keys:
        events = rollups.events.semi_join(anew, "customer_id")
        d = events.filter(events.day <= ibis.date(now))
        aggs = event_day_counts(d, ibis.date(now), cfg)
        part = d.group_by("customer_id").aggregate(**{k: aggs[k] for k in e_keys})
        fresh = fresh.left_join(part, "customer_id").drop("customer_id_right")
    if main:
        part = _main_channel_rollup(o.semi_join(anew, "customer_id"), ibis.date(now))
        fresh = fresh.left_join(part, "customer_id").drop("customer_id_right")
    if intention is not None:
        part = rollup_intention_sums(rollups.events.semi_join(anew, "customer_id"), now, cfg)
        fresh = fresh.left_join(part, "customer_id").drop("customer_id_right")
    schema = fresh.schema()
    carried = carried.select(*[carried[c].cast(schema[c]).name(c) for c in fresh.columns])
    return CarriedFeatures(carried.union(fresh, distinct=False), intention is not None)


def _intention_moves(rollups: RollupTables, source: CarrySource, now: dt.date,
                     cfg: FeatureConfig) -> ir.Table | None:  # fmt: skip
    """Per customer, the intention terms of the rows that moved since ``source``: as they
    are now (``_new``) and as they were then (``_old``; ``None``: no event type is
    weighted). The carried score is the earlier one times the decay, less ``_old`` times
    the decay, plus ``_new``."""
    then, lookback = source.as_of, cfg.intention.lookback_days
    e = rollups.events
    # rows that came in, or whose term is not the earlier one times the factor: leaving the
    # lookback (a window of its days) or reaching its oldest day (one day less)
    moved = _moved_days(e.day, then, now, {lookback, lookback - 1})
    terms = rollup_intention_terms(e.filter(moved), cfg)
    if terms is None:
        return None
    d, term = terms
    return d.group_by("customer_id").aggregate(_new=term(now).sum(), _old=term(then).sum())


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
