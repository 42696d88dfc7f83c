"""Where a run computes: the embedded DuckDB store, or a Spark session (local or a cluster)."""

from __future__ import annotations

import ctypes
import datetime as dt
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa

from tierwise.errors import TierwiseError
from tierwise.schema import ENTITIES
from tierwise.store import Store, release_cached_blocks

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "carried_table", "duckdb_connection", "duckdb_tables", "export_tables", "release_memory",
    "spark_session", "spark_tables", "trim_heap",
]  # fmt: skip


def duckdb_tables(store: Store) -> dict[str, ir.Table]:
    """The canonical tables of a store as Ibis tables on its DuckDB connection."""
    con = ibis.duckdb.from_connection(store.con)
    return {name: con.table(name) for name in ENTITIES}


def duckdb_connection(table: ir.Table) -> duckdb.DuckDBPyConnection | None:
    """The DuckDB connection an Ibis table lives on (``None``: another engine, or unbound)."""
    try:
        backend = table._find_backend()
    except Exception:  # an unbound table has no backend
        return None
    con = getattr(backend, "con", None)
    if backend.name != "duckdb" or not isinstance(con, duckdb.DuckDBPyConnection):
        return None
    return con


def release_memory(table: ir.Table) -> None:
    """Let the engine behind ``table`` hand back the memory of its earlier reads (DuckDB:
    `tierwise.store.release_cached_blocks`; other engines: nothing), and this process the
    pages of the Python objects freed since (`trim_heap`)."""
    con = duckdb_connection(table)
    if con is not None:
        release_cached_blocks(con)
    trim_heap()


def trim_heap() -> None:
    """Hand the free memory of Arrow's allocator and the C heap's free pages back to the
    system (``malloc_trim`` of glibc; elsewhere only Arrow's): the frames a step built and
    dropped otherwise stay in the process's resident memory while the next query runs."""
    pa.default_memory_pool().release_unused()
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


def snapshot_table(store: Store, as_of: dt.date) -> ir.Table:
    """A stored snapshot's profile as an Ibis table on the store's DuckDB connection."""
    con = ibis.duckdb.from_connection(store.con)
    return con.table(store.profile_table_name(as_of))


def carried_table(store: Store, as_of: dt.date, step: str) -> ir.Table | None:
    """The state a step kept beside a stored snapshot for the next run, as an Ibis table on
    the store's DuckDB connection (``None``: it kept none)."""
    name = store.carried_table_name(as_of, step)
    if not store.has_table(name):
        return None
    return ibis.duckdb.from_connection(store.con).table(name)


def export_tables(store: Store, directory: str | Path) -> dict[str, Path]:
    """Write the canonical tables as Parquet (``DIR/<entity>.parquet``) for another engine."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, ent in ENTITIES.items():
        path = out / f"{name}.parquet"
        cols = ", ".join(f'"{c}"' for c in ent.column_names)
        store.con.execute(f"COPY (SELECT {cols} FROM \"{name}\") TO '{path}' (FORMAT parquet)")
        paths[name] = path
    return paths


def spark_session(
    master: str | None = "local[2]",
    *,
    app_name: str = "tierwise",
    conf: dict[str, Any] | None = None,
) -> SparkSession:
    """A Spark session set up for tierwise (UTC session time zone, quiet UI).

    Parameters
    ----------
    master : str or None
        ``local[N]`` for one machine, ``spark://host:7077``, ``yarn``, ``k8s://…`` for a
        cluster; ``None`` leaves it to ``spark-submit``.
    conf : dict, optional
        Extra Spark settings.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise TierwiseError(
            "Spark needs the spark extra: pip install 'tierwise[spark]' (and Java 17)"
        ) from exc
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "8",
        # per-customer frames computed in Python (satisfaction, entrance, tags) travel to the
        # executors inside their tasks: in a few slices, each under the message size limit
        # (each slice is a task in every stage that reads the frame: more slices slow small shops)
        "spark.default.parallelism": "4",
        "spark.rpc.message.maxSize": "512",
        **(conf or {}),
    }
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def spark_tables(
    session: SparkSession, *, store: Store | None = None, source: str | Path | None = None
) -> dict[str, ir.Table]:
    """The canonical tables on Spark, read from Parquet.

    Parameters
    ----------
    session : SparkSession
        The session to compute on.
    store : Store, optional
        Copy the store's tables to a local Parquet folder first (one machine or local mode).
    source : str or Path, optional
        A folder (local, HDFS, S3, …) holding ``customers.parquet``, ``orders.parquet`` and
        ``events.parquet`` as written by `export_tables` — the way to feed a cluster.
    """
    if (store is None) == (source is None):
        raise TierwiseError("spark_tables needs exactly one of store= or source=")
    if store is not None:
        source = tempfile.mkdtemp(prefix="tierwise-spark-")
        export_tables(store, source)
    con = ibis.pyspark.connect(session)
    tables = {}
    for name in ENTITIES:
        df = session.read.parquet(f"{source}/{name}.parquet")
        view = f"tierwise_{name}"
        df.createOrReplaceTempView(view)
        tables[name] = con.table(view)
    return tables
