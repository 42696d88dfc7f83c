"""Distributor attribution (first/last touch, window), commission rules and the report."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from tierwise.backends import duckdb_tables
from tierwise.config import CommissionRule, Config
from tierwise.distributors import attribute_orders, commission_rule, distributor_report
from tierwise.errors import ConfigError
from tierwise.features import cutoff_of
from tierwise.store import Store
from tinyshop import event, insert, order, ts

AS_OF = dt.date(2024, 6, 30)


def _store() -> Store:
    s = Store(":memory:")
    insert(s, "customers", [
        {"customer_id": "d1", "member_level": "gold"},
        {"customer_id": "d2", "member_level": "basic"},
        {"customer_id": "a"}, {"customer_id": "b"}, {"customer_id": "c"},
    ])  # fmt: skip
    insert(
        s,
        "events",
        [
            event("l1", "d1", "2024-05-01 10:00", "referral", target_customer_id="a"),
            event("l2", "a", "2024-05-10 10:00", "view", attributes='{"distributor_id": "d2"}'),
            event("l3", "d1", "2024-01-01 10:00", "referral", target_customer_id="b"),
        ],
    )
    insert(s, "orders", [
        order("o1", "a", "2024-05-12 10:00", 100.0, attributes='{"品类": "母婴"}'),
        order("o2", "a", "2024-06-20 10:00", 200.0, attributes='{"品类": "美妆"}'),
        order("o3", "b", "2024-05-01 10:00", 50.0),
        order("o4", "c", "2024-05-02 10:00", 80.0,
              attributes='{"distributor_id": "d2", "品类": "母婴"}'),
        order("o5", "c", "2024-05-03 10:00", 40.0, status="refunded",
              attributes='{"distributor_id": "d2"}'),
        order("o6", "a", "2024-07-02 10:00", 999.0, attributes='{"distributor_id": "d1"}'),
    ])  # fmt: skip
    return s


def _orders(overrides=None) -> pd.DataFrame:
    cfg = Config.default().with_overrides({"distributors": overrides or {}}).distributors
    return attribute_orders(duckdb_tables(_store()), cutoff_of(AS_OF), cfg).set_index("order_id")


def test_last_touch_within_the_window():
    o = _orders()
    assert list(o.index) == ["o1", "o2", "o3", "o4"]  # paid, up to the as-of day
    assert (o.loc["o1", "distributor_id"], o.loc["o1", "attribution"]) == ("d2", "last_touch")
    assert o.loc["o1", "touch_row"] == "l2"
    assert o.loc["o1", "touch_at"] == ts("2024-05-10 10:00")
    assert pd.isna(o.loc["o2", "distributor_id"])  # its touches are older than 30 days
    assert pd.isna(o.loc["o3", "distributor_id"])  # the referral is 4 months before
    assert (o.loc["o4", "distributor_id"], o.loc["o4", "attribution"]) == ("d2", "order")


def test_first_touch_and_a_longer_window():
    o = _orders({"attribution": "first_touch", "window_days": 60})
    assert (o.loc["o1", "distributor_id"], o.loc["o1", "touch_row"]) == ("d1", "l1")
    assert o.loc["o2", "distributor_id"] == "d1"  # 50 days after the referral
    assert o.loc["o4", "attribution"] == "order"  # a named distributor wins over touches


def test_commission_rules_by_category_level_and_order():
    rules = [
        {"rate": 0.2, "category": "母婴", "level": "gold"},
        {"rate": 0.1, "order": "first"},
        {"rate": 0.03, "order": "repeat", "category": ["美妆"]},
    ]
    o = _orders({"attribution": "first_touch", "window_days": 60, "commission": rules})
    assert (o.loc["o1", "rule"], o.loc["o1", "commission"]) == (0, 20.0)
    assert (o.loc["o2", "rule"], o.loc["o2", "commission"]) == (2, 6.0)
    assert (o.loc["o4", "rule"], o.loc["o4", "rate"]) == (1, 0.1)  # d2 is not gold
    assert pd.isna(o.loc["o3", "commission"])
    parsed = [CommissionRule(**r) for r in rules]
    assert commission_rule(parsed, category="数码", level=None, first=False) is None


def test_report_per_distributor_with_influence():
    o = attribute_orders(duckdb_tables(_store()), cutoff_of(AS_OF),
                         Config.default().distributors)  # fmt: skip
    influence = pd.DataFrame({"customer_id": ["d2"], "influence_score": [1.5],
                              "influence_reach": [2]})  # fmt: skip
    rep = distributor_report(o, influence).set_index("distributor_id")
    assert rep.loc["d2"].to_dict() == {
        "customers": 2, "orders": 2, "revenue": 180.0, "first_orders": 2,
        "repurchase_rate": 0.5, "commission": 27.0, "influence_score": 1.5,
        "influence_reach": 2,
    }  # fmt: skip
    empty = distributor_report(o[o.distributor_id.isna()])
    assert empty.empty and "commission" in empty.columns


def test_bad_distributor_config_is_named():
    with pytest.raises(ConfigError, match=r"distributors\.order_fields\[0\]"):
        _orders({"order_fields": ["nope"]})
    with pytest.raises(ConfigError, match="distributors"):
        Config.default().with_overrides({"distributors": {"attribution": "middle_touch"}})
    with pytest.raises(ConfigError, match="rate"):
        Config.default().with_overrides({"distributors": {"commission": [{"rate": 1.5}]}})


def test_malformed_order_attributes_are_read_as_no_distributor():
    s = _store()
    insert(s, "orders", [order("o7", "b", "2024-06-01 10:00", 10.0, attributes="not json")])
    o = attribute_orders(duckdb_tables(s), cutoff_of(AS_OF), Config.default().distributors)
    row = o.set_index("order_id").loc["o7"]
    assert pd.isna(row.distributor_id) and row.amount == 10.0
