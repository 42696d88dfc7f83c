"""Step ``quadrant_lines``: the loyalty and profit lines of the loyalty x profitability map.

The lines are learned on the buyers' ``expected_loyalty`` and ``potential_profit`` (from the
``clv`` step) and handed to the ``quadrant`` rule scheme as its params; reused on a later day,
a move between quadrants is a move of the customer, not of the median.
"""

from __future__ import annotations

from typing import Any

import ibis.expr.types as ir

from tierwise.clv.quadrant import axis_line
from tierwise.config import QuadrantLinesConfig
from tierwise.errors import ConfigError
from tierwise.steps.base import Step, StepContext, StepResult

__all__ = ["STEP", "QuadrantLinesStep", "learn_lines"]

_AXES = (("loyalty_threshold", "expected_loyalty", "loyalty"),
         ("profit_threshold", "potential_profit", "profit"))  # fmt: skip


def learn_lines(axes: Any, cfg: QuadrantLinesConfig) -> dict[str, Any]:
    """Both lines from a frame with ``expected_loyalty`` and ``potential_profit``, and how
    each was chosen (``loyalty_line_method``, ``profit_line_method``)."""
    lines: dict[str, Any] = {}
    for param, column, key in _AXES:
        line, how = axis_line(getattr(cfg, key), axes[column].to_numpy(), param, cfg.tie_share)
        lines[param] = round(line, 6)
        lines[f"{key}_line_method"] = how
    return lines


class QuadrantLinesStep(Step):
    """Learn (or reuse) the two lines; the ``quadrant`` scheme reads them as params."""

    name = "quadrant_lines"
    section = "quadrant_lines"
    learns = True

    def skip(self, profile: ir.Table, ctx: StepContext) -> StepResult:
        """Off: no lines, so the quadrant scheme places nobody."""
        lines = {p: None for p, _, _ in _AXES}
        return StepResult(profile, None, [], {"quadrant": lines})

    def run(self, profile: ir.Table, ctx: StepContext, state: dict[str, Any] | None
            ) -> StepResult:  # fmt: skip
        cfg = ctx.config.quadrant_lines
        if not {"expected_loyalty", "potential_profit"} <= set(profile.columns):
            raise ConfigError("run.steps: quadrant_lines reads the clv step's columns; "
                              "list clv before it")  # fmt: skip
        if state is None:
            axes = profile.filter(profile.expected_loyalty.notnull()
                                  & profile.potential_profit.notnull())  # fmt: skip
            values = axes.select("expected_loyalty", "potential_profit").to_pandas()
            if values.empty:
                lines = dict.fromkeys((p for p, _, _ in _AXES), None)
                note = "quadrant lines: no buyer has CLV figures, so nobody is placed"
                return StepResult(profile, None, [note], {"quadrant": lines})
            state = learn_lines(values, cfg)
        params = dict(state)
        notes = [f"quadrant {k}: {v}" for k, v in state.items() if k.endswith("_method")
                 and v not in ("median", "mean", "fixed")]  # fmt: skip
        return StepResult(profile, state, notes, {"quadrant": params})


STEP = QuadrantLinesStep()
