"""The store: layout version, foreign files, snapshots kept side by side, atomic writes."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pytest

from tierwise.errors import StoreError
from tierwise.store import SCHEMA_VERSION, Store


def test_a_new_store_has_the_layout(tmp_path):
    with Store(tmp_path / "s.duckdb") as s:
        assert s.schema_version == SCHEMA_VERSION
        assert s.count("orders") == 0 and s.snapshots() == []


def test_a_newer_layout_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "s.duckdb"
    Store(path).close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE tierwise_meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(StoreError, match="has store layout 99, newer than this tierwise"):
        Store(path)


def test_a_store_of_layout_1_is_read_and_moves_to_layout_2_with_its_next_snapshot(tmp_path):
    """Layout 1 kept label rows in the labels table: its snapshots read as they were, and the
    first snapshot written in the new layout (label rows as a view) says so in the store, so
    that an older tierwise refuses it rather than finding no labels."""
    path = tmp_path / "s.duckdb"
    day1, day2 = dt.date(2024, 1, 31), dt.date(2024, 2, 29)
    with Store(path) as s:
        _snap(s, day1, 2)
        s.con.execute(f"INSERT INTO labels SELECT ?::DATE, * FROM {s.label_view_name(day1)}",
                      [day1])  # fmt: skip
        s.con.execute(f"DROP VIEW {s.label_view_name(day1)}")
        s.con.execute("UPDATE tierwise_meta SET value = '1' WHERE key = 'schema_version'")
    with Store(path) as s:
        assert s.schema_version == 1
        assert s.read_labels(day1, evidence=False)["customer_id"].to_pylist() == ["c0", "c1"]
        _snap(s, day2, 3)
        assert s.schema_version == 2
        assert s.read_labels(day2, evidence=False).num_rows == 3
        assert s.read_labels(day1, evidence=False).num_rows == 2
    with Store(path) as s:
        assert s.schema_version == 2


def test_a_foreign_duckdb_file_is_refused(tmp_path):
    path = tmp_path / "other.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(StoreError, match="is a DuckDB file but not a tierwise store"):
        Store(path)


def test_read_only_needs_an_existing_store(tmp_path):
    with pytest.raises(StoreError, match="no store at"):
        Store(tmp_path / "missing.duckdb", read_only=True)


def _snap(s: Store, day: dt.date, n: int) -> None:
    profiles = pa.table({"customer_id": [f"c{i}" for i in range(n)]})
    s.write_snapshot(
        day,
        profiles,
        labels_query=lambda t, evidence=True: (
            f"SELECT customer_id, 'x' AS scheme, 'y' AS label, 'y' AS label_zh, 'y' AS label_en, "
            f"true AS is_primary, 'r' AS rule, '{{}}' AS evidence FROM \"{t}\""
        ),
        meta={"n": n},
    )


def test_snapshots_stay_readable_side_by_side(tmp_path):
    path = tmp_path / "s.duckdb"
    with Store(path) as s:
        _snap(s, dt.date(2024, 1, 31), 2)
        _snap(s, dt.date(2024, 2, 29), 3)
        _snap(s, dt.date(2024, 1, 31), 4)  # re-running a day replaces that day only
    with Store(path, read_only=True) as s:
        assert s.snapshots() == [dt.date(2024, 1, 31), dt.date(2024, 2, 29)]
        assert s.read_profiles(dt.date(2024, 1, 31)).num_rows == 4
        assert s.read_profiles().num_rows == 3
        assert s.snapshot_meta(dt.date(2024, 1, 31)) == {"n": 4}
        assert s.read_labels(dt.date(2024, 2, 29)).num_rows == 3
        with pytest.raises(StoreError, match="no snapshot as of 2023-12-31"):
            s.read_profiles(dt.date(2023, 12, 31))


def test_a_failed_snapshot_write_leaves_the_store_as_before(tmp_path):
    with Store(tmp_path / "s.duckdb") as s:
        _snap(s, dt.date(2024, 1, 31), 2)
        with pytest.raises(duckdb.Error):
            s.write_snapshot(
                dt.date(2024, 1, 31), pa.table({"customer_id": ["z"]}),
                labels_query=lambda t, **_: "SELECT no_such_column FROM nowhere", meta={},
            )  # fmt: skip
        assert s.read_profiles(dt.date(2024, 1, 31)).num_rows == 2
        assert s.snapshot_meta(dt.date(2024, 1, 31)) == {"n": 2}


def test_canonical_tables_read_back_with_provenance():
    from tinyshop import make_tiny_store

    s = make_tiny_store()
    orders = s.read("orders")
    assert s.count("orders") == orders.num_rows == 9
    assert orders.column_names[:3] == ["order_id", "customer_id", "paid_at"]
    assert orders.column("order_id").to_pylist() == sorted(orders.column("order_id").to_pylist())
    assert s.read("orders", provenance=True).column_names[-3:] == ["_source", "_row", "_import_id"]
    s.close()


def test_a_store_hands_back_the_blocks_it_keeps_cached(tmp_path):
    """After a run's big reads, the blocks DuckDB keeps cached are given back and the store's
    memory limit is what it was; a connection given another limit is left alone."""
    from tierwise.store import release_cached_blocks

    with Store(tmp_path / "s.duckdb") as store:
        store.con.execute(
            "CREATE TABLE big AS SELECT range AS i, md5(range::VARCHAR) AS s FROM range(2000000)"
        )
    with Store(tmp_path / "s.duckdb") as store:
        con = store.con

        def used() -> int:
            return con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0]

        def limit() -> str:
            return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]

        before = limit()
        con.execute("SELECT sum(length(s)), sum(i) FROM big").fetchone()
        read = used()
        release_cached_blocks(con, keep=("4MB",))
        assert used() < read / 4 and limit() == before
        assert con.execute("SELECT count(DISTINCT s) FROM big").fetchone()[0] == 2_000_000
        con.execute("SET memory_limit = '5GB'")
        other = limit()
        con.execute("SELECT sum(length(s)) FROM big").fetchone()
        release_cached_blocks(con, keep=("4MB",))
        assert limit() == other != before


def _query(s: Store, table: str):
    """The store's table ``table`` as an Ibis query on the store's connection."""
    import ibis

    return ibis.duckdb.from_connection(s.con).table(table)


def _labels(t, evidence=True):
    return (
        f"SELECT customer_id, 'x' AS scheme, 'y' AS label, 'y' AS label_zh, 'y' AS label_en, "
        f"true AS is_primary, 'r' AS rule, '{{}}' AS evidence FROM \"{t}\""
    )


def test_staged_profiles_become_the_snapshot_without_a_copy(tmp_path):
    """A profile query computed into the store is renamed into the snapshot: same rows, read
    in customer order, indexed by customer, and the staged table is gone."""
    from tierwise.store import STAGED_PROFILE

    with Store(tmp_path / "s.duckdb") as s:
        s.con.execute("CREATE TABLE src AS SELECT 'c' || (9 - i) AS customer_id, i AS n "
                      "FROM range(10) t(i)")  # fmt: skip
        query = _query(s, "src")
        staged = s.stage_profiles(query)
        assert (staged.table, staged.num_rows, staged.column_names) == (
            STAGED_PROFILE, 10, ["customer_id", "n"])  # fmt: skip
        day = dt.date(2024, 1, 31)
        s.write_snapshot(day, staged, labels_query=_labels, meta={})
        assert staged.table == s.profile_table_name(day)
        gone = s.one("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [STAGED_PROFILE])
        assert gone == (0,)
        back = s.read_profiles(day)
        assert back.column("customer_id").to_pylist() == sorted(f"c{i}" for i in range(10))
        assert staged.read(["n"]).column("n").to_pylist() == list(range(9, -1, -1))
        assert s.read_labels(day).num_rows == 10
        index = s.one("SELECT is_unique, expressions FROM duckdb_indexes() WHERE table_name = ?",
                      [staged.table])  # fmt: skip
        assert index == (True, "[customer_id]")
        # a lookup of one customer finds the row through the index: no row group is scanned
        sql = f"EXPLAIN ANALYZE SELECT n FROM \"{staged.table}\" WHERE customer_id = 'c3'"
        assert "Row Groups Scanned: 0 /" in s.one(sql)[1]


def test_a_second_row_of_a_customer_stops_the_snapshot(tmp_path):
    with Store(tmp_path / "s.duckdb") as s:
        day = dt.date(2024, 1, 31)
        _snap(s, day, 2)
        s.con.execute("CREATE TABLE src AS SELECT 'c' || (i % 3) AS customer_id FROM range(4) t(i)")
        staged = s.stage_profiles(_query(s, "src"))
        with pytest.raises(duckdb.Error, match=r"(?i)duplicate"):
            s.write_snapshot(day, staged, labels_query=_labels, meta={})
        assert s.read_profiles(day).num_rows == 2 and s.snapshot_meta(day) == {"n": 2}


def test_a_failed_staged_write_keeps_the_old_snapshot(tmp_path):
    with Store(tmp_path / "s.duckdb") as s:
        day = dt.date(2024, 1, 31)
        _snap(s, day, 2)
        s.con.execute("CREATE TABLE src AS SELECT 'z' AS customer_id")
        query = _query(s, "src")
        staged = s.stage_profiles(query)
        with pytest.raises(duckdb.Error):
            s.write_snapshot(day, staged, meta={},
                             labels_query=lambda t, **_: "SELECT nope FROM nowhere")  # fmt: skip
        assert s.read_profiles(day).num_rows == 2
        assert staged.read().num_rows == 1  # still staged, under its own name


def test_only_a_query_on_the_store_can_be_staged(tmp_path):
    import ibis

    other = ibis.duckdb.connect()
    with Store(tmp_path / "s.duckdb") as s, pytest.raises(StoreError, match="not a query on"):
        s.stage_profiles(other.create_table("t", pa.table({"customer_id": ["a"]})))


def test_evidence_columns_are_stored_with_zstd_on_both_ways_in(tmp_path):
    """The JSON evidence columns of a profile (`ZSTD_SUFFIX`) are compressed with zstd, both
    from an Arrow table and from a staged query; the other columns keep DuckDB's own choice,
    and every value, type and NOT NULL reads back as it was."""
    import json

    from tierwise.store import _columns

    n = 5000
    table = pa.table({
        "customer_id": [f"c{i:05d}" for i in range(n)],
        "segment": ["a", "b"] * (n // 2),
        "satisfaction_evidence": [
            json.dumps({"figures": {"orders": i, "rate": i / 7}, "rule": "orders >= 1"})
            for i in range(n)
        ],
        "n": pa.array(range(n), pa.int64()),
    })  # fmt: skip
    days = dt.date(2024, 1, 31), dt.date(2024, 2, 29)
    with Store(tmp_path / "s.duckdb") as s:
        s.write_snapshot(days[0], table, labels_query=_labels, meta={})
        s.con.register("_src", table)
        s.con.execute("CREATE TABLE src (customer_id VARCHAR NOT NULL, segment VARCHAR, "
                      "satisfaction_evidence VARCHAR, n BIGINT)")  # fmt: skip
        s.con.execute("INSERT INTO src SELECT * FROM _src")
        staged = s.stage_profiles(_query(s, "src"))
        s.write_snapshot(days[1], staged, labels_query=_labels, meta={})
        s.con.execute("CHECKPOINT")
        for day in days:
            name = s.profile_table_name(day)
            kinds = dict(s.con.execute(
                "SELECT column_name, list(DISTINCT compression) FROM "
                f"pragma_storage_info('{name}') WHERE segment_type = 'VARCHAR' GROUP BY 1"
            ).fetchall())  # fmt: skip
            assert kinds["satisfaction_evidence"] == ["ZSTD"], day
            assert "ZSTD" not in kinds["segment"] + kinds["customer_id"], day
            assert s.read_profiles(day).to_pylist() == table.to_pylist()
        assert _columns(s.con, s.profile_table_name(days[1])) == [
            ("customer_id", "VARCHAR", "NO"), ("segment", "VARCHAR", "YES"),
            ("satisfaction_evidence", "VARCHAR", "YES"), ("n", "BIGINT", "YES"),
        ]  # fmt: skip
