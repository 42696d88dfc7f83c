"""Features worked out by hand on the tiny shop; point-in-time; invariants."""

from __future__ import annotations

import datetime as dt

import ibis
import pytest

from tierwise.backends import duckdb_tables
from tierwise.config import Config
from tierwise.features import customer_features, feature_columns
from tinyshop import AS_OF, insert, order


def features(store, as_of=AS_OF, cfg=None):
    t = duckdb_tables(store)
    cfg = cfg or Config.default().features
    expr = customer_features(t["customers"], t["orders"], t["events"], as_of, cfg)
    return expr.to_pandas().set_index("customer_id")


def test_columns_follow_the_declared_order(tiny_store):
    cfg = Config.default().features
    t = duckdb_tables(tiny_store)
    expr = customer_features(t["customers"], t["orders"], t["events"], AS_OF, cfg)
    assert expr.columns == tuple(feature_columns(cfg))


def test_buyer_features_by_hand(tiny_store):
    f = features(tiny_store).loc["loyal"]
    assert f.orders == 3 and f.order_days == 3 and f.refunds == 1
    assert f.monetary_total == 3300.0 and f.monetary_avg == 1100.0
    assert f.margin_total == 950.0 and f.margin_orders == 3  # 300 + 450 + (600 - 400)
    assert f.margin_avg == pytest.approx(950 / 3)
    assert f.recency_days == 1 and f.tenure_days == 911
    assert f.coupon_share == pytest.approx(1 / 3) and f.deal_share == pytest.approx(1 / 3)
    assert f.orders_ch_deal == 1 and f.orders_ch_store == 1 and f.orders_ch_livestream == 1
    assert f.annual_purchase_frequency == pytest.approx(3 / (911 / 365), abs=1e-4)
    # one send answered by a click 2 days later, one send not answered within 7 days
    assert f.campaign_sends_365 == 2 and f.campaign_responses_365 == 1
    assert f.campaign_response_rate == 0.5


def test_recency_and_silence(tiny_store):
    f = features(tiny_store)
    assert f.loc["lapsed", "recency_days"] == 200
    assert f.loc["lapsed", "event_recency_days"] == 100
    assert f.loc["sleeper", "recency_days"] == 500
    assert f.loc["sleeper", "event_recency_days"] != f.loc["sleeper", "event_recency_days"]  # NaN


def test_windows_and_referrals(tiny_store):
    f = features(tiny_store)
    assert f.loc["fan", "ev_share_7"] == 0  # shares on 06-10..06-15, as of 06-30
    assert f.loc["fan", "ev_share_30"] == 6 and f.loc["fan", "ev_share_90"] == 6
    assert f.loc["fan", "interactions_30"] == 6
    assert f.loc["fan", "brought_customers"] == 1  # by the referral event and the record
    assert f.loc["fan", "brought_revenue"] == 88.0
    assert f.loc["lurker", "ev_follow_30"] == 1 and f.loc["lurker", "orders"] == 0


def test_nothing_after_as_of_leaks_in(tiny_store):
    f = features(tiny_store)
    assert f.loc["future", "orders"] == 0 and f.loc["future", "events_total"] == 0
    before = features(tiny_store, dt.date(2024, 6, 28))
    assert before.loc["loyal", "orders"] == 2  # the 06-29 order is not seen yet
    assert before.loc["loyal", "recency_days"] == 58


def test_a_later_order_does_not_change_an_earlier_snapshot(tiny_store):
    first = features(tiny_store)
    insert(tiny_store, "orders", [order("late", "loyal", "2024-07-01 00:00", 10.0)])
    again = features(tiny_store)
    assert first.equals(again)


def test_customers_first_seen_after_as_of_are_left_out(tiny_store):
    insert(
        tiny_store,
        "customers",
        [{"customer_id": "tomorrow", "first_seen": dt.datetime(2024, 7, 1)}],
    )
    assert "tomorrow" not in features(tiny_store).index


def test_more_windows_are_config(tiny_store):
    cfg = Config.default().with_overrides({"features": {"windows": [3, 14]}}).features
    f = features(tiny_store, cfg=cfg)
    assert "ev_share_14" in f.columns and "events_365" in f.columns
    assert f.loc["fan", "ev_share_14"] == 0  # 06-16 .. 06-30 holds no share


def test_engine_pins_create_table_on_duckdb():
    """ibis 12 with sqlglot>=28 breaks DuckDB create_table; the pin in pyproject prevents it."""
    con = ibis.duckdb.connect()
    t = con.create_table("pins", ibis.memtable({"a": [1, 2]}).to_pyarrow())
    assert t.a.sum().to_pyarrow().as_py() == 3


# -- computing only what the config reads ------------------------------------------------
def test_a_config_reading_fewer_features_keeps_their_values(demo_store):
    from tierwise.features import needed_features

    store, as_of = demo_store
    config = Config.default().with_overrides({"features": {"profile_columns": "needed"}})
    needed = needed_features(config)
    assert "ev_view_7" not in needed and "ev_share_90" in needed  # a lifecycle rule reads it
    assert {"last_order_at", "campaign_sends_365"} <= set(needed)  # what rules derive from
    t = duckdb_tables(store)
    args = (t["customers"], t["orders"], t["events"], as_of, config.features)
    full = customer_features(*args).order_by("customer_id").to_pyarrow()
    few = customer_features(*args, columns=needed).order_by("customer_id").to_pyarrow()
    assert few.column_names == needed
    for col in needed:
        assert few[col].equals(full[col]), col


def test_only_the_rules_columns_and_ids(tiny_store):
    t = duckdb_tables(tiny_store)
    cfg = Config.default().features
    f = (
        customer_features(
            t["customers"], t["orders"], t["events"], AS_OF, cfg, columns=["coupon_share"]
        )
        .to_pandas()
        .set_index("customer_id")
    )
    assert list(f.columns[-3:]) == ["orders", "coupon_orders", "coupon_share"]
    assert f.loc["loyal", "coupon_share"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="unknown feature columns: nope"):
        customer_features(t["customers"], t["orders"], t["events"], AS_OF, cfg, columns=["nope"])


def test_profile_columns_all_lists_every_feature():
    from tierwise.features import needed_features

    config = Config.default()
    assert config.features.profile_columns == "needed"  # pruning is the default
    assert len(needed_features(config)) < len(feature_columns(config.features))
    every = config.with_overrides({"features": {"profile_columns": "all"}})
    assert needed_features(every) == feature_columns(config.features)
