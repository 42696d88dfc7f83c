"""Step ``satisfaction``: each customer's satisfaction score and grade (满意度) with evidence.

Reads, over the ``lookback_days`` before the as-of day: ratings (the ``rating_key`` of the
``attributes`` JSON of rating events and of orders), the sentiment of comments, reviews and
messages, refunded orders and complaint/service events. See `tierwise.satisfaction`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow.compute as pc

from tierwise.features import cutoff_of
from tierwise.satisfaction import COLUMNS, check_ratings, satisfaction_table
from tierwise.steps.base import Step, StepContext, StepResult
from tierwise.steps.frames import engine_table, join_frame

__all__ = ["COLUMNS", "STEP", "SatisfactionStep"]


class SatisfactionStep(Step):
    """Score satisfaction from ratings, text sentiment, refunds and complaints."""

    name = "satisfaction"
    reads_rows = True
    section = "satisfaction"
    columns = COLUMNS

    def run(self, profile: ir.Table, ctx: StepContext, state: dict[str, Any] | None
            ) -> StepResult:  # fmt: skip
        from tierwise.sentiment import sentiment_scores

        cfg = ctx.config.satisfaction
        end = cutoff_of(ctx.as_of)
        start = ibis.timestamp(dt.datetime.combine(
            ctx.as_of - dt.timedelta(days=cfg.lookback_days - 1), dt.time()))  # fmt: skip
        ev = ctx.tables["events"]
        ev = ev.filter((ev.occurred_at >= start) & (ev.occurred_at < end))
        od = ctx.tables["orders"]
        od = od.filter((od.paid_at >= start) & (od.paid_at < end))
        carried, moved = _carried_over(profile, ctx)
        scored = profile.select("customer_id")
        if moved is not None:
            ev, od = ev.semi_join(moved, "customer_id"), od.semi_join(moved, "customer_id")
            scored = scored.semi_join(moved, "customer_id")
        key = f'%"{cfg.rating_key}"%'

        rated_ev = ev.filter(ev.event_type.isin(cfg.rating_event_types) & ev.attributes.like(key))
        rated_od = od.filter(od.attributes.like(key))
        rows = pd.concat([
            rated_ev.select("customer_id", row_id="event_id", attributes="attributes",
                            source=ibis.literal("event")).to_pandas(),
            rated_od.select("customer_id", row_id="order_id", attributes="attributes",
                            source=ibis.literal("order")).to_pandas(),
        ], ignore_index=True)  # fmt: skip
        ratings, notes = check_ratings(rows, cfg)

        said = ev.filter(ev.event_type.isin(cfg.text_event_types) & ev.text.notnull())
        said = said.filter(said.text.strip() != "").order_by(["customer_id", "event_id"])
        said = said.select("customer_id", "text").to_pyarrow()
        # each distinct text is scored once
        distinct = pc.dictionary_encode(said["text"].combine_chunks())
        scores = sentiment_scores(distinct.dictionary.to_pylist())
        texts = pd.DataFrame({
            "customer_id": said["customer_id"].to_pandas(),
            "sentiment": scores[distinct.indices.to_numpy(zero_copy_only=False)],
        })  # fmt: skip

        counted = od.filter(od.status.isin(["paid", "refunded"]))
        orders = counted.group_by("customer_id").aggregate(
            orders=counted.count(), refunded=counted.count(where=counted.status == "refunded")
        ).to_pandas()  # fmt: skip
        comp = ev.filter(ev.event_type.isin(cfg.complaint_types))
        complaints = comp.group_by("customer_id").aggregate(complaints=comp.count()).to_pandas()

        ids = scored.to_pandas().customer_id
        table = satisfaction_table(ids, ratings, texts, orders, complaints, cfg)
        # "" rather than a missing value: Spark reads a missing string of an in-memory table as
        # the text "NaN"; it is turned back into null below
        for col in ("satisfaction_grade", "satisfaction_evidence"):
            table[col] = table[col].fillna("")
        schema = ibis.schema({"customer_id": "string", **COLUMNS})
        joined = join_frame(profile, table, schema, ctx.held, carried, moved, _TEXTS)
        if carried is not None:
            notes.append(
                f"satisfaction: {len(table):,} customers scored again (rows came in, left the "
                f"lookback or changed), the others carried over from the snapshot as of "
                f"{ctx.previous.as_of}"
            )
        joined = joined.mutate(
            satisfaction_grade=joined.satisfaction_grade.nullif(""),
            satisfaction_evidence=joined.satisfaction_evidence.nullif(""),
            ratings=joined.ratings.fill_null(0),
            ratings_out_of_scale=joined.ratings_out_of_scale.fill_null(0),
            sentiment_texts=joined.sentiment_texts.fill_null(0),
            refunded_orders=joined.refunded_orders.fill_null(0),
            complaints=joined.complaints.fill_null(0),
        )
        return StepResult(joined, notes=notes)


_TEXTS = ("satisfaction_grade", "satisfaction_evidence")


def _carried_over(profile: ir.Table, ctx: StepContext) -> tuple[ir.Table | None, ir.Table | None]:
    """The earlier snapshot's profile and the customers to score again (``None, None``: score
    everyone). Carried over as `tierwise.carry.step_carry` says: a customer none of whose
    rows (orders, events of the types it reads) came in, left the lookback or changed since
    keeps the scores of that snapshot, which are the scores of this day."""
    from tierwise.carry import moved_customers, step_carry

    carry = step_carry(ctx, "satisfaction", COLUMNS, "orders", "events")
    if carry is None:
        return None, None
    cfg = ctx.config.satisfaction
    read = {*cfg.rating_event_types, *cfg.text_event_types, *cfg.complaint_types}
    moved = moved_customers(carry.rollups, carry.as_of, carry.generation, ctx.as_of,
                            cfg.lookback_days, sorted(read))  # fmt: skip
    new = profile.select("customer_id").anti_join(carry.profile, "customer_id")
    # read once: five queries below keep to these customers
    return carry.profile, engine_table(
        profile, moved.union(new, distinct=True).to_pyarrow(), ctx.held
    )


STEP = SatisfactionStep()
