"""The entrance step: first and latest touch, evidence, sign-up answers and entrance segments."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tierwise.backends import duckdb_tables
from tierwise.config import Config
from tierwise.errors import ConfigError
from tierwise.pipeline import compute_profiles
from tinyshop import AS_OF, event, insert, make_tiny_store, order, ts


def _run(store, overrides=None):
    t = duckdb_tables(store)
    cfg = Config.default().with_overrides(overrides or {})
    run = compute_profiles(t["customers"], t["orders"], t["events"], AS_OF, cfg)
    return run.profiles.to_pandas().set_index("customer_id"), run.notes


def _shop():
    s = make_tiny_store()
    insert(s, "customers", [
        {"customer_id": "qr", "first_seen": ts("2024-03-01"),
         "attributes": json.dumps({"qr_code": "门店A", "baby_age": "0-1"}, ensure_ascii=False)},
        {"customer_id": "ad", "first_seen": ts("2024-04-01"),
         "attributes": json.dumps({"skin_type": "oily"})},
        {"customer_id": "blank", "first_seen": ts("2024-04-01"), "attributes": "{}"},
        {"customer_id": "broken", "first_seen": ts("2024-04-01"), "attributes": "[1, 2]"},
    ])  # fmt: skip
    insert(
        s,
        "events",
        [
            event("u1", "ad", "2024-04-02 10:00", "view", attributes='{"utm_source": "wx_ad"}'),
            event("u2", "ad", "2024-05-02 10:00", "view", attributes='{"utm_source": "dy_ad"}'),
            event("u3", "qr", "2024-07-02 10:00", "view", attributes='{"utm_source": "late"}'),
        ],
    )
    insert(s, "orders", [order("d1", "ad", "2024-05-03 10:00", 90.0,
                               attributes='{"distributor_id": "lurker"}')])  # fmt: skip
    return s


def test_first_and_latest_touch_with_evidence():
    p, _ = _run(_shop())
    assert p.loc["qr", "entrance_channel"] == "qr_code:门店A"
    assert p.loc["qr", "entrance_kind"] == "qr_code"
    assert str(p.loc["qr", "entrance_at"]) == "2024-03-01 00:00:00"
    # the view after the as-of day is not a touch
    assert p.loc["qr", "latest_channel"] == "qr_code:门店A"
    assert p.loc["ad", "entrance_channel"] == "utm:wx_ad"
    assert p.loc["ad", "latest_channel"] == "distributor"
    ev = json.loads(p.loc["ad", "entrance_evidence"])
    assert ev["first"] == {"channel": "utm:wx_ad", "value": "wx_ad",
                           "source": "events.attributes.utm_source", "row": "u1",
                           "at": "2024-04-02T10:00:00"}  # fmt: skip
    assert ev["latest"]["row"] == "d1" and ev["latest"]["value"] == "lurker"
    assert ev["touches"] == 3
    assert p.loc["fresh", "entrance_kind"] == "referral"


def test_customers_without_touches_are_unknown_and_say_so():
    p, _ = _run(_shop())
    assert p.loc["lurker", "entrance_channel"] == "unknown"
    assert p.loc["lurker", "entrance_kind"] == "unknown"
    assert p.loc["lurker", "latest_channel"] == "unknown"
    ev = json.loads(p.loc["lurker", "entrance_evidence"])
    assert "no entrance touch" in ev["reason"] and ev["signup"] == "no sign-up answers"


def test_entrance_segments_from_signup_answers_and_channel():
    p, _ = _run(_shop())
    assert p.loc["qr", "signup_baby_age"] == "0-1"
    assert p.loc["qr", "entrance_segment"] == "baby_parent"
    assert p.loc["ad", "entrance_segment"] == "skin_care"
    assert p.loc["fresh", "entrance_segment"] == "referred"
    assert p.loc["loyal", "entrance_segment"] == "other"


def test_empty_and_malformed_signup_forms_lose_nobody():
    p, notes = _run(_shop())
    assert {"blank", "broken"} <= set(p.index)
    for cid in ("blank", "broken"):
        assert p.loc[cid, "entrance_segment"] == "other"
        assert pd.isna(p.loc[cid, "signup_skin_type"])
    assert any("not a JSON object" in n and "broken" in n for n in notes)
    assert not any("blank" in n for n in notes)


def test_segment_rules_can_read_labels_and_history():
    rules = {"entrance": {"segments": [
        {"id": "bought_after_ad", "zh": "广告成交", "en": "Ad buyer",
         "when": "entrance_kind = 'utm' and orders(since=-90d) >= 1"},
    ]}}  # fmt: skip
    p, _ = _run(_shop(), rules)
    assert p.loc["ad", "entrance_segment"] == "bought_after_ad"
    assert (p.drop(index="ad").entrance_segment == "other").all()


def test_bad_entrance_config_is_named():
    with pytest.raises(ConfigError, match=r"entrance\.segments"):
        Config.default().with_overrides({"entrance": {"segments": [
            {"id": "x", "zh": "x", "en": "x", "when": "signup_purpose = "}]}})  # fmt: skip
    with pytest.raises(ConfigError, match=r"entrance\.sources\[0\]\.field"):
        _run(make_tiny_store(), {"entrance": {"sources": [
            {"kind": "qr_code", "table": "events", "field": "nope"}]}})  # fmt: skip
    with pytest.raises(ConfigError, match=r"entrance.segments\[0\].when"):
        _run(make_tiny_store(), {"entrance": {"segments": [
            {"id": "x", "zh": "x", "en": "x", "when": "no_such_column = 1"}]}})  # fmt: skip


def test_data_without_entrance_sources_still_runs():
    p, _ = _run(make_tiny_store(), {"entrance": {"sources": []}})
    assert (p.entrance_channel == "unknown").all()
    off, _ = _run(make_tiny_store(), {"entrance": {"enabled": False}})
    assert off.entrance_channel.isna().all()


def test_entrance_report_figures_by_hand():
    from tierwise.entrance import entrance_report

    prof = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e"],
        "entrance_channel": ["qr_code:A", "qr_code:A", "qr_code:A", "utm:x", None],
        "entrance_kind": ["qr_code", "qr_code", "qr_code", "utm", None],
        "entrance_segment": ["other"] * 5,
        "latest_channel": ["utm:x"] * 5,
        "orders": [0, 1, 3, 2, 0],
        "monetary_total": [0.0, 10.0, 90.0, 50.0, 0.0],
        "clv": [None, 5.0, 15.0, 8.0, None],
        "quadrant": [None, "stranger", "true_friend", "barnacle", None],
    })  # fmt: skip
    rep = entrance_report(prof).set_index("channel")
    a = rep.loc["qr_code:A"]
    assert (a.customers, a.buyers, a.conversion_rate, a.repeat_rate) == (3, 2, 0.6667, 0.5)
    assert (a.mean_clv, a.revenue) == (10.0, 100.0)
    assert a.quadrant_mix == {"none": 0.3333, "stranger": 0.3333, "true_friend": 0.3333}
    assert pd.isna(rep.loc["unknown", "repeat_rate"])  # no buyer: no repeat rate
    assert list(rep.index) == ["qr_code:A", "unknown", "utm:x"]
    with pytest.raises(ConfigError, match=r"add `entrance` to run\.steps"):
        entrance_report(prof.drop(columns="entrance_segment"), "segment")


def test_blank_and_unlisted_values_do_not_hide_a_touch():
    """The first and newest non-null values of the source are not touches (one not listed,
    one blank): the touches between them are the entrance and the latest channel."""
    s = make_tiny_store()
    insert(s, "customers", [{"customer_id": "v", "first_seen": ts("2024-03-01")}])
    insert(s, "events", [
        event("v1", "v", "2024-04-01 10:00", "livestream_visit", channel="room_x"),
        event("v2", "v", "2024-04-05 10:00", "livestream_visit", channel="\u3000room_a "),
        event("v3", "v", "2024-04-09 10:00", "livestream_visit", channel="room_b"),
        event("v4", "v", "2024-04-20 10:00", "livestream_visit", channel=" \t"),
        event("v5", "v", "2024-04-25 10:00", "livestream_visit", channel="room_z"),
    ])  # fmt: skip
    source = {"kind": "livestream", "table": "events", "event_types": ["livestream_visit"],
              "field": "channel", "values": ["room_a", "room_b"]}  # fmt: skip
    p, _ = _run(s, {"entrance": {"sources": [source]}})
    assert p.loc["v", "entrance_channel"] == "livestream:room_a"
    assert str(p.loc["v", "entrance_at"]) == "2024-04-05 10:00:00"
    assert p.loc["v", "latest_channel"] == "livestream:room_b"
    ev = json.loads(p.loc["v", "entrance_evidence"])
    assert ev["first"]["value"] == "room_a" and ev["first"]["row"] == "v2"
    assert ev["latest"]["row"] == "v3"
