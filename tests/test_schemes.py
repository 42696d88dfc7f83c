"""Lifecycle, RFM groups and value labels on the tiny shop; rules are data; evidence."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tierwise.backends import duckdb_tables
from tierwise.config import Config
from tierwise.evidence import labels_query
from tierwise.pipeline import compute_profiles
from tinyshop import AS_OF


def run(store, config=None):
    config = config or Config.default()
    t = duckdb_tables(store)
    result = compute_profiles(t["customers"], t["orders"], t["events"], AS_OF, config)
    return result, result.profiles.to_pandas().set_index("customer_id")


def test_lifecycle_stages_by_hand(tiny_store):
    _, p = run(tiny_store)
    assert p["lifecycle"].to_dict() == {
        "fan": "high_value",  # a non-buyer who keeps forwarding (6 shares in 90 days)
        "fresh": "new",
        "future": "long_silent",  # everything it did is after the as-of day
        "lapsed": "churned",
        "loyal": "high_value",
        "lurker": "potential",
        "sleeper": "long_silent",
    }
    assert p.loc["loyal", "lifecycle_all"] == "high_value;repeat"  # stages overlap
    assert p.loc["sleeper", "lifecycle_all"] == "long_silent;churned"
    assert p.loc["fan", "lifecycle_all"] == "high_value;potential"


def test_interaction_counts_as_new_is_a_switch(tiny_store):
    on = Config.default().with_overrides(
        {"schemes": {"lifecycle": {"params": {"interaction_counts_as_new": True}}}}
    )
    _, p = run(tiny_store, on)
    assert p.loc["lurker", "lifecycle"] == "new"  # one follow 20 days ago


def test_rfm_groups_and_value_by_hand(tiny_store):
    _, p = run(tiny_store)
    assert p.loc["loyal", "rfm_code"] == "555"
    assert p["rfm_group"].to_dict() == {
        "fan": "prospects",
        "fresh": "new",
        "future": "prospects",
        "lapsed": "previously_loyal",
        "loyal": "champions",
        "lurker": "prospects",
        "sleeper": "dormant",
    }
    assert p.loc["loyal", "value_tier"] == "high" and p.loc["fresh", "value_tier"] == "low"
    assert pd.isna(p.loc["fan", "value_tier"])
    assert p.loc["lapsed", "buyer_type"] == "churned"
    assert p.loc["lurker", "buyer_type"] == "potential"


def test_a_merchant_adds_and_renames_stages_in_config(tiny_store):
    cfg = Config.default().model_dump()
    stages = cfg["schemes"]["lifecycle"]["labels"]
    stages.insert(2, {"id": "vip", "zh": "VIP 会员", "en": "VIP", "when": "orders >= 3"})
    stages[-2]["zh"], stages[-2]["en"] = "首单客户", "First-order"
    _, p = run(tiny_store, Config.model_validate(cfg))
    assert p.loc["loyal", "lifecycle"] == "vip"
    assert p.loc["loyal", "lifecycle_all"] == "vip;high_value;repeat"


def test_every_label_carries_rule_figures_and_params(tiny_store):
    config = Config.default()
    result, _ = run(tiny_store, config)
    tiny_store.con.register("p", result.profiles)
    query = labels_query("p", config, result.rfm, result.scheme_params)
    labels = tiny_store.con.execute(query).df()
    per_customer = labels[labels.is_primary].groupby("customer_id").scheme.nunique()
    assert (per_customer >= 2).all() and per_customer["loyal"] == 8  # with the path
    row = labels[(labels.customer_id == "lapsed") & (labels.scheme == "lifecycle")].iloc[0]
    assert row.label == "churned" and row.rule == "orders >= 1 and recency_days > churn_days"
    ev = json.loads(row.evidence)
    assert ev == {"figures": {"orders": 2, "recency_days": 200}, "params": {"churn_days": 180}}
    rfm = labels[(labels.customer_id == "fresh") & (labels.scheme == "rfm")].iloc[0]
    assert rfm.label == "R4F1M2"
    assert json.loads(rfm.evidence)["params"]["edges_orders"] == pytest.approx([1, 1.2, 1.8, 2.4])
    default = labels[(labels.customer_id == "fan") & (labels.scheme == "value_tier")]
    assert default.empty  # no default label for non-buyers


def test_label_rows_without_evidence_are_the_rows_with_it(tiny_store):
    """The label rows a snapshot stores (names looked up by a join) equal the evidence
    query's rows: single and multi-label schemes, with and without a default, RFM or not."""
    extra = {
        "schemes": {
            "reach": {
                "zh": "触达", "en": "Reach", "mode": "multi",
                "default": "quiet", "default_zh": "安静", "labels": [
                    {"id": "buyer", "zh": "买家", "en": "Buyer", "when": "orders >= 1"},
                    {"id": "sharer", "zh": "分享", "en": "Sharer",
                     "when": "ev_share_90 >= 1 or orders >= 2"},
                ],
            },
            "big": {"zh": "大单", "en": "Big", "mode": "exclusive", "labels": [
                {"id": "big", "zh": "大", "en": "Big", "when": "monetary_total > 500"},
            ]},
        }
    }  # fmt: skip
    config = Config.default().with_overrides(extra)
    result, p = run(tiny_store, config)
    assert set(p["reach_all"].dropna()) >= {"buyer;sharer", "buyer"} and "quiet" in set(p.reach)
    tiny_store.con.register("p", result.profiles)
    for rfm in (result.rfm, None):
        both = [
            tiny_store.con.execute(
                f"SELECT * EXCLUDE (evidence) FROM ({labels_query('p', config, rfm, result.scheme_params, evidence=e)}) ORDER BY ALL"  # noqa: E501
            ).fetchall()
            for e in (True, False)
        ]
        assert both[0] == both[1] and len(both[0]) > 50
        assert any(r[1] == "rfm" for r in both[1]) == (rfm is not None)
        assert ("fan", "reach", "sharer") in {r[:3] for r in both[1]}
        assert not any(r[1] == "big" and r[2] is None for r in both[1])  # no default: no row


