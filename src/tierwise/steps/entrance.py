"""Step ``entrance``: each customer's entrance channel, latest channel and entrance segment."""

from __future__ import annotations

import json
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tierwise.entrance import (
    ENTRANCE_COLUMNS,
    UNKNOWN,
    entrance_touches,
    first_and_latest,
    json_texts,
    signup_answers,
    touched_customers,
)
from tierwise.errors import ConfigError
from tierwise.features import cutoff_of, known_customers
from tierwise.steps.base import Step, StepContext, StepResult
from tierwise.steps.frames import engine_table, join_frame

__all__ = ["COLUMNS", "STEP", "EntranceStep"]

COLUMNS = ENTRANCE_COLUMNS

_NO_TOUCH = {"reason": "no entrance touch: none of entrance.sources matched a row of this customer"}


def _evidence_texts(touches: pd.Series, answers: pd.DataFrame) -> pd.api.extensions.ExtensionArray:
    """Each customer's entrance evidence as JSON: the touches (`first_and_latest`'s JSON
    text, or why there is none) and the sign-up answers given."""
    n = len(answers)
    signup = pa.array(np.full(n, ""), pa.string())
    given = pa.array(np.zeros(n, dtype=bool))
    for c in answers.columns:
        has = pa.array(answers[c].notna().to_numpy(dtype=bool))  # answers are text or missing
        pair = pc.binary_join_element_wise(f'"{c[7:]}": ', pa.array(json_texts(answers[c]),
                                                                    pa.string()), "")  # fmt: skip
        sep = pc.if_else(given, ", ", "")
        signup = pc.if_else(has, pc.binary_join_element_wise(signup, sep, pair, ""), signup)
        given = pc.or_(given, has)
    braced = pc.binary_join_element_wise("{", signup, "}", "")
    signup = pc.if_else(given, braced, '"no sign-up answers"')
    no_touch = json.dumps(_NO_TOUCH, ensure_ascii=False)
    base = pc.fill_null(pa.array(touches, pa.string()), no_touch)
    base = pc.utf8_slice_codeunits(base, 0, -1)  # without its closing brace
    out = pc.binary_join_element_wise(base, ', "signup": ', signup, "}", "")
    return pd.arrays.ArrowExtensionArray(out)


class EntranceStep(Step):
    """Join where each customer came in and evaluate the entrance segments on the profile."""

    name = "entrance"
    reads_rows = True
    section = "entrance"
    columns = COLUMNS

    def run(self, profile: ir.Table, ctx: StepContext, state: dict[str, Any] | None
            ) -> StepResult:  # fmt: skip
        from tierwise.segments import SegmentContext, SegmentError, segment_filter

        cfg = ctx.config.entrance
        t = ctx.tables
        cutoff = cutoff_of(ctx.as_of)
        carried, moved, notes = _carried_over(profile, ctx)
        touches = first_and_latest(
            entrance_touches(t, cutoff, cfg, moved, rollups=ctx.config.features.rollups)
        )
        customers = t["customers"].select("customer_id", "attributes")
        if moved is not None:
            customers = customers.semi_join(moved, "customer_id")
        answers, said = signup_answers(customers.to_pandas(), cfg.attributes)
        notes += said
        frame = answers.merge(touches, on="customer_id", how="outer")
        known = frame.entrance_channel.notna()
        frame["entrance_kind"] = frame.entrance_kind.where(known, UNKNOWN)
        frame["entrance_channel"] = frame.entrance_channel.where(known, UNKNOWN)
        frame["latest_channel"] = frame.latest_channel.where(known, UNKNOWN)
        answer_cols = [f"signup_{k}" for k in cfg.attributes]

        frame["entrance_evidence"] = _evidence_texts(frame.evidence, frame[answer_cols])
        types = {c: ENTRANCE_COLUMNS[c] for c in ENTRANCE_COLUMNS if c != "entrance_segment"}
        schema = ibis.schema({"customer_id": "string", **dict.fromkeys(answer_cols, "string"),
                              **types})  # fmt: skip
        for c in ("entrance_at", "latest_channel_at"):
            frame[c] = pd.to_datetime(frame[c]).astype("datetime64[us]")
        # "" rather than a missing value: Spark reads a missing string of an in-memory table
        # as the text "NaN"; it is turned back into null below
        frame[answer_cols] = frame[answer_cols].astype(object).where(frame[answer_cols].notna(), "")
        joined = join_frame(profile, frame, schema, ctx.held, carried, moved, answer_cols)
        if carried is not None:
            notes.append(
                f"entrance: {len(frame):,} customers' entrances read again (touches or "
                f"sign-up rows came in or changed), the others carried over from the snapshot "
                f"as of {ctx.previous.as_of}"
            )
        joined = joined.mutate(
            **{c: joined[c].nullif("") for c in answer_cols},
            entrance_channel=joined.entrance_channel.fill_null(UNKNOWN),
            entrance_kind=joined.entrance_kind.fill_null(UNKNOWN),
            latest_channel=joined.latest_channel.fill_null(UNKNOWN),
            entrance_evidence=joined.entrance_evidence.fill_null(json.dumps(_NO_TOUCH)),
        )
        seg_ctx = SegmentContext(profiles=joined, as_of=ctx.as_of, events=t["events"],
                                 orders=t["orders"])  # fmt: skip
        cases = []
        for i, rule in enumerate(cfg.segments):
            try:
                cases.append((segment_filter(rule.when, seg_ctx), rule.id))
            except SegmentError as exc:
                raise ConfigError(f"entrance.segments[{i}].when ({rule.id}): {exc}") from None
        default = ibis.literal(cfg.default_segment)
        segment = ibis.cases(*cases, else_=default) if cases else default
        joined = joined.mutate(entrance_segment=segment.cast("string"))
        n_known = int(known.sum())
        if cfg.sources and n_known == 0:
            notes.append(
                "entrance: no row matched entrance.sources; every customer's entrance is "
                f"{UNKNOWN!r}"
            )
        return StepResult(joined, notes=notes)


