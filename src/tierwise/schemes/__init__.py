"""Schemes that label customers: the rule engine over config data, and fitted scorers."""

from __future__ import annotations

from tierwise.schemes.labeling import apply_schemes, multi_column, rule_column
from tierwise.schemes.rfm import RFM_COLUMNS, RFMBinner
from tierwise.schemes.rules import FUNCTIONS, Condition

__all__ = [
    "FUNCTIONS",
    "RFM_COLUMNS",
    "Condition",
    "RFMBinner",
    "apply_schemes",
    "multi_column",
    "rule_column",
]
