"""Benchmark: importing a clean orders CSV, against DuckDB's own ``read_csv`` + ``INSERT``.

Writes a clean orders CSV (default 1,000,000 rows, 10 columns, ~200k customers), then times

1. tierwise: ``import_file`` into a fresh file store (read, parse and check every value,
   classify against the file and the store, create the customers, write, log);
2. the reference: DuckDB reading the same file with ``read_csv`` (typed, no checks) and
   ``INSERT`` into an orders table laid out like the store's, in a fresh database file.

Prints rows/s for both and the ratio; each is the best of ``--repeats`` runs. Beside the
wall-clock time it prints the process CPU time (user + system, all threads): on a shared
machine the wall clock measures the neighbours too, CPU time much less so.

    python bench/bench_import.py [--rows 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from tierwise.io import ImportOptions, import_file
from tierwise.schema import ORDERS
from tierwise.store import Store

CHANNELS = np.array(["store", "deal", "livestream", "distributor", "offline"])
STATUSES = np.array(["paid", "refunded", "cancelled"])


def write_orders(path: Path, n: int, seed: int = 7) -> None:
    """A clean orders CSV with ``n`` rows and every orders column but attributes."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00", "s")
    paid = start + rng.integers(0, 365 * 86400, n).astype("timedelta64[s]")
    amount = np.round(rng.gamma(2.0, 60.0, n), 2)
    cost = np.round(amount * rng.uniform(0.3, 0.8, n), 2)
    table = pa.table(
        {
            "order_id": pa.array([f"o{i:08d}" for i in range(n)]),
            "customer_id": pa.array([f"c{c:07d}" for c in rng.integers(0, n // 5 or 1, n)]),
            "paid_at": pa.array(np.datetime_as_string(paid, unit="s")).cast(pa.string()),
            "amount": pa.array(amount).cast(pa.string()),
            "gross_margin": pa.array(np.round(amount - cost, 2)).cast(pa.string()),
            "cost": pa.array(cost).cast(pa.string()),
            "channel": pa.array(CHANNELS[rng.integers(0, len(CHANNELS), n)]),
            "coupon_used": pa.array(np.where(rng.random(n) < 0.2, "true", "false")),
            "item_count": pa.array(rng.integers(1, 6, n)).cast(pa.string()),
            "status": pa.array(STATUSES[np.minimum(rng.geometric(0.9, n) - 1, 2)]),
        }
    )
    pcsv.write_csv(table, path, write_options=pcsv.WriteOptions(quoting_style="needed"))


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def time_tierwise(csv: Path, work: Path) -> tuple[float, float]:
    """Wall and CPU seconds for one import into a fresh store."""
    db = work / "tw.duckdb"
    for p in work.glob("tw.duckdb*"):
        p.unlink()
    store = Store(db)
    try:
        opts = ImportOptions(reference_time=dt.datetime(2030, 1, 1))
        t0, c0 = time.perf_counter(), _cpu()
        report = import_file(store, "orders", csv, options=opts)
        store.close()
        seconds, cpu = time.perf_counter() - t0, _cpu() - c0
    finally:
        store.close()
    if report.rows_quarantined or report.rows_imported != report.rows_read:
        raise SystemExit(f"benchmark file is not clean: {report.problems[:3]}")
    return seconds, cpu


def _ddl() -> str:
    types = {
        "string": "VARCHAR",
        "timestamp": "TIMESTAMP",
        "float": "DOUBLE",
        "int": "BIGINT",
        "bool": "BOOLEAN",
    }
    from tierwise.io.mapping import column_kind

    cols = [f'"{c.name}" {types[column_kind(c.type)]}' for c in ORDERS.columns]
    return f"CREATE TABLE orders ({', '.join(cols)})"


def time_reference(csv: Path, work: Path) -> tuple[float, float]:
    """Wall and CPU seconds for DuckDB ``read_csv`` + ``INSERT`` of the same file."""
    db = work / "ref.duckdb"
    for p in work.glob("ref.duckdb*"):
        p.unlink()
    con = duckdb.connect(str(db))
    try:
        con.execute(_ddl())
        names = [c.name for c in ORDERS.columns if c.name != "attributes"]
        cols = ", ".join(f'"{c}"' for c in names)
        t0, c0 = time.perf_counter(), _cpu()
        con.execute("BEGIN")
        con.execute(
            f"INSERT INTO orders ({cols}) SELECT {cols} FROM read_csv(?, header = true)",
            [str(csv)],
        )
        con.execute("COMMIT")
        con.close()
        return time.perf_counter() - t0, _cpu() - c0
    finally:
        con.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        csv = work / "orders.csv"
        write_orders(csv, args.rows)
        mb = csv.stat().st_size / 1e6
        tw = min((time_tierwise(csv, work) for _ in range(args.repeats)), key=lambda x: x[0])
        ref = min((time_reference(csv, work) for _ in range(args.repeats)), key=lambda x: x[0])
    n = args.rows
    print(f"clean orders CSV: {n:,} rows, {mb:.0f} MB; best of {args.repeats}")
    print(f"{'':26} {'wall s':>7} {'rows/s':>10} {'CPU s':>7} {'rows/CPU s':>11}")
    for label, (wall, cpu) in (("tierwise import_file", tw), ("DuckDB read_csv + INSERT", ref)):
        print(f"{label:26} {wall:7.2f} {n / wall:10,.0f} {cpu:7.2f} {n / cpu:11,.0f}")
    print(f"ratio tierwise / reference: {tw[0] / ref[0]:.2f}x the wall time")


if __name__ == "__main__":
    main()
