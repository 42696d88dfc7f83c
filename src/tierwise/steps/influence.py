"""Step ``influence``: reach, revenue and PageRank of every customer on the referral graph."""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from tierwise.features import cutoff_of, referral_pairs
from tierwise.influence import INFLUENCE_COLUMNS, influence
from tierwise.rollups import stored_rollups
from tierwise.steps.base import Step, StepContext, StepResult
from tierwise.steps.frames import join_frame

__all__ = ["COLUMNS", "STEP", "InfluenceStep"]

COLUMNS = {"influence_reach": "int64", "influence_revenue": "float64",
           "influence_score": "float64"}  # fmt: skip


class InfluenceStep(Step):
    """Join the referral-graph influence of every customer (0 outside the graph)."""

    name = "influence"
    columns = COLUMNS

    def run(self, profile: ir.Table, ctx: StepContext, state: dict[str, Any] | None
            ) -> StepResult:  # fmt: skip
        t = ctx.tables
        # the rollups this run's features were read from (brought up to date by them)
        read = (ctx.earlier.get("features") or {}).get("rollups")
        rollups = stored_rollups(t["orders"], events=t["events"]) if read else None
        pairs = referral_pairs(
            t["customers"], t["events"], profile, cutoff_of(ctx.as_of), ctx.config.features,
            rollups=rollups,
        )  # fmt: skip
        graph = influence(pairs.select("referrer", "target", "revenue").to_pandas())
        schema = ibis.schema({"customer_id": "string", **COLUMNS})
        joined = join_frame(profile, graph, schema, ctx.held)
        return StepResult(joined.mutate(**{c: joined[c].fill_null(0) for c in INFLUENCE_COLUMNS}))


STEP = InfluenceStep()