def _carried_over(
    profile: ir.Table, ctx: StepContext
) -> tuple[ir.Table | None, ir.Table | None, list[str]]:
    """The earlier snapshot's profile, the customers whose entrance is read again (``None,
    None``: everyone's) and, when it could not carry over, why.

    Carried over as `tierwise.carry.step_carry` says: a customer without a new touch, a new
    or changed own row, or a changed row in the rollups' change log keeps the entrance
    columns of that snapshot, which are those of this day.
    """
    from tierwise.carry import step_carry

    cfg = ctx.config.entrance
    columns = [*COLUMNS, *(f"signup_{k}" for k in cfg.attributes)]
    carry = step_carry(ctx, "entrance", columns, "orders", "events", "customers")
    if carry is None:
        return None, None, []
    rollups, generation = carry.rollups, carry.generation
    if rollups.imports is None:
        return None, None, []
    imports = rollups.imports.filter(rollups.imports.generation > generation).to_pandas()
    updated = imports[imports.rows_updated.fillna(0) > 0]
    moving = sorted({s.table for s in cfg.sources if s.who != "customer_id"} & set(updated.entity))
    refusal = None
    if rollups.customers_written is None or rollups.customers_written > generation:
        refusal = f"customers rows were written outside the importer since {carry.as_of}"
    elif moving:
        refusal = (f"an import since {carry.as_of} changed {', '.join(moving)} rows in place, "
                   "and a source reads them for another customer than their own")  # fmt: skip
    elif any(s.table == "customers" and s.field in _AUTO_FILLED for s in cfg.sources):
        refusal = "a source reads customers columns the importer fills for customers it creates"
    if refusal is not None:
        return None, None, [f"entrance: read for everyone ({refusal})"]
    t = ctx.tables
    by_table = imports.groupby("entity").import_id.agg(list).to_dict()
    moved = touched_customers(t, cutoff_of(carry.as_of), cutoff_of(ctx.as_of), cfg, by_table)
    # the profile's customers the snapshot did not have (their ids, without the steps' joins)
    known = known_customers(t["customers"], ctx.as_of).select("customer_id")
    parts = [moved, known.anti_join(carry.profile, "customer_id")]
    if len(updated):
        # an order or event changed in place may have stopped being a touch, of its customer
        # or of the one it had before: both are in the rollups' change log
        changes = rollups.changes
        parts.append(changes.filter(changes.generation > generation).select("customer_id"))
    # read once: the queries of the step keep to these customers
    moved = ibis.union(*parts, distinct=True).to_pyarrow()
    return carry.profile, engine_table(profile, moved, ctx.held), []


_AUTO_FILLED = ("customer_id", "first_seen")
"""Customers columns the importer writes for customers it creates from orders and events."""


STEP = EntranceStep()
