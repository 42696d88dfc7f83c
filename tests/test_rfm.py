"""RFM binner: edges by hand, ties, the estimator contract, engine expressions = numpy."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from tierwise.errors import NotFittedError
from tierwise.schemes.rfm import RFMBinner

X = pd.DataFrame(
    {
        "recency_days": [1.0, 10.0, 200.0, 500.0, None],
        "orders": [3, 1, 2, 1, 0],
        "monetary_total": [3300.0, 88.0, 120.0, 30.0, 0.0],
    }
)


def test_edges_are_buyer_quantiles_worked_by_hand():
    b = RFMBinner().fit(X)
    assert b.edges_["recency_days"] == pytest.approx([6.4, 48.0, 162.0, 320.0])
    assert b.edges_["orders"] == pytest.approx([1.0, 1.2, 1.8, 2.4])
    assert b.edges_["monetary_total"] == pytest.approx([64.8, 94.4, 113.6, 1392.0])
    assert b.n_buyers_ == 4


def test_scores_by_hand_and_non_buyers_missing():
    s = RFMBinner().fit(X).transform(X)
    assert s["r"].tolist()[:4] == [5, 4, 2, 1]
    assert s["f"].tolist()[:4] == [5, 1, 4, 1]  # ties at the edge stay in the lower bin
    assert s["m"].tolist()[:4] == [5, 2, 4, 1]
    assert s["fm"].tolist()[:4] == [5, 2, 4, 1]
    assert s.iloc[4].isna().all()


def test_later_customers_are_scored_on_the_same_edges():
    b = RFMBinner().fit(X)
    later = pd.DataFrame({"recency_days": [7.0], "orders": [2], "monetary_total": [95.0]})
    assert b.transform(later)[["r", "f", "m"]].iloc[0].tolist() == [4, 4, 3]


def test_ibis_expressions_equal_numpy_scores():
    rng = np.random.default_rng(7)
    df = pd.DataFrame(
        {
            "recency_days": rng.integers(0, 700, 500).astype(float),
            "orders": rng.choice([0, 1, 1, 1, 2, 2, 3, 5, 9], 500),
            "monetary_total": rng.gamma(2.0, 150.0, 500).round(2),
        }
    )
    b = RFMBinner().fit(df)
    t = ibis.memtable(df)
    got = t.mutate(**b.expressions(t)).to_pandas()
    want = b.transform(df)
    for col in ("r", "f", "m", "fm"):
        assert got[col].astype("Int64").tolist() == want[col].tolist()


def test_fixed_edges_are_used_as_given():
    b = RFMBinner(fixed_edges={"recency_days": [30, 90, 180, 365]}).fit(X)
    assert b.edges_["recency_days"] == [30.0, 90.0, 180.0, 365.0]
    with pytest.raises(ValueError, match=r"fixed_edges\['orders'\] must be 4 non-decreasing"):
        RFMBinner(fixed_edges={"orders": [3, 2, 1, 0]}).fit(X)


def test_estimator_contract():
    b = RFMBinner(quantiles=(0.25, 0.5, 0.75))
    with pytest.raises(NotFittedError, match="not fitted yet"):
        b.transform(X)
    copy = X.copy()
    assert b.fit(X) is b
    pd.testing.assert_frame_equal(X, copy)
    assert b.n_scores == 4 and all(k.endswith("_") for k in ("edges_", "n_buyers_"))
    assert set(vars(RFMBinner())) == {"quantiles", "fixed_edges"}


def test_no_buyers_says_what_to_do():
    with pytest.raises(ValueError, match=r"no customer has a paid order.*fixed_edges"):
        RFMBinner().fit(X[X.orders == 0])
