"""Joining a per-customer frame computed in Python back into the engine's profile."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

__all__ = ["join_frame"]


def join_frame(profile: ir.Table, frame: pd.DataFrame, schema: ibis.Schema) -> ir.Table:
    """Left-join ``frame`` (keyed by ``customer_id``) onto the profile as an in-memory table.

    Missing values of the frame become nulls; the columns keep the types of ``schema``, so the
    rules that read them compile alike on every engine.
    """
    arrow = pa.Table.from_pandas(frame[list(schema.names)], schema=schema.to_pyarrow(),
                                 preserve_index=False)  # fmt: skip
    right = ibis.memtable(arrow)
    return profile.left_join(right, "customer_id").drop("customer_id_right")
