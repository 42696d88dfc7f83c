"""The profile table of a snapshot held in memory, so a customer lookup is a dictionary hit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from tierwise.store import Store

__all__ = ["ProfileCache"]


class ProfileCache:
    """One snapshot's profiles in memory (the last one asked for), indexed by customer id.

    Parameters
    ----------
    store : Store
        Where the snapshots are; `clear` after a run writes one.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._as_of: dt.date | None = None
        self._table: pa.Table | None = None
        self._index: dict[str, int] = {}

    def clear(self) -> None:
        """Forget what is held (a snapshot was written or replaced)."""
        self._as_of, self._table, self._index = None, None, {}

    def row(self, as_of: dt.date, customer_id: str) -> dict[str, Any] | None:
        """A customer's profile row of a snapshot, or ``None`` when not in it."""
        if self._as_of != as_of or self._table is None:
            table = self.store.read_profiles(as_of)
            ids = table.column("customer_id").to_pylist()
            self._table, self._index = table, {cid: i for i, cid in enumerate(ids)}
            self._as_of = as_of
        i = self._index.get(customer_id)
        return None if i is None else self._table.slice(i, 1).to_pylist()[0]
