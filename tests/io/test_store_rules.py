"""Keys, duplicates, conflicts, unknown customers, idempotency and the import log."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from io_testkit import ORDERS_HEADER, rows, snapshot, write

from tierwise.io import import_file, import_frame

EVENTS_HEADER = "customer_id,occurred_at,event_type,text\n"


def test_duplicate_ids_within_a_file(tmp_path, store, opts):
    f = write(
        tmp_path / "o.csv",
        ORDERS_HEADER
        + (
            "o1,c1,2024-03-05,1,paid\n"
            "o2,c1,2024-03-05,2,paid\n"
            "o1,c1,2024-03-05,1,paid\n"  # identical repeat: duplicate
            "o3,c1,2024-03-05,3,paid\n"
            "o3,c1,2024-03-05,3,refunded\n"  # same id, different content: both quarantined
        ),
    )
    rep = import_file(store, "orders", f, options=opts)
    assert (rep.rows_imported, rep.rows_duplicate, rep.rows_quarantined) == (2, 1, 2)
    assert [(p.row, p.reason) for p in rep.problems] == [
        (5, "order_id 'o3' appears 2 times in this file with different values (rows 5, 6)"),
        (6, "order_id 'o3' appears 2 times in this file with different values (rows 5, 6)"),
    ]
    assert rows(store, "SELECT order_id FROM orders ORDER BY 1") == [("o1",), ("o2",)]


def test_duplicate_ids_across_files_and_update(tmp_path, store, opts):
    first = write(
        tmp_path / "week1.csv",
        ORDERS_HEADER + "o1,c1,2024-03-05,10,paid\no2,c1,2024-03-06,20,paid\n",
    )
    import_file(store, "orders", first, options=opts)
    again = write(
        tmp_path / "week2.csv",
        ORDERS_HEADER
        + (
            "o1,c1,2024-03-05,10,paid\n"  # unchanged
            "o2,c1,2024-03-06,20,refunded\n"  # refunded since
            "o3,c2,2024-03-07,30,paid\n"
        ),
    )
    rep = import_file(store, "orders", again, options=opts)
    assert (rep.rows_imported, rep.rows_duplicate, rep.rows_quarantined, rep.rows_updated) == (
        1,
        1,
        1,
        0,
    )
    assert rep.problems[0].row == 3
    assert rep.problems[0].reason == (
        "order_id 'o2' is already stored with different values "
        "(status: stored 'paid', file 'refunded'); use on_conflict='update' to replace it"
    )
    rep = import_file(
        store, "orders", again, options=opts.model_copy(update={"on_conflict": "update"})
    )
    assert (rep.rows_imported, rep.rows_duplicate, rep.rows_updated, rep.rows_quarantined) == (
        0,
        2,
        1,
        0,
    )
    assert rows(store, "SELECT status, _source, _row FROM orders WHERE order_id = 'o2'") == [
        ("refunded", "week2.csv", 3)
    ]


def test_importing_twice_changes_nothing(tmp_path, store, opts):
    f = write(
        tmp_path / "o.csv", ORDERS_HEADER + "o1,c1,2024-03-05,1,paid\no2,c2,2024-03-06,2,paid\n"
    )
    import_file(store, "orders", f, options=opts)
    before = snapshot(store)
    rep = import_file(store, "orders", f, options=opts)
    assert (rep.rows_read, rep.rows_duplicate, rep.rows_imported, rep.customers_created) == (
        2,
        2,
        0,
        0,
    )
    after = snapshot(store)
    assert {k: v for k, v in after.items() if k != "imports"} == {
        k: v for k, v in before.items() if k != "imports"
    }
    assert len(after["imports"]) == 2  # every import is logged


def test_unknown_customers_are_created_with_earliest_time(tmp_path, store, opts):
    f = write(
        tmp_path / "o.csv",
        ORDERS_HEADER
        + (
            "o1,c1,2024-03-05 10:00:00,1,paid\n"
            "o2,c1,2024-03-01 09:00:00,1,paid\n"
            "o3,c2,2024-03-07,1,paid\n"
        ),
    )
    rep = import_file(store, "orders", f, options=opts)
    assert rep.customers_created == 2
    assert rows(
        store, "SELECT customer_id, first_seen, _source, _row FROM customers ORDER BY 1"
    ) == [
        ("c1", dt.datetime(2024, 3, 1, 9), "auto:orders:o.csv", None),
        ("c2", dt.datetime(2024, 3, 7), "auto:orders:o.csv", None),
    ]
    # an earlier event moves first_seen of an auto-created customer back
    e = write(tmp_path / "e.csv", EVENTS_HEADER + "c2,2024-02-01 08:00:00,like,\n")
    rep = import_file(store, "events", e, options=opts)
    assert rep.customers_created == 0
    assert rows(store, "SELECT first_seen FROM customers WHERE customer_id = 'c2'") == [
        (dt.datetime(2024, 2, 1, 8),)
    ]
    # the customer file fills the bare rows in (not a conflict)
    c = write(tmp_path / "c.csv", "customer_id,first_seen,city\nc1,2023-12-01,杭州\nc3,,上海\n")
    rep = import_file(store, "customers", c, options=opts)
    assert (rep.rows_imported, rep.rows_quarantined) == (2, 0)
    assert any("filled in" in n for n in rep.notes)
    assert rows(store, "SELECT customer_id, city, _source FROM customers ORDER BY 1") == [
        ("c1", "杭州", "c.csv"),
        ("c2", None, "auto:orders:o.csv"),
        ("c3", "上海", "c.csv"),
    ]


def test_unknown_customers_quarantined(tmp_path, store, opts):
    write(tmp_path / "c.csv", "customer_id\nc1\n")
    import_file(store, "customers", tmp_path / "c.csv", options=opts)
    e = write(
        tmp_path / "e.csv",
        EVENTS_HEADER + "c1,2024-03-05,like,\nc9,2024-03-05,like,\nc9,2024-03-06,share,\n",
    )
    rep = import_file(
        store, "events", e, options=opts.model_copy(update={"unknown_customers": "quarantine"})
    )
    assert (rep.rows_imported, rep.rows_quarantined, rep.customers_created) == (1, 2, 0)
    assert rep.problems[0].reason == (
        "customer_id 'c9' is not in the store (import customers first, or use "
        "unknown_customers='create')"
    )
    assert store.count("customers") == 1


def test_event_ids_are_a_stable_content_hash(tmp_path, store, opts):
    e = write(
        tmp_path / "e.csv",
        EVENTS_HEADER
        + (
            'c1,2024-03-05 20:01:15,comment,"好看,求链接"\n'
            "c1,2024-03-05 20:01:15,like,\n"
            "c1,2024-03-05 20:01:15,like,\n"
        ),
    )
    rep = import_file(store, "events", e, options=opts)
    assert (rep.rows_imported, rep.rows_duplicate) == (2, 1)
    assert any("content hash of customer_id, occurred_at" in n for n in rep.notes)
    payload = "\x1f".join(["c1", "2024-03-05 20:01:15.000000", "like", "", "", ""])
    expected = hashlib.sha256(payload.encode()).hexdigest()[:32]
    assert rows(store, "SELECT event_id FROM events WHERE event_type = 'like'") == [(expected,)]
    # the same events written differently get the same ids
    e2 = write(tmp_path / "e2.csv", EVENTS_HEADER + "c1,2024-03-05T20:01:15,like,\n")
    assert import_file(store, "events", e2, options=opts).rows_duplicate == 1


def test_computed_order_id(tmp_path, store, opts):
    f = write(
        tmp_path / "o.csv", "buyer,time,total\nc1,2024-03-05 10:00,9.9\nc1,2024-03-05 10:00,9.9\n"
    )
    mapping = {
        "columns": {"buyer": "customer_id", "time": "paid_at", "total": "amount"},
        "constants": {"status": "paid"},
        "computed_id": ["customer_id", "paid_at", "amount"],
    }
    rep = import_file(store, "orders", f, mapping=mapping, options=opts)
    # two identical purchases are two orders: the second hashes its ordinal too
    assert (rep.rows_imported, rep.rows_duplicate) == (2, 0)
    assert any("1 row(s) identical to an earlier row" in n for n in rep.notes)
    payload = "\x1f".join(["c1", "2024-03-05 10:00:00.000000", "9.9"])
    ids = [hashlib.sha256(p.encode()).hexdigest()[:32] for p in (payload, payload + "\x1f#1")]
    assert rows(store, "SELECT order_id, status FROM orders ORDER BY _row") == [
        (ids[0], "paid"),
        (ids[1], "paid"),
    ]
    # importing the same file again finds the same ids: nothing new
    again = import_file(store, "orders", f, mapping=mapping, options=opts)
    assert (again.rows_imported, again.rows_duplicate) == (0, 2)
    # fold: identical rows are one order and a duplicate
    store.con.execute("DELETE FROM orders")
    rep = import_file(
        store, "orders", f, mapping={**mapping, "identical_rows": "fold"}, options=opts
    )
    assert (rep.rows_imported, rep.rows_duplicate) == (1, 1)
    assert rows(store, "SELECT order_id FROM orders") == [(ids[0],)]


def test_import_log(tmp_path, store, opts):
    f = write(
        tmp_path / "o.csv", ORDERS_HEADER + "o1,c1,2024-03-05,1,paid\no2,c1,2024-03-05,x,paid\n"
    )
    rep = import_file(store, "orders", f, options=opts)
    (row,) = rows(
        store,
        "SELECT import_id, entity, source, file_sha256, rows_read, rows_imported, "
        "rows_quarantined, rows_duplicate, report FROM imports",
    )
    assert row[:3] == (rep.import_id, "orders", str(f.resolve()))
    assert row[3] == hashlib.sha256(f.read_bytes()).hexdigest() == rep.file_sha256
    assert row[4:8] == (2, 1, 1, 0)
    logged = json.loads(row[8])
    assert logged["rows_updated"] == 0 and logged["customers_created"] == 1
    assert logged["problems"][0]["row"] == 3 and logged["quarantine_path"] == rep.quarantine_path
    assert rows(store, "SELECT DISTINCT _import_id FROM orders") == [(rep.import_id,)]


def test_dry_run_writes_nothing(tmp_path, store, opts):
    f = write(
        tmp_path / "o.csv", ORDERS_HEADER + "o1,c1,2024-03-05,1,paid\no2,c1,2024-03-05,x,paid\n"
    )
    before = snapshot(store)
    rep = import_file(store, "orders", f, options=opts.model_copy(update={"dry_run": True}))
    assert (rep.rows_imported, rep.rows_quarantined, rep.customers_created) == (1, 1, 1)
    assert rep.quarantine_path is None and rep.import_id is None
    assert "dry run" in rep.summary()
    assert snapshot(store) == before
    assert not (tmp_path / "quarantine").exists()


def test_frames(store, opts):
    import pandas as pd
    import polars as pl

    pdf = pd.DataFrame(
        {
            "order_id": ["o1", "o2"],
            "customer_id": ["c1", "c2"],
            "paid_at": pd.to_datetime(["2024-03-05 14:22:10", "2024-03-06 00:00:00"]),
            "amount": [12.5, -1.0],
            "status": ["paid", "paid"],
            "mixed": [1, "x"],
        }
    )
    rep = import_frame(store, "orders", pdf, source="pandas-orders", options=opts)
    assert (rep.rows_imported, rep.rows_quarantined, rep.format) == (1, 1, "frame")
    assert rep.problems[0].row == 2 and rep.problems[0].file == "pandas-orders"
    pldf = pl.DataFrame(
        {
            "order_id": ["o3"],
            "customer_id": ["c1"],
            "paid_at": ["2024-03-07"],
            "amount": [3],
            "status": ["refunded"],
            "item_count": [2],
        }
    )
    assert import_frame(store, "orders", pldf, options=opts).rows_imported == 1
    assert import_frame(store, "orders", pldf.to_arrow(), options=opts).rows_duplicate == 1
    assert rows(store, "SELECT _source FROM orders ORDER BY order_id") == [
        ("pandas-orders",),
        ("frame",),
    ]
