"""Step ``features``: the point-in-time features of every customer known by the as-of day."""

from __future__ import annotations

from typing import Any

import ibis.expr.types as ir

from tierwise.carry import CarrySource
from tierwise.features import INTENTION_SUM, needed_features
from tierwise.rollups import features_for_run
from tierwise.steps.base import PreviousSnapshot, Step, StepContext, StepResult

__all__ = ["STEP", "FeaturesStep"]


class FeaturesStep(Step):
    """Start the profile: one row per customer with every configured feature."""

    name = "features"
    section = "features"

    def run(self, profile: ir.Table | None, ctx: StepContext, state: dict[str, Any] | None
            ) -> StepResult:  # fmt: skip
        t = ctx.tables
        run = features_for_run(
            t["customers"], t["orders"], t["events"], ctx.as_of, ctx.config.features,
            columns=needed_features(ctx.config), previous=_carry_source(ctx.previous),
        )  # fmt: skip
        carry = (INTENTION_SUM,) if INTENTION_SUM in run.table.columns else ()
        return StepResult(run.table, notes=run.notes, extra=run.source, carry_columns=carry)


def _carry_source(previous: PreviousSnapshot | None) -> CarrySource | None:
    """The earlier snapshot as a source to carry features over from (``None``: it cannot be:
    none, not in the store, or it did not read the rollups)."""
    if previous is None or previous.table is None:
        return None
    source = previous.meta.get("features") or {}
    rollups = source.get("rollups") or {}
    return CarrySource(
        profile=previous.table(),
        as_of=previous.as_of,
        build=rollups.get("build"),
        generation=rollups.get("generation"),
        features=(previous.meta.get("config") or {}).get("features"),
        intention=previous.carried("features") if previous.carried is not None else None,
    )


STEP = FeaturesStep()
