"""Step ``clv``: purchase and spend models, per-buyer lifetime value and the quadrant axes."""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from tierwise.lifetime_value import CLV_COLUMNS, clv_inputs, clv_inputs_from_rollup, fit_clv
from tierwise.steps.base import Step, StepContext, StepResult
from tierwise.steps.frames import join_frame

__all__ = ["COLUMNS", "STEP", "CLVStep"]

COLUMNS = dict.fromkeys(CLV_COLUMNS, "float64")


class CLVStep(Step):
    """Fit (or reuse) the purchase and spend models on every buyer and join the predictions."""

    name = "clv"
    section = "clv"
    learns = True
    columns = COLUMNS

    def run(self, profile: ir.Table, ctx: StepContext, state: dict[str, Any] | None
            ) -> StepResult:  # fmt: skip
        from tierwise.rollups import current_rollups

        rollups = current_rollups(ctx.tables["orders"], ctx.config.features)
        if rollups is not None:
            inputs = clv_inputs_from_rollup(rollups.orders, ctx.as_of).to_pandas()
        else:
            inputs = clv_inputs(ctx.tables["orders"], ctx.as_of).to_pandas()
        result = fit_clv(inputs, ctx.config.clv, state=state)
        schema = ibis.schema({"customer_id": "string", **COLUMNS})
        notes = [result.note] if result.note else []
        return StepResult(join_frame(profile, result.table, schema), result.state(), notes,
                          extra=result)  # fmt: skip


STEP = CLVStep()
