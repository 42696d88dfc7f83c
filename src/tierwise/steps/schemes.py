"""Step ``schemes``: every rule scheme of the config, evaluated by the one rule engine."""

from __future__ import annotations

from typing import Any

import ibis.expr.types as ir

from tierwise.schemes.labeling import apply_schemes
from tierwise.steps.base import Step, StepContext, StepResult

__all__ = ["STEP", "SchemesStep"]


class SchemesStep(Step):
    """Add one label column per scheme, with the params earlier steps learned."""

    name = "schemes"

    def run(self, profile: ir.Table, ctx: StepContext, state: dict[str, Any] | None
            ) -> StepResult:  # fmt: skip
        return StepResult(apply_schemes(profile, ctx.config.schemes, ctx.scheme_params))


STEP = SchemesStep()
