"""One snapshot's profiles and labels held in memory, so a customer lookup is a dictionary hit.

Only shops up to `ServiceSettings.cache_customers` customers are held; larger ones are read
from the store at each lookup.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from tierwise.store import Store

__all__ = ["SnapshotCache"]


def _runs(table: pa.Table) -> dict[str, tuple[int, int]]:
    """Start and length of each customer's rows in a table ordered by customer_id."""
    ids = table.column("customer_id").to_pylist()
    out: dict[str, tuple[int, int]] = {}
    start = 0
    for i in range(1, len(ids) + 1):
        if i == len(ids) or ids[i] != ids[start]:
            out[ids[start]] = (start, i - start)
            start = i
    return out


class SnapshotCache:
    """The profiles and labels of the snapshot asked for last, indexed by customer id.

    Parameters
    ----------
    store : Store
        Where the snapshots are; `clear` after a run writes one.
    max_customers : int
        Snapshots with more customers are not held: every lookup reads the store.
    """

    def __init__(self, store: Store, max_customers: int) -> None:
        self.store = store
        self.max_customers = max_customers
        self.clear()

    def clear(self) -> None:
        """Forget what is held (a snapshot was written or replaced)."""
        self._as_of: dt.date | None = None
        self._held = False
        self._columns: list[tuple[str, pa.Array]] = []
        self._labels: pa.Table | None = None
        self._p_index: dict[str, tuple[int, int]] = {}
        self._l_index: dict[str, tuple[int, int]] = {}

    def _load(self, as_of: dt.date) -> None:
        if self._as_of == as_of:
            return
        self.clear()
        self._as_of = as_of
        size = self.store.one("SELECT customers FROM snapshots WHERE as_of = ?", [as_of])
        if size is None or size[0] > self.max_customers:
            return
        profiles = self.store.read_profiles(as_of).combine_chunks()
        self._columns = [(n, profiles.column(n).combine_chunks()) for n in profiles.column_names]
        labels = self.store.read_labels(as_of)
        self._p_index = _runs(profiles)
        self._l_index = _runs(labels)
        self._labels = labels.drop_columns(["customer_id"])
        self._held = True

    def profile(self, as_of: dt.date, customer_id: str) -> dict[str, Any] | None:
        """A customer's profile row of a snapshot, or ``None`` when not in it."""
        self._load(as_of)
        if not self._held:
            return self.store.customer_profile(as_of, customer_id)
        at = self._p_index.get(customer_id)
        if at is None:
            return None
        return {name: column[at[0]].as_py() for name, column in self._columns}

    def labels(self, as_of: dt.date, customer_id: str) -> list[dict[str, Any]]:
        """A customer's labels of a snapshot (evidence as JSON text), primary first."""
        self._load(as_of)
        if not self._held:
            return self.store.customer_labels(as_of, customer_id)
        at = self._l_index.get(customer_id)
        return [] if at is None else self._labels.slice(*at).to_pylist()
