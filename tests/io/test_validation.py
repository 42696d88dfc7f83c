"""Value rules: every failure is a Problem with file, row, column, value and reason."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from io_testkit import ORDERS_HEADER, REF, rows, snapshot, write

from tierwise.errors import ImportValidationError
from tierwise.io import ImportOptions, import_file


def _orders(tmp_path: Path, body: str, name: str = "orders.csv") -> Path:
    return write(tmp_path / name, ORDERS_HEADER + body)


def test_each_bad_value_is_a_problem(tmp_path, store, opts):
    f = _orders(
        tmp_path,
        (
            "o1,c1,2024-03-05 14:22:10,12.50,paid\n"
            "o2,c1,2024/13/45,12.50,paid\n"
            "o3,c1,2024-03-05,-5.00,paid\n"
            "o4,c1,2024-03-05,NaN,paid\n"
            "o5,,2024-03-05,1,paid\n"
            "o6,c1,2024-03-05,1,foo\n"
            "o7,c1,2024-03-05,inf,paid\n"
            "o8,c1,2024-02-30 10:00:00,1,paid\n"
            "o9,c1,1899-12-31,1,paid\n"
            "o10,c1,2024-03-05,1_000,paid\n"
            ",c1,2024-03-05,1,paid\n"
        ),
    )
    rep = import_file(store, "orders", f, options=opts)
    got = [(p.row, p.column, p.value, p.reason) for p in rep.problems]
    assert got == [
        (3, "paid_at", "2024/13/45", "paid_at: '2024/13/45' does not match ISO 8601"),
        (4, "amount", "-5.00", "amount: '-5.00' is negative"),
        (5, "amount", "NaN", "amount: 'NaN' is NaN (not a number)"),
        (6, "customer_id", None, "customer_id is empty"),
        (
            7,
            "status",
            "foo",
            "status: 'foo' is not one of paid, refunded, cancelled (add a value mapping)",
        ),
        (8, "amount", "inf", "amount: 'inf' is not a finite number"),
        (
            9,
            "paid_at",
            "2024-02-30 10:00:00",
            "paid_at: '2024-02-30 10:00:00' does not match ISO 8601",
        ),
        (10, "paid_at", "1899-12-31", "paid_at: '1899-12-31' is before 1900 (two-digit year?)"),
        (11, "amount", "1_000", "amount: '1_000' is not a number"),
        (12, "order_id", None, "order_id is empty"),
    ]
    assert all(p.file == "orders.csv" for p in rep.problems)
    assert (rep.rows_read, rep.rows_imported, rep.rows_quarantined) == (11, 1, 10)


def test_quarantine_file(tmp_path, store, opts):
    f = _orders(
        tmp_path, "o1,c1,2024-03-05,1,paid\no2,c1,2024-03-05,-1,bad\n", name="店铺 订单.csv"
    )
    rep = import_file(store, "orders", f, options=opts)
    q = Path(rep.quarantine_path)
    assert q.parent == tmp_path / "quarantine"
    assert q.name.startswith("orders-") and q.name.endswith("-店铺_订单.csv")
    raw = q.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == '"order_id","customer_id","paid_at","amount","status","_row","_reasons"'
    assert lines[1].startswith(
        '"o2","c1","2024-03-05","\'-1","bad",3,"amount: \'-1\' is negative; status:'
    )  # the apostrophe keeps a spreadsheet from reading "-1" as a formula
    assert len(lines) == 2
    assert not list(q.parent.glob(".*.tmp"))


def test_fixed_quarantine_file_can_be_imported_again(tmp_path, store, opts):
    f = _orders(
        tmp_path, "o1,c1,2024-03-05,1,paid\no2,c1,2024-03-05,-1,paid\n=o3,c1,2024-03-05,-2,paid\n"
    )
    rep = import_file(store, "orders", f, options=opts)
    q = Path(rep.quarantine_path)
    q.write_bytes(q.read_bytes().replace(b'"\'-1"', b'"1"').replace(b'"\'-2"', b'"2"'))
    rep2 = import_file(store, "orders", q, options=opts)
    assert (rep2.rows_imported, rep2.rows_quarantined) == (2, 0)
    assert rows(store, "SELECT order_id FROM orders WHERE amount = 2") == [("=o3",)]
    assert any("apostrophe" in n for n in rep2.notes)
    assert sorted(rep2.columns_ignored) == ["_reasons", "_row"]
    assert rows(store, "SELECT attributes FROM orders WHERE order_id = 'o2'") == [(None,)]


def test_quarantine_dir_option(tmp_path, store, opts):
    f = _orders(tmp_path, "o1,c1,2024-03-05,x,paid\n")
    rep = import_file(
        store, "orders", f, options=opts.model_copy(update={"quarantine_dir": tmp_path / "q"})
    )
    assert Path(rep.quarantine_path).parent == tmp_path / "q"


def test_missing_required_column_leaves_store_untouched(tmp_path, store, opts):
    import_file(
        store, "orders", _orders(tmp_path, "o1,c1,2024-03-05,1,paid\n", "ok.csv"), options=opts
    )
    before = snapshot(store)
    f = write(
        tmp_path / "bad.csv", "order_id,buyer,paid_at,amount,status\no2,c1,2024-03-05,1,paid\n"
    )
    with pytest.raises(ImportValidationError) as exc:
        import_file(store, "orders", f, options=opts)
    assert str(exc.value) == (
        "bad.csv: missing required column customer_id for orders; "
        "file columns: order_id, buyer, paid_at, amount, status"
    )
    assert snapshot(store) == before
    assert not (tmp_path / "quarantine").exists()


def test_missing_mapped_required_column_names_the_expected_header(tmp_path, store, opts):
    f = write(tmp_path / "t.csv", "订单编号,买家,付款时间,金额,状态\n1,a,2024-03-05,1,paid\n")
    mapping = {
        "columns": {
            "订单编号": "order_id",
            "买家会员名": "customer_id",
            "付款时间": "paid_at",
            "金额": "amount",
            "状态": "status",
        }
    }
    with pytest.raises(
        ImportValidationError, match=r"customer_id \(mapping expects '买家会员名'\)"
    ):
        import_file(store, "orders", f, mapping=mapping, options=opts)


@pytest.mark.parametrize("policy", ["keep", "ignore"])
def test_unknown_columns_kept_or_ignored_and_said_either_way(tmp_path, store, opts, policy):
    f = write(
        tmp_path / "o.csv",
        ORDERS_HEADER.strip() + ',备注,Note "x"\no1,c1,2024-03-05,1,paid,送礼 "急",\\ back\n',
    )
    rep = import_file(
        store, "orders", f, options=opts.model_copy(update={"unknown_columns": policy})
    )
    attrs = rows(store, "SELECT attributes FROM orders")[0][0]
    if policy == "keep":
        assert rep.columns_kept == ["备注", 'Note "x"'] and rep.columns_ignored == []
        assert json.loads(attrs) == {"备注": '送礼 "急"', 'Note "x"': "\\ back"}
    else:
        assert rep.columns_kept == [] and rep.columns_ignored == ["备注", 'Note "x"']
        assert attrs is None
    assert dict(rep.table_rows())["ignored" if policy == "ignore" else "kept in attributes"] != "-"


def test_declared_formats(tmp_path, store, opts):
    f = write(
        tmp_path / "o.csv",
        "单号,客户,时间,金额,状态,券\n"
        'A1,c1,2024/3/5 14:22,"¥1,234.50",成功,是\n'
        "A2,c1,05.03.2024,US$ 7,关闭,否\n"
        "A3,c1,2024/3/5 14:22,1.234,50,成功,Y\n",
    )
    mapping = {
        "columns": {
            "单号": "order_id",
            "客户": "customer_id",
            "时间": "paid_at",
            "金额": "amount",
            "状态": "status",
            "券": "coupon_used",
        },
        "values": {"status": {"成功": "paid", "关闭": "cancelled"}},
        "dates": {"paid_at": ["%Y/%m/%d %H:%M", "%d.%m.%Y"]},
        "numbers": {"amount": {"thousands": ",", "currency": ["¥", "US$"]}},
    }
    rep = import_file(store, "orders", f, mapping=mapping, options=opts)
    assert rows(
        store, "SELECT order_id, paid_at, amount, status, coupon_used FROM orders ORDER BY 1"
    ) == [
        ("A1", dt.datetime(2024, 3, 5, 14, 22), 1234.5, "paid", True),
        ("A2", dt.datetime(2024, 3, 5), 7.0, "cancelled", False),
    ]
    # "1.234,50" split into two fields: the row is ragged and says so
    assert rep.problems[0].row == 4 and "fields" in rep.problems[0].reason


def test_undeclared_separators_and_currency_get_a_hint(tmp_path, store, opts):
    f = _orders(tmp_path, 'o1,c1,2024-03-05,"1,234.50",paid\no2,c1,2024-03-05,¥12,paid\n')
    rep = import_file(store, "orders", f, options=opts)
    assert [p.reason for p in rep.problems] == [
        "amount: '1,234.50' is not a number (declare numbers.amount.thousands in the mapping)",
        "amount: '¥12' is not a number (declare numbers.amount.currency in the mapping)",
    ]


def test_decimal_comma(tmp_path, store, opts):
    f = write(
        tmp_path / "o.csv", (ORDERS_HEADER.replace(",", ";") + "o1;c1;2024-03-05;1.234,50;paid\n")
    )
    mapping = {"numbers": {"amount": {"thousands": ".", "decimal": ","}}}
    import_file(store, "orders", f, mapping=mapping, options=opts)
    assert rows(store, "SELECT amount FROM orders") == [(1234.5,)]


def test_timestamps_after_the_import_date(tmp_path, store):
    f = _orders(tmp_path, "o1,c1,2024-06-02 11:00:00,1,paid\no2,c1,2024-06-02 12:00:01,1,paid\n")
    rep = import_file(store, "orders", f, options=ImportOptions(reference_time=REF))
    assert rep.rows_imported == 1
    assert rep.problems[0].row == 3
    assert rep.problems[0].reason == (
        "paid_at: '2024-06-02 12:00:01' is after the import time 2024-06-01 12:00:00 "
        "(+ 1 day tolerance)"
    )
    rep = import_file(
        store,
        "orders",
        f,
        options=ImportOptions(reference_time=REF, future_tolerance=dt.timedelta(0)),
    )
    assert (rep.rows_duplicate, rep.rows_quarantined) == (0, 2)


def test_future_check_defaults_to_now(tmp_path, store):
    later = dt.datetime.now() + dt.timedelta(days=3)
    f = _orders(tmp_path, f"o1,c1,{later:%Y-%m-%d %H:%M:%S},1,paid\no2,c1,2024-01-01,1,paid\n")
    rep = import_file(store, "orders", f)
    assert (rep.rows_imported, rep.rows_quarantined) == (1, 1)
    assert "is after the import time" in rep.problems[0].reason


def test_time_zone_offsets(tmp_path, store, opts):
    f = _orders(
        tmp_path,
        (
            "o1,c1,2024-03-05 14:22:10 +0800,1,paid\n"
            "o2,c1,2024-03-05T06:22:10Z,1,paid\n"
            "o3,c1,2024-03-05T14:22:10.250+08:00,1,paid\n"
        ),
    )
    import_file(store, "orders", f, options=opts)
    assert rows(store, "SELECT paid_at FROM orders ORDER BY 1") == [
        (dt.datetime(2024, 3, 5, 6, 22, 10),),
        (dt.datetime(2024, 3, 5, 14, 22, 10),),
        (dt.datetime(2024, 3, 5, 14, 22, 10, 250000),),
    ]
    store.con.execute("DELETE FROM orders")
    import_file(store, "orders", f, options=opts.model_copy(update={"timezone": "Asia/Shanghai"}))
    assert rows(store, "SELECT paid_at FROM orders ORDER BY 1") == [
        (dt.datetime(2024, 3, 5, 14, 22, 10),),
        (dt.datetime(2024, 3, 5, 14, 22, 10),),
        (dt.datetime(2024, 3, 5, 14, 22, 10, 250000),),
    ]


def test_booleans_and_item_counts(tmp_path, store, opts):
    f = write(
        tmp_path / "o.csv",
        ORDERS_HEADER.strip() + ",coupon_used,item_count\n"
        "o1,c1,2024-03-05,1,paid,是,3\n"
        "o2,c1,2024-03-05,1,paid,N,3.0\n"
        "o3,c1,2024-03-05,1,paid,,\n"
        "o4,c1,2024-03-05,1,paid,TRUE,-2\n",
    )
    rep = import_file(store, "orders", f, options=opts)
    assert rows(store, "SELECT coupon_used, item_count FROM orders ORDER BY order_id") == [
        (True, 3),
        (False, 3),
        (None, None),
    ]
    assert [p.reason for p in rep.problems] == ["item_count: '-2' is negative"]


def test_attributes_column_must_hold_json_objects_and_merges(tmp_path, store, opts):
    f = write(
        tmp_path / "c.csv",
        'customer_id,attributes,city_note\nc1,"{""skin"": ""dry""}",近地铁\nc2,[1],\nc3,,x\n',
    )
    rep = import_file(store, "customers", f, options=opts)
    assert [p.reason for p in rep.problems] == ["attributes: '[1]' is not a JSON object"]
    got = dict(rows(store, "SELECT customer_id, attributes FROM customers"))
    assert json.loads(got["c1"]) == {"skin": "dry", "city_note": "近地铁"}
    assert json.loads(got["c3"]) == {"city_note": "x"}
