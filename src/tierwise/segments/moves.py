"""Movements between two snapshots: how customers moved between the labels of a scheme."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pyarrow as pa

from tierwise.config import Config
from tierwise.segments.language import SegmentError, closest
from tierwise.store import Store

__all__ = ["MARKERS", "check_days", "shaped_transitions", "transition_matrix"]

MARKERS = {
    "(new)": ("(新增)", "(new)"),
    "(gone)": ("(消失)", "(gone)"),
    "(none)": ("(无)", "(none)"),
}
"""Rows and columns that are not labels: customers new in the later snapshot, customers
absent from it, and customers without a label."""


def transition_matrix(
    store: Store, config: Config, scheme: str, start: dt.date, end: dt.date
) -> pa.Table:
    """Customers per (label on ``start``, label on ``end``) of a scheme's primary label.

    Parameters
    ----------
    store : Store
        Holds both snapshots.
    config : Config
        Gives the zh/en names of the labels.
    scheme : str
        e.g. ``intention``, ``quadrant``, ``lifecycle``.
    start, end : datetime.date
        Days of two stored snapshots, ``start`` before ``end``.

    Returns
    -------
    pyarrow.Table
        ``from_label, to_label, from_zh, from_en, to_zh, to_en, customers, share`` (of the
        from-row), ``revenue`` (paid in the days after ``start`` up to ``end``), one row per
        non-empty cell, ordered by the scheme's label order.

    Raises
    ------
    SegmentError
        For an unknown scheme or a day without a snapshot.
    """
    if scheme not in config.schemes:
        raise SegmentError(f"unknown scheme {scheme!r}; schemes: {', '.join(config.schemes)}",
                           suggestion=closest(scheme, config.schemes))  # fmt: skip
    check_days(store, start, end)
    cells = store.label_transitions(scheme, start, end)
    spec = config.schemes[scheme]
    order = [lab.id for lab in spec.labels] + ([spec.default] if spec.default else [])
    order += [m for m in MARKERS if m not in order]

    def names(label: str) -> tuple[str, str]:
        return MARKERS[label] if label in MARKERS else spec.display(label)

    return shaped_transitions(cells.to_pylist(), order, names)


def check_days(store: Store, start: dt.date, end: dt.date) -> None:
    """Raise `SegmentError` unless ``start`` is before ``end`` and both have a snapshot."""
    if start >= end:
        raise SegmentError(f"--from {start} must be before --to {end}")
    days = store.snapshots()
    for day, flag in ((start, "--from"), (end, "--to")):
        if day not in days:
            have = ", ".join(map(str, days)) or "none yet"
            raise SegmentError(f"{flag}: no snapshot as of {day}; have {have} "
                               f"(make one with `tierwise run --as-of {day}`)")  # fmt: skip


def shaped_transitions(
    cells: list[dict], order: list[str], names: Callable[[str], tuple[str, str]]
) -> pa.Table:
    """Transition cells (``from_label, to_label, customers, revenue``) in ``order`` with
    their zh/en ``names`` and each cell's share of its from-row."""

    def rank(label: str) -> int:
        return order.index(label) if label in order else len(order)

    totals: dict[str, int] = {}
    for r in cells:
        totals[r["from_label"]] = totals.get(r["from_label"], 0) + r["customers"]
    out = []
    for r in sorted(cells, key=lambda r: (rank(r["from_label"]), rank(r["to_label"]))):
        (fz, fe), (tz, te) = names(r["from_label"]), names(r["to_label"])
        out.append({
            "from_label": r["from_label"], "to_label": r["to_label"],
            "from_zh": fz, "from_en": fe, "to_zh": tz, "to_en": te,
            "customers": r["customers"],
            "share": round(r["customers"] / totals[r["from_label"]], 4),
            "revenue": round(r["revenue"], 2),
        })  # fmt: skip
    schema = pa.schema([
        ("from_label", pa.string()), ("to_label", pa.string()), ("from_zh", pa.string()),
        ("from_en", pa.string()), ("to_zh", pa.string()), ("to_en", pa.string()),
        ("customers", pa.int64()), ("share", pa.float64()), ("revenue", pa.float64()),
    ])  # fmt: skip
    return pa.Table.from_pylist(out, schema=schema)
