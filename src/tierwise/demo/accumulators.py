"""The demo shop: accumulators."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


class _Orders:
    """Paid orders accumulated shape by shape."""

    def __init__(self) -> None:
        self.cust: list[np.ndarray] = []
        self.age: list[np.ndarray] = []
        self.amount: list[np.ndarray] = []
        self.channel: list[np.ndarray] = []

    def add(self, cust, age, amount, channel=None) -> None:
        self.cust.append(np.asarray(cust, np.int32))
        self.age.append(np.asarray(age, float))
        self.amount.append(np.asarray(amount, float))
        ch = np.full(len(cust), -1, np.int8) if channel is None else np.asarray(channel, np.int8)
        self.channel.append(ch)

    def arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(
            np.concatenate(x) if x else np.empty(0)
            for x in (self.cust, self.age, self.amount, self.channel)
        )


class _Events:
    """Events accumulated block by block; ``optional`` ones may be dropped by calibration."""

    def __init__(self) -> None:
        self.cust: list[np.ndarray] = []
        self.age: list[np.ndarray] = []
        self.etype: list[np.ndarray] = []
        self.target: list[np.ndarray] = []
        self.optional: list[np.ndarray] = []

    def add(self, cust, age, etype, target=None, optional: bool = True) -> None:
        n = len(cust)
        self.cust.append(np.asarray(cust, np.int32))
        self.age.append(np.asarray(age, float))
        et = np.asarray(etype, np.int8)
        self.etype.append(np.full(n, et, np.int8) if et.ndim == 0 else et)
        self.target.append(
            np.full(n, -1, np.int32) if target is None else np.asarray(target, np.int32)
        )
        self.optional.append(np.full(n, optional))

    @property
    def size(self) -> int:
        return sum(len(c) for c in self.cust)

    def arrays(self) -> dict[str, np.ndarray]:
        """Concatenate the blocks (and release them)."""
        out = {}
        for name in ("cust", "age", "etype", "target", "optional"):
            blocks = getattr(self, name)
            out[name] = np.concatenate(blocks)
            blocks.clear()
        return out


def _plain_timestamps(table: pa.Table) -> pa.Table:
    """Timestamps as ``YYYY-MM-DD HH:MM:SS`` text, as a shop's export would have them."""
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type):
            text = pc.strftime(table.column(i), format="%Y-%m-%d %H:%M:%S")
            table = table.set_column(i, pa.field(f.name, pa.string(), f.nullable), text)
    return table
