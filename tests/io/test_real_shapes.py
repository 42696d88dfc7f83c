"""Real-shaped files through the shipped mappings: UCI-style order lines with cancellations,
and the CDNOW master layout (whitespace-separated, no order ids)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from io_testkit import rows

from tierwise.io import import_file

DATA = Path(__file__).resolve().parents[1] / "data"
RETAIL = DATA / "online_retail_sample.csv"
CDNOW_SAMPLE = DATA / "cdnow_sample.txt"


@pytest.fixture
def retail(store, opts):
    return import_file(store, "orders", RETAIL, mapping="online_retail", options=opts)


def _orders(store) -> dict[str, tuple]:
    got = rows(
        store, "SELECT order_id, amount, status, item_count, paid_at, attributes FROM orders"
    )
    return {r[0]: (round(r[1], 2), r[2], r[3], r[4], json.loads(r[5] or "{}")) for r in got}


def test_order_lines_become_orders(store, retail):
    retail.check()
    assert (retail.rows_read, retail.rows_imported, retail.rows_quarantined) == (31, 28, 3)
    o = _orders(store)
    # 536365: the seven lines of the first UCI invoice, 6x2.55 + 6x3.39 + 8x2.75 + 3x(6x3.39)...
    assert o["536365"][:3] == (139.12, "paid", 40)
    assert o["536366"][:2] == (22.2, "paid")
    assert o["536370"][:2] == (234.0, "paid")  # 24x3.75 + 24x3.75 + 3x18
    # 536367's lines are stamped 08:34 and 08:35: within the 5 min tolerance, earliest kept
    assert o["536367"][0] == 109.28 and o["536367"][3] == dt.datetime(2010, 12, 1, 8, 34)
    assert any("line items at different times" in n and "5 min" in n for n in retail.notes)


def test_the_report_accounts_for_every_column_of_the_file(retail):
    assert retail.columns_ignored == ["Description"]
    assert retail.columns_mapped["UnitPrice"] == "(amount = Quantity * UnitPrice)"
    assert retail.columns_mapped["StockCode"] == "returns.item"
    assert retail.columns_mapped["Quantity"] == "item_count"  # also read by amount
    assert len(retail.columns_mapped) + len(retail.columns_ignored) == 8  # the UCI columns


def test_cancellations_are_netted(store, retail):
    o = _orders(store)
    # a 168,469.60 order cancelled 12 minutes later (different invoice number: matched by
    # customer and stock code) is refunded, not revenue
    amount, status, _, _, attrs = o["581483"]
    assert (amount, status) == (0.0, "refunded")
    assert attrs["gross_amount"] == 168469.6 and attrs["refunded_amount"] == 168469.6
    assert attrs["returns"] == ["C581484"]
    assert o["C581484"][:2] == (168469.6, "cancelled")
    assert o["C581484"][4]["return_of"] == ["581483"]
    # a partial return (1 of 2 ducks at 4.65) reduces the counted amount
    assert o["536381"][:2] == (16.45, "paid")
    assert o["536381"][4]["gross_amount"] == 21.1
    # matched by invoice number without the prefix
    assert o["536390"][:2] == (51.0, "paid") and o["536390"][4]["returns"] == ["C536390"]
    # a discount cancellation with no original in the file is kept, not netted
    assert o["C536379"][:2] == (27.5, "cancelled") and o["C536379"][4]["return_of"] == []
    assert any("1 return row(s) matched no order" in n for n in retail.notes)
    # revenue from paid orders is net of returns: 139.12 + 22.20 + 109.28 + 40.35 + 17.85
    # + 234.00 + (21.10 - 4.65) + (68.00 - 17.00)
    paid = rows(store, "SELECT round(sum(amount), 2) FROM orders WHERE status = 'paid'")[0][0]
    assert paid == 630.25


def test_every_quarantined_line_has_its_reason(store, retail):
    reasons = {p.row: p.reason for p in retail.problems}
    assert set(reasons) == {28, 29, 30}
    assert reasons[28].startswith("paid_at: line-item rows of order_id '536400' disagree by more")
    assert reasons[29].startswith("order_id '536400' rejected because row 28: paid_at: ")
    assert reasons[30] == "customer_id is empty"
    text = Path(retail.quarantine_path).read_text("utf-8-sig")
    assert all(line.split(",")[-1] for line in text.splitlines()[1:])


def test_reimport_is_idempotent(store, opts, retail):
    again = import_file(store, "orders", RETAIL, mapping="online_retail", options=opts)
    again.check()
    assert (again.rows_imported, again.rows_duplicate, again.rows_quarantined) == (0, 28, 3)


def _cdnow_master_layout(tmp_path: Path) -> Path:
    """The CDNOW sample in the master file's layout: header, master id, date, CDs, dollars
    (the sample's rows are the master rows of its customers; its second column is dropped)."""
    lines = [" customer_id  date number_of_cds  dollar_value"]
    for line in CDNOW_SAMPLE.read_text().splitlines():
        if line.strip():
            lines.append(re.sub(r"^(\s*\S+)\s+\S+", r"\1", line))
    path = tmp_path / "CDNOW_master.txt"
    path.write_bytes("\r\n".join(lines).encode() + b"\r\n")
    return path


def test_cdnow_master_layout(tmp_path, store, opts):
    path = _cdnow_master_layout(tmp_path)
    records = [tuple(ln.split()) for ln in path.read_text().splitlines()[1:]]
    identical = sum(n - 1 for n in Counter(records).values())
    assert (len(records), identical) == (6919, 21)
    rep = import_file(store, "orders", path, mapping="cdnow_master", options=opts)
    rep.check()
    assert (rep.rows_read, rep.rows_imported, rep.rows_duplicate) == (6919, 6919, 0)
    assert rep.customers_created == 2357
    assert any(n.startswith("columns separated by whitespace (sniffed") for n in rep.notes)
    assert any(n.startswith("21 row(s) identical to an earlier row") for n in rep.notes)
    assert rows(store, "SELECT count(DISTINCT order_id), round(sum(amount), 2) FROM orders") == [
        (6919, round(sum(float(r[3]) for r in records), 2))
    ]
    first = rows(store, "SELECT customer_id, paid_at, item_count, amount FROM orders ORDER BY _row")
    assert first[0] == ("00004", dt.datetime(1997, 1, 1), 2, 29.33)
    again = import_file(store, "orders", path, mapping="cdnow_master", options=opts)
    assert (again.rows_imported, again.rows_duplicate) == (0, 6919)


def test_returns_without_line_items(tmp_path, store, opts):
    f = tmp_path / "o.csv"
    f.write_text(
        "order_id,customer_id,paid_at,amount,status\n"
        "o1,c1,2024-01-01,100,paid\n"
        "Ro1,c1,2024-01-02,-40,refund\n"  # partial refund of o1 (id without the prefix)
        "o2,c2,2024-01-01,50,paid\n"
        "o2b,c2,2024-01-03,50,refund\n"  # refund status, no prefix: no original found
        "o3,c3,2024-01-01,-7,paid\n"  # negative amount: a return
    )
    mapping = {"returns": {"id_prefix": "R", "statuses": ["refund"], "full": "cancelled"}}
    rep = import_file(store, "orders", f, mapping=mapping, options=opts)
    rep.check()
    assert (rep.rows_imported, rep.rows_quarantined) == (5, 0)
    o = _orders(store)
    assert o["o1"][:2] == (60.0, "paid") and o["o1"][4]["refunded_amount"] == 40.0
    assert o["Ro1"][:2] == (40.0, "cancelled") and o["Ro1"][4]["return_of"] == ["o1"]
    assert o["o2"][:2] == (50.0, "paid")
    assert o["o2b"][:2] == (50.0, "cancelled") and o["o3"][:2] == (7.0, "cancelled")
    assert any("2 return row(s) matched no order of this file (by id)" in n for n in rep.notes)
