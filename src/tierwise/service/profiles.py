"""One snapshot's profiles and labels held in memory, so a customer lookup is a dictionary hit.

Snapshots of up to `ServiceSettings.cache_customers` customers are held whole. Larger ones,
up to `ServiceSettings.cache_profiles`, are held compactly: text columns dictionary-encoded and
the labels without their evidence, which is rebuilt from the customer's profile row (a label's
evidence holds profile figures and params that are the same for every customer carrying it).
Beyond that every lookup reads the store, whose label rows are written in customer order so
that a point lookup reads one block.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tierwise.store import Store

__all__ = ["SnapshotCache"]


def _runs(table: pa.Table) -> dict[str, tuple[int, int]]:
    """Start and length of each customer's rows in a table ordered by customer_id."""
    ids = table.column("customer_id").combine_chunks()
    n = len(ids)
    if n == 0:
        return {}
    changes = pc.not_equal(ids.slice(1), ids.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    starts = np.concatenate([[0], np.flatnonzero(changes) + 1])
    lengths = np.diff(np.append(starts, n))
    keys = ids.take(pa.array(starts)).to_pylist()
    return dict(zip(keys, zip(starts.tolist(), lengths.tolist(), strict=True), strict=True))


def _compact(batches: pa.RecordBatchReader) -> pa.Table:
    """The batches read into one table whose text columns with few distinct values (judged
    on the first batch; never the customer id) are dictionary-encoded as they arrive: a
    label column of 1M rows then costs 1M small integers, and the plain text is never held
    whole."""
    encode: set[str] | None = None
    out = []
    for batch in batches:
        if encode is None:
            encode = {
                f.name for f in batch.schema
                if f.name != "customer_id"
                if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
                if len(pc.unique(batch.column(f.name))) * 4 < max(batch.num_rows, 1)
            }  # fmt: skip
        out.append(pa.record_batch(
            [pc.dictionary_encode(c) if n in encode else c
             for n, c in zip(batch.schema.names, batch.columns, strict=True)],
            names=batch.schema.names,
        ))  # fmt: skip
    if not out:
        return batches.schema.empty_table()
    return pa.Table.from_batches(out).unify_dictionaries().combine_chunks()


def _json_value(value: Any) -> Any:
    """A profile value as the store's evidence JSON gives it back once parsed."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime):  # as DuckDB writes it: no trailing zeros in .ffffff
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        return text + f".{value.microsecond:06d}".rstrip("0") if value.microsecond else text
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@dataclass
class _Held:
    """What is held of one snapshot."""

    as_of: dt.date | None
    columns: dict[str, pa.Array] = field(default_factory=dict)
    profile_index: dict[str, tuple[int, int]] | None = None
    labels: pa.Table | None = None
    label_index: dict[str, tuple[int, int]] | None = None
    evidence: dict[tuple[str, str], tuple[list[str], Any]] | None = None
    """Compact mode: (scheme, label) -> figure names and params of its evidence."""


class SnapshotCache:
    """The profiles (and labels) of the snapshot asked for last, indexed by customer id.

    Parameters
    ----------
    store : Store
        Where the snapshots are; `clear` after a run writes one.
    max_customers : int
        Snapshots up to this size are held whole, profiles and labels.
    max_profiles : int, optional
        Snapshots up to this size are held compactly (a label's evidence rebuilt from the
        profile row); ``max_customers`` by default.
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
            if whole:
                profiles = self.store.read_profiles(as_of).combine_chunks()
                labels = self.store.read_labels(as_of)
            else:
                profiles = _compact(self.store.profile_batches(as_of))
                labels = _compact(self.store.label_batches(as_of, evidence=False))
                held.evidence = {}
                for row in self.store.label_evidence_samples(as_of).to_pylist():
                    sample = json.loads(row["evidence"])
                    held.evidence[(row["scheme"], row["label"])] = (
                        list(sample["figures"]), sample["params"])  # fmt: skip
            held.columns = {n: profiles.column(n).combine_chunks() for n in profiles.column_names}
            held.profile_index = _runs(profiles)
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
        return {name: column[at[0]].as_py() for name, column in held.columns.items()}

    def labels(self, as_of: dt.date, customer_id: str) -> list[dict[str, Any]]:
        """A customer's labels of a snapshot (evidence as JSON text), primary first."""
        self.load(as_of)
        held = self._held
        if held.label_index is None or held.labels is None:
            return self.store.customer_labels(as_of, customer_id)
        at = held.label_index.get(customer_id)
        if at is None:
            return []
        rows = held.labels.slice(*at).to_pylist()
        if held.evidence is not None:
            row = held.profile_index[customer_id][0]  # type: ignore[index]
            for lab in rows:
                names, params = held.evidence[(lab["scheme"], lab["label"])]
                figures = {n: _json_value(held.columns[n][row].as_py()) for n in names}
                lab["evidence"] = json.dumps({"figures": figures, "params": params},
                                             ensure_ascii=False)  # fmt: skip
        return rows
