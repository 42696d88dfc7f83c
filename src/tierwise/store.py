"""The embedded store: a DuckDB file holding canonical tables, import log and snapshots."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from tierwise import __version__
from tierwise.errors import StoreError
from tierwise.schema import ENTITIES, OPTIONAL_ENTITIES, Entity

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["SCHEMA_VERSION", "Store", "StoredProfiles"]

SCHEMA_VERSION = 2
"""Version of the store layout; a store written by a newer layout is refused.

2: a snapshot's label rows are a view over its profile (`label_view_name`); layout 1 kept
them in the ``labels`` table, which is still read for the snapshots stored so."""

_DUCK_TYPES = {
    "string": "VARCHAR",
    "timestamp[us]": "TIMESTAMP",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "int64": "BIGINT",
}

PROVENANCE_COLUMNS = ("_source", "_row", "_import_id")

DEFAULT_MEMORY_LIMIT = "2.5GB"
"""DuckDB's memory limit for a store, unless ``TIERWISE_MEMORY_LIMIT`` says otherwise."""


def _memory_limit() -> str:
    value = os.environ.get("TIERWISE_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT).strip()
    if not value.replace(".", "").replace(" ", "").isalnum():
        raise StoreError(f"TIERWISE_MEMORY_LIMIT: expected a size like 2.5GB, not {value!r}")
    return value


_LIMIT_SHOWN = "SELECT current_setting('memory_limit')"

STAGED_PROFILE = "_tw_profile_staged"
"""The table a run's profiles are computed into before `Store.write_snapshot` names them."""

ZSTD_SUFFIX = "_evidence"
"""Profile text columns with this suffix (JSON evidence, nearly one distinct document per
customer) are stored compressed with zstd: the dictionary compression DuckDB picks for them
writes them about twice as slowly and 19 times as large."""


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str, str]]:
    """Name, type and ``is_nullable`` of each column of the store's table ``table``, in
    order."""
    return con.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = current_schema() "
        "AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()


