"""Helpers shared by the import tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tierwise.store import Store

REF = dt.datetime(2024, 6, 1, 12, 0, 0)
"""A fixed 'now' for the future-timestamp check."""

ORDERS_HEADER = "order_id,customer_id,paid_at,amount,status\n"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write text with an exact encoding (no newline translation)."""
    path.write_bytes(text.encode(encoding))
    return path


def rows(store: Store, sql: str) -> list[tuple]:
    return store.con.execute(sql).fetchall()


def snapshot(store: Store) -> dict[str, list[str]]:
    """Everything stored in the canonical tables and the import log."""
    out = {}
    for t in ("customers", "orders", "events", "imports"):
        out[t] = sorted(map(repr, store.con.execute(f"SELECT * FROM {t}").fetchall()))
    return out
