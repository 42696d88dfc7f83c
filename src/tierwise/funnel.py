"""The path's funnel on a snapshot: stages in order, conversion and time to the next stage.

A customer has *reached* a stage when their stage on the path is that one or a later one, so
the funnel narrows from the first stage to the last. Conversion of a stage is the share of the
customers who reached the stage before it who reached it too. Time to the next stage comes
from the snapshot history: for every customer seen at a stage on one snapshot and at the next
(or a later) stage on a later one, the days between the first snapshots that show each; a
customer already past a stage on the first snapshot that shows them gives no time for it.
"""

from __future__ import annotations

import datetime as dt
import statistics

import pyarrow as pa

from tierwise.config import Config
from tierwise.errors import TierwiseError
from tierwise.store import Store

__all__ = ["FunnelError", "funnel", "stage_times"]


class FunnelError(TierwiseError, ValueError):
    """The funnel cannot be computed as asked (no path scheme, unknown breakdown)."""


def stage_times(store: Store, config: Config, as_of: dt.date) -> dict[str, dict[str, list[int]]]:
    """Days from reaching each stage to reaching the next, per customer, from the history.

    Returns
    -------
    dict
        ``{stage: {customer_id: days}}`` keyed by the later stage, over snapshots up to
        ``as_of``.
    """
    stages = config.funnel.stages
    index = {s: i for i, s in enumerate(stages)}
    first: dict[str, list[dt.date | None]] = {}
    for r in store.column_history(config.funnel.scheme).to_pylist():
        if r["as_of"] > as_of:
            continue
        i = index.get(r["value"])
        if i is None:
            continue
        days = first.setdefault(r["customer_id"], [None] * len(stages))
        for k in range(i + 1):
            if days[k] is None:
                days[k] = r["as_of"]
    out: dict[str, dict[str, list[int]]] = {s: {} for s in stages[1:]}
    for cid, days in first.items():
        for k in range(1, len(stages)):
            a, b = days[k - 1], days[k]
            if a is not None and b is not None and b > a:
                out[stages[k]][cid] = (b - a).days
    return out


def _groups(store: Store, config: Config, as_of: dt.date, by: str | None) -> dict[str, str]:
    if by is None:
        return {}
    column = config.funnel.by.get(by, by)
    if column == "entrance":
        rows = store.entrance_channels(as_of).to_pylist()
        return {r["customer_id"]: r["entrance"] for r in rows}
    if column not in store.profile_columns(as_of):
        raise FunnelError(
            f"--by {by}: the snapshot of {as_of} has no column {column!r}; breakdowns: "
            f"{', '.join(config.funnel.by)} or a profile column"
        )
    rows = store.read_profile_columns(as_of, ["customer_id", column]).to_pylist()
    return {r["customer_id"]: "(none)" if r[column] is None else str(r[column]) for r in rows}


def funnel(store: Store, config: Config, as_of: dt.date, *, by: str | None = None) -> pa.Table:
    """Customers per stage of the path on a snapshot, with conversion and time to reach it.

    Parameters
    ----------
    store : Store
    config : Config
        ``funnel.scheme`` and ``funnel.stages`` (first to last), ``funnel.by``.
    as_of : datetime.date
        A stored snapshot.
    by : str, optional
        A breakdown of ``funnel.by`` (``channel``, ``entrance``) or a profile column.

    Returns
    -------
    pyarrow.Table
        ``group, stage, zh, en, at_stage, reached, conversion_rate`` (reached / reached of the stage
        before), ``first_stage_share`` (reached / reached of the first stage), ``moved`` (customers
        seen reaching it after the stage before) and ``median_days`` (their median days).
    """
    spec = config.schemes.get(config.funnel.scheme)
    if spec is None:
        raise FunnelError(f"funnel.scheme {config.funnel.scheme!r} is not a scheme of the config")
    scheme = config.funnel.scheme
    if scheme not in store.profile_columns(as_of):
        raise FunnelError(f"the snapshot of {as_of} has no column {scheme!r}; run again "
                          "(`tierwise run`) to label the path")  # fmt: skip
    stages = config.funnel.stages
    index = {s: i for i, s in enumerate(stages)}
    groups = _groups(store, config, as_of, by)
    times = stage_times(store, config, as_of)
    at: dict[str, list[int]] = {}
    members: dict[str, set[str]] = {}
    for r in store.read_profile_columns(as_of, ["customer_id", scheme]).to_pylist():
        i = index.get(r[scheme])
        if i is None:
            continue
        g = groups.get(r["customer_id"], "(all)") if by else "(all)"
        at.setdefault(g, [0] * len(stages))[i] += 1
        members.setdefault(g, set()).add(r["customer_id"])
    rows = []
    for g in sorted(at, key=lambda k: (-sum(at[k]), k)):
        counts = at[g]
        reached = [sum(counts[i:]) for i in range(len(stages))]
        for i, stage in enumerate(stages):
            zh, en = spec.display(stage)
            days = [d for c, d in times.get(stage, {}).items() if c in members[g]] if i else []
            rows.append({
                "group": g, "stage": stage, "zh": zh, "en": en, "at_stage": counts[i],
                "reached": reached[i],
                "conversion_rate": (round(reached[i] / reached[i - 1], 4)
                               if i and reached[i - 1] else None),
                "first_stage_share": round(reached[i] / reached[0], 4) if reached[0] else None,
                "moved": len(days) if i else None,
                "median_days": float(statistics.median(days)) if days else None,
            })  # fmt: skip
    schema = pa.schema([
        ("group", pa.string()), ("stage", pa.string()), ("zh", pa.string()), ("en", pa.string()),
        ("at_stage", pa.int64()), ("reached", pa.int64()), ("conversion_rate", pa.float64()),
        ("first_stage_share", pa.float64()), ("moved", pa.int64()), ("median_days", pa.float64()),
    ])  # fmt: skip
    return pa.Table.from_pylist(rows, schema=schema)
