"""Segments every project has without saving them (a saved segment of the same name wins)."""

from __future__ import annotations

from tierwise.segments.saved import SavedSegment

__all__ = ["BUILTIN_SEGMENTS"]

BUILTIN_SEGMENTS: dict[str, SavedSegment] = {
    "dissatisfied_valuable": SavedSegment(
        name="dissatisfied_valuable",
        expr="satisfaction_grade = 'dissatisfied' and value_tier = 'high'",
        description="不满意的高价值客户 dissatisfied valuable customers: satisfaction grade "
        "dissatisfied and value tier high (docs/satisfaction.md)",
        builtin=True,
    ),
}
