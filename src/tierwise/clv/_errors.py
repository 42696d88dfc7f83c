"""Errors specific to the lifetime-value models."""

from __future__ import annotations

from tierwise.errors import TierwiseError

__all__ = ["ConvergenceError", "NumericalError"]


class ConvergenceError(TierwiseError, RuntimeError):
    """A maximum-likelihood fit did not reach an interior optimum.

    The message names the parameter or condition at fault and what to try
    (a ``penalizer``, other ``initial_params``, a longer observation period or
    a model without dropout).
    """


class NumericalError(TierwiseError, FloatingPointError):
    """A prediction could not be computed to a finite number for these parameters."""
