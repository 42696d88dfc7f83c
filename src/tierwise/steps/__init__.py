"""A run as a chain of steps with one contract.

Each step is one module here (``tierwise.steps.<name>`` with a ``STEP`` object) and one block
of config; ``run.steps`` lists them in order. Steps that learn something (RFM edges, CLV
parameters, the quadrant's lines) return it as plain data, stored with the snapshot, so a later
run can reuse it on purpose.
"""

from __future__ import annotations

from tierwise.steps.base import PreviousSnapshot, Step, StepContext, StepResult
from tierwise.steps.runner import STATE_VERSION, StepsOutcome, known_steps, load_step, run_steps

__all__ = [
    "STATE_VERSION",
    "PreviousSnapshot",
    "Step",
    "StepContext",
    "StepResult",
    "StepsOutcome",
    "known_steps",
    "load_step",
    "run_steps",
]
