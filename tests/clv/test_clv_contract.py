"""The scikit-learn estimator contract, checked on every estimator of tierwise.clv."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from tierwise.clv import (
    BGNBDModel,
    GammaGammaModel,
    LoyaltyProfitQuadrant,
    MBGNBDModel,
    ParetoNBDModel,
    simulate_bgnbd,
    simulate_gamma_gamma,
    simulate_paretonbd,
)
from tierwise.errors import NotFittedError, TierwiseError


def _rfm_data() -> pd.DataFrame:
    return simulate_bgnbd(
        1500, r=0.5, alpha=6.0, a=0.8, b=2.5, T=39.0, seed=11, time_resolution=1 / 7
    )


def _pareto_data() -> pd.DataFrame:
    return simulate_paretonbd(
        1500, r=0.5, alpha=6.0, s=0.6, beta=12.0, T=39.0, seed=12, time_resolution=1 / 7
    )


def _spend_data() -> pd.DataFrame:
    data = _rfm_data()
    data = data[data["frequency"] > 0].copy()
    data["monetary_value"] = simulate_gamma_gamma(data["frequency"], p=6, q=4, gamma=15, seed=2)
    return data[["frequency", "monetary_value"]]


def _quadrant_data() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame(
        {"expected_loyalty": rng.uniform(size=200), "potential_profit": rng.gamma(2, 50, 200)}
    )


CASES = [
    (BGNBDModel, _rfm_data),
    (MBGNBDModel, _rfm_data),
    (ParetoNBDModel, _pareto_data),
    (GammaGammaModel, _spend_data),
    (LoyaltyProfitQuadrant, _quadrant_data),
]
IDS = [cls.__name__ for cls, _ in CASES]


@pytest.mark.parametrize(("cls", "make"), CASES, ids=IDS)
def test_init_only_stores_keyword_only_hyper_parameters(cls, make) -> None:
    params = inspect.signature(cls.__init__).parameters
    for name, param in params.items():
        if name != "self":
            assert param.kind is inspect.Parameter.KEYWORD_ONLY, name
    est = cls()
    assert set(vars(est)) == set(est.get_params())
    assert not [k for k in vars(est) if k.endswith("_")]
    assert clone(est).get_params() == est.get_params()


@pytest.mark.parametrize(("cls", "make"), CASES, ids=IDS)
def test_fit_returns_self_and_learns_trailing_underscore_state(cls, make) -> None:
    data = make()
    est = cls()
    before = set(vars(est))
    assert est.fit(data) is est
    learned = set(vars(est)) - before
    assert learned
    assert all(k.endswith("_") for k in learned if not k.startswith("_"))
    if hasattr(est, "params_"):
        assert all(f"{k}_" in learned for k in est.params_)
        assert np.isfinite(list(est.params_.values())).all()
        assert set(est.standard_errors_) == set(est.params_)
        for name, (low, high) in est.confidence_intervals_.items():
            assert 0 < low < est.params_[name] < high


@pytest.mark.parametrize(("cls", "make"), CASES, ids=IDS)
def test_fit_does_not_modify_input(cls, make) -> None:
    data = make()
    copy = data.copy(deep=True)
    cls().fit(data)
    pd.testing.assert_frame_equal(data, copy)


@pytest.mark.parametrize(("cls", "make"), CASES, ids=IDS)
def test_unfitted_use_raises_not_fitted(cls, make) -> None:
    est = cls()
    data = make()
    with pytest.raises(NotFittedError, match="not fitted"):
        if isinstance(est, LoyaltyProfitQuadrant):
            est.predict(data)
        elif isinstance(est, GammaGammaModel):
            est.conditional_expected_average_profit(data["frequency"], data["monetary_value"])
        else:
            est.conditional_probability_alive(data["frequency"], data["recency"], data["T"])
    assert issubclass(NotFittedError, TierwiseError)


@pytest.mark.parametrize("cls", [BGNBDModel, MBGNBDModel, ParetoNBDModel], ids=lambda c: c.__name__)
def test_every_prediction_needs_a_fit(cls) -> None:
    est = cls()
    calls = [
        lambda: est.conditional_expected_number_of_purchases_up_to_time(1, 0, 0, 1),
        lambda: est.expected_number_of_purchases_up_to_time(1),
        lambda: est.probability_of_n_purchases_up_to_time(1, 0),
        lambda: est.summary(),
        lambda: est.predict(np.array([[0, 0, 1]]), t=1),
    ]
    for call in calls:
        with pytest.raises(NotFittedError):
            call()


@pytest.mark.parametrize(("cls", "make"), CASES[:4], ids=IDS[:4])
def test_refit_is_deterministic_and_array_input_works(cls, make) -> None:
    data = make()
    a = cls().fit(data)
    b = cls().fit(data.to_numpy())
    for name in a.params_:
        assert a.params_[name] == pytest.approx(b.params_[name], rel=1e-9)


@pytest.mark.parametrize(("cls", "make"), CASES[:4], ids=IDS[:4])
def test_sample_weight_equals_repeating_rows(cls, make) -> None:
    data = make().iloc[:400]
    weights = np.tile([1.0, 2.0], 200)
    repeated = pd.concat([data, data.iloc[1::2]])
    a = cls().fit(data, sample_weight=weights)
    b = cls().fit(repeated)
    for name in a.params_:
        assert a.params_[name] == pytest.approx(b.params_[name], rel=1e-6)
