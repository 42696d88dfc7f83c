"""Bad input gets a clear ValueError, never a silent NaN."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tierwise.clv import (
    BGNBDModel,
    GammaGammaModel,
    InvalidInputError,
    LoyaltyProfitQuadrant,
    ParetoNBDModel,
    customer_lifetime_value,
    summary_from_transactions,
)
from tierwise.errors import TierwiseError

GOOD = {"frequency": [0, 2, 5], "recency": [0.0, 10.0, 30.0], "T": [39.0, 39.0, 39.0]}


def frame(**changes) -> pd.DataFrame:
    data = {k: list(v) for k, v in GOOD.items()}
    for key, (i, value) in changes.items():
        data[key][i] = value
    return pd.DataFrame(data)


@pytest.mark.parametrize("cls", [BGNBDModel, ParetoNBDModel], ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (frame(recency=(1, 45.0)), "recency must not exceed T"),
        (frame(frequency=(1, -1)), "frequency must be non-negative"),
        (frame(T=(2, -3.0)), "T must be non-negative"),
        (frame(frequency=(1, 2.5)), "whole number"),
        (frame(recency=(1, np.nan)), "recency is missing or infinite in 1 row"),
        (frame(recency=(0, 4.0)), "recency must be 0 when frequency is 0"),
        (
            pd.DataFrame({"frequency": [0, 0], "recency": [0.0, 0.0], "T": [5.0, 9.0]}),
            "every customer has frequency 0",
        ),
        (pd.DataFrame({"frequency": [3], "recency": [4.0], "T": [9.0]}), "at least 2 customers"),
        (pd.DataFrame({"frequency": [1], "recency": [4.0]}), r"lacks column\(s\) \['T'\]"),
        (np.ones((4, 2)), r"\(n, 3\) array"),
    ],
    ids=[
        "recency>T",
        "negative",
        "negative-T",
        "non-integer",
        "nan",
        "ghost-recency",
        "all-zero",
        "single",
        "missing-column",
        "bad-shape",
    ],
)
def test_fit_rejects_bad_input(cls, data, pattern) -> None:
    with pytest.raises(ValueError, match=pattern) as info:
        cls().fit(data)
    assert isinstance(info.value, TierwiseError)
    assert isinstance(info.value, InvalidInputError)


def test_predictions_reject_bad_input(bgnbd) -> None:
    with pytest.raises(ValueError, match="recency must not exceed T"):
        bgnbd.conditional_probability_alive([1], [50.0], [39.0])
    with pytest.raises(ValueError, match="same length"):
        bgnbd.conditional_probability_alive([1, 2], [5.0, 6.0, 7.0], [39.0])
    with pytest.raises(ValueError, match="prediction horizon"):
        bgnbd.conditional_expected_number_of_purchases_up_to_time(-1, 1, 5.0, 39.0)
    with pytest.raises(ValueError, match="whole number"):
        bgnbd.probability_of_n_purchases_up_to_time(10, 1.5)


def test_hyper_parameters_are_checked(cdnow_summary) -> None:
    with pytest.raises(ValueError, match="penalizer"):
        BGNBDModel(penalizer=-1).fit(cdnow_summary)
    with pytest.raises(ValueError, match="unknown name"):
        BGNBDModel(initial_params={"beta": 1.0}).fit(cdnow_summary)
    with pytest.raises(ValueError, match="must be > 0"):
        BGNBDModel(initial_params={"r": -1.0}).fit(cdnow_summary)
    with pytest.raises(ValueError, match="sample_weight"):
        BGNBDModel().fit(cdnow_summary, sample_weight=np.ones(3))


def test_gamma_gamma_requires_repeat_buyers(cdnow_summary) -> None:
    with pytest.raises(ValueError, match=r"frequency 0 .* summary\[summary\['frequency'\] > 0\]"):
        GammaGammaModel().fit(cdnow_summary[["frequency", "monetary_value"]])
    bad = pd.DataFrame({"frequency": [1, 2, 3], "monetary_value": [10.0, -5.0, 3.0]})
    with pytest.raises(ValueError, match="monetary_value must be positive"):
        GammaGammaModel().fit(bad)


def test_gamma_gamma_rejects_infinite_population_mean() -> None:
    model = GammaGammaModel.from_params(p=2.0, q=0.8, gamma=10.0)
    with pytest.raises(ValueError, match="population mean spend is infinite"):
        model.conditional_expected_average_profit([0, 3], [0.0, 20.0])
    assert np.isfinite(model.conditional_expected_average_profit([3], [20.0])).all()


def test_transactions_are_checked() -> None:
    tx = pd.DataFrame({"customer_id": [1, 2], "datetime": ["2024-01-01", "not a date"]})
    with pytest.raises(ValueError, match="not a date in 1 rows"):
        summary_from_transactions(tx)
    with pytest.raises(ValueError, match=r"lack column\(s\) \['amount'\]"):
        summary_from_transactions(tx, monetary_value_col="amount")
    with pytest.raises(ValueError, match="freq must be one of"):
        summary_from_transactions(tx.iloc[:1], freq="Q")


def test_clv_inputs_are_checked(bgnbd) -> None:
    with pytest.raises(ValueError, match="time must be a whole number"):
        customer_lifetime_value(bgnbd, [1], [5.0], [39.0], [10.0], time=0)
    with pytest.raises(ValueError, match="monetary_value is missing or infinite in 1 row"):
        customer_lifetime_value(bgnbd, [1], [5.0], [39.0], [np.nan])


def test_quadrant_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match="lacks column"):
        LoyaltyProfitQuadrant().fit(pd.DataFrame({"expected_loyalty": [0.5]}))
    with pytest.raises(ValueError, match="missing or infinite in 1 rows"):
        LoyaltyProfitQuadrant().fit(np.array([[0.5, 1.0], [np.nan, 2.0]]))
    with pytest.raises(ValueError, match="'median', 'mean' or a number"):
        LoyaltyProfitQuadrant(loyalty_threshold="top").fit(np.array([[0.5, 1.0]]))
