"""The shipped example mappings, end to end."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from io_testkit import rows

from tierwise.io import import_file, load_mapping
from tierwise.io.mapping import shipped_mappings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"


def _import(store, opts, entity: str, stem: str, suffix: str = ".csv"):
    return import_file(store, entity, EXAMPLES / f"{stem}{suffix}", mapping=stem, options=opts)


@pytest.mark.parametrize("name", sorted(shipped_mappings()))
def test_shipped_mappings_load(name):
    m = load_mapping(name)
    assert m.entity in ("customers", "orders", "events")
    assert m.source == name


def test_taobao_orders_gb18030(store, opts):
    raw = (EXAMPLES / "taobao_orders.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert "订单编号" in raw.decode("gb18030")
    rep = _import(store, opts, "orders", "taobao_orders")
    assert rep.encoding == "gb18030"
    assert (rep.rows_read, rep.rows_imported, rep.rows_quarantined, rep.customers_created) == (
        7,
        6,
        1,
        4,
    )
    assert rep.columns_kept == ["店铺名称"]
    assert rep.columns_ignored == ["收货人姓名", "收货地址", "联系手机"]
    assert [(p.row, p.column, p.value) for p in rep.problems] == [(7, "订单状态", "等待买家付款")]
    got = rows(
        store,
        "SELECT order_id, customer_id, paid_at, amount, status, item_count, coupon_used, "
        "channel FROM orders ORDER BY order_id",
    )
    assert got[0] == (
        "3791234567890123451",
        "tb_小美2019",
        dt.datetime(2024, 3, 5, 14, 22, 10),
        128.0,
        "paid",
        2,
        True,
        "taobao",
    )
    assert got[1][1:4] == ("阿𠮷的生活馆", dt.datetime(2024, 3, 6, 9, 5, 33), 1299.0)
    assert got[2][2:5] == (dt.datetime(2024, 3, 10, 20), 0.0, "cancelled")  # closed: creation time
    assert got[3][3:5] == (59.9, "refunded")
    assert got[5][2] == dt.datetime(2024, 3, 21, 12, 31)
    attrs = json.loads(
        rows(store, "SELECT attributes FROM orders WHERE order_id LIKE '%451'")[0][0]
    )
    assert attrs["shop_discount"] == "满100减10元:省10.00元" and attrs["店铺名称"] == "花间小铺"


def test_shopify_orders_line_items(store, opts):
    rep = _import(store, opts, "orders", "shopify_orders")
    assert (rep.rows_read, rep.rows_imported, rep.rows_quarantined, rep.rows_combined) == (
        8,
        7,
        1,
        3,
    )
    assert [(p.row, p.value) for p in rep.problems] == [(6, "pending")]
    got = rows(
        store,
        "SELECT order_id, customer_id, paid_at, amount, status, item_count, coupon_used, "
        "channel FROM orders ORDER BY order_id",
    )
    assert got == [
        (
            "#1001",
            "amy@example.com",
            dt.datetime(2024, 3, 5, 14, 22, 10),
            118.0,
            "paid",
            3,
            True,
            "store",
        ),
        (
            "#1002",
            "ben@example.com",
            dt.datetime(2024, 3, 7, 9, 15),
            1250.0,
            "refunded",
            1,
            False,
            "store",
        ),
        (
            "#1003",
            "amy@example.com",
            dt.datetime(2024, 3, 9, 18),
            45.0,
            "cancelled",
            1,
            False,
            "offline",
        ),
        (
            "#1005",
            "dan@example.com",
            dt.datetime(2024, 3, 11, 16, 45, 30),
            98.0,
            "paid",
            4,
            True,
            "store",
        ),
    ]
    again = _import(store, opts, "orders", "shopify_orders")
    assert (again.rows_duplicate, again.rows_quarantined) == (7, 1)


def test_youzan_customers(store, opts):
    rep = _import(store, opts, "customers", "youzan_customers")
    assert rep.encoding == "utf-8-sig"
    assert (rep.rows_imported, rep.rows_quarantined) == (3, 1)
    assert rep.problems[0].reason.startswith(
        "first_seen: '2024/13/01 09:00' does not match %Y/%m/%d %H:%M"
    )
    got = rows(
        store,
        "SELECT customer_id, first_seen, gender, city, member_level, referrer_id, attributes "
        "FROM customers ORDER BY 1",
    )
    assert got[0][:6] == (
        "yz1001",
        dt.datetime(2023, 11, 2, 10, 15),
        "F",
        "杭州",
        "V2 黄金会员",
        None,
    )
    assert json.loads(got[0][6]) == {
        "birthday": "1995-06-01",
        "points": "320",
        "tags": "敏感肌;回购",
        "skin_type": "混合偏干",
        "heard_from": "朋友推荐",
    }
    assert got[2][2] is None  # 未知 -> empty


def test_douyin_events_then_taobao(store, opts):
    rep = _import(store, opts, "events", "douyin_events", ".jsonl")
    assert (rep.rows_imported, rep.rows_duplicate, rep.customers_created) == (5, 1, 3)
    assert rows(store, "SELECT DISTINCT channel FROM events") == [("douyin",)]
    assert _import(store, opts, "events", "douyin_events", ".jsonl").rows_duplicate == 6
