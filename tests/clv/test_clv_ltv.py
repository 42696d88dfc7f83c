"""Customer lifetime value, the seed article's decomposition and per-customer predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tierwise.clv import (
    BGNBDModel,
    ParetoNBDModel,
    customer_lifetime_value,
    expected_loyalty,
    predict_customers,
    purchase_regularity,
    seed_ltv,
)

WEEKS_PER_MONTH = 365.25 / 12 / 7


def test_clv_is_the_discounted_sum_of_monthly_purchases(bgnbd: BGNBDModel) -> None:
    x, tx, T, value = np.array([0, 2, 7]), np.array([0.0, 30.43, 35.0]), 38.86, 25.0
    clv = customer_lifetime_value(bgnbd, x, tx, T, value, time=12, discount_rate=0.01)
    expected = np.zeros(3)
    previous = np.zeros(3)
    for month in range(1, 13):
        cum = bgnbd.conditional_expected_number_of_purchases_up_to_time(
            month * WEEKS_PER_MONTH, x, tx, T
        )
        expected += value * (cum - previous) / 1.01**month
        previous = cum
    np.testing.assert_allclose(clv, expected)
    undiscounted = customer_lifetime_value(bgnbd, x, tx, T, value, time=12, discount_rate=0.0)
    np.testing.assert_allclose(undiscounted, value * previous)
    on_margin = customer_lifetime_value(bgnbd, x, tx, T, value, margin=0.3)
    np.testing.assert_allclose(on_margin, 0.3 * clv)
    in_days = customer_lifetime_value(
        BGNBDModel.from_params(r=bgnbd.r_, alpha=bgnbd.alpha_ * 7, a=bgnbd.a_, b=bgnbd.b_),
        x,
        tx * 7,
        T * 7,
        value,
        freq="D",
    )
    np.testing.assert_allclose(in_days, clv, rtol=1e-9)


def test_seed_ltv_terms(bgnbd: BGNBDModel, cdnow_summary: pd.DataFrame) -> None:
    s = cdnow_summary
    table = seed_ltv(
        bgnbd,
        s["frequency"],
        s["recency"],
        s["T"],
        s["monetary_value"],
        margin=0.25,
        horizon_years=3.0,
    )
    assert list(table.columns) == [
        "lifetime_years",
        "avg_gross_margin",
        "annual_repurchase_frequency",
        "ltv",
    ]
    assert table.index.equals(s.index)
    np.testing.assert_allclose(
        table["ltv"],
        table["lifetime_years"] * table["avg_gross_margin"] * table["annual_repurchase_frequency"],
    )
    assert ((table["lifetime_years"] > 0) & (table["lifetime_years"] <= 3.0)).all()
    np.testing.assert_allclose(table["avg_gross_margin"], 0.25 * s["monetary_value"])
    rate = (bgnbd.r_ + s["frequency"]) / (bgnbd.alpha_ + s["T"]) * 365.25 / 7
    np.testing.assert_allclose(table["annual_repurchase_frequency"], rate)
    # lifetime x frequency = expected purchases over the horizon
    purchases = bgnbd.conditional_expected_number_of_purchases_up_to_time(
        3 * 365.25 / 7, s["frequency"], s["recency"], s["T"]
    )
    np.testing.assert_allclose(
        table["lifetime_years"] * table["annual_repurchase_frequency"], purchases
    )


def test_seed_ltv_fixed_lifetime_without_model() -> None:
    table = seed_ltv(None, [4, 0], [20.0, 0.0], [52.0, 26.0], [10.0, 0.0], lifetime=2.0)
    assert table["lifetime_years"].tolist() == [2.0, 2.0]
    assert table["annual_repurchase_frequency"].iloc[0] == pytest.approx(4 / 52 * 365.25 / 7)
    assert table["ltv"].iloc[1] == 0.0
    with pytest.raises(ValueError, match="needs a fitted transaction_model"):
        seed_ltv(None, [1], [2.0], [5.0], [1.0])


def test_seed_ltv_with_spend_model(bgnbd, gamma_gamma, cdnow_summary) -> None:
    s = cdnow_summary
    table = seed_ltv(
        bgnbd, s["frequency"], s["recency"], s["T"], s["monetary_value"], spend_model=gamma_gamma
    )
    spend = gamma_gamma.conditional_expected_average_profit(s["frequency"], s["monetary_value"])
    np.testing.assert_allclose(table["avg_gross_margin"], spend)
    assert np.isfinite(table.to_numpy()).all()


def test_predict_customers_table(
    paretonbd: ParetoNBDModel, gamma_gamma, cdnow_summary, cdnow_transactions
) -> None:
    regularity = purchase_regularity(cdnow_transactions, observation_period_end="1997-09-30")
    table = predict_customers(
        paretonbd, cdnow_summary, spend_model=gamma_gamma, margin=0.3, regularity=regularity
    )
    assert table.index.equals(cdnow_summary.index)
    assert np.isfinite(table.to_numpy()).all()
    np.testing.assert_allclose(table["potential_profit"], table["clv"])
    np.testing.assert_allclose(
        table["expected_loyalty"], table["p_alive"] * regularity.reindex(table.index)
    )
    assert (table["expected_loyalty"] <= table["p_alive"]).all()
    one_year = paretonbd.conditional_expected_number_of_purchases_up_to_time(
        365.25 / 7, cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"]
    )
    np.testing.assert_allclose(table["expected_purchases"], one_year)


def test_purchase_regularity_values() -> None:
    tx = pd.DataFrame(
        {
            "customer_id": ["metronome"] * 4 + ["once"] + ["twice"] * 2 + ["bursty"] * 4,
            "datetime": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-01-11",
                    "2024-01-21",
                    "2024-01-31",
                    "2024-01-05",
                    "2024-01-01",
                    "2024-02-01",
                    "2024-01-01",
                    "2024-01-02",
                    "2024-01-03",
                    "2024-03-30",
                ]
            ),
        }
    )
    reg = purchase_regularity(tx)
    assert reg["metronome"] == pytest.approx(1.0)
    assert reg["once"] == 0.0
    assert reg["twice"] == 0.5
    assert 0.0 < reg["bursty"] < 0.5


def test_expected_loyalty() -> None:
    np.testing.assert_allclose(expected_loyalty([0.2, 0.9]), [0.2, 0.9])
    np.testing.assert_allclose(expected_loyalty([0.2, 0.9], [0.5, 1.0]), [0.1, 0.9])
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        expected_loyalty([1.2])