def test_unknown_feature_in_a_rule_is_named(tiny_store):
    from tierwise.errors import ConfigError

    bad = Config.default().with_overrides(
        {
            "schemes": {
                "value_tier": {
                    "labels": [{"id": "x", "zh": "x", "en": "x", "when": "monetery_total > 1"}]
                }
            }
        }
    )
    with pytest.raises(
        ConfigError, match=r"value_tier\.labels\[0\].*monetery_total.*monetary_total"
    ):
        run(tiny_store, bad)


def test_intention_score_grades_and_actions_by_hand(tiny_store):
    _, p = run(tiny_store)
    # six shares (weight 2.5) on 06-10 .. 06-15 at 10:00, ages from the end of 06-30
    want = sum(2.5 * 0.5 ** ((21 - i - 10 / 24) / 30) for i in range(6))
    assert p.loc["fan", "intention_score"] == pytest.approx(want, abs=1e-4)
    assert want == pytest.approx(9.885, abs=1e-3)  # just under the high threshold (10)
    assert p.loc["fan", "intention"] == "medium" and p.loc["fan", "intention_action"] == "nudge"
    assert p.loc["lapsed", "intention_score"] == pytest.approx(
        0.5 ** ((100 + 14 / 24) / 30), abs=1e-4
    )
    assert p.loc["lapsed", "intention"] == "low"
    assert p.loc["sleeper", "intention"] == "long_silent"
    assert p.loc["sleeper", "intention_action"] == "do_not_activate"
    assert p.loc["fan", "general_tags_all"] == "sharer"


def test_channel_weights_override_the_type_weight(tiny_store):
    cfg = Config.default().with_overrides(
        {"features": {"intention": {"channel_weights": {"weibo": {"share": 0.0}}}}}
    )
    _, p = run(tiny_store, cfg)
    assert p.loc["fan", "intention_score"] == 0.0  # the shares were on Weibo


def test_behaviour_types_by_hand(tiny_store):
    _, p = run(tiny_store)
    assert p.loc["loyal", "main_channel"] == "livestream"  # one each: the most recent wins
    assert p["behaviour_all"].isna().all()  # nobody in the tiny shop qualifies
