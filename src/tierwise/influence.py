"""Influence on the referral graph: who brought whom, directly and through others (KOL型).

Edges run from a referrer to the customer they brought (`tierwise.features.referral_pairs`).
For each customer: ``influence_reach`` (customers brought directly or down the chain),
``influence_revenue`` (what those customers paid) and ``influence_score`` (PageRank on the
reversed graph, so credit flows from the brought to who brought them; scaled so that the
average customer in the graph scores 1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

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
    referrer = pairs.referrer.to_numpy(dtype=object)
    target = pairs.target.to_numpy(dtype=object)
    nodes, at = np.unique(np.concatenate([referrer, target]), return_inverse=True)
    n = len(nodes)
    src, dst = at[: len(pairs)], at[len(pairs) :]
    paid = np.full(n, -np.inf)
    np.maximum.at(paid, dst, pairs.revenue.to_numpy(dtype=float))
    paid[np.isneginf(paid)] = 0.0  # a referrer nobody brought
    # one edge per pair of customers, as in a graph (the revenue is the target's)
    forward = sp.csr_array((np.ones(len(src)), (src, dst)), shape=(n, n))
    forward.data[:] = 1.0
    reach, revenue = _downstream(forward, paid)
    rank = _pagerank(forward.T.tocsr(), damping)
    return pd.DataFrame({
        "customer_id": nodes, "influence_reach": reach,
        "influence_revenue": np.round(revenue, 4), "influence_score": np.round(rank * n, 6),
    })[cols]  # fmt: skip


def _pagerank(graph: sp.csr_array, alpha: float, tol: float = 1e-6, max_iter: int = 100
              ) -> np.ndarray:  # fmt: skip
    """PageRank of every node of ``graph`` (row -> column edges, unweighted) by power
    iteration, as `networkx.pagerank` computes it (uniform start and teleport; a node without
    out-edges spreads its rank evenly; stop when the L1 change is below ``n * tol``)."""
    n = graph.shape[0]
    out = np.asarray(graph.sum(axis=1)).ravel()
    scale = np.divide(1.0, out, out=np.zeros(n), where=out != 0)
    a = sp.dia_array((scale, 0), shape=(n, n)).tocsr() @ graph
    dangling = np.flatnonzero(out == 0)
    p = np.full(n, 1.0 / n)
    x = p
    for _ in range(max_iter):
        last = x
        x = alpha * (x @ a + x[dangling].sum() * p) + (1 - alpha) * p
        if np.abs(x - last).sum() < n * tol:
            return x
    raise ValueError(f"influence: PageRank did not converge in {max_iter} iterations")


def _downstream(forward: sp.csr_array, paid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every node, how many nodes it reaches (itself left out) and their ``paid``.

    Nodes on a cycle reach each other: the graph is condensed into its strongly connected
    components. When each component is brought in by at most one other (a forest, as
    referral graphs mostly are) the totals add up the tree; otherwise each node's reachable
    set is walked.
    """
    k, comp = connected_components(forward, directed=True, connection="strong")
    size = np.bincount(comp, minlength=k).astype(float)
    money = np.bincount(comp, weights=paid, minlength=k)
    coo = forward.tocoo()
    between = comp[coo.row] != comp[coo.col]
    up, down = np.unique(np.stack([comp[coo.row][between], comp[coo.col][between]]), axis=1)
    if np.bincount(down, minlength=k).max(initial=0) > 1:
        return _walked(forward, paid)
    parent = np.full(k, -1)
    parent[down] = up
    depth, above = np.zeros(k, dtype=np.int64), parent.copy()
    while (above >= 0).any():  # how many components lie above each
        depth += above >= 0
        above = np.where(above >= 0, parent[np.maximum(above, 0)], -1)
    total_n, total_paid = size.copy(), money.copy()
    for d in range(int(depth.max(initial=0)), 0, -1):  # the deepest first
        at = np.flatnonzero(depth == d)
        np.add.at(total_n, parent[at], total_n[at])
        np.add.at(total_paid, parent[at], total_paid[at])
    below_n, below_paid = total_n - size, total_paid - money
    reach = (size[comp] - 1 + below_n[comp]).astype(np.int64)
    revenue = money[comp] - paid + below_paid[comp]
    return reach, revenue


def _walked(forward: sp.csr_array, paid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`_downstream` by a breadth-first walk from every node."""
    from scipy.sparse.csgraph import breadth_first_order

    n = forward.shape[0]
    reach, revenue = np.zeros(n, dtype=np.int64), np.zeros(n)
    has_out = np.diff(forward.indptr) > 0
    for node in np.flatnonzero(has_out):
        seen = breadth_first_order(forward, node, directed=True, return_predecessors=False)
        seen = seen[seen != node]
        reach[node], revenue[node] = len(seen), paid[seen].sum()
    return reach, revenue
