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


def _by_networkx(pairs: pd.DataFrame) -> pd.DataFrame:
    """The three figures walked out with networkx, one node at a time."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_edges_from(zip(pairs.referrer, pairs.target, strict=True))
    paid = pairs.groupby("target").revenue.max().to_dict()
    rank = nx.pagerank(g.reverse(copy=False), alpha=0.85)
    rows = []
    for node in sorted(g.nodes):
        below = nx.descendants(g, node)
        rows.append((node, len(below), sum(paid.get(t, 0.0) for t in below),
                     rank[node] * g.number_of_nodes()))  # fmt: skip
    return pd.DataFrame(rows, columns=["customer_id", "reach", "revenue", "score"])


@pytest.mark.parametrize("shape", ["forest", "forest with cycles", "several referrers"])
def test_reach_revenue_and_score_equal_a_walk_of_the_graph(shape, monkeypatch):
    """Random referral graphs: trees (the sums up the tree), trees with rings (three roots
    bringing each other, a customer bringing the root of their own tree: condensed) and
    customers brought by several (each node walked)."""
    import numpy as np

    import tierwise.influence as module

    walks = []
    walked = module._walked
    monkeypatch.setattr(module, "_walked", lambda *a: walks.append(1) or walked(*a))

    rng = np.random.default_rng(7)
    n = 400
    parent = [-1 if i < 12 else int(rng.integers(0, i)) for i in range(n)]
    edges = [(p, i) for i, p in enumerate(parent) if p >= 0]
    if shape == "forest with cycles":
        root = n - 1
        while parent[root] >= 0:
            root = parent[root]
        edges += [(i, (i + 1) % 3) for i in range(3)] + [(n - 1, root)]
    if shape == "several referrers":
        edges += [(int(rng.integers(0, n)), int(rng.integers(0, n))) for _ in range(60)]
    pairs = pd.DataFrame(sorted({(f"c{a:03d}", f"c{b:03d}") for a, b in edges if a != b}),
                         columns=["referrer", "target"])  # fmt: skip
    pairs["revenue"] = rng.integers(-5, 500, len(pairs)) / 4.0
    got = influence(pairs)
    want = _by_networkx(pairs)
    assert got.customer_id.tolist() == want.customer_id.tolist()
    assert got.influence_reach.tolist() == want.reach.tolist()
    assert np.allclose(got.influence_revenue, want.revenue, atol=1e-9)
    assert np.allclose(got.influence_score, want.score, atol=2e-6)
    assert len(walks) == (shape == "several referrers")
    assert want.reach.max() > 10  # deep enough for the sums to climb several levels
