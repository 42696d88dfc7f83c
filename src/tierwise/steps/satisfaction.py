"""Step ``satisfaction``: each customer's satisfaction score and grade (满意度) with evidence.

Reads, over the ``lookback_days`` before the as-of day: ratings (the ``rating_key`` of the
``attributes`` JSON of rating events and of orders), the sentiment of comments, reviews and
messages, refunded orders and complaint/service events. See `tierwise.satisfaction`.

A run keeps each customer's `tierwise.satisfaction.SUMS` beside its snapshot. The next run
(when its features were carried over from that snapshot and the block is unchanged) adds the
rows of the days that came in and takes off those of the days that left the lookback,
instead of reading every customer's lookback again; customers whose earlier rows changed
since, and customers new to the profile, are read whole.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tierwise.satisfaction import (
    COLUMNS,
    SUMS,
    SatisfactionConfig,
    check_ratings,
    score_sums,
    signal_sums,
)
from tierwise.steps.base import Step, StepContext, StepResult
from tierwise.steps.frames import engine_table, join_frame

__all__ = ["COLUMNS", "STEP", "SatisfactionStep"]

_TEXTS = ("satisfaction_grade", "satisfaction_evidence")
_RATED = ["customer_id", "row_id", "attributes", "source"]


class SatisfactionStep(Step):
    """Score satisfaction from ratings, text sentiment, refunds and complaints."""

    name = "satisfaction"
    reads_rows = True
    section = "satisfaction"
    columns = COLUMNS

    def run(self, profile: ir.Table, ctx: StepContext, state: dict[str, Any] | None
            ) -> StepResult:  # fmt: skip
        cfg = ctx.config.satisfaction
        ids = profile.select("customer_id")
        before = _carry_source(ctx)
        if before is None:
            # the customers without a row get no score: the join leaves them empty
            sums, notes = _read_sums(ctx, _window(ctx.as_of, cfg.lookback_days))
            table = score_sums(sums, cfg)
            moved = carried = None
        else:
            sums, moved, notes = _carried_sums(ids, before, ctx)
            table = score_sums(sums, cfg)
            carried = before.profile
            notes.append(
                f"satisfaction: {len(table):,} customers scored again (rows came in, left the "
                f"lookback or changed), the others carried over from the snapshot as of "
                f"{before.as_of}"
            )
        # "" rather than a missing value: Spark reads a missing string of an in-memory table as
        # the text "NaN"; it is turned back into null below
        for col in _TEXTS:
            table[col] = table[col].fillna("")
        schema = ibis.schema({"customer_id": "string", **COLUMNS})
        joined = join_frame(profile, table, schema, ctx.held, carried, moved, _TEXTS)
        joined = joined.mutate(
            satisfaction_grade=joined.satisfaction_grade.nullif(""),
            satisfaction_evidence=joined.satisfaction_evidence.nullif(""),
            ratings=joined.ratings.fill_null(0),
            ratings_out_of_scale=joined.ratings_out_of_scale.fill_null(0),
            sentiment_texts=joined.sentiment_texts.fill_null(0),
            refunded_orders=joined.refunded_orders.fill_null(0),
            complaints=joined.complaints.fill_null(0),
        )
        kept = _kept_sums(profile, sums, before, moved, ctx)
        return StepResult(joined, notes=notes, carry=kept)


@dataclass(frozen=True)
class _Before:
    """The snapshot to carry over from: its profile, day, rollup generation and sums."""

    profile: ir.Table
    as_of: dt.date
    rollups: Any
    generation: int
    sums: ir.Table


def _carry_source(ctx: StepContext) -> _Before | None:
    """The snapshot before, when the sums can be carried over from it (`step_carry`, and it
    kept its sums)."""
    from tierwise.carry import step_carry

    carry = step_carry(ctx, "satisfaction", COLUMNS, "orders", "events")
    if carry is None or ctx.previous.carried is None:
        return None
    sums = ctx.previous.carried("satisfaction")
    if sums is None or not set(SUMS) <= set(sums.columns):
        return None
    return _Before(carry.profile, carry.as_of, carry.rollups, carry.generation, sums)


def _window(first: dt.date, days: int) -> tuple[dt.date, dt.date]:
    """The ``days`` days up to ``first`` (first and last day)."""
    return first - dt.timedelta(days=days - 1), first


def _read_sums(
    ctx: StepContext, days: tuple[dt.date, dt.date], customers: ir.Table | None = None,
    *, but: ir.Table | None = None, notes: bool = True,
) -> tuple[pd.DataFrame, list[str]]:  # fmt: skip
    """`signal_sums` of the rows stamped on ``days`` (first and last day, both in), of the
    ``customers`` only when given, not of those in ``but``; with the notes of
    `check_ratings` (or none)."""
    from tierwise.sentiment import sentiment_scores

    cfg: SatisfactionConfig = ctx.config.satisfaction
    start = ibis.timestamp(dt.datetime.combine(days[0], dt.time()))
    end = ibis.timestamp(dt.datetime.combine(days[1] + dt.timedelta(days=1), dt.time()))
    ev = ctx.tables["events"]
    ev = ev.filter((ev.occurred_at >= start) & (ev.occurred_at < end))
    od = ctx.tables["orders"]
    od = od.filter((od.paid_at >= start) & (od.paid_at < end))
    if customers is not None:
        ev, od = ev.semi_join(customers, "customer_id"), od.semi_join(customers, "customer_id")
    if but is not None:
        ev, od = ev.anti_join(but, "customer_id"), od.anti_join(but, "customer_id")
    key = f'%"{cfg.rating_key}"%'
    # one read of each table for the four signals: the rows of the types read, with the
    # attributes only where they hold a rating and the text only where it is said
    rated = ev.event_type.isin(cfg.rating_event_types) & ev.attributes.like(key)
    said = ev.event_type.isin(cfg.text_event_types) & ev.text.notnull() & (
        ev.text.strip() != "")  # fmt: skip
    complaint = ev.event_type.isin(cfg.complaint_types)
    ev_rows = ev.filter(rated | said | complaint).select(
        "customer_id",
        event_id=ibis.ifelse(rated, ev.event_id, None),
        attributes=ibis.ifelse(rated, ev.attributes, None),
        text=ibis.ifelse(said, ev.text, None),
        complaint=complaint,
    ).to_pyarrow()  # fmt: skip
    rated_od = od.filter(od.attributes.like(key)).select(
        "customer_id", row_id="order_id", attributes="attributes", source=ibis.literal("order")
    ).to_pandas()  # fmt: skip
    rated_ev = ev_rows.filter(pc.is_valid(ev_rows["attributes"])).to_pandas()
    rows = pd.concat([
        rated_ev.rename(columns={"event_id": "row_id"}).assign(source="event")[_RATED],
        rated_od,
    ], ignore_index=True)  # fmt: skip
    ratings, said_notes = check_ratings(rows, cfg)

    texts = ev_rows.filter(pc.is_valid(ev_rows["text"]))
    distinct = pc.dictionary_encode(texts["text"].combine_chunks())  # each text scored once
    scores = sentiment_scores(distinct.dictionary.to_pylist())
    texts = pd.DataFrame({
        "customer_id": texts["customer_id"].to_numpy(zero_copy_only=False),
        "sentiment": scores[distinct.indices.to_numpy(zero_copy_only=False)],
    })  # fmt: skip

    counted = od.filter(od.status.isin(["paid", "refunded"]))
    orders = counted.group_by("customer_id").aggregate(
        orders=counted.count(), refunded=counted.count(where=counted.status == "refunded")
    ).to_pandas()  # fmt: skip
    comp = ev_rows.filter(ev_rows["complaint"]).select(["customer_id"]).to_pandas()
    complaints = comp.groupby("customer_id", as_index=False).agg(
        complaints=("customer_id", "size"))  # fmt: skip
    sums = signal_sums(ratings, texts, orders, complaints)
    return sums, (said_notes if notes else [])


def _every(ids: pa.ChunkedArray, sums: pd.DataFrame) -> pd.DataFrame:
    """``sums`` for every customer of ``ids`` (zero where a customer has none)."""
    out = sums.set_index("customer_id").reindex(ids.to_numpy(), fill_value=0)
    return out.rename_axis("customer_id").reset_index()


def _carried_sums(
    ids: ir.Table, before: _Before, ctx: StepContext
) -> tuple[pd.DataFrame, ir.Table, list[str]]:
    """The sums of the customers whose sums moved since ``before`` (carried over: the earlier
    sums plus the days that came in less the days that left the lookback; read whole: the
    customers new to the profile or whose earlier rows changed), the table of those
    customers on the engine, and the notes."""
    from tierwise.carry import changed_customers

    lookback = ctx.config.satisfaction.lookback_days
    then, now = before.as_of, ctx.as_of
    changed = changed_customers(before.rollups, then, before.generation)
    new = ids.anti_join(before.profile, "customer_id")
    anew_ids = new.union(changed.semi_join(ids, "customer_id"), distinct=True).to_pyarrow()
    anew = engine_table(ids, anew_ids, ctx.held)
    # the rows of customers outside the profile add up too: the profile leaves them out
    came, notes = _read_sums(ctx, (then + dt.timedelta(days=1), now), but=anew)
    left, _ = _read_sums(
        ctx,
        (then - dt.timedelta(days=lookback - 1), now - dt.timedelta(days=lookback)),
        but=anew,
        notes=False,
    )
    moved = pd.Index(came.customer_id).union(pd.Index(left.customer_id))
    was = _earlier_sums(before.sums, moved, ids, ctx.held)
    delta = came.set_index("customer_id").reindex(moved, fill_value=0) - left.set_index(
        "customer_id").reindex(moved, fill_value=0)  # fmt: skip
    sums = (was + delta).astype("int64").rename_axis("customer_id").reset_index()
    fresh = pd.DataFrame(columns=["customer_id", *SUMS])
    if anew_ids.num_rows:
        fresh, said = _read_sums(ctx, _window(now, lookback), anew)
        notes += said
        fresh = _every(anew_ids["customer_id"], fresh)
    sums = pd.concat([sums, fresh], ignore_index=True).astype({k: "int64" for k in SUMS})
    return sums, _id_table(ids, sums.customer_id, ctx.held), notes


def _id_table(like: ir.Table, customers: pd.Index | pd.Series, held: list) -> ir.Table:
    """``customers`` as a one-column table on the engine of ``like``."""
    ids = pa.array(pd.Series(customers, dtype=object).to_numpy(), pa.string())
    return engine_table(like, pa.table({"customer_id": ids}), held)


def _earlier_sums(sums: ir.Table, customers: pd.Index, ids: ir.Table, held: list
                  ) -> pd.DataFrame:  # fmt: skip
    """The earlier run's sums of ``customers`` (zero where it kept none), by customer."""
    wanted = _id_table(ids, customers, held)
    rows = sums.semi_join(wanted, "customer_id").select("customer_id", *SUMS).to_pandas()
    return rows.set_index("customer_id").reindex(customers, fill_value=0)


def _kept_sums(
    profile: ir.Table, sums: pd.DataFrame, before: _Before | None, moved: ir.Table | None,
    ctx: StepContext,
) -> ir.Table:  # fmt: skip
    """Every customer's sums with any row, for the next run: ``sums`` and, for the others,
    the earlier run's."""
    nonzero = sums[(sums[list(SUMS)] != 0).any(axis=1)]
    schema = pa.schema([("customer_id", pa.string()), *((k, pa.int64()) for k in SUMS)])
    rows = pa.Table.from_pandas(nonzero[["customer_id", *SUMS]], schema=schema,
                                preserve_index=False)  # fmt: skip
    table = engine_table(profile, rows, ctx.held).semi_join(profile.select("customer_id"),
                                                            "customer_id")  # fmt: skip
    if before is None:
        return table
    others = before.sums.semi_join(profile.select("customer_id"), "customer_id")
    others = others.anti_join(moved, "customer_id").select("customer_id", *SUMS)
    return others.union(table, distinct=False)


STEP = SatisfactionStep()
