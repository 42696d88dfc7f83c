"""Step ``features``: the point-in-time features of every customer known by the as-of day."""

from __future__ import annotations

from typing import Any

import ibis.expr.types as ir

from tierwise.features import needed_features
from tierwise.rollups import features_for_run
from tierwise.steps.base import Step, StepContext, StepResult

__all__ = ["STEP", "FeaturesStep"]


class FeaturesStep(Step):
    """Start the profile: one row per customer with every configured feature."""

    name = "features"
    section = "features"

    def run(self, profile: ir.Table | None, ctx: StepContext, state: dict[str, Any] | None
            ) -> StepResult:  # fmt: skip
        t = ctx.tables
        table = features_for_run(
            t["customers"], t["orders"], t["events"], ctx.as_of, ctx.config.features,
            columns=needed_features(ctx.config),
        )  # fmt: skip
        return StepResult(table)


STEP = FeaturesStep()