def _with_zstd_evidence(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Create the empty profile table ``table`` again with its evidence columns compressed
    with zstd (`ZSTD_SUFFIX`); types and NOT NULL stay as they were."""
    cols = _columns(con, table)
    zstd = {n for n, t, _ in cols if n.endswith(ZSTD_SUFFIX) and t == "VARCHAR"}
    if not zstd:
        return
    defs = ", ".join(
        '"{}" {}{}{}'.format(
            n.replace('"', '""'),
            t,
            "" if nullable == "YES" else " NOT NULL",
            " USING COMPRESSION zstd" if n in zstd else "",
        )
        for n, t, nullable in cols
    )
    con.execute(f'CREATE OR REPLACE TABLE "{table}" ({defs})')


@dataclass(eq=False)
class StoredProfiles:
    """A run's profiles kept in a store table instead of in memory, read when asked.

    Attributes
    ----------
    store : Store
        The store holding them.
    table : str
        Their table: `STAGED_PROFILE` until the snapshot is written, its profile table after.
    num_rows : int
        Number of customers.
    column_names : list of str
        The profile's columns.
    carried : dict
        Per step, the table of the state it keeps for the next run (staged, then the
        snapshot's: `Store.carried_table_name`).
    """

    store: Store
    table: str
    num_rows: int
    column_names: list[str]
    carried: dict[str, str] = field(default_factory=dict)

    def read(self, columns: Sequence[str] | None = None) -> pa.Table:
        """The profiles (or some of their columns) in customer order."""
        return self.store._profile_rows(self.table, columns)


@functools.lru_cache(maxsize=8)
def _shown_limit(limit: str) -> str:
    """How DuckDB shows a memory limit (rounded, in GiB or MiB)."""
    with duckdb.connect() as scratch:
        scratch.execute(f"SET memory_limit = '{limit}'")
        return scratch.execute(_LIMIT_SHOWN).fetchone()[0]


def release_cached_blocks(
    con: duckdb.DuckDBPyConnection, keep: tuple[str, ...] = ("256MB", "1GB")
) -> None:
    """Make a store's DuckDB connection hand back the blocks of earlier reads it keeps cached
    beyond ``keep`` (the first of its sizes DuckDB can get down to; unpinned temporary tables
    go to disk): lowering its memory limit evicts them, then the limit is set back. What
    is held next, in Python or by a later query, then does not add to them. A connection
    whose limit is not the store's (``TIERWISE_MEMORY_LIMIT``) is left alone."""
    limit = _memory_limit()
    if con.execute(_LIMIT_SHOWN).fetchone()[0] != _shown_limit(limit):
        return
    for size in keep:
        try:
            con.execute(f"SET memory_limit = '{size}'")
            break
        except duckdb.Error:  # more than that is pinned
            continue
    con.execute(f"SET memory_limit = '{limit}'")


_ROLLUP_LAYOUT = 3
"""Version of the rollup tables; rollups of another version are rebuilt. Since 3 the order and
event rollups are stored in order of their day (within each part of a build), so that a read
of a few days skips the row groups of the others, and referrals have a rollup."""

ROLLUP_PART_ROWS = 10_000_000
"""Rows of orders or events rolled up by one query when the rollups are built: a bigger
table is rolled up in parts of its customers (by hash of ``customer_id``), so that no
aggregate of tens of millions of groups spills under the memory limit."""

_ORDERS_ROLLUP = """
SELECT customer_id, paid_at::DATE AS day, channel,
  count(*) FILTER (status = 'paid') AS paid,
  sum(amount::DECIMAL(38, 4)) FILTER (status = 'paid') AS amount,
  sum(coalesce(gross_margin, amount - cost)::DECIMAL(38, 4)) FILTER (status = 'paid') AS margin,
  count(coalesce(gross_margin, amount - cost)) FILTER (status = 'paid') AS margin_n,
  sum(amount::DECIMAL(38, 4)) FILTER (status = 'paid'
    AND coalesce(gross_margin, amount - cost) IS NOT NULL) AS margin_base,
  sum(item_count) FILTER (status = 'paid')::BIGINT AS items,
  count(*) FILTER (status = 'paid' AND coalesce(coupon_used, false)) AS coupon,
  count(*) FILTER (status = 'refunded') AS refunded,
  min(paid_at) FILTER (status = 'paid') AS first_paid_at,
  max(paid_at) FILTER (status = 'paid') AS last_paid_at,
  bit_xor(hash(order_id, paid_at::DATE)) AS key_xor
FROM {src} WHERE paid_at IS NOT NULL GROUP BY customer_id, day, channel"""

_EVENTS_ROLLUP = """
SELECT customer_id, occurred_at::DATE AS day, event_type, channel, count(*) AS n,
  min(occurred_at) AS first_at, max(occurred_at) AS last_at,
  coalesce(sum({decay}) FILTER (occurred_at > occurred_at::DATE::TIMESTAMP), 0.0) AS decay,
  count(*) FILTER (occurred_at = occurred_at::DATE::TIMESTAMP) AS at_midnight,
  bit_xor(hash(event_id, occurred_at::DATE)) AS key_xor
FROM {src} WHERE occurred_at IS NOT NULL GROUP BY customer_id, day, event_type, channel"""


def _decay_sql(half_life_days: float) -> str:
    """``2 ** (seconds into the day / half-life)``: an event's decay relative to midnight."""
    seconds = "(epoch(occurred_at) - epoch(occurred_at::DATE::TIMESTAMP))"
    return f"pow(2.0, {seconds} / {float(half_life_days) * 86_400.0!r})"


def _in_list(values: list[str]) -> str:
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


def _referrals_sql(referral_types: list[str], where: str = "") -> str:
    """Each referrer and target with the time of the earliest referral event naming it (the
    referral features need no more: an event before a cutoff and at or before the target's
    first order exists exactly when the earliest one is)."""
    types = f"event_type IN {_in_list(referral_types)}" if referral_types else "false"
    return f"""
SELECT customer_id, target_customer_id, min(occurred_at) AS occurred_at FROM events
WHERE {types} AND target_customer_id IS NOT NULL AND target_customer_id <> customer_id
  AND occurred_at IS NOT NULL{where}
GROUP BY customer_id, target_customer_id"""


def _sends_sql(send_types: list[str], response_types: list[str], customers: str = "") -> str:
    """Each campaign send with its first response at or after it (a response event or a paid
    order), for every customer or those listed in the table ``customers``."""
    only = f" AND customer_id IN (SELECT customer_id FROM {customers})" if customers else ""
    sends = f"event_type IN {_in_list(send_types)}" if send_types else "false"
    answers = f"event_type IN {_in_list(response_types)}" if response_types else "false"
    return f"""
WITH s AS (SELECT event_id, customer_id, occurred_at AS sent_at FROM events
           WHERE {sends}{only}),
r AS (SELECT customer_id, occurred_at AS at FROM events WHERE {answers}{only}
      UNION ALL
      SELECT customer_id, paid_at FROM orders
      WHERE status = 'paid' AND paid_at IS NOT NULL{only})
SELECT s.event_id, s.customer_id, s.sent_at, r.at AS responded_at
FROM s ASOF LEFT JOIN r ON s.customer_id = r.customer_id AND r.at >= s.sent_at"""


def _ddl(entity: Entity) -> str:
    """The canonical table. Its key is unique without a PRIMARY KEY index: the importer, the
    only writer, checks every key against the file and the stored rows in the transaction
    that writes them (an index would double the cost of a large import)."""
    cols = [f'"{c.name}" {_DUCK_TYPES[str(c.type)]}' for c in entity.columns]
    cols += ['"_source" VARCHAR', '"_row" BIGINT', '"_import_id" VARCHAR']
    return f'CREATE TABLE IF NOT EXISTS "{entity.name}" ({", ".join(cols)})'


class Store:
    """A DuckDB file with the canonical tables, the import log and profile snapshots.

    Parameters
    ----------
    path : str or Path
        The DuckDB file; created with the current layout when missing. ``":memory:"`` for a
        throw-away store.
    read_only : bool
        Open without write access (several readers may share the file).
    wait : float
        Seconds to keep trying while another process holds the file.

    Raises
    ------
    StoreError
        If the file was written by a newer layout, is not a tierwise store, or another
        process holds it (the message says which command).
    """

    def __init__(self, path: str | Path, *, read_only: bool = False, wait: float = 0.0) -> None:
        self.path = str(path)
        self.read_only = read_only
        is_new = self.path == ":memory:" or not Path(self.path).exists()
        if is_new and read_only:
            raise StoreError(f"no store at {self.path}")
        self.con = self._connect(wait)
        self._owner: Path | None = None
        if not read_only and self.path != ":memory:":
            self._owner = Path(f"{self.path}.owner")
            self._owner.write_text(
                json.dumps({"pid": os.getpid(), "command": " ".join(sys.argv),
                            "since": dt.datetime.now().isoformat(timespec="seconds")}),
                encoding="utf-8",
            )  # fmt: skip
        if is_new:
            self._create()
        self._check_version()

    @classmethod
    def from_connection(cls, con: duckdb.DuckDBPyConnection) -> Store:
        """The store behind an open DuckDB connection (left open by `close`'s caller).

        Raises
        ------
        StoreError
            If the connection's database is not a tierwise store.
        """
        store = cls.__new__(cls)
        store.path = con.execute("SELECT current_database()").fetchone()[0]
        store.read_only = False
        store.con = con
        store._owner = None
        store._check_version()
        return store

    def _connect(self, wait: float) -> duckdb.DuckDBPyConnection:
        con = self._open(wait)
        # bounded memory: DuckDB spills to disk past this (TIERWISE_MEMORY_LIMIT overrides)
        con.execute(f"SET memory_limit = '{_memory_limit()}'")
        return con

    def _open(self, wait: float) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            try:
                return duckdb.connect(self.path, read_only=self.read_only)
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise StoreError(f"cannot open store {self.path}: {exc}") from None
                if time.monotonic() >= deadline:
                    raise StoreError(self._held_by(wait)) from None
                time.sleep(0.2)
            except duckdb.ConnectionException as exc:
                if self.read_only and "different configuration" in str(exc):
                    # this process already holds the file read-write: share that access
                    return duckdb.connect(self.path)
                raise StoreError(f"cannot open store {self.path}: {exc}") from None
            except duckdb.Error as exc:
                raise StoreError(f"cannot open store {self.path}: {exc}") from None

    def _held_by(self, waited: float) -> str:
        """Which command holds the store, for the error message."""
        who = "another process"
        try:
            owner = json.loads(Path(f"{self.path}.owner").read_text("utf-8"))
            who = f"another tierwise command (PID {owner['pid']}: {owner['command']}, since " \
                  f"{owner['since']})"  # fmt: skip
        except (OSError, ValueError, KeyError):
            pass
        after = f" after waiting {waited:g} s" if waited > 0 else ""
        return (
            f"the store {self.path} is in use by {who}{after}; let it finish, "
            "or add --wait SECONDS to wait for it"
        )

    # -- layout ---------------------------------------------------------------------------
    def _create(self) -> None:
        with self.transaction():
            self.con.execute("CREATE TABLE tierwise_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
            self.con.execute(
                "INSERT INTO tierwise_meta VALUES ('schema_version', ?), ('created_by', ?)",
                [str(SCHEMA_VERSION), __version__],
            )
            for ent in ENTITIES.values():
                self.con.execute(_ddl(ent))
            self.con.execute(
                """CREATE TABLE imports (
                    import_id VARCHAR PRIMARY KEY, entity VARCHAR, source VARCHAR,
                    file_sha256 VARCHAR, imported_at TIMESTAMP, rows_read BIGINT,
                    rows_imported BIGINT, rows_updated BIGINT, rows_quarantined BIGINT,
                    rows_duplicate BIGINT, customers_created BIGINT, report VARCHAR)"""
            )
            self.con.execute(
                """CREATE TABLE labels (
                    as_of DATE, customer_id VARCHAR, scheme VARCHAR, label VARCHAR,
                    label_zh VARCHAR, label_en VARCHAR, is_primary BOOLEAN, rule VARCHAR,
                    evidence VARCHAR)"""
            )
            self.con.execute(
                """CREATE TABLE snapshots (
                    as_of DATE PRIMARY KEY, created_at TIMESTAMP, tierwise_version VARCHAR,
                    config VARCHAR, customers BIGINT, profile_table VARCHAR)"""
            )

    def _check_version(self) -> None:
        try:
            row = self.one("SELECT value FROM tierwise_meta WHERE key = 'schema_version'")
        except duckdb.CatalogException:
            raise StoreError(f"{self.path} is a DuckDB file but not a tierwise store") from None
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has store layout {version}, newer than this tierwise "
                f"({__version__}) reads ({SCHEMA_VERSION}); upgrade tierwise"
            )
        self.schema_version = version

    # -- transactions ---------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run a block atomically: everything or nothing is written."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def arrow(self, sql: str, params: list | None = None) -> pa.Table:
        """The result of a query as an Arrow table."""
        return self.con.sql(sql, params=params).to_arrow_table()

    def one(self, sql: str, params: list | None = None) -> tuple | None:
        """The first row of a query (the result is read to the end), or ``None``."""
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0] if rows else None

    # -- canonical tables -----------------------------------------------------------------
    def count(self, entity: str) -> int:
        """Number of rows in a canonical table (0 for an optional table never imported)."""
        if entity in OPTIONAL_ENTITIES:
            return self.one(f'SELECT count(*) FROM "{entity}"')[0] if self.has_table(entity) else 0
        return self.one(f'SELECT count(*) FROM "{ENTITIES[entity].name}"')[0]

    def read(self, entity: str, *, provenance: bool = False) -> pa.Table:
        """Read a canonical table as Arrow."""
        ent = ENTITIES[entity] if entity in ENTITIES else OPTIONAL_ENTITIES[entity]
        cols = ent.column_names + (list(PROVENANCE_COLUMNS) if provenance else [])
        if entity in OPTIONAL_ENTITIES and not self.has_table(entity):
            return ent.arrow_schema().empty_table()
        sel = ", ".join(f'"{c}"' for c in cols)
        return self.arrow(f'SELECT {sel} FROM "{ent.name}" ORDER BY "{ent.key}"')

    # -- snapshots ------------------------------------------------------------------------
    @staticmethod
    def profile_table_name(as_of: dt.date) -> str:
        """Name of the table holding the profile snapshot as of a date."""
        return f"profiles_{as_of:%Y%m%d}"

    @staticmethod
    def label_view_name(as_of: dt.date) -> str:
        """Name of the view giving the label rows of a snapshot (without their evidence)."""
        return f"labels_{as_of:%Y%m%d}"

    @staticmethod
    def evidence_view_name(as_of: dt.date) -> str:
        """Name of the view giving the labels of a snapshot with their evidence."""
        return f"evidence_{as_of:%Y%m%d}"

    @staticmethod
    def carried_table_name(as_of: dt.date, step: str) -> str:
        """Name of the table of the state a step kept beside a snapshot for the next run."""
        return f"carry_{step}_{as_of:%Y%m%d}"

    def stage_profiles(
        self, profile: ir.Table, carried: Mapping[str, ir.Table] | None = None
    ) -> StoredProfiles:
        """Compute a run's profile query into the store (`STAGED_PROFILE`) and the state its
        steps keep for the next run (``carried``: per step, a query).

        The rows go from the engine to the table without a copy in memory, in the order the
        engine gives them (`write_snapshot` indexes them by customer; readers sort); then
        `write_snapshot` names the tables as the snapshot's.

        Raises
        ------
        StoreError
            If ``profile`` is not a query on this store's connection.
        """
        backend = profile._find_backend()
        if getattr(backend, "con", None) is not self.con:
            raise StoreError("the profiles to stage are not a query on this store")
        staged = {}
        for step, state in (carried or {}).items():
            staged[step] = f"{STAGED_PROFILE}_{step}"
            backend.create_table(staged[step], state, overwrite=True)
        backend.create_table(STAGED_PROFILE, schema=profile.schema(), overwrite=True)
        _with_zstd_evidence(self.con, STAGED_PROFILE)
        backend.insert(STAGED_PROFILE, profile)
        return StoredProfiles(
            self,
            STAGED_PROFILE,
            self.one(f'SELECT count(*) FROM "{STAGED_PROFILE}"')[0],
            list(profile.columns),
            staged,
        )

    def write_snapshot(
        self,
        as_of: dt.date,
        profiles: pa.Table | StoredProfiles,
        *,
        labels_query: Callable[..., str],
        meta: dict,
    ) -> None:
        """Store (or replace) the snapshot as of ``as_of`` atomically.

        The label rows are a view over the profile table (`label_view_name`), and so are
        they with their evidence (`evidence_view_name`): both are computed when read. The
        profile table gets a unique index on ``customer_id`` (a second row of a customer
        stops the write, and nothing is written).

        Parameters
        ----------
        as_of : datetime.date
            The snapshot's day.
        profiles : pyarrow.Table or StoredProfiles
            One row per customer: features, scores and labels. Staged profiles
            (`stage_profiles`) become the snapshot's table, renamed rather than copied
            (``profiles.table`` follows), and so does the state its steps keep.
        labels_query : callable
            Given the profile table's name (and ``evidence=False``: without the evidence),
            a query returning the label rows (`tierwise.evidence.LABEL_COLUMNS`).
        meta : dict
            What produced the snapshot (config, fitted edges), stored as JSON.
        """
        name = self.profile_table_name(as_of)
        staged = isinstance(profiles, StoredProfiles)
        with self.transaction() as con:
            for (table,) in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE starts_with(table_name, ?) AND ends_with(table_name, ?)",
                ["carry_", f"_{as_of:%Y%m%d}"],
            ).fetchall():
                con.execute(f'DROP TABLE "{table}"')  # of the snapshot this one replaces
            if staged:
                con.execute(f'DROP TABLE IF EXISTS "{name}"')
                con.execute(f'ALTER TABLE "{profiles.table}" RENAME TO "{name}"')
                for step, table in profiles.carried.items():
                    carried = self.carried_table_name(as_of, step)
                    con.execute(f'ALTER TABLE "{table}" RENAME TO "{carried}"')
            else:
                con.register("_profiles_in", profiles)
                con.execute(f'DROP TABLE IF EXISTS "{name}"')
                con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _profiles_in LIMIT 0')
                _with_zstd_evidence(con, name)
                con.execute(f'INSERT INTO "{name}" SELECT * FROM _profiles_in')
                con.unregister("_profiles_in")
            # a point lookup reads the customer's row through the index, not every row group;
            # unique: one row per customer, or nothing is written
            con.execute(f'CREATE UNIQUE INDEX "{name}_customer_id" ON "{name}" (customer_id)')
            con.execute(
                f'CREATE OR REPLACE VIEW "{self.label_view_name(as_of)}" AS '
                f"{labels_query(name, evidence=False)}"
            )
            con.execute(
                f'CREATE OR REPLACE VIEW "{self.evidence_view_name(as_of)}" AS {labels_query(name)}'
            )
            con.execute("DELETE FROM labels WHERE as_of = ?", [as_of])  # layout 1's rows
            if self.schema_version < SCHEMA_VERSION:
                con.execute(
                    "UPDATE tierwise_meta SET value = ? WHERE key = 'schema_version'",
                    [str(SCHEMA_VERSION)],
                )
            con.execute("DELETE FROM snapshots WHERE as_of = ?", [as_of])
            con.execute(
                "INSERT INTO snapshots VALUES (?, now()::TIMESTAMP, ?, ?, ?, ?)",
                [
                    as_of,
                    __version__,
                    json.dumps(meta, ensure_ascii=False, default=str),
                    profiles.num_rows,
                    name,
                ],
            )
        self.schema_version = SCHEMA_VERSION
        if staged:
            profiles.table = name
            profiles.carried = {
                step: self.carried_table_name(as_of, step) for step in profiles.carried
            }

    def snapshot_meta(self, as_of: dt.date) -> dict:
        """What produced a snapshot: its config and fitted state."""
        row = self.one("SELECT config FROM snapshots WHERE as_of = ?", [as_of])
        if row is None:
            raise StoreError(f"no snapshot as of {as_of}")
        return json.loads(row[0])

    def snapshots(self) -> list[dt.date]:
        """As-of dates of the stored snapshots, oldest first."""
        return [
            r[0] for r in self.con.execute("SELECT as_of FROM snapshots ORDER BY as_of").fetchall()
        ]

    def latest_snapshot(self) -> dt.date:
        """The newest snapshot's as-of date.

        Raises
        ------
        StoreError
            If no snapshot has been computed yet.
        """
        dates = self.snapshots()
        if not dates:
            raise StoreError(f"{self.path} has no snapshot yet; run `tierwise run` first")
        return dates[-1]

    def read_profiles(self, as_of: dt.date | None = None) -> pa.Table:
        """The profile table of one snapshot (the newest by default)."""
        return self.profile_batches(as_of).read_all()

    def profile_batches(self, as_of: dt.date | None = None) -> pa.RecordBatchReader:
        """The profile table of one snapshot in customer order, batch by batch."""
        name = self._require_snapshot(as_of or self.latest_snapshot())
        return self.con.sql(f'SELECT * FROM "{name}" ORDER BY customer_id').to_arrow_reader()

    def read_labels(
        self, as_of: dt.date, customer_id: str | None = None, *, evidence: bool = True
    ) -> pa.Table:
        """Labels with their evidence for one snapshot (optionally one customer; without
        the evidence column when ``evidence`` is false), in customer order."""
        return self.label_batches(as_of, customer_id, evidence=evidence).read_all()

    def _labels_source(self, as_of: dt.date, evidence: bool = False) -> tuple[str, list]:
        """Where a snapshot's label rows are read and its params: its label view, or with
        their evidence its evidence view; the ``labels`` table for a snapshot of store
        layout 1 (with the evidence in the rows when it has no evidence view)."""
        self._require_snapshot(as_of)
        views = [self.label_view_name(as_of)]
        if evidence:
            views.insert(0, self.evidence_view_name(as_of))
        for view in views:
            if self.has_table(view):
                return f'"{view}"', []
        return "(SELECT * FROM labels WHERE as_of = ?)", [as_of]

    def label_batches(
        self, as_of: dt.date, customer_id: str | None = None, *, evidence: bool = True
    ) -> pa.RecordBatchReader:
        """`read_labels` batch by batch."""
        source, params = self._labels_source(as_of, evidence)
        sql = (
            "SELECT customer_id, scheme, label, label_zh, label_en, is_primary, rule"
            + (", evidence" if evidence else "")
            + f" FROM {source}"
        )
        if customer_id is not None:
            sql += " WHERE customer_id = ?"
            params.append(customer_id)
        order = " ORDER BY customer_id, scheme, is_primary DESC, label"
        return self.con.sql(sql + order, params=params).to_arrow_reader()

    def label_evidence_samples(self, as_of: dt.date) -> pa.Table:
        """One evidence per scheme and label of a snapshot (their figure names and params
        are the same for every customer carrying the label)."""
        source, params = self._labels_source(as_of, True)
        rows, row_params = self._labels_source(as_of)
        # one customer per label, whose evidence alone is computed
        picks = self.con.execute(
            f"SELECT any_value(customer_id) FROM {rows} GROUP BY scheme, label", row_params
        ).fetchall()
        ids = [r[0] for r in picks]
        return self.arrow(
            f"SELECT scheme, label, any_value(evidence) AS evidence FROM {source} "
            "WHERE customer_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY scheme, label",
            [*params, ids],
        )

    # -- typed reads --------------------------------------------------------------------
    def newest_data_day(self) -> dt.date | None:
        """The day of the newest order or event (``None`` for a store without either)."""
        row = self.one(
            "SELECT greatest((SELECT max(paid_at) FROM orders), "
            "(SELECT max(occurred_at) FROM events))"
        )
        return row[0].date() if row and row[0] is not None else None

    def oldest_data_day(self) -> dt.date | None:
        """The day of the oldest order or event (``None`` for a store without either)."""
        row = self.one(
            "SELECT least((SELECT min(paid_at) FROM orders), (SELECT min(occurred_at) FROM events))"
        )
        return row[0].date() if row and row[0] is not None else None

    def _require_snapshot(self, as_of: dt.date) -> str:
        if as_of not in self.snapshots():
            have = ", ".join(map(str, self.snapshots())) or "none yet (run `tierwise run`)"
            raise StoreError(f"no snapshot as of {as_of}; have {have}")
        return self.profile_table_name(as_of)

    def profile_columns(self, as_of: dt.date) -> list[str]:
        """The columns of a snapshot's profile table."""
        name = self._require_snapshot(as_of)
        return self.arrow(f'SELECT * FROM "{name}" LIMIT 0').column_names

    def customer_profile(self, as_of: dt.date, customer_id: str) -> dict | None:
        """One customer's row of a snapshot, or ``None`` when the customer is not in it."""
        name = self._require_snapshot(as_of)
        rows = self.arrow(
            f'SELECT * FROM "{name}" WHERE customer_id = ?', [customer_id]
        ).to_pylist()
        return rows[0] if rows else None

    def label_summary(self, as_of: dt.date) -> pa.Table:
        """Customers per label of every scheme (primary, carrying, share of all)."""
        rows, params = self._labels_source(as_of)
        return self.arrow(
            f"""SELECT scheme, label, any_value(label_zh) AS label_zh,
                      any_value(label_en) AS label_en,
                      count(*) FILTER (is_primary) AS customers,
                      count(*) AS carrying,
                      round(count(*) / any_value(n), 4) AS share
               FROM {rows} AS l,
                    (SELECT customers AS n FROM snapshots WHERE as_of = ?) AS total
               WHERE scheme <> 'rfm'
               GROUP BY scheme, label ORDER BY scheme, carrying DESC, label""",
            [*params, as_of],
        )

    def tag_distribution(self, as_of: dt.date, by: str) -> pa.Table:
        """Per value of a profile column, how many customers carry each precise tag."""
        name = self._require_snapshot(as_of)
        if by not in self.profile_columns(as_of):
            raise StoreError(f"no column {by!r} in the profiles; try lifecycle or rfm_group")
        seg = f"coalesce(CAST(\"{by}\" AS VARCHAR), '(none)')"
        return self.arrow(
            f"""WITH p AS (SELECT {seg} AS segment, tags FROM "{name}"),
                    sizes AS (SELECT segment, count(*) AS segment_size FROM p GROUP BY segment),
                    tagged AS (SELECT segment, unnest(string_split(tags, ';')) AS tag
                               FROM p WHERE tags IS NOT NULL)
               SELECT segment, tag, count(*) AS n_customers, any_value(segment_size)
                      AS segment_size, round(count(*) / any_value(segment_size), 4) AS share
               FROM tagged JOIN sizes USING (segment)
               GROUP BY segment, tag ORDER BY segment, n_customers DESC, tag"""
        )

    def paid_orders(self, until: dt.date | None = None) -> pa.Table:
        """Paid orders as (customer_id, datetime, amount), up to the end of a day."""
        sql = "SELECT customer_id, paid_at AS datetime, amount FROM orders WHERE status = 'paid'"
        params: list = []
        if until is not None:
            sql += " AND paid_at < ?"
            params.append(dt.datetime.combine(until + dt.timedelta(days=1), dt.time()))
        return self.arrow(sql, params)

    # -- daily rollups --------------------------------------------------------------------
    # Per customer and day (orders: and channel; events: and type and channel), maintained
    # from the import log: rows of imports not rolled up yet re-derive their customer-days.
    # A per-row hash (key, day) xor-ed per rollup row finds customer-days left stale by rows
    # an import updated (moved to another day or customer); those customers are re-derived.
    # Every refresh that changes the rollups counts one generation up and logs, per customer,
    # the earliest day it re-derived (``rollup_changes``; no day: the whole history), so that
    # a run can tell which customers' history changed since an earlier run read them.

    def rollup_state(self) -> dict | None:
        """What the rollups were built for (``None`` before the first build)."""
        row = self.one("SELECT value FROM tierwise_meta WHERE key = 'rollups'")
        return json.loads(row[0]) if row else None

    def refresh_rollups(
        self, *, half_life_days: float, send_types: list[str], response_types: list[str],
        referral_types: list[str],
    ) -> dict:  # fmt: skip
        """Bring the daily rollups up to date with the canonical tables, in one transaction.

        Parameters
        ----------
        half_life_days : float
            Half-life of the intention score (the events rollup keeps each day's decay sum).
        send_types, response_types : list of str
            Campaign sends and the event types answering them (the sends rollup keeps each
            send's first response, an event of these types or a paid order).
        referral_types : list of str
            Event types that name a customer brought (the referrals rollup keeps each
            referrer and target's earliest such event).

        Returns
        -------
        dict
            ``mode`` (``built``, ``updated`` or ``current``), ``imports`` rolled up,
            ``customer_days`` and ``customers`` re-derived, ``sends_customers``, and the
            ``build`` and ``generation`` the rollups are at (a full build starts a new
            build).
        """
        spec = {
            "layout": _ROLLUP_LAYOUT,
            "half_life_days": float(half_life_days),
            "send_types": sorted(send_types),
            "response_types": sorted(response_types),
            "referral_types": sorted(referral_types),
        }
        stats = {"mode": "current", "imports": 0, "customer_days": 0, "customers": 0,
                 "sends_customers": 0}  # fmt: skip
        with self.transaction() as con:
            state = self.rollup_state()
            tables = ("customers", "orders", "events")
            unlogged = {e: self._unlogged_rows(e) for e in tables}
            con.execute("CREATE TABLE IF NOT EXISTS rollup_imports (import_id VARCHAR PRIMARY KEY)")
            con.execute("ALTER TABLE rollup_imports ADD COLUMN IF NOT EXISTS generation BIGINT")
            con.execute(
                "CREATE TABLE IF NOT EXISTS rollup_changes "
                "(generation BIGINT, customer_id VARCHAR, since DATE)"
            )
            generation = (state or {}).get("generation", 0) + 1
            build = (state or {}).get("build")
            new = con.execute(
                "SELECT import_id, entity, coalesce(rows_updated, 0), "
                "coalesce(rows_imported, 0), coalesce(customers_created, 0) FROM imports "
                "WHERE import_id NOT IN (SELECT import_id FROM rollup_imports)"
            ).fetchall()
            counts = {e: self.count(e) for e in tables}
            fresh = state is None or state.get("layout") != _ROLLUP_LAYOUT
            added = {e: sum(n for _, ent, _, n, _ in new if ent == e) for e in tables}
            added["customers"] += sum(c for *_, c in new)  # created for unknown customers

            def written_outside(e: str) -> bool:
                """More rows, or rows without an import, than the new imports account for."""
                if state is None or e not in state["rows"]:
                    return True
                return state["unlogged"][e] != unlogged[e] or (
                    counts[e] != state["rows"][e] + added[e])  # fmt: skip

            rebuild = {e: fresh or written_outside(e) for e in ("orders", "events")}
            customers_written = (
                generation if written_outside("customers") else state["customers_written"]
            )
            rebuild["events"] |= not fresh and state["half_life_days"] != spec["half_life_days"]
            send_spec = (spec["send_types"], spec["response_types"])
            rebuild_sends = (
                rebuild["orders"] or rebuild["events"]
                or send_spec != (state["send_types"], state["response_types"])
            )  # fmt: skip
            decay = _decay_sql(spec["half_life_days"])
            touched: list[str] = []
            updated_entities: dict[str, bool] = {}
            for entity, agg in (("orders", _ORDERS_ROLLUP), ("events", _EVENTS_ROLLUP)):
                agg = agg.replace("{decay}", decay)
                table = f"rollup_{entity}"
                if rebuild[entity]:
                    # in parts of the customers: each part's aggregate fits the memory limit
                    parts = max(1, -(-counts[entity] // ROLLUP_PART_ROWS))
                    for i in range(parts):
                        src = f"(FROM {entity} WHERE hash(customer_id) % {parts} = {i})"
                        part = f"{agg.format(src=src)} ORDER BY day"
                        if i == 0:
                            con.execute(f"CREATE OR REPLACE TABLE {table} AS {part}")
                        else:
                            con.execute(f"INSERT INTO {table} {part}")
                    stats["mode"] = "built"
                    build = uuid.uuid4().hex
                    continue
                ids = [i for i, ent, *_ in new if ent == entity]
                if not ids:
                    continue
                updated = any(n > 0 for _, ent, n, *_ in new if ent == entity)
                updated_entities[entity] = updated
                days, custs = self._stale_rollup_rows(entity, ids, updated)
                stats["customer_days"] += days
                stats["customers"] += custs
                if days or custs:
                    stats["mode"] = "updated"
                    self._rederive_rollup(entity, agg)
                    touched.append(entity)
                    con.execute(
                        f"INSERT INTO rollup_changes SELECT ?, customer_id, min(day) "
                        f"FROM _tw_days_{entity} GROUP BY customer_id "
                        f"UNION ALL SELECT ?, customer_id, NULL FROM _tw_custs_{entity}",
                        [generation, generation],
                    )
            self._refresh_rollup_referrals(
                spec["referral_types"],
                rebuild=rebuild["events"] or not self.has_table("rollup_referrals")
                or spec["referral_types"] != state.get("referral_types"),
                touched="events" in touched, updated=updated_entities.get("events", False),
                imports=[i for i, ent, *_ in new if ent == "events"],
            )  # fmt: skip
            if rebuild_sends:
                con.execute(f"CREATE OR REPLACE TABLE rollup_sends AS {_sends_sql(*send_spec)}")
            elif touched and not any(updated_entities.values()):
                stats["sends_customers"] = self._extend_rollup_sends(
                    [i for i, *_ in new], *send_spec
                )
            elif touched:
                parts = " UNION ".join(
                    f"SELECT customer_id FROM _tw_days_{e} UNION SELECT customer_id FROM "
                    f"_tw_custs_{e}"
                    for e in touched
                )
                con.execute(f"CREATE OR REPLACE TEMP TABLE _tw_send_custs AS {parts}")
                stats["sends_customers"] = self.one("SELECT count(*) FROM _tw_send_custs")[0]
                con.execute(
                    "DELETE FROM rollup_sends WHERE customer_id IN "
                    "(SELECT customer_id FROM _tw_send_custs)"
                )
                con.execute(f"INSERT INTO rollup_sends {_sends_sql(*send_spec, '_tw_send_custs')}")
            for e in touched:
                con.execute(f"DROP TABLE IF EXISTS _tw_days_{e}")
                con.execute(f"DROP TABLE IF EXISTS _tw_custs_{e}")
            con.execute("DROP TABLE IF EXISTS _tw_send_custs")
            con.execute(
                "INSERT INTO rollup_imports SELECT import_id, ? FROM imports "
                "WHERE import_id NOT IN (SELECT import_id FROM rollup_imports)",
                [generation],
            )
            stats["imports"] = len(new)
            if stats["mode"] == "current" and not new and customers_written < generation:
                generation -= 1
            if stats["mode"] == "built":
                con.execute("DELETE FROM rollup_changes")  # no earlier run can be carried on
            stats["generation"], stats["build"] = generation, build
            con.execute(
                "INSERT OR REPLACE INTO tierwise_meta VALUES ('rollups', ?)",
                [json.dumps({**spec, "unlogged": unlogged, "rows": counts,
                             "generation": generation, "build": build,
                             "customers_written": customers_written})],
            )  # fmt: skip
        return stats

    def _unlogged_rows(self, entity: str) -> int:
        """Rows of ``entity`` without an import id: written outside the importer."""
        return self.one(f'SELECT count(*) FROM "{entity}" WHERE _import_id IS NULL')[0]

    def refresh_typed_events(self, event_types: list[str]) -> str | None:
        """Bring ``rollup_typed_events`` — the events of ``event_types``, every column — up to
        date with the rollups, in one transaction; its name, or ``None`` when it cannot be
        (no rollups yet, or events came in or were written since they were refreshed).

        It follows the rollups' import log: rows of the imports rolled up since it was
        refreshed are added; a rollup build, an import that changed events in place, other
        ``event_types`` or other columns of the events build it anew.
        """
        state = self.rollup_state()
        if state is None or "rows" not in state:
            return None
        pending = self.one(
            "SELECT count(*) FROM imports WHERE entity = 'events' "
            "AND import_id NOT IN (SELECT import_id FROM rollup_imports)"
        )[0]
        if pending or self.count("events") != state["rows"]["events"] or (
            self._unlogged_rows("events") != state["unlogged"]["events"]
        ):  # fmt: skip
            return None
        columns = [name for name, _, _ in _columns(self.con, "events")]
        spec = {"types": sorted(set(event_types)), "build": state["build"], "columns": columns}
        row = self.one("SELECT value FROM tierwise_meta WHERE key = 'rollup_typed_events'")
        kept = json.loads(row[0]) if row else None
        generation = state.get("generation", 0)
        types = "(SELECT unnest(?::VARCHAR[]))"
        with self.transaction() as con:
            if kept is None or {k: kept.get(k) for k in spec} != spec:
                rebuild = True
                new: list[str] = []
            else:
                rows = con.execute(
                    "SELECT r.import_id, coalesce(i.rows_updated, 0) FROM rollup_imports r "
                    "JOIN imports i USING (import_id) "
                    "WHERE i.entity = 'events' AND r.generation > ?",
                    [kept["generation"]],
                ).fetchall()
                rebuild = any(n > 0 for _, n in rows)
                new = [i for i, _ in rows]
            if rebuild:
                con.execute(
                    "CREATE OR REPLACE TABLE rollup_typed_events AS "
                    f"SELECT * FROM events WHERE event_type IN {types}",
                    [spec["types"]],
                )
            elif new:
                con.execute(
                    "INSERT INTO rollup_typed_events SELECT * FROM events "
                    f"WHERE event_type IN {types} AND _import_id IN (SELECT unnest(?::VARCHAR[]))",
                    [spec["types"], new],
                )
            if rebuild or new or kept["generation"] != generation:
                con.execute(
                    "INSERT OR REPLACE INTO tierwise_meta VALUES ('rollup_typed_events', ?)",
                    [json.dumps({**spec, "generation": generation})],
                )
        return "rollup_typed_events"

    def _refresh_rollup_referrals(
        self, types: list[str], *, rebuild: bool, touched: bool, updated: bool,
        imports: list[str],
    ) -> None:  # fmt: skip
        """Bring ``rollup_referrals`` up to date: build it, take the earliest of the pairs
        the ``imports`` only added, or derive anew the pairs of every referrer whose events
        were re-derived (an update may have moved or re-assigned an event)."""
        con = self.con
        if rebuild:
            con.execute(f"CREATE OR REPLACE TABLE rollup_referrals AS {_referrals_sql(types)}")
            return
        if not touched:
            return
        if updated:
            custs = ("(SELECT customer_id FROM _tw_days_events UNION "
                     "SELECT customer_id FROM _tw_custs_events)")  # fmt: skip
            con.execute(f"DELETE FROM rollup_referrals WHERE customer_id IN {custs}")
            sql = _referrals_sql(types, f" AND customer_id IN {custs}")
            con.execute(f"INSERT INTO rollup_referrals {sql}")
            return
        sql = _referrals_sql(types, " AND _import_id IN (SELECT unnest(?::VARCHAR[]))")
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _tw_new_referrals AS
            WITH n AS ({sql})
            SELECT customer_id, target_customer_id, min(occurred_at) AS occurred_at FROM
              (SELECT * FROM n UNION ALL
               SELECT r.* FROM rollup_referrals r SEMI JOIN n
               ON r.customer_id = n.customer_id AND r.target_customer_id = n.target_customer_id)
            GROUP BY customer_id, target_customer_id""",
            [imports],
        )
        con.execute(
            "DELETE FROM rollup_referrals USING _tw_new_referrals n "
            "WHERE rollup_referrals.customer_id = n.customer_id "
            "AND rollup_referrals.target_customer_id = n.target_customer_id"
        )
        con.execute("INSERT INTO rollup_referrals SELECT * FROM _tw_new_referrals")
        con.execute("DROP TABLE _tw_new_referrals")

    def _stale_rollup_rows(self, entity: str, import_ids: list[str], updated: bool) -> tuple:
        """Temp tables of the customer-days (``_tw_days_<entity>``) and whole customers
        (``_tw_custs_<entity>``) to re-derive; their sizes."""
        key, time_col = ENTITIES[entity].key, ENTITIES[entity].time_column
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE _tw_days_{entity} AS "
            f'SELECT DISTINCT customer_id, "{time_col}"::DATE AS day FROM "{entity}" '
            f'WHERE _import_id IN (SELECT unnest(?::VARCHAR[])) AND "{time_col}" IS NOT NULL',
            [import_ids],
        )
        if updated:
            # rows an import replaced may have left another day or customer: compare each
            # customer's hash of (key, day) in the rollup with the canonical rows
            self.con.execute(
                f"""CREATE OR REPLACE TEMP TABLE _tw_custs_{entity} AS
                SELECT customer_id FROM
                  (SELECT customer_id, bit_xor(hash("{key}", "{time_col}"::DATE)) AS x
                   FROM "{entity}" WHERE "{time_col}" IS NOT NULL GROUP BY customer_id) a
                FULL JOIN (SELECT customer_id, bit_xor(key_xor) AS x FROM rollup_{entity}
                           GROUP BY customer_id) b USING (customer_id)
                WHERE a.x IS DISTINCT FROM b.x"""
            )
            self.con.execute(
                f"DELETE FROM _tw_days_{entity} WHERE customer_id IN "
                f"(SELECT customer_id FROM _tw_custs_{entity})"
            )
        else:
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE _tw_custs_{entity} (customer_id VARCHAR)"
            )
        days = self.one(f"SELECT count(*) FROM _tw_days_{entity}")[0]
        custs = self.one(f"SELECT count(*) FROM _tw_custs_{entity}")[0]
        return days, custs

    def _extend_rollup_sends(
        self, import_ids: list[str], send_types: list[str], response_types: list[str]
    ) -> int:
        """Follow imports that only added rows in ``rollup_sends``: a new response answers
        the sends before it that had no earlier answer, a new send gets its first response;
        how many customers that touched."""
        con = self.con
        answers = f"event_type IN {_in_list(response_types)}" if response_types else "false"
        sends = f"event_type IN {_in_list(send_types)}" if send_types else "false"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _tw_new_answers AS
            SELECT customer_id, occurred_at AS at FROM events
            WHERE _import_id IN (SELECT unnest(?::VARCHAR[])) AND {answers}
              AND occurred_at IS NOT NULL
            UNION ALL
            SELECT customer_id, paid_at FROM orders
            WHERE _import_id IN (SELECT unnest(?::VARCHAR[])) AND status = 'paid'
              AND paid_at IS NOT NULL""",
            [import_ids, import_ids],
        )
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _tw_new_sends AS
            SELECT customer_id FROM events
            WHERE _import_id IN (SELECT unnest(?::VARCHAR[])) AND {sends}""",
            [import_ids],
        )
        con.execute(
            """UPDATE rollup_sends SET responded_at = n.at FROM (
                 SELECT s.event_id, min(a.at) AS at
                 FROM rollup_sends s JOIN _tw_new_answers a
                   ON s.customer_id = a.customer_id AND a.at >= s.sent_at
                 WHERE s.responded_at IS NULL OR a.at < s.responded_at
                 GROUP BY s.event_id) n
               WHERE rollup_sends.event_id = n.event_id"""
        )
        sql = _sends_sql(send_types, response_types, "_tw_new_sends")
        con.execute(
            f"INSERT INTO rollup_sends SELECT * FROM ({sql}) WHERE event_id IN "
            "(SELECT event_id FROM events WHERE _import_id IN (SELECT unnest(?::VARCHAR[])))",
            [import_ids],
        )
        n = self.one(
            "SELECT count(*) FROM (SELECT customer_id FROM _tw_new_answers "
            "UNION SELECT customer_id FROM _tw_new_sends)"
        )[0]
        con.execute("DROP TABLE _tw_new_answers")
        con.execute("DROP TABLE _tw_new_sends")
        return n

    def _rederive_rollup(self, entity: str, agg: str) -> None:
        """Replace the rollup rows of the stale customer-days and customers."""
        time_col = ENTITIES[entity].time_column
        table = f"rollup_{entity}"
        con = self.con
        lo, hi = self.one(f"SELECT min(day), max(day) + 1 FROM _tw_days_{entity}")
        if lo is not None:
            # the day range lets DuckDB skip row groups of other days
            con.execute(
                f"DELETE FROM {table} USING _tw_days_{entity} t "
                f"WHERE {table}.customer_id = t.customer_id AND {table}.day = t.day "
                f"AND {table}.day >= '{lo}'::DATE AND {table}.day < '{hi}'::DATE"
            )
        con.execute(
            f"DELETE FROM {table} WHERE customer_id IN (SELECT customer_id FROM _tw_custs_{entity})"
        )
        if lo is not None:
            # the day range lets DuckDB skip row groups of other days
            rows = (
                f'(SELECT o.* FROM "{entity}" o SEMI JOIN _tw_days_{entity} t '
                f'ON o.customer_id = t.customer_id AND o."{time_col}"::DATE = t.day '
                f"WHERE o.\"{time_col}\" >= '{lo}'::TIMESTAMP "
                f"AND o.\"{time_col}\" < '{hi}'::TIMESTAMP)"
            )
            con.execute(f"INSERT INTO {table} {agg.format(src=rows)}")
        rows = (
            f'(SELECT * FROM "{entity}" WHERE customer_id IN '
            f"(SELECT customer_id FROM _tw_custs_{entity}))"
        )
        con.execute(f"INSERT INTO {table} {agg.format(src=rows)}")

    # -- segments, moves and audiences --------------------------------------------------
    _SEGMENT_TABLES: ClassVar[dict[str, str]] = {
        "segment_counts": """CREATE TABLE IF NOT EXISTS segment_counts (
            as_of DATE, segment VARCHAR, definition VARCHAR, customers BIGINT,
            error VARCHAR, recorded_at TIMESTAMP)""",
        "segment_members": """CREATE TABLE IF NOT EXISTS segment_members (
            as_of DATE, segment VARCHAR, customer_id VARCHAR)""",
        "audience_exports": """CREATE TABLE IF NOT EXISTS audience_exports (
            exported_at TIMESTAMP, exported_by VARCHAR, host VARCHAR, file VARCHAR,
            sha256 VARCHAR, segment VARCHAR, definition VARCHAR, as_of DATE, customers BIGINT,
            columns VARCHAR, pii_unmasked BOOLEAN, masked_columns VARCHAR)""",
    }

    # -- plans and consent ----------------------------------------------------------------
    _PLAN_DDL: ClassVar[dict[str, str]] = {
        "plans": """CREATE TABLE IF NOT EXISTS plans (
            as_of DATE, playbook VARCHAR, customer_id VARCHAR, rule VARCHAR, segment VARCHAR,
            action VARCHAR, channel VARCHAR, offer VARCHAR, message VARCHAR, priority BIGINT,
            cost DOUBLE, status VARCHAR, reason VARCHAR, detail VARCHAR, send_at TIMESTAMP,
            control BOOLEAN)""",
        "plan_runs": """CREATE TABLE IF NOT EXISTS plan_runs (
            as_of DATE, playbook VARCHAR, created_at TIMESTAMP, send_at TIMESTAMP,
            tierwise_version VARCHAR, settings VARCHAR, rows_total BIGINT, planned BIGINT,
            PRIMARY KEY (as_of, playbook))""",
        "consent": """CREATE TABLE IF NOT EXISTS consent (
            customer_id VARCHAR, channel VARCHAR, kind VARCHAR, reason VARCHAR, since DATE,
            source VARCHAR, imported_at TIMESTAMP)""",
    }

    def has_table(self, name: str) -> bool:
        """Whether the store holds a table of that name."""
        row = self.one(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        )
        return bool(row and row[0])

    def _ensure_segment_tables(self) -> None:
        for ddl in self._SEGMENT_TABLES.values():
            self.con.execute(ddl)

    def snapshot_tags(self, as_of: dt.date) -> list[str]:
        """The distinct ``major/minor`` tags carried by customers of a snapshot."""
        name = self._require_snapshot(as_of)
        if "tags" not in self.profile_columns(as_of):
            return []
        rows = self.con.execute(
            f"""SELECT DISTINCT unnest(string_split(tags, ';')) AS tag FROM "{name}"
                WHERE tags IS NOT NULL AND tags <> '' ORDER BY tag"""
        ).fetchall()
        return [r[0] for r in rows if r[0]]

    def write_segment_memberships(
        self, as_of: dt.date, records: list[tuple[str, str, pa.Table | None, str | None]]
    ) -> None:
        """Record which customers each segment held on a snapshot's day (atomically).

        Parameters
        ----------
        as_of : datetime.date
            The snapshot's day; earlier records of the same segments for it are replaced.
        records : list of (segment, definition, members, error)
            ``members`` has a ``customer_id`` column; ``None`` with ``error`` when the
            segment could not be evaluated.
        """
        self._ensure_segment_tables()
        with self.transaction() as con:
            for segment, definition, members, error in records:
                con.execute(
                    "DELETE FROM segment_members WHERE as_of = ? AND segment = ?", [as_of, segment]
                )
                con.execute(
                    "DELETE FROM segment_counts WHERE as_of = ? AND segment = ?", [as_of, segment]
                )
                count = None
                if members is not None:
                    con.register("_members_in", members.select(["customer_id"]))
                    con.execute(
                        "INSERT INTO segment_members SELECT ?::DATE, ?, customer_id "
                        "FROM _members_in",
                        [as_of, segment],
                    )
                    con.unregister("_members_in")
                    count = members.num_rows
                con.execute(
                    "INSERT INTO segment_counts VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP)",
                    [as_of, segment, definition, count, error],
                )

    def segment_counts(self, segment: str | None = None) -> pa.Table:
        """Recorded segment sizes: as_of, segment, definition, customers, error, recorded_at."""
        if not self.has_table("segment_counts"):
            cols = ("as_of", "segment", "definition", "customers", "error", "recorded_at")
            return pa.table({c: pa.array([], pa.string()) for c in cols})
        sql = "SELECT * FROM segment_counts"
        params: list = []
        if segment is not None:
            sql += " WHERE segment = ?"
            params.append(segment)
        return self.arrow(sql + " ORDER BY segment, as_of", params)

    def segment_changes(self, segment: str, since: dt.date | None = None) -> pa.Table:
        """Per recorded day of a segment: members, entered and exited since the day before
        it was recorded (``None`` on its first recorded day), and whether its definition
        changed in between."""
        cols = ("as_of", "previous_as_of", "customers", "entered", "exited",
                "definition_changed", "definition")  # fmt: skip
        if not self.has_table("segment_counts"):
            return pa.table({c: pa.array([], pa.string()) for c in cols})
        return self.arrow(
            """WITH days AS (
                 SELECT as_of, customers, definition,
                        lag(as_of) OVER (ORDER BY as_of) AS previous_as_of,
                        lag(definition) OVER (ORDER BY as_of) AS previous_definition
                 FROM segment_counts WHERE segment = ? AND error IS NULL),
               m AS (SELECT as_of, customer_id FROM segment_members WHERE segment = ?)
               SELECT d.as_of, d.previous_as_of, d.customers,
                 CASE WHEN d.previous_as_of IS NULL THEN NULL ELSE
                   (SELECT count(*) FROM m WHERE m.as_of = d.as_of AND m.customer_id NOT IN
                      (SELECT customer_id FROM m AS p WHERE p.as_of = d.previous_as_of)) END
                   AS entered,
                 CASE WHEN d.previous_as_of IS NULL THEN NULL ELSE
                   (SELECT count(*) FROM m WHERE m.as_of = d.previous_as_of AND m.customer_id
                      NOT IN (SELECT customer_id FROM m AS c WHERE c.as_of = d.as_of)) END
                   AS exited,
                 coalesce(d.definition <> d.previous_definition, false) AS definition_changed,
                 d.definition
               FROM days AS d WHERE d.as_of >= coalesce(?, DATE '0001-01-01')
               ORDER BY d.as_of""",
            [segment, segment, since],
        )

    def segment_movers(self, segment: str, as_of: dt.date, previous: dt.date) -> pa.Table:
        """Customers who entered or exited a segment between two recorded days."""
        if not self.has_table("segment_members"):
            return pa.table({"customer_id": pa.array([], pa.string()),
                             "change": pa.array([], pa.string())})  # fmt: skip
        return self.arrow(
            """WITH m AS (SELECT as_of, customer_id FROM segment_members WHERE segment = ?)
               SELECT customer_id, 'entered' AS change FROM m WHERE as_of = ?
                 AND customer_id NOT IN (SELECT customer_id FROM m WHERE as_of = ?)
               UNION ALL
               SELECT customer_id, 'exited' AS change FROM m WHERE as_of = ?
                 AND customer_id NOT IN (SELECT customer_id FROM m WHERE as_of = ?)
               ORDER BY change, customer_id""",
            [segment, as_of, previous, previous, as_of],
        )

    def label_transitions(self, scheme: str, start: dt.date, end: dt.date) -> pa.Table:
        """Customers per (label on ``start``, label on ``end``) of a scheme's primary label,
        with the paid revenue of the days after ``start`` up to ``end``.

        Customers only in the later snapshot come from ``(new)``, only in the earlier go to
        ``(gone)``; a missing label is ``(none)``.
        """
        first, second = self._require_snapshot(start), self._require_snapshot(end)
        for day in (start, end):
            if scheme not in self.profile_columns(day):
                raise StoreError(f"the snapshot of {day} has no column {scheme!r}")
        lo = dt.datetime.combine(start + dt.timedelta(days=1), dt.time())
        hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
        return self.arrow(
            f"""WITH a AS (SELECT customer_id, "{scheme}" AS label FROM "{first}"),
                    b AS (SELECT customer_id, "{scheme}" AS label FROM "{second}"),
                    pairs AS (
                      SELECT coalesce(a.customer_id, b.customer_id) AS customer_id,
                             CASE WHEN a.customer_id IS NULL THEN '(new)'
                                  ELSE coalesce(a.label, '(none)') END AS from_label,
                             CASE WHEN b.customer_id IS NULL THEN '(gone)'
                                  ELSE coalesce(b.label, '(none)') END AS to_label
                      FROM a FULL OUTER JOIN b ON a.customer_id = b.customer_id),
                    spend AS (
                      SELECT customer_id, sum(amount) AS revenue FROM orders
                      WHERE status = 'paid' AND paid_at >= ? AND paid_at < ?
                      GROUP BY customer_id)
               SELECT from_label, to_label, count(*) AS customers,
                      coalesce(sum(spend.revenue), 0)::DOUBLE AS revenue
               FROM pairs LEFT JOIN spend USING (customer_id)
               GROUP BY from_label, to_label ORDER BY from_label, to_label""",
            [lo, hi],
        )

    def customer_columns(self, customer_ids: pa.Table, columns: list[str]) -> pa.Table:
        """Columns of the customers table for the given ids (same order as given)."""
        sel = ", ".join(f'c."{c}"' for c in columns)
        self.con.register("_ids_in", customer_ids.select(["customer_id"]))
        try:
            return self.arrow(
                f"""SELECT i.customer_id, {sel}
                    FROM (SELECT customer_id, row_number() OVER () AS _n FROM _ids_in) AS i
                    LEFT JOIN customers AS c USING (customer_id) ORDER BY i._n"""
            )
        finally:
            self.con.unregister("_ids_in")

    def log_audience_export(self, entry: dict) -> None:
        """Append one row to the audit log of audience exports (who, when, which file, …)."""
        self._ensure_segment_tables()
        cols = ("exported_by", "host", "file", "sha256", "segment", "definition", "as_of",
                "customers", "columns", "pii_unmasked", "masked_columns")  # fmt: skip
        self.con.execute(
            f"INSERT INTO audience_exports VALUES (now()::TIMESTAMP, {', '.join('?' * len(cols))})",
            [entry.get(c) for c in cols],
        )

    def audience_exports(self) -> pa.Table:
        """The audit log of audience exports, newest first."""
        if not self.has_table("audience_exports"):
            return pa.table({"exported_at": pa.array([], pa.timestamp("us"))})
        return self.arrow("SELECT * FROM audience_exports ORDER BY exported_at DESC")

    def holdout_outcomes(
        self, after: dt.date, until: dt.date, *, default_margin_rate: float = 1.0
    ) -> pa.Table:
        """Per customer, the paid orders after one day up to the end of another.

        Columns: ``customer_id``, ``orders``, ``purchase_days`` (same-day orders merged),
        ``revenue`` and ``margin``: the order's gross margin, else amount - cost, else the
        amount at the rate of the period's orders with a known margin (``default_margin_rate``
        when none has one). Customers without such an order are left out.
        """
        start = dt.datetime.combine(after + dt.timedelta(days=1), dt.time())
        end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time())
        return self.arrow(
            """WITH o AS (SELECT customer_id, paid_at, CAST(amount AS DECIMAL(38, 4)) AS amount,
                                 CAST(coalesce(gross_margin, amount - cost) AS DECIMAL(38, 4))
                                     AS known
                          FROM orders WHERE status = 'paid' AND paid_at >= ? AND paid_at < ?),
                    shop AS (SELECT CASE WHEN sum(amount) FILTER (known IS NOT NULL) > 0
                                    THEN CAST(sum(known) AS DOUBLE) / CAST(sum(amount)
                                         FILTER (known IS NOT NULL) AS DOUBLE)
                                    ELSE ? END AS rate FROM o)
               SELECT customer_id, count(*) AS orders,
                      count(DISTINCT CAST(paid_at AS DATE)) AS purchase_days,
                      CAST(sum(amount) AS DOUBLE) AS revenue,
                      CAST(sum(coalesce(CAST(known AS DOUBLE), CAST(amount AS DOUBLE) * rate))
                           AS DOUBLE) AS margin
               FROM o, shop GROUP BY customer_id ORDER BY customer_id""",
            [start, end, default_margin_rate],
        )

    def _plan_tables(self) -> None:
        for ddl in self._PLAN_DDL.values():
            self.con.execute(ddl)

    def write_plan(self, as_of: dt.date, playbook: str, rows: pa.Table, meta: dict) -> None:
        """Store (or replace) the plan of a playbook as of a day, atomically.

        ``rows`` has the columns of the ``plans`` table after ``as_of`` and ``playbook``;
        ``meta`` (send time, playbook settings, counts) is kept as JSON beside it.
        """
        with self.transaction() as con:
            self._plan_tables()
            con.execute("DELETE FROM plans WHERE as_of = ? AND playbook = ?", [as_of, playbook])
            con.execute("DELETE FROM plan_runs WHERE as_of = ? AND playbook = ?",
                        [as_of, playbook])  # fmt: skip
            con.register("_plan_in", rows)
            con.execute("INSERT INTO plans SELECT ?::DATE, ?, * FROM _plan_in", [as_of, playbook])
            con.unregister("_plan_in")
            con.execute(
                """INSERT INTO plan_runs SELECT ?, ?, now()::TIMESTAMP, ?, ?, ?, count(*),
                          count(*) FILTER (status = 'planned')
                   FROM plans WHERE as_of = ? AND playbook = ?""",
                [as_of, playbook, meta.get("send_at"), __version__,
                 json.dumps(meta, ensure_ascii=False, default=str), as_of, playbook],
            )  # fmt: skip

    def plan_runs(self, playbook: str | None = None) -> list[dict]:
        """The stored plans (as_of, playbook, created_at, send_at, counts), oldest first."""
        if not self.has_table("plan_runs"):
            return []
        sql = (
            "SELECT as_of, playbook, created_at, send_at, rows_total, planned, settings "
            "FROM plan_runs"
        )
        params: list = []
        if playbook is not None:
            sql += " WHERE playbook = ?"
            params.append(playbook)
        rows = self.arrow(sql + " ORDER BY as_of, playbook", params).to_pylist()
        for r in rows:
            r["settings"] = json.loads(r["settings"])
        return rows

    def read_plan(self, as_of: dt.date, playbook: str) -> pa.Table:
        """One stored plan, every row (planned, suppressed, control) with its reason."""
        if not any(r["as_of"] == as_of for r in self.plan_runs(playbook)):
            have = ", ".join(f"{r['playbook']}@{r['as_of']}" for r in self.plan_runs()) or "none"
            raise StoreError(f"no plan of playbook {playbook!r} as of {as_of}; have {have}")
        return self.arrow(
            "SELECT * FROM plans WHERE as_of = ? AND playbook = ? "
            "ORDER BY customer_id, priority DESC, rule",
            [as_of, playbook],
        )

    def write_consent(self, rows: pa.Table) -> int:
        """Add opt-out / do-not-contact rows (customer_id, channel, kind, reason, since,
        source); a row for the same customer, channel and kind replaces the stored one."""
        with self.transaction() as con:
            self._plan_tables()
            con.register("_consent_in", rows)
            con.execute(
                """DELETE FROM consent WHERE (customer_id, channel, kind) IN
                   (SELECT (customer_id, channel, kind) FROM _consent_in)"""
            )
            con.execute(
                """INSERT INTO consent SELECT customer_id, channel, kind, reason, since, source,
                          now()::TIMESTAMP FROM _consent_in"""
            )
            con.unregister("_consent_in")
        return rows.num_rows

    def read_consent(self) -> pa.Table:
        """Every stored opt-out and do-not-contact row."""
        if not self.has_table("consent"):
            return pa.table({c: pa.array([], pa.string()) for c in
                             ("customer_id", "channel", "kind", "reason")})  # fmt: skip
        return self.arrow("SELECT * FROM consent ORDER BY customer_id, channel, kind")

    def unknown_customers(self, ids: pa.Array) -> list[str]:
        """The ids among ``ids`` that name no stored customer."""
        self.con.register("_ids_in", pa.table({"customer_id": ids}))
        try:
            rows = self.con.execute(
                """SELECT DISTINCT i.customer_id FROM _ids_in i ANTI JOIN customers c
                   USING (customer_id) WHERE i.customer_id IS NOT NULL ORDER BY 1"""
            ).fetchall()
        finally:
            self.con.unregister("_ids_in")
        return [r[0] for r in rows]

    # -- service: API keys, audit log, live intention scores --------------------------------
    def sibling(self) -> Store:
        """A second connection to the same open database, for another thread of this process.

        It shares the file lock of this store and writes no owner file; close it on its own.
        """
        twin = object.__new__(Store)
        twin.path, twin.read_only = self.path, self.read_only
        twin.con = self.con.cursor()
        twin._owner = None
        twin.schema_version = self.schema_version
        return twin

    def ensure_service_tables(self) -> None:
        """Create the tables of the service (keys, audit, live intention) when missing."""
        with self.transaction() as con:
            con.execute(
                """CREATE TABLE IF NOT EXISTS api_keys (
                    key_id VARCHAR PRIMARY KEY, name VARCHAR, scopes VARCHAR, salt VARCHAR,
                    digest VARCHAR, created_at TIMESTAMP, revoked_at TIMESTAMP)"""
            )
            con.execute(
                """CREATE TABLE IF NOT EXISTS audit_log (
                    logged_at TIMESTAMP, key_id VARCHAR, action VARCHAR, target VARCHAR,
                    detail VARCHAR)"""
            )
            con.execute(
                """CREATE TABLE IF NOT EXISTS intention_state (
                    customer_id VARCHAR PRIMARY KEY, score DOUBLE, score_at TIMESTAMP,
                    oldest_at TIMESTAMP)"""
            )
            con.execute(
                """CREATE TABLE IF NOT EXISTS intention_live_crossings (
                    event_id VARCHAR PRIMARY KEY, customer_id VARCHAR, crossed_at TIMESTAMP,
                    grade VARCHAR, score_before DOUBLE, score_after DOUBLE, event_type VARCHAR,
                    channel VARCHAR, detected_at TIMESTAMP)"""
            )

    def add_api_key(self, key: dict) -> None:
        """Store a new API key (id, name, scopes, salt, digest; never the secret itself)."""
        self.con.execute(
            "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP, NULL)",
            [key["key_id"], key["name"], key["scopes"], key["salt"], key["digest"]],
        )

    def api_key(self, key_id: str) -> dict | None:
        """One stored API key (salt, digest, scopes, revoked_at), or ``None``."""
        rows = self.arrow("SELECT * FROM api_keys WHERE key_id = ?", [key_id]).to_pylist()
        return rows[0] if rows else None

    def api_keys(self) -> pa.Table:
        """Every API key without its salt and digest, oldest first."""
        return self.arrow(
            "SELECT key_id, name, scopes, created_at, revoked_at FROM api_keys ORDER BY created_at"
        )

    def revoke_api_key(self, key_id: str) -> bool:
        """Mark a key revoked; ``False`` when there is no such live key."""
        rows = self.con.execute(
            "UPDATE api_keys SET revoked_at = now()::TIMESTAMP "
            "WHERE key_id = ? AND revoked_at IS NULL RETURNING key_id",
            [key_id],
        ).fetchall()
        return bool(rows)

    def append_audit(self, key_id: str | None, action: str, target: str, detail: dict) -> None:
        """Record who exported or unmasked what."""
        self.con.execute(
            "INSERT INTO audit_log VALUES (now()::TIMESTAMP, ?, ?, ?, ?)",
            [key_id, action, target, json.dumps(detail, ensure_ascii=False, default=str)],
        )

    def audit_entries(self, since: dt.datetime | None = None, limit: int = 1000) -> pa.Table:
        """The audit log, newest first."""
        sql, params = "SELECT * FROM audit_log", []
        if since is not None:
            sql, params = sql + " WHERE logged_at >= ?", [since]
        return self.arrow(sql + " ORDER BY logged_at DESC LIMIT ?", [*params, limit])

    def events_of_import(self, import_id: str) -> pa.Table:
        """The events an import wrote (customer, id, time, type, channel)."""
        return self.arrow(
            "SELECT customer_id, event_id, occurred_at, event_type, channel FROM events "
            "WHERE _import_id = ? ORDER BY customer_id, occurred_at, event_id",
            [import_id],
        )

    def events_since(self, since: pa.Table) -> pa.Table:
        """Events of some customers after a time each: ``since`` holds customer_id, after."""
        earliest = pc.min(since.column("after")).as_py()
        self.con.register("_tw_since", since)
        try:  # the constant bound lets the scan skip blocks of older events
            return self.arrow(
                """SELECT e.customer_id, e.event_id, e.occurred_at, e.event_type, e.channel
                   FROM events e JOIN _tw_since s ON e.customer_id = s.customer_id
                   WHERE e.occurred_at > s.after AND e.occurred_at > ?
                   ORDER BY e.customer_id, e.occurred_at, e.event_id""",
                [earliest],
            )
        finally:
            self.con.unregister("_tw_since")

    def intention_states(self, customer_ids: list[str] | None = None) -> pa.Table:
        """Live intention state (score at score_at, oldest event counted) of some customers."""
        if customer_ids is None:
            return self.arrow("SELECT * FROM intention_state")
        ids = pa.table({"customer_id": pa.array(customer_ids, pa.string())})
        self.con.register("_tw_ids", ids)
        try:
            return self.arrow("SELECT s.* FROM intention_state s JOIN _tw_ids USING (customer_id)")
        finally:
            self.con.unregister("_tw_ids")

    def customer_events_after(self, customer_id: str, after: dt.datetime) -> list[dict]:
        """One customer's events after a time (id, time, type, channel), in time order."""
        cur = self.con.execute(
            "SELECT customer_id, event_id, occurred_at, event_type, channel FROM events "
            "WHERE customer_id = ? AND occurred_at > ? ORDER BY occurred_at, event_id",
            [customer_id, after],
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def customer_labels(self, as_of: dt.date, customer_id: str) -> list[dict]:
        """One customer's labels of a snapshot with their evidence JSON text, primary first."""
        if as_of not in self.snapshots():
            return []
        source, params = self._labels_source(as_of, True)
        cur = self.con.execute(
            "SELECT scheme, label, label_zh, label_en, is_primary, rule, evidence "
            f"FROM {source} WHERE customer_id = ? ORDER BY scheme, is_primary DESC, label",
            [*params, customer_id],
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def write_intention_states(
        self, states: pa.Table, crossings: pa.Table | None = None, *, replace: bool = False
    ) -> None:
        """Upsert live intention states (all of them with ``replace``) and add crossings."""
        with self.transaction() as con:
            con.register("_tw_states", states)
            try:
                if replace:
                    con.execute("DELETE FROM intention_state")
                con.execute(
                    "INSERT OR REPLACE INTO intention_state "
                    "SELECT customer_id, score, score_at, oldest_at FROM _tw_states"
                )
            finally:
                con.unregister("_tw_states")
            if crossings is not None and crossings.num_rows:
                con.register("_tw_cross", crossings)
                try:
                    con.execute(
                        """INSERT OR IGNORE INTO intention_live_crossings
                           SELECT event_id, customer_id, crossed_at, grade, score_before,
                                  score_after, event_type, channel, now()::TIMESTAMP
                           FROM _tw_cross"""
                    )
                finally:
                    con.unregister("_tw_cross")

    def live_crossings(self, since: dt.datetime | None = None, limit: int = 1000) -> pa.Table:
        """Grade crossings seen by the service, oldest first (after ``since``)."""
        sql, params = "SELECT * FROM intention_live_crossings", []
        if since is not None:
            sql, params = sql + " WHERE crossed_at > ?", [since]
        return self.arrow(sql + " ORDER BY crossed_at, customer_id LIMIT ?", [*params, limit])

    def customer_exists(self, customer_id: str) -> bool:
        """Whether the customers table holds this id."""
        return self.one("SELECT 1 FROM customers WHERE customer_id = ?", [customer_id]) is not None

    def customer_ids_like(self, prefix: str, limit: int = 20) -> list[str]:
        """Customer ids starting with a prefix, sorted."""
        rows = self.con.execute(
            "SELECT customer_id FROM customers WHERE starts_with(customer_id, ?) "
            "ORDER BY customer_id LIMIT ?",
            [prefix, limit],
        ).fetchall()
        return [r[0] for r in rows]

    def customer_timeline(self, customer_id: str, limit: int = 50) -> pa.Table:
        """A customer's orders and events, newest first (kind, id, happened_at, what, channel,
        amount, text)."""
        return self.arrow(
            """SELECT * FROM (
                 SELECT 'order' AS kind, order_id AS id, paid_at AS happened_at, status AS what,
                        channel,
                        amount, NULL::VARCHAR AS text FROM orders WHERE customer_id = ?
                 UNION ALL
                 SELECT 'event', event_id, occurred_at, event_type, channel, NULL::DOUBLE, text
                 FROM events WHERE customer_id = ?)
               ORDER BY happened_at DESC, id LIMIT ?""",
            [customer_id, customer_id, limit],
        )

    def value_by_label(self, as_of: dt.date) -> pa.Table:
        """Per scheme and primary label: customers, paid value and their shares of all
        customers and value of the snapshot (``all_customers``, ``all_value``)."""
        name = self._require_snapshot(as_of)
        rows, params = self._labels_source(as_of)
        return self.arrow(
            f"""WITH p AS (SELECT customer_id, coalesce(monetary_total, 0) AS value
                           FROM "{name}"),
                    t AS (SELECT count(*) AS n, sum(value) AS v FROM p)
                SELECT l.scheme, l.label, any_value(l.label_zh) AS label_zh,
                       any_value(l.label_en) AS label_en, count(*) AS customers,
                       sum(p.value) AS value,
                       count(*) / any_value(t.n) AS customer_share,
                       any_value(t.n) AS all_customers, any_value(t.v) AS all_value,
                       CASE WHEN any_value(t.v) > 0 THEN sum(p.value) / any_value(t.v) END
                         AS value_share
                FROM {rows} AS l JOIN p USING (customer_id), t
                WHERE l.is_primary AND l.scheme <> 'rfm'
                GROUP BY l.scheme, l.label ORDER BY l.scheme, customers DESC, l.label""",
            params,
        )

    def close(self) -> None:
        """Close the connection."""
        self.con.close()
        if self._owner is not None:
            self._owner.unlink(missing_ok=True)
            self._owner = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- flows: the outbox of deliveries ----------------------------------------------------
    _FLOW_DDL: ClassVar[tuple[str, ...]] = (
        "CREATE SEQUENCE IF NOT EXISTS flow_outbox_seq START 1",
        """CREATE TABLE IF NOT EXISTS flow_outbox (
            delivery_id BIGINT PRIMARY KEY DEFAULT nextval('flow_outbox_seq'),
            idempotency_key VARCHAR UNIQUE, flow VARCHAR, customer_id VARCHAR,
            trigger VARCHAR, detail VARCHAR, as_of DATE, action VARCHAR, url VARCHAR,
            payload VARCHAR, status VARCHAR, reason VARCHAR, attempts BIGINT,
            max_attempts BIGINT, created_at TIMESTAMP, due_at TIMESTAMP,
            lease_owner VARCHAR, lease_until TIMESTAMP, sent_at TIMESTAMP,
            last_error VARCHAR, response_code BIGINT)""",
    )
    _FLOW_COLUMNS: ClassVar[tuple[str, ...]] = (
        "idempotency_key", "flow", "customer_id", "trigger", "detail", "as_of", "action", "url",
        "payload", "status", "reason", "max_attempts", "due_at",
    )  # fmt: skip

    def ensure_flow_tables(self) -> bool:
        """Create the flow outbox when missing (not in a read-only store); whether it is
        there."""
        if self.has_table("flow_outbox"):
            return True
        if self.read_only:
            return False
        for ddl in self._FLOW_DDL:
            self.con.execute(ddl)
        return True

    def snapshot_column_changes(self, column: str, previous: dt.date, as_of: dt.date) -> pa.Table:
        """Customers whose profile ``column`` differs between two snapshots:
        ``customer_id, before, after`` (``before`` null for customers new in ``as_of``)."""
        new, old = self._require_snapshot(as_of), self._require_snapshot(previous)
        for day in (as_of, previous):
            if column not in self.profile_columns(day):
                raise StoreError(f"the snapshot as of {day} has no column {column!r}")
        return self.arrow(
            f"""SELECT n.customer_id, CAST(o."{column}" AS VARCHAR) AS before,
                       CAST(n."{column}" AS VARCHAR) AS after
                FROM "{new}" n LEFT JOIN "{old}" o USING (customer_id)
                WHERE o."{column}" IS DISTINCT FROM n."{column}" ORDER BY n.customer_id"""
        )

    def events_between(
        self, event_types: list[str], start: dt.datetime, end: dt.datetime
    ) -> pa.Table:
        """Events of some types with ``start < occurred_at <= end`` (event_id, customer_id,
        occurred_at, event_type, channel), oldest first."""
        return self.arrow(
            f"""SELECT event_id, customer_id, occurred_at, event_type, channel FROM events
                WHERE event_type IN {_in_list(event_types)} AND occurred_at > ?
                  AND occurred_at <= ? ORDER BY occurred_at, event_id""",
            [start, end],
        )

    def customer_attribute(self, key: str) -> pa.Table:
        """``customer_id, value`` of one key of the customers' ``attributes`` JSON (non-null)."""
        return self.arrow(
            """SELECT customer_id, json_extract_string(attributes, '$."' || ? || '"') AS value
               FROM customers WHERE attributes IS NOT NULL
                 AND json_extract_string(attributes, '$."' || ? || '"') IS NOT NULL""",
            [key, key],
        )

    def flow_contacts(self, since: dt.datetime, channel: str | None = None) -> pa.Table:
        """Per customer, contacts after ``since``: flow deliveries sent, pending or recorded,
        and ``campaign_send`` events (of ``channel`` when given)."""
        ch = "" if channel is None else "AND channel = ?"
        params: list = [since] + ([channel] if channel else [])
        outbox = ""
        if self.ensure_flow_tables():
            outbox = """UNION ALL SELECT customer_id FROM flow_outbox
                  WHERE status IN ('pending', 'sent', 'recorded') AND created_at > ?"""
            params.append(since)
        return self.arrow(
            f"""SELECT customer_id, count(*) AS contacts FROM (
                  SELECT customer_id FROM events WHERE event_type = 'campaign_send'
                    AND occurred_at > ? {ch} {outbox})
                GROUP BY customer_id""",
            params,
        )

    def enqueue_flow_rows(self, rows: pa.Table) -> int:
        """Add outbox rows (the columns of ``_FLOW_COLUMNS``); a row whose idempotency key is
        already stored is skipped. Returns the number added (atomically)."""
        self.ensure_flow_tables()
        cols = ", ".join(self._FLOW_COLUMNS)
        with self.transaction() as con:
            before = con.execute("SELECT count(*) FROM flow_outbox").fetchall()[0][0]
            con.register("_flow_in", rows.select(list(self._FLOW_COLUMNS)))
            con.execute(
                f"""INSERT INTO flow_outbox ({cols}, attempts, created_at)
                    SELECT DISTINCT ON (idempotency_key) {cols}, 0, now()::TIMESTAMP
                    FROM _flow_in WHERE idempotency_key NOT IN
                      (SELECT idempotency_key FROM flow_outbox)"""
            )
            con.unregister("_flow_in")
            after = con.execute("SELECT count(*) FROM flow_outbox").fetchall()[0][0]
        return after - before

    def claim_flow_deliveries(
        self, owner: str, now: dt.datetime, lease_seconds: float, limit: int
    ) -> list[dict]:
        """Lease up to ``limit`` due pending rows to ``owner`` until ``now + lease_seconds``.

        A row leased to another owner is taken only once its lease has run out (its
        deliverer died). Two deliverers never hold the same row: the lease is written in one
        transaction, and a conflicting transaction claims nothing.
        """
        self.ensure_flow_tables()
        until = now + dt.timedelta(seconds=lease_seconds)
        try:
            with self.transaction() as con:
                rows = con.execute(
                    """UPDATE flow_outbox SET lease_owner = ?, lease_until = ?
                       WHERE delivery_id IN (
                         SELECT delivery_id FROM flow_outbox
                         WHERE status = 'pending' AND due_at <= ?
                           AND (lease_until IS NULL OR lease_until < ?)
                         ORDER BY due_at, delivery_id LIMIT ?)
                       RETURNING delivery_id, idempotency_key, flow, customer_id, url,
                                 payload, attempts, max_attempts""",
                    [owner, until, now, now, limit],
                ).fetchall()
        except duckdb.TransactionException:
            return []
        keys = ("delivery_id", "idempotency_key", "flow", "customer_id", "url", "payload",
                "attempts", "max_attempts")  # fmt: skip
        return sorted((dict(zip(keys, r, strict=True)) for r in rows),
                      key=lambda r: r["delivery_id"])  # fmt: skip

    def finish_flow_deliveries(self, owner: str, outcomes: list[dict]) -> int:
        """Record the outcome of leased rows (``delivery_id, status, attempts, due_at,
        sent_at, last_error, response_code``) atomically; rows no longer leased to
        ``owner`` are left alone. Returns the rows updated."""
        if not outcomes:
            return 0
        table = pa.Table.from_pylist(
            outcomes,
            schema=pa.schema([
                ("delivery_id", pa.int64()), ("status", pa.string()), ("attempts", pa.int64()),
                ("due_at", pa.timestamp("us")), ("sent_at", pa.timestamp("us")),
                ("last_error", pa.string()), ("response_code", pa.int64()),
            ]),
        )  # fmt: skip
        with self.transaction() as con:
            con.register("_flow_done", table)
            n = con.execute(
                """UPDATE flow_outbox AS o SET status = d.status, attempts = d.attempts,
                          due_at = d.due_at, sent_at = d.sent_at, last_error = d.last_error,
                          response_code = d.response_code, lease_owner = NULL,
                          lease_until = NULL
                   FROM _flow_done AS d
                   WHERE o.delivery_id = d.delivery_id AND o.lease_owner = ?
                     AND o.status = 'pending'""",
                [owner],
            ).fetchall()[0][0]
            con.unregister("_flow_done")
        return n

    def flow_deliveries(
        self, *, flow: str | None = None, status: str | None = None, limit: int = 1000
    ) -> pa.Table:
        """Outbox rows, newest first, optionally of one flow and/or status."""
        if not self.ensure_flow_tables():
            cols = ("delivery_id", *self._FLOW_COLUMNS[:8], "status", "reason", "attempts")
            return pa.table({c: pa.array([], pa.string()) for c in cols if c != "payload"})
        where, params = [], []
        for col, value in (("flow", flow), ("status", status)):
            if value is not None:
                where.append(f"{col} = ?")
                params.append(value)
        sql = "SELECT * EXCLUDE (payload) FROM flow_outbox"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self.arrow(sql + " ORDER BY delivery_id DESC LIMIT ?", [*params, limit])

    def flow_delivery(self, delivery_id: int) -> dict | None:
        """One outbox row with its payload, or ``None``."""
        if not self.ensure_flow_tables():
            return None
        rows = self.arrow("SELECT * FROM flow_outbox WHERE delivery_id = ?", [delivery_id])
        return rows.to_pylist()[0] if rows.num_rows else None

    def flow_status_counts(self) -> pa.Table:
        """Outbox rows per flow and status."""
        if not self.ensure_flow_tables():
            return pa.table({c: pa.array([], pa.string()) for c in ("flow", "status")}
                            | {"deliveries": pa.array([], pa.int64())})  # fmt: skip
        return self.arrow(
            "SELECT flow, status, count(*) AS deliveries FROM flow_outbox "
            "GROUP BY flow, status ORDER BY flow, status"
        )

    def retry_flow_delivery(self, delivery_id: int, now: dt.datetime) -> bool:
        """Put a dead-lettered row back in the queue (attempts start again)."""
        self.ensure_flow_tables()
        n = self.con.execute(
            """UPDATE flow_outbox SET status = 'pending', attempts = 0, due_at = ?,
                      lease_owner = NULL, lease_until = NULL
               WHERE delivery_id = ? AND status = 'dead'""",
            [now, delivery_id],
        ).fetchall()[0][0]
        return bool(n)

    def flow_keys_present(self, keys: list[str]) -> set[str]:
        """The idempotency keys among ``keys`` already in the outbox."""
        if not keys or not self.ensure_flow_tables():
            return set()
        self.con.register("_keys_in", pa.table({"k": pa.array(keys, pa.string())}))
        try:
            rows = self.con.execute(
                "SELECT idempotency_key FROM flow_outbox WHERE idempotency_key IN "
                "(SELECT k FROM _keys_in)"
            ).fetchall()
        finally:
            self.con.unregister("_keys_in")
        return {r[0] for r in rows}

    def live_intention_crossings(
        self, since: dt.datetime, detected_after: dt.datetime | None = None
    ) -> pa.Table:
        """Every grade crossing the service saw with ``crossed_at`` after ``since`` (and
        ``detected_at`` after ``detected_after``; none when the service never ran), oldest
        first."""
        if not self.has_table("intention_live_crossings"):
            cols = ("event_id", "customer_id", "grade", "event_type", "channel")
            return pa.table({c: pa.array([], pa.string()) for c in cols}
                            | {"crossed_at": pa.array([], pa.timestamp("us")),
                               "score_before": pa.array([], pa.float64()),
                               "score_after": pa.array([], pa.float64())})  # fmt: skip
        return self.arrow(
            "SELECT * FROM intention_live_crossings WHERE crossed_at > ? "
            "AND detected_at > coalesce(?, TIMESTAMP '0001-01-01') "
            "ORDER BY crossed_at, customer_id",
            [since, detected_after],
        )

    # -- optional tables and the identity salt --------------------------------------------
    def ensure_table(self, entity: str) -> None:
        """Create an optional canonical table (``identities``) when it is missing."""
        ent = OPTIONAL_ENTITIES[entity]
        if not self.has_table(ent.name):
            self.con.execute(_ddl(ent))

    def identity_salt(self) -> bytes:
        """The project's secret salt for hashing phones and emails (made on first use).

        It is kept in the store's meta table and never printed; without it a hashed
        identifier cannot be matched against a clear value.
        """
        row = self.one("SELECT value FROM tierwise_meta WHERE key = 'identity_salt'")
        if row is not None:
            return bytes.fromhex(row[0])
        if self.read_only:
            raise StoreError(f"{self.path} has no identity salt yet; import identities first")
        salt = os.urandom(32)
        self.con.execute("INSERT INTO tierwise_meta VALUES ('identity_salt', ?)", [salt.hex()])
        return salt

    # -- member levels and the path ---------------------------------------------------------
    def read_profile_columns(self, as_of: dt.date, columns: list[str]) -> pa.Table:
        """The named columns of one snapshot's profile table (each must exist)."""
        return self._profile_rows(self._require_snapshot(as_of), columns)

    def _profile_rows(self, table: str, columns: Sequence[str] | None) -> pa.Table:
        """Columns of a profile table (all when ``None``), in customer order."""
        sel = "*" if columns is None else ", ".join(f'"{c}"' for c in columns)
        return self.arrow(f'SELECT {sel} FROM "{table}" ORDER BY customer_id')

    def _ensure_member_tables(self) -> None:
        if self.has_table("member_level_history"):
            return
        self.con.execute(
            """CREATE TABLE IF NOT EXISTS member_level_history (
                 as_of DATE, customer_id VARCHAR, from_level VARCHAR, to_level VARCHAR,
                 move VARCHAR, growth DOUBLE, evidence VARCHAR)"""
        )

    def write_member_history(self, as_of: dt.date, rows: pa.Table) -> int:
        """Replace the level changes recorded on ``as_of`` with ``rows`` (``customer_id,
        from_level, to_level, move, growth, evidence``); returns how many were written."""
        self._ensure_member_tables()
        with self.transaction() as con:
            con.execute("DELETE FROM member_level_history WHERE as_of = ?", [as_of])
            con.register("_member_moves_in", rows)
            con.execute(
                """INSERT INTO member_level_history SELECT ?::DATE, customer_id, from_level,
                     to_level, move, growth, evidence FROM _member_moves_in""",
                [as_of],
            )
            con.unregister("_member_moves_in")
        return rows.num_rows

    def member_history(self, customer_id: str | None = None) -> pa.Table:
        """Recorded level changes, oldest first (one customer's, or everyone's)."""
        if not self.has_table("member_level_history"):
            return self.arrow(
                """SELECT NULL::DATE AS as_of, NULL AS customer_id, NULL AS from_level,
                     NULL AS to_level, NULL AS move, NULL::DOUBLE AS growth, NULL AS evidence
                   WHERE false"""
            )
        where, params = ("WHERE customer_id = ?", [customer_id]) if customer_id else ("", [])
        return self.arrow(
            f"""SELECT as_of, customer_id, from_level, to_level, move, growth, evidence
                FROM member_level_history {where} ORDER BY as_of, customer_id""",
            params,
        )

    def member_move_counts(self) -> pa.Table:
        """Per recorded day and move (new, upgrade, downgrade): customers."""
        if not self.has_table("member_level_history"):
            return self.arrow("SELECT NULL::DATE AS as_of, NULL AS move, 0 AS customers "
                              "WHERE false")  # fmt: skip
        return self.arrow(
            """SELECT as_of, move, count(*) AS customers FROM member_level_history
               GROUP BY as_of, move ORDER BY as_of, move"""
        )

    def column_history(self, column: str) -> pa.Table:
        """``as_of, customer_id, value`` of one profile column over every snapshot that has
        it, oldest first."""
        parts = []
        for day in self.snapshots():
            if column in self.profile_columns(day):
                name = self.profile_table_name(day)
                parts.append(f"""SELECT DATE '{day.isoformat()}' AS as_of, customer_id,
                                 "{column}"::VARCHAR AS value FROM "{name}" """)
        if not parts:
            return pa.table({"as_of": pa.array([], pa.date32()),
                             "customer_id": pa.array([], pa.string()),
                             "value": pa.array([], pa.string())})  # fmt: skip
        return self.arrow(" UNION ALL ".join(parts) + " ORDER BY as_of, customer_id")

    def entrance_channels(self, until: dt.date) -> pa.Table:
        """``customer_id, entrance``: the channel of each customer's first touch (event or
        order) up to ``until`` (``(unknown)`` when none has a channel)."""
        hi = dt.datetime.combine(until + dt.timedelta(days=1), dt.time())
        return self.arrow(
            """WITH touch AS (
                 SELECT customer_id, occurred_at AS at, channel FROM events
                 WHERE occurred_at < ? AND channel IS NOT NULL
                 UNION ALL
                 SELECT customer_id, paid_at, channel FROM orders
                 WHERE paid_at < ? AND channel IS NOT NULL)
               SELECT c.customer_id, coalesce(arg_min(t.channel, t.at), '(unknown)')
                 AS entrance
               FROM customers c LEFT JOIN touch t USING (customer_id)
               GROUP BY c.customer_id ORDER BY c.customer_id""",
            [hi, hi],
        )
