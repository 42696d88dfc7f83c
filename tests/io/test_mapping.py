"""Mapping files: loading, validation errors, and what each setting does."""

from __future__ import annotations

import datetime as dt

import pytest
from io_testkit import rows, write

from tierwise.errors import ConfigError
from tierwise.io import ColumnMapping, MappingError, import_file


def _load(tmp_path, text: str) -> ColumnMapping:
    f = tmp_path / "m.yaml"
    f.write_text(text, encoding="utf-8")
    return ColumnMapping.from_yaml(f)


def test_yaml_scalars_stay_text(tmp_path):
    m = _load(
        tmp_path,
        """
entity: orders
columns: {是否用券: coupon_used}
booleans:
  coupon_used: {true: [yes, on, 1], false: [no, "0.00", 0.00], other: true}
values:
  status: {Y: paid, N: cancelled, 0: cancelled}
""",
    )
    v = m.booleans["coupon_used"]
    assert v.true == ["yes", "on", "1"] and v.false == ["no", "0.00", "0.00"] and v.other is True
    assert m.values["status"] == {"Y": "paid", "N": "cancelled", "0": "cancelled"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns: [a, b]", "columns: Input should be a valid dictionary"),
        ("colums: {a: order_id}", "colums: unknown key"),
        (
            "entity: orders\ncolumns: {a: order_idd}",
            "columns.a: 'order_idd' is not a column of orders",
        ),
        (
            "entity: orders\ndates: {amount: '%Y'}",
            "dates.amount: amount is a float column, expected timestamp",
        ),
        (
            "entity: orders\ndates: {paid_at: 'YYYY-MM-DD'}",
            "dates.paid_at: 'YYYY-MM-DD' is not a strftime pattern",
        ),
        ("entity: orders\ndates: {paid_at: '%Y-%m-%d %z'}", "drop %z/%Z"),
        (
            "entity: orders\ndates: {paid_at: '%Y-%Q'}",
            "dates.paid_at: '%Y-%Q' is not a valid pattern",
        ),
        (
            "entity: orders\nnumbers: {amount: {thousands: '.'}}",
            "numbers.amount.thousands: must be non-empty and differ",
        ),
        (
            "entity: orders\nnumbers: {amount: {currency: ['1']}}",
            "numbers.amount.currency: '1' is not a currency symbol",
        ),
        (
            "entity: orders\nbooleans: {coupon_used: {true: [x], false: [X]}}",
            "'x' is listed as both true and false",
        ),
        (
            "entity: orders\nconstants: {order_id: x}",
            "constants.order_id: the key order_id cannot be",
        ),
        (
            "entity: orders\ncolumns: {ch: channel}\nconstants: {channel: x}",
            "constants.channel: column is also mapped",
        ),
        ("entity: orders\ncomputed_id: [attributes]", "computed_id: attributes cannot be part"),
        (
            "entity: orders\ncolumns: {a: attributes.k, b: attributes.k}",
            "attributes key 'k' is already filled from 'a'",
        ),
        (
            "entity: orders\nline_items: {sum: [status]}",
            "line_items.sum: status is a string column",
        ),
        ("entity: shops", "entity: unknown entity 'shops'"),
        ("columns:\n  a: order_id\n  a: amount", "duplicate key 'a'"),
        ("columns: {a: order_id", "invalid YAML at line"),
        ("", "file is empty"),
    ],
)
def test_invalid_mappings_say_file_key_and_why(tmp_path, text, message):
    with pytest.raises(MappingError) as exc:
        _load(tmp_path, text)
    msg = str(exc.value)
    assert msg.startswith(f"mapping {tmp_path / 'm.yaml'}: ")
    assert message in msg and "\n" not in msg
    assert isinstance(exc.value, ConfigError)


def test_mapping_for_another_entity(tmp_path, store):
    m = _load(tmp_path, "entity: customers\ncolumns: {会员: customer_id}")
    f = write(tmp_path / "o.csv", "x\n1\n")
    with pytest.raises(MappingError, match="entity: this mapping is for customers, not orders"):
        import_file(store, "orders", f, mapping=m)


def test_missing_mapping_file(tmp_path, store):
    with pytest.raises(MappingError, match=r"nope\.yaml: file not found"):
        import_file(store, "orders", tmp_path / "o.csv", mapping=tmp_path / "nope.yaml")


def test_bad_constant_is_a_mapping_error(tmp_path, store, opts):
    f = write(tmp_path / "o.csv", "order_id,customer_id,paid_at,amount\no1,c1,2024-03-05,1\n")
    with pytest.raises(MappingError, match=r"constants\.status: status: 'done' is not one of"):
        import_file(store, "orders", f, mapping={"constants": {"status": "done"}}, options=opts)
    assert store.count("orders") == 0


