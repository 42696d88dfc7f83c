"""RFM scores: 1-5 per dimension on quantile edges learned at fit time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from tierwise.errors import NotFittedError

__all__ = ["RFM_COLUMNS", "RFMBinner"]

RFM_COLUMNS = {"r": "recency_days", "f": "orders", "m": "monetary_total"}
"""Score name -> feature it scores. Recency scores high when the value is low."""


class RFMBinner(BaseEstimator):
    """Learn quantile edges for recency, frequency and monetary value; score 1-5.

    Edges are learned on buyers (``orders > 0``). A value scores ``1 + (number of edges it
    exceeds)`` (recency: the reverse), so ties always land in the same bin on every engine and
    customers seen later are scored on the same edges.

    Parameters
    ----------
    quantiles : sequence of float
        Quantiles whose values become the edges; four give scores 1-5.
    fixed_edges : mapping, optional
        Edges given instead of learned, per feature (``recency_days``, ``orders``,
        ``monetary_total``).
    """

    def __init__(
        self,
        *,
        quantiles: Sequence[float] = (0.2, 0.4, 0.6, 0.8),
        fixed_edges: Mapping[str, Sequence[float]] | None = None,
    ) -> None:
        self.quantiles = quantiles
        self.fixed_edges = fixed_edges

    def fit(self, X: pd.DataFrame, y: object = None) -> RFMBinner:
        """Learn the edges from a feature table with the columns in `RFM_COLUMNS`."""
        missing = [c for c in RFM_COLUMNS.values() if c not in X.columns]
        if missing:
            raise ValueError(f"RFMBinner.fit needs columns {missing}")
        q = np.asarray(self.quantiles, dtype=float)
        if q.ndim != 1 or len(q) == 0 or np.any((q <= 0) | (q >= 1)) or np.any(np.diff(q) <= 0):
            raise ValueError("quantiles must be increasing numbers strictly between 0 and 1")
        buyers = X[X["orders"].fillna(0) > 0]
        fixed = dict(self.fixed_edges or {})
        edges: dict[str, list[float]] = {}
        for col in RFM_COLUMNS.values():
            if col in fixed:
                e = np.asarray(fixed[col], dtype=float)
                if len(e) != len(q) or np.any(np.diff(e) < 0):
                    raise ValueError(
                        f"fixed_edges[{col!r}] must be {len(q)} non-decreasing numbers"
                    )
            else:
                values = buyers[col].to_numpy(dtype=float)
                values = values[~np.isnan(values)]
                if len(values) == 0:
                    raise ValueError(
                        "RFMBinner.fit: no customer has a paid order, so RFM edges cannot be "
                        "learned; give rfm.fixed_edges or import orders"
                    )
                e = np.quantile(values, q, method="linear")
            edges[col] = [float(round(v, 6)) for v in e]
        self.edges_ = edges
        self.n_buyers_ = len(buyers)
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "edges_")

    def _check(self) -> None:
        if not hasattr(self, "edges_"):
            raise NotFittedError("this RFMBinner is not fitted yet; call fit first")

    @property
    def n_scores(self) -> int:
        """Highest score (number of edges + 1)."""
        return len(self.quantiles) + 1

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Scores ``r``, ``f``, ``m`` and ``fm`` (missing for non-buyers) as a DataFrame."""
        self._check()
        out = {}
        buyer = X["orders"].fillna(0).to_numpy() > 0
        for score, col in RFM_COLUMNS.items():
            v = X[col].to_numpy(dtype=float)
            above = (v[:, None] > np.asarray(self.edges_[col])[None, :]).sum(axis=1)
            s = (self.n_scores - above) if score == "r" else (1 + above)
            out[score] = pd.array(np.where(buyer, s, 0), dtype="Int64")
            out[score][~buyer] = pd.NA
        df = pd.DataFrame(out, index=X.index)
        df["fm"] = (df["f"] + df["m"] + 1) // 2
        return df

    def expressions(self, table: ir.Table) -> dict[str, ir.IntegerValue]:
        """The same scores as Ibis expressions over a feature table (any engine)."""
        self._check()
        buyer = table.orders > 0
        exprs: dict[str, ir.IntegerValue] = {}
        for score, col in RFM_COLUMNS.items():
            above = sum(
                ibis.ifelse(table[col] > ibis.literal(e, "float64"), 1, 0) for e in self.edges_[col]
            )
            s = (self.n_scores - above) if score == "r" else (1 + above)
            exprs[score] = ibis.ifelse(buyer, s, ibis.null("int64")).cast("int64")
        fm = ((exprs["f"] + exprs["m"] + 1).cast("float64") / 2).floor().cast("int64")
        exprs["fm"] = fm
        exprs["rfm_code"] = (
            exprs["r"].cast("string") + exprs["f"].cast("string") + exprs["m"].cast("string")
        )
        return exprs
