"""One snapshot's profiles and labels held in memory, so a customer lookup is a dictionary hit.

Snapshots of up to `ServiceSettings.cache_customers` customers are held whole. Larger ones,
up to `ServiceSettings.cache_profiles`, keep their profile rows in memory (text columns
dictionary-encoded) and read a customer's labels from the store, whose label rows are written
in customer order so that a point lookup reads one block. Beyond that every lookup reads the
store.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tierwise.store import Store

__all__ = ["SnapshotCache"]


def _runs(table: pa.Table) -> dict[str, tuple[int, int]]:
    """Start and length of each customer's rows in a table ordered by customer_id."""
    ids = table.column("customer_id").combine_chunks()
    if ids.null_count == 0 and pc.count_distinct(ids).as_py() == len(ids):
        return {cid: (i, 1) for i, cid in enumerate(ids.to_pylist())}
    values = ids.to_pylist()
    out: dict[str, tuple[int, int]] = {}
    start = 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            out[values[start]] = (start, i - start)
            start = i
    return out


def _compact(column: pa.Array) -> pa.Array:
    """Text columns with few distinct values dictionary-encoded (a label column of 1M rows
    then costs 1M small integers)."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        encoded = pc.dictionary_encode(column)
        if len(encoded.dictionary) * 4 < len(column):
            return encoded
    return column


@dataclass
class _Held:
    """What is held of one snapshot."""

    as_of: dt.date | None
    columns: list[tuple[str, pa.Array]] = field(default_factory=list)
    profile_index: dict[str, tuple[int, int]] | None = None
    labels: pa.Table | None = None
    label_index: dict[str, tuple[int, int]] | None = None


class SnapshotCache:
    """The profiles (and labels) of the snapshot asked for last, indexed by customer id.

    Parameters
    ----------
    store : Store
        Where the snapshots are; `clear` after a run writes one.
    max_customers : int
        Snapshots up to this size are held whole, profiles and labels.
    max_profiles : int, optional
        Snapshots up to this size keep their profiles (labels are read from the store);
        ``max_customers`` by default.
    """

    def __init__(self, store: Store, max_customers: int, max_profiles: int | None = None) -> None:
        self.store = store
        self.max_customers = max_customers
        self.max_profiles = max(max_customers, max_profiles or 0)
        self.clear()

    def clear(self) -> None:
        """Forget what is held (a snapshot was written or replaced)."""
        self._held = _Held(None)

    def load(self, as_of: dt.date) -> None:
        """Hold the snapshot as of a day (what its size allows), unless it is held already."""
        if self._held.as_of == as_of:
            return
        held = _Held(as_of)
        size = self.store.one("SELECT customers FROM snapshots WHERE as_of = ?", [as_of])
        if size is not None and size[0] <= self.max_profiles:
            whole = size[0] <= self.max_customers
            profiles = self.store.read_profiles(as_of).combine_chunks()
            for name in profiles.column_names:
                column = profiles.column(name).combine_chunks()
                held.columns.append((name, column if whole else _compact(column)))
            held.profile_index = _runs(profiles)
            if whole:
                labels = self.store.read_labels(as_of)
                held.label_index = _runs(labels)
                held.labels = labels.drop_columns(["customer_id"])
        self._held = held

    def profile(self, as_of: dt.date, customer_id: str) -> dict[str, Any] | None:
        """A customer's profile row of a snapshot, or ``None`` when not in it."""
        self.load(as_of)
        held = self._held
        if held.profile_index is None:
            return self.store.customer_profile(as_of, customer_id)
        at = held.profile_index.get(customer_id)
        if at is None:
            return None
        return {name: column[at[0]].as_py() for name, column in held.columns}

    def labels(self, as_of: dt.date, customer_id: str) -> list[dict[str, Any]]:
        """A customer's labels of a snapshot (evidence as JSON text), primary first."""
        self.load(as_of)
        held = self._held
        if held.label_index is None or held.labels is None:
            return self.store.customer_labels(as_of, customer_id)
        at = held.label_index.get(customer_id)
        return [] if at is None else held.labels.slice(*at).to_pylist()
