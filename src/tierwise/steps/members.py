"""Step ``members``: each customer's member level from growth value and the previous level."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from tierwise.features import cutoff_of
from tierwise.members import MEMBER_COLUMNS, assign_levels, growth_value
from tierwise.steps.base import Step, StepContext, StepResult
from tierwise.steps.frames import join_frame

__all__ = ["STEP", "MembersStep"]

_PREVIOUS = ["member_level", "member_level_since", "member_valid_until", "member_rank"]


class MembersStep(Step):
    """Add each customer's member level from growth value and the previous level, with evidence.

    The profile's imported level is kept as ``member_level_imported`` (off: the imported level
    stays ``member_level`` and the other columns are empty).
    """

    name = "members"
    section = "members"
    columns = MEMBER_COLUMNS

    def run(self, profile: ir.Table, ctx: StepContext, state: dict[str, Any] | None
            ) -> StepResult:  # fmt: skip
        cfg = ctx.config.members
        notes: list[str] = []
        if not cfg.levels:
            notes.append("members: no levels in members.levels; no member levels")
            return StepResult(self.skip(profile, ctx).profile, notes=notes)
        hi = cutoff_of(ctx.as_of)
        lo = ibis.timestamp(dt.datetime.combine(
            ctx.as_of - dt.timedelta(days=cfg.window_days - 1), dt.time()))  # fmt: skip
        o = ctx.tables["orders"]
        o = o.filter((o.status == "paid") & (o.paid_at >= lo) & (o.paid_at < hi))
        orders = o.group_by("customer_id").aggregate(
            spend=o.amount.sum(), orders=o.count()).to_pandas()  # fmt: skip
        e = ctx.tables["events"]
        types = list(cfg.growth.events)
        if types:
            e = e.filter(e.event_type.isin(types) & (e.occurred_at >= lo) & (e.occurred_at < hi))
            events = e.group_by(["customer_id", "event_type"]).aggregate(n=e.count()).to_pandas()
        else:
            events = pd.DataFrame(columns=["customer_id", "event_type", "n"])
        ids = profile.select("customer_id").to_pandas()
        growth = ids.merge(growth_value(orders, events, cfg.growth), on="customer_id", how="left")
        growth = growth.fillna(
            {"growth": 0.0, "growth_spend": 0.0, "growth_orders": 0.0, "growth_actions": 0.0}
        )
        previous = None
        prev = ctx.previous
        if prev is not None and "member_growth" in prev.columns:
            previous = prev.profile(_PREVIOUS).to_pandas()
            for col in _PREVIOUS:
                if col not in previous:
                    previous[col] = None
            computed = previous["member_rank"].notna()  # not an imported level (step off)
            previous.loc[~computed, "member_level"] = None
            if not computed.any():
                notes.append(f"members: the snapshot of {prev.as_of} has no computed levels; "
                             "levels start from growth value alone")  # fmt: skip
        elif prev is not None:
            notes.append(f"members: the snapshot of {prev.as_of} has no computed levels; "
                         "levels start from growth value alone")  # fmt: skip
        frame = assign_levels(growth, previous, ctx.as_of, cfg)
        if "member_level" in profile.columns:
            profile = profile.rename(member_level_imported="member_level")
        keep = [c for c in profile.columns if c not in MEMBER_COLUMNS]
        schema = ibis.schema({"customer_id": "string", **MEMBER_COLUMNS})
        joined = join_frame(profile.select(keep), frame, schema, ctx.held)
        return StepResult(joined, notes=notes)


STEP = MembersStep()
