"""Joining a per-customer frame computed in Python back into the engine's profile."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from tierwise.backends import duckdb_connection

__all__ = ["HeldTable", "engine_table", "join_frame"]


@dataclass
class HeldTable:
    """A temporary table a run created on its engine, dropped by `release`."""

    backend: Any
    name: str

    def release(self) -> None:
        """Drop the table (nothing when it is gone already)."""
        self.backend.drop_table(self.name, force=True)


def engine_table(like: ir.Table, data: pa.Table, held: list) -> ir.Table:
    """``data`` as a table on the engine of ``like``.

    On DuckDB the rows are copied into a temporary table, so they count against the store's
    memory limit (and spill to disk under it) instead of staying in Python while the run goes
    on; the table is appended to ``held`` (`StepContext.held`) for the run to drop. On other
    engines an in-memory table.
    """
    if duckdb_connection(like) is None:
        return ibis.memtable(data)
    backend = like._find_backend()
    name = f"_tw_frame_{uuid.uuid4().hex}"
    table = backend.create_table(name, data, temp=True)
    held.append(HeldTable(backend, name))
    return table


def join_frame(
    profile: ir.Table,
    frame: pd.DataFrame,
    schema: ibis.Schema,
    held: list,
    carried: ir.Table | None = None,
    moved: ir.Table | None = None,
    texts: Iterable[str] = (),
) -> ir.Table:
    """Left-join ``frame`` (keyed by ``customer_id``) onto the profile.

    Missing values of the frame become nulls; the columns keep the types of ``schema``, so the
    rules that read them compile alike on every engine. With ``carried`` (an earlier profile),
    its rows of the customers not in ``moved`` join too, their missing ``texts`` as ``""``
    (how the frame writes them). ``held`` as in `engine_table`.
    """
    arrow = pa.Table.from_pandas(frame[list(schema.names)], schema=schema.to_pyarrow(),
                                 preserve_index=False)  # fmt: skip
    right = engine_table(profile, arrow, held)
    if carried is not None:
        types, texts = right.schema(), set(texts)
        kept = carried.anti_join(moved, "customer_id").select(
            "customer_id",
            **{c: carried[c].cast(types[c]).fill_null("") if c in texts
               else carried[c].cast(types[c]) for c in types if c != "customer_id"},
        )  # fmt: skip
        right = kept.union(right, distinct=False)
    return profile.left_join(right, "customer_id").drop("customer_id_right")
