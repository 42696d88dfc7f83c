"""Influence on the referral graph: who brought whom, directly and through others (KOL型).

Edges run from a referrer to the customer they brought (`tierwise.features.referral_pairs`).
For each customer: ``influence_reach`` (customers brought directly or down the chain),
``influence_revenue`` (what those customers paid) and ``influence_score`` (PageRank on the
reversed graph, so credit flows from the brought to who brought them; scaled so that the
average customer in the graph scores 1).
"""

from __future__ import annotations

import networkx as nx
import pandas as pd

__all__ = ["INFLUENCE_COLUMNS", "influence"]

INFLUENCE_COLUMNS = ("influence_reach", "influence_revenue", "influence_score")


def influence(pairs: pd.DataFrame, *, damping: float = 0.85) -> pd.DataFrame:
    """Reach, downstream revenue and PageRank-like score of every referrer.

    Parameters
    ----------
    pairs : DataFrame
        Columns ``referrer``, ``target``, ``revenue`` (what the target paid).
    damping : float
        PageRank damping factor.

    Returns
    -------
    DataFrame
        ``customer_id`` and `INFLUENCE_COLUMNS`, one row per customer in the graph, sorted.
    """
    cols = ["customer_id", *INFLUENCE_COLUMNS]
    if pairs.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols}).astype(
            {"customer_id": "object", "influence_reach": "int64"}
        )
    edges = pairs.sort_values(["referrer", "target"])
    forward = nx.DiGraph()
    forward.add_edges_from(zip(edges.referrer, edges.target, strict=True))
    paid = edges.groupby("target").revenue.max().to_dict()
    rank = nx.pagerank(forward.reverse(copy=False), alpha=damping)
    n = forward.number_of_nodes()
    rows = []
    for node in sorted(forward.nodes):
        below = nx.descendants(forward, node)
        rows.append(
            (node, len(below), round(sum(paid.get(t, 0.0) for t in below), 4),
             round(rank[node] * n, 6))
        )  # fmt: skip
    return pd.DataFrame(rows, columns=cols)