def test_sources_values_constants_defaults(tmp_path, store, opts):
    f = write(
        tmp_path / "o.csv",
        (
            "单号,买家,付款时间,创建时间,金额,状态,件数,备注,电话\n"
            "1,a,,2024-03-01 10:00:00,5,关闭,,x,138\n"
            "2,b,2024-03-02 11:00:00,2024-03-02 10:59:00,6,成功,2,,139\n"
            "3,c,2024-03-03 12:00:00,,7,待付款,1,,\n"
        ),
    )
    mapping = {
        "columns": {
            "单号": "order_id",
            "买家": "customer_id",
            "付款时间": "paid_at",
            "创建时间": "paid_at",
            "金额": "amount",
            "状态": "status",
            "件数": "item_count",
            "备注": "attributes.note",
            "电话": None,
        },
        "values": {"status": {"成功": "paid", "关闭": "cancelled", "待付款": None}},
        "constants": {"channel": "taobao"},
        "defaults": {"item_count": "1"},
    }
    rep = import_file(store, "orders", f, mapping=mapping, options=opts)
    assert rep.columns_ignored == ["电话"] and rep.columns_kept == []
    assert rep.columns_mapped["创建时间"] == "paid_at"
    assert [(p.row, p.reason) for p in rep.problems] == [(4, "status is empty")]
    assert rows(
        store,
        "SELECT order_id, paid_at, status, item_count, channel, attributes FROM orders ORDER BY 1",
    ) == [
        ("1", dt.datetime(2024, 3, 1, 10), "cancelled", 1, "taobao", '{"note":"x"}'),
        ("2", dt.datetime(2024, 3, 2, 11), "paid", 2, "taobao", None),
    ]


def test_value_mapped_to_an_invalid_value_is_shown(tmp_path, store, opts):
    f = write(
        tmp_path / "o.csv", "order_id,customer_id,paid_at,amount,status\no1,c1,2024-03-05,1,OK\n"
    )
    rep = import_file(
        store, "orders", f, mapping={"values": {"status": {"OK": "payed"}}}, options=opts
    )
    assert rep.problems[0].reason == (
        "status: 'OK' (mapped to 'payed') is not one of paid, refunded, cancelled "
        "(add a value mapping)"
    )


def test_line_items(tmp_path, store, opts):
    f = write(
        tmp_path / "s.csv",
        (
            "Name,Email,Paid at,Created at,Total,Status,Qty,Item\n"
            "#1,a@x,2024-03-05 14:22:10 +0800,2024-03-05 14:20:00 +0800,10.00,paid,2,shirt\n"
            "#1,a@x,,2024-03-05 14:20:00 +0800,,,1,socks\n"
            "#2,b@x,2024-03-06 10:00:00 +0800,2024-03-06 09:00:00 +0800,5.00,paid,1,hat\n"
            "#2,c@x,,2024-03-06 09:00:00 +0800,,,1,cap\n"
            "#3,d@x,,2024-03-07 09:00:00 +0800,3.00,paid,1,pin\n"
            "#4,e@x,,,,paid,x,bag\n"
            "#4,e@x,,,,,1,box\n"
        ),
    )
    mapping = {
        "columns": {
            "Name": "order_id",
            "Email": "customer_id",
            "Paid at": "paid_at",
            "Created at": "paid_at",
            "Total": "amount",
            "Status": "status",
            "Qty": "item_count",
            "Item": None,
        },
        "line_items": {"sum": ["item_count"]},
    }
    rep = import_file(store, "orders", f, mapping=mapping, options=opts)
    assert (rep.rows_read, rep.rows_imported, rep.rows_quarantined, rep.rows_combined) == (
        7,
        3,
        4,
        3,
    )
    rep.check()
    assert rows(store, "SELECT order_id, paid_at, amount, item_count FROM orders ORDER BY 1") == [
        ("#1", dt.datetime(2024, 3, 5, 14, 22, 10), 10.0, 3),
        ("#3", dt.datetime(2024, 3, 7, 9), 3.0, 1),
    ]
    got = [(p.row, p.reason) for p in rep.problems]
    assert got == [
        (
            4,
            "customer_id: line-item rows of order_id '#2' disagree "
            "('b@x' at row 4, 'c@x' at row 5)",
        ),
        (
            5,
            "order_id '#2' rejected because row 4: customer_id: line-item rows of "
            "order_id '#2' disagree ('b@x' at row 4, 'c@x' at row 5)",
        ),
        (7, "item_count: 'x' is not a whole number"),
        (8, "order_id '#4' rejected because row 7: item_count: 'x' is not a whole number"),
    ]


def test_mapping_object_and_dict_are_accepted(tmp_path, store, opts):
    f = write(tmp_path / "c.csv", "ID,城市\nc1,杭州\n")
    m = ColumnMapping(columns={"ID": "customer_id", "城市": "city"})
    assert import_file(store, "customers", f, mapping=m, options=opts).rows_imported == 1
    assert (
        import_file(
            store,
            "customers",
            f,
            mapping={"columns": {"ID": "customer_id", "城市": "city"}},
            options=opts,
        ).rows_duplicate
        == 1
    )


def test_constant_and_computed_id_replace_same_named_columns(tmp_path, store, opts):
    f = write(
        tmp_path / "e.csv",
        "event_id,customer_id,occurred_at,event_type,channel\nx1,c1,2024-03-05,like,web\n",
    )
    mapping = {
        "constants": {"channel": "douyin"},
        "computed_id": ["customer_id", "occurred_at", "event_type"],
    }
    rep = import_file(store, "events", f, mapping=mapping, options=opts)
    assert rep.columns_ignored == ["event_id", "channel"]
    assert rep.notes == [
        "computed_id for event_id replaces the file's column 'event_id'",
        "the constant for channel replaces the file's column 'channel'",
    ]
    ((eid, channel),) = rows(store, "SELECT event_id, channel FROM events")
    assert channel == "douyin" and len(eid) == 32
