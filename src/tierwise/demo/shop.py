"""The demo shop: the result."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tierwise.demo.accumulators import _plain_timestamps
from tierwise.errors import ConfigError


@dataclass(frozen=True)
class DemoShop:
    """A generated shop: the three canonical tables and the planted truth.

    Attributes
    ----------
    customers, orders, events : pyarrow.Table
        Canonical tables (columns and Arrow types of :mod:`tierwise.schema`).
    truth : pyarrow.Table
        One row per customer with the planted labels (:data:`TRUTH_SCHEMA`).
    as_of : datetime.date
        Last day of the data; nothing is stamped after it.
    seed : int
        Seed the shop was generated with.
    params : dict
        The generation arguments.
    extras : dict of str to pyarrow.Table
        Further files planted beside the three tables (e.g. identity links), by name.
    """

    customers: pa.Table
    orders: pa.Table
    events: pa.Table
    truth: pa.Table
    as_of: dt.date
    seed: int
    params: dict[str, object] = field(default_factory=dict)
    extras: dict[str, pa.Table] = field(default_factory=dict)

    @property
    def tables(self) -> dict[str, pa.Table]:
        """Every table by name: the three canonical ones, the truth and the extras."""
        return {
            "customers": self.customers,
            "orders": self.orders,
            "events": self.events,
            "truth": self.truth,
            **self.extras,
        }

    def write(
        self, directory: str | Path, format: Literal["parquet", "csv"] = "parquet"
    ) -> dict[str, Path]:
        """Write ``customers``, ``orders``, ``events`` and ``truth`` files.

        Parameters
        ----------
        directory : str or Path
            Created if missing; existing files of the same names are overwritten.
        format : {"parquet", "csv"}
            CSV files are UTF-8 with a header row.

        Returns
        -------
        dict of str to Path
            The written file of each table.
        """
        if format not in ("parquet", "csv"):
            raise ConfigError(f"format must be 'parquet' or 'csv', not {format!r}")
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        for name, table in self.tables.items():
            path = out / f"{name}.{format}"
            if format == "parquet":
                pq.write_table(table, path)
            else:
                pacsv.write_csv(_plain_timestamps(table), path)
            paths[name] = path
        return paths
