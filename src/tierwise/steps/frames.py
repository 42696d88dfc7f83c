"""Joining a per-customer frame computed in Python back into the engine's profile."""

from __future__ import annotations

from collections.abc import Iterable

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

__all__ = ["join_frame"]


def join_frame(
    profile: ir.Table,
    frame: pd.DataFrame,
    schema: ibis.Schema,
    carried: ir.Table | None = None,
    moved: ir.Table | None = None,
    texts: Iterable[str] = (),
) -> ir.Table:
    """Left-join ``frame`` (keyed by ``customer_id``) onto the profile as an in-memory table.

    Missing values of the frame become nulls; the columns keep the types of ``schema``, so the
    rules that read them compile alike on every engine. With ``carried`` (an earlier profile),
    its rows of the customers not in ``moved`` join too, their missing ``texts`` as ``""``
    (how the frame writes them).
    """
    arrow = pa.Table.from_pandas(frame[list(schema.names)], schema=schema.to_pyarrow(),
                                 preserve_index=False)  # fmt: skip
    right = ibis.memtable(arrow)
    if carried is not None:
        types, texts = right.schema(), set(texts)
        kept = carried.anti_join(moved, "customer_id").select(
            "customer_id",
            **{c: carried[c].cast(types[c]).fill_null("") if c in texts
               else carried[c].cast(types[c]) for c in types if c != "customer_id"},
        )  # fmt: skip
        right = kept.union(right, distinct=False)
    return profile.left_join(right, "customer_id").drop("customer_id_right")
