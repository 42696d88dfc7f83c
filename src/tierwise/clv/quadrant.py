"""Loyalty x profitability quadrants (Reinartz & Kumar 2002, "The Mismanagement of
Customer Loyalty").

Customers are placed on two axes, expected loyalty and potential profit,
split at thresholds learned from the data (the median by default):

============  ==============  ===========  =====================================
loyalty       profit          quadrant     what to do
============  ==============  ===========  =====================================
low           low             stranger     identify early and stop investing
high          low             barnacle     encourage at a controlled cost
low           high            butterfly    harvest while they stay
high          high            true_friend  invest, keep in touch, reward early
============  ==============  ===========  =====================================

Expected loyalty is an input column; :func:`tierwise.clv.predict_customers`
computes it as ``P(alive) x purchase regularity`` (regularity ``1 / (1 +
CV)`` of the customer's gaps between purchases, 0.5 for a single gap, 0 for
no repeat purchase; without transaction history it is ``P(alive)`` alone).
Potential profit is the customer's CLV on margin.  A value above a threshold
counts as high; a value equal to it counts as low, so that the many customers
who share the median (typically one-time buyers of the same cohort) land on
the low side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from tierwise.errors import NotFittedError

from ._checks import InvalidInputError

__all__ = ["QUADRANTS", "LoyaltyProfitQuadrant", "QuadrantInfo", "axis_line", "two_means_line"]


@dataclass(frozen=True)
class QuadrantInfo:
    """Names and recommended treatment of one quadrant."""

    code: str
    name_en: str
    name_zh: str
    loyalty: str
    profit: str
    strategy_en: str
    strategy_zh: str


QUADRANTS: dict[str, QuadrantInfo] = {
    "stranger": QuadrantInfo(
        "stranger",
        "Stranger",
        "陌生人",
        "low",
        "low",
        "Identify them early and stop investing in them.",
        "尽早识别，停止投入。",
    ),
    "barnacle": QuadrantInfo(
        "barnacle",
        "Barnacle",
        "藤壶",
        "high",
        "low",
        "Encourage more buying at a controlled cost: few red packets, more coupons.",
        "在控制成本的前提下鼓励消费：少发红包，多发优惠券。",
    ),
    "butterfly": QuadrantInfo(
        "butterfly",
        "Butterfly",
        "蝴蝶",
        "low",
        "high",
        "Take the value while they stay: heavy promotions and exclusive offers.",
        "趁其停留时获取价值：大力促销、专属优惠。",
    ),
    "true_friend": QuadrantInfo(
        "true_friend",
        "True friend",
        "挚友",
        "high",
        "high",
        "Invest in them: revisit regularly and give early, extra offers.",
        "重点投入：定期回访，提前给予额外优惠。",
    ),
}

_CODES = np.array([["stranger", "butterfly"], ["barnacle", "true_friend"]], dtype=object)


def two_means_line(values: np.ndarray) -> float:
    """The exact 1-D 2-means split (Otsu's threshold): the value ``t`` such that
    ``values <= t`` and ``values > t`` have the smallest summed squared deviation."""
    v = np.sort(np.asarray(values, dtype=float))
    distinct = np.flatnonzero(np.diff(v) > 0)  # last index of each run of equal values
    if distinct.size == 0:
        return float(v[0]) if v.size else 0.0
    n = v.size
    csum, csq = np.cumsum(v), np.cumsum(v * v)
    k = distinct + 1  # size of the low group
    low = csq[k - 1] - csum[k - 1] ** 2 / k
    high = (csq[-1] - csq[k - 1]) - (csum[-1] - csum[k - 1]) ** 2 / (n - k)
    return float(v[distinct[np.argmin(low + high)]])


def axis_line(spec: Any, values: np.ndarray, name: str, tie_share: float = 0.2
              ) -> tuple[float, str]:  # fmt: skip
    """A line on one axis and how it was chosen.

    ``'auto'`` takes the median unless the median is degenerate — at least ``tie_share`` of
    the values sit exactly on it (e.g. a median of 0 when most buyers bought once), so the
    line splits ties rather than customers — and then the 2-means split (`two_means_line`)
    of the values. ``'median'``, ``'mean'`` or a number are taken as they are.
    """
    values = np.asarray(values, dtype=float)
    if isinstance(spec, str) and spec == "auto":
        median = float(np.median(values))
        on_line = float(np.mean(values == median)) if values.size else 0.0
        if on_line >= tie_share:
            line = two_means_line(values)
            return line, (
                f"2-means split (the median {median:.4g} held {on_line:.0%} of the buyers, "
                f"at least the tie share {tie_share:.0%})"
            )
        return median, "median"
    line = _threshold(spec, values, name)
    return line, spec if isinstance(spec, str) else "fixed"


def _threshold(spec: Any, values: np.ndarray, name: str) -> float:
    if isinstance(spec, str):
        if spec == "median":
            return float(np.median(values))
        if spec == "mean":
            return float(np.mean(values))
        raise InvalidInputError(f"{name} must be 'median', 'mean' or a number; got {spec!r}")
    try:
        value = float(spec)
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"{name} must be 'median', 'mean' or a number; got {spec!r}"
        ) from None
    if not np.isfinite(value):
        raise InvalidInputError(f"{name} must be finite; got {spec!r}")
    return value


class LoyaltyProfitQuadrant(BaseEstimator):
    """Assign customers to the four loyalty x profitability quadrants.

    Parameters
    ----------
    loyalty_threshold, profit_threshold
        ``'median'`` (default), ``'mean'`` or a fixed number; learned at
        :meth:`fit` into ``loyalty_threshold_`` and ``profit_threshold_``.  Values
        above a threshold are high, values equal to it low.
    loyalty_col, profit_col
        Input column names.

    Examples
    --------
    >>> quadrant = LoyaltyProfitQuadrant().fit(customers)  # doctest: +SKIP
    >>> quadrant.evidence(customers)  # doctest: +SKIP
    """

    _info: ClassVar[dict[str, QuadrantInfo]] = QUADRANTS

    def __init__(
        self,
        *,
        loyalty_threshold: str | float = "median",
        profit_threshold: str | float = "median",
        loyalty_col: str = "expected_loyalty",
        profit_col: str = "potential_profit",
    ) -> None:
        self.loyalty_threshold = loyalty_threshold
        self.profit_threshold = profit_threshold
        self.loyalty_col = loyalty_col
        self.profit_col = profit_col

    def _columns(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(X, pd.DataFrame):
            missing = [c for c in (self.loyalty_col, self.profit_col) if c not in X.columns]
            if missing:
                raise InvalidInputError(
                    f"X lacks column(s) {missing}; expected {self.loyalty_col!r} and "
                    f"{self.profit_col!r} (see predict_customers)"
                )
            loyalty = X[self.loyalty_col].to_numpy(dtype=float)
            profit = X[self.profit_col].to_numpy(dtype=float)
        else:
            arr = np.asarray(X, dtype=float)
            if arr.ndim != 2 or arr.shape[1] != 2:
                raise InvalidInputError(
                    "X must be a DataFrame or an (n, 2) array of loyalty and profit; "
                    f"got shape {arr.shape}"
                )
            loyalty, profit = arr[:, 0].copy(), arr[:, 1].copy()
        for name, values in (("loyalty", loyalty), ("profit", profit)):
            bad = ~np.isfinite(values)
            if bad.any():
                raise InvalidInputError(f"{name} is missing or infinite in {int(bad.sum())} rows")
        return loyalty, profit

    def fit(self, X: Any, y: Any = None) -> Self:
        """Learn the thresholds from ``X`` (columns ``loyalty_col``, ``profit_col``)."""
        loyalty, profit = self._columns(X)
        if loyalty.size == 0:
            raise InvalidInputError("X is empty")
        self.loyalty_threshold_ = _threshold(self.loyalty_threshold, loyalty, "loyalty_threshold")
        self.profit_threshold_ = _threshold(self.profit_threshold, profit, "profit_threshold")
        self.n_customers_ = int(loyalty.size)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "loyalty_threshold_"):
            raise NotFittedError("LoyaltyProfitQuadrant is not fitted yet; call fit(...) first")

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "loyalty_threshold_")

    def predict(self, X: Any) -> np.ndarray:
        """Quadrant code per row: ``stranger``, ``barnacle``, ``butterfly`` or ``true_friend``."""
        self._check_fitted()
        loyalty, profit = self._columns(X)
        high_loyalty = (loyalty > self.loyalty_threshold_).astype(int)
        high_profit = (profit > self.profit_threshold_).astype(int)
        return _CODES[high_loyalty, high_profit]

    def evidence(self, X: Any) -> pd.DataFrame:
        """Per customer: both figures, both thresholds, the quadrant, its names and strategy."""
        codes = self.predict(X)
        loyalty, profit = self._columns(X)
        index = X.index if isinstance(X, pd.DataFrame) else None
        info = [QUADRANTS[c] for c in codes]
        return pd.DataFrame(
            {
                "expected_loyalty": loyalty,
                "loyalty_threshold": self.loyalty_threshold_,
                "potential_profit": profit,
                "profit_threshold": self.profit_threshold_,
                "quadrant": codes,
                "name_en": [i.name_en for i in info],
                "name_zh": [i.name_zh for i in info],
                "strategy_en": [i.strategy_en for i in info],
                "strategy_zh": [i.strategy_zh for i in info],
            },
            index=index,
        )

    @staticmethod
    def describe() -> pd.DataFrame:
        """The four quadrants with names and strategies (one row each)."""
        return pd.DataFrame([vars(q) for q in QUADRANTS.values()]).set_index("code")
