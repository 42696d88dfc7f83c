"""Loyalty x profitability quadrants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tierwise.clv import QUADRANTS, LoyaltyProfitQuadrant, predict_customers


@pytest.fixture
def customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "expected_loyalty": [0.1, 0.9, 0.2, 0.8, 0.5],
            "potential_profit": [5.0, 6.0, 90.0, 80.0, 40.0],
        },
        index=pd.Index(["s", "b", "f", "t", "m"], name="customer_id"),
    )


def test_quadrant_assignment(customers: pd.DataFrame) -> None:
    model = LoyaltyProfitQuadrant().fit(customers)
    assert model.loyalty_threshold_ == 0.5
    assert model.profit_threshold_ == 40.0
    assert model.predict(customers).tolist() == [
        "stranger",
        "barnacle",
        "butterfly",
        "true_friend",
        "stranger",  # ties count as low
    ]


def test_fixed_thresholds_and_arrays(customers: pd.DataFrame) -> None:
    model = LoyaltyProfitQuadrant(loyalty_threshold=0.85, profit_threshold=85.0)
    model.fit(customers.to_numpy())
    assert model.predict(customers.to_numpy()).tolist() == [
        "stranger",
        "barnacle",
        "butterfly",
        "stranger",
        "stranger",
    ]
    mean = LoyaltyProfitQuadrant(loyalty_threshold="mean").fit(customers)
    assert mean.loyalty_threshold_ == pytest.approx(0.5)


def test_evidence_table(customers: pd.DataFrame) -> None:
    model = LoyaltyProfitQuadrant().fit(customers)
    evidence = model.evidence(customers)
    assert evidence.index.equals(customers.index)
    row = evidence.loc["f"]
    assert row["quadrant"] == "butterfly"
    assert row["name_zh"] == "蝴蝶"
    assert row["expected_loyalty"] == 0.2 and row["loyalty_threshold"] == 0.5
    assert row["potential_profit"] == 90.0 and row["profit_threshold"] == 40.0
    assert "promotion" in row["strategy_en"]
    assert evidence.loc["t", "name_zh"] == "挚友"
    assert evidence.loc["b", "name_zh"] == "藤壶"
    assert evidence.loc["s", "name_zh"] == "陌生人"
    assert "coupon" in evidence.loc["b", "strategy_en"]
    assert "stop investing" in evidence.loc["s", "strategy_en"]


def test_quadrant_descriptions() -> None:
    table = LoyaltyProfitQuadrant.describe()
    assert list(table.index) == ["stranger", "barnacle", "butterfly", "true_friend"]
    assert {(q.loyalty, q.profit) for q in QUADRANTS.values()} == {
        ("low", "low"),
        ("high", "low"),
        ("low", "high"),
        ("high", "high"),
    }


def test_quadrants_from_model_predictions(paretonbd, gamma_gamma, cdnow_summary) -> None:
    table = predict_customers(paretonbd, cdnow_summary, spend_model=gamma_gamma)
    codes = LoyaltyProfitQuadrant().fit(table).predict(table)
    counts = pd.Series(codes).value_counts()
    assert set(counts.index) == set(QUADRANTS)
    assert counts.sum() == len(cdnow_summary)
    assert np.all(np.isin(codes, list(QUADRANTS)))
