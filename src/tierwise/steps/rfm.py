"""Step ``rfm``: 1-5 recency, frequency and monetary scores on learned (or reused) edges."""

from __future__ import annotations

from typing import Any

import ibis.expr.types as ir

from tierwise.schemes.rfm import RFM_COLUMNS, RFMBinner
from tierwise.steps.base import Step, StepContext, StepResult

__all__ = ["STEP", "RFMStep"]


class RFMStep(Step):
    """Learn quantile edges on the buyers (or reuse stored ones) and add the scores."""

    name = "rfm"
    section = "rfm"
    learns = True

    def run(self, profile: ir.Table, ctx: StepContext, state: dict[str, Any] | None
            ) -> StepResult:  # fmt: skip
        cfg = ctx.config.rfm
        binner = RFMBinner(quantiles=cfg.quantiles, fixed_edges=cfg.fixed_edges or None)
        notes: list[str] = []
        if state is not None:
            binner.edges_ = {k: list(v) for k, v in state["edges"].items()}
            binner.n_buyers_ = state.get("n_buyers")
        else:
            sample = profile.filter(profile.orders > 0).select(*RFM_COLUMNS.values()).to_pandas()
            if sample.empty and not cfg.fixed_edges:
                # a shop of events only: nobody is scored, any edges will do
                binner.fixed_edges = dict.fromkeys(RFM_COLUMNS.values(), [0.0] * len(cfg.quantiles))
                notes.append("rfm: no buyer yet, so nobody is scored")
            binner.fit(sample)
        scored = profile.mutate(**binner.expressions(profile))
        return StepResult(scored, {"edges": binner.edges_, "n_buyers": binner.n_buyers_}, notes,
                          extra=binner)  # fmt: skip


STEP = RFMStep()
