"""Influence on the referral graph: reach, downstream revenue, PageRank-like score."""

from __future__ import annotations

import pandas as pd
import pytest

from tierwise.influence import influence


def test_a_chain_credits_everyone_upstream():
    pairs = pd.DataFrame(
        {"referrer": ["a", "b", "a"], "target": ["b", "c", "d"], "revenue": [10.0, 20.0, 5.0]}
    )
    g = influence(pairs).set_index("customer_id")
    assert g.influence_reach.to_dict() == {"a": 3, "b": 1, "c": 0, "d": 0}
    assert g.loc["a", "influence_revenue"] == 35.0 and g.loc["b", "influence_revenue"] == 20.0
    assert (
        g.loc["a", "influence_score"]
        > g.loc["b", "influence_score"]
        > g.loc["c", "influence_score"]
    )
    assert g.influence_score.mean() == pytest.approx(1.0)


def test_no_referrals_gives_an_empty_table():
    empty = pd.DataFrame({"referrer": [], "target": [], "revenue": []})
    assert influence(empty).empty


def test_profiles_carry_influence(tiny_store):
    from tierwise.backends import duckdb_tables
    from tierwise.config import Config
    from tierwise.pipeline import compute_profiles
    from tinyshop import AS_OF

    t = duckdb_tables(tiny_store)
    p = compute_profiles(t["customers"], t["orders"], t["events"], AS_OF, Config.default())
    df = p.profiles.to_pandas().set_index("customer_id")
    assert df.loc["fan", "influence_reach"] == 1 and df.loc["fan", "influence_revenue"] == 88.0
    assert df.loc["loyal", "influence_reach"] == 0 and df.loc["loyal", "influence_score"] == 0
