"""Likelihoods, gradients and predictions of the purchase-count and spend models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from tierwise.clv import (
    BGNBDModel,
    ConvergenceError,
    GammaGammaModel,
    MBGNBDModel,
    ParetoNBDModel,
    simulate_bgnbd,
    simulate_gamma_gamma,
    simulate_mbgnbd,
    simulate_nbd,
    simulate_paretonbd,
)
from tierwise.clv._base import RFMData
from tierwise.clv.gammagamma import _SpendData
from tierwise.clv.paretonbd import log_likelihood_hyp2f1

RNG_SEED = 2024


def _random_rfm(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.choice([0, 0, 1, 2, 3, 5, 8, 20, 60], n).astype(float)
    T = rng.uniform(1.0, 80.0, n)
    tx = np.where(x > 0, rng.uniform(0.0, 1.0, n) * T, 0.0)
    tx[::7] = np.where(x[::7] > 0, T[::7], 0.0)  # last purchase on the last day
    return pd.DataFrame({"frequency": x, "recency": tx, "T": T})


def _numeric_gradient(model, theta: np.ndarray, data) -> np.ndarray:
    """Five-point central differences of the log-likelihood, relative steps."""
    out = np.empty_like(theta)
    for i in range(len(theta)):
        h = 1e-4 * theta[i]

        def f(d: float, i: int = i) -> float:
            t = theta.copy()
            t[i] += d
            return model._loglik(t, data)[0]

        out[i] = (8 * (f(h) - f(-h)) - (f(2 * h) - f(-2 * h))) / (12 * h)
    return out


THETAS = {
    BGNBDModel: [(0.24, 4.4, 0.79, 2.4), (3.0, 1.5, 2.5, 0.3), (0.05, 40.0, 0.2, 30.0)],
    MBGNBDModel: [(0.52, 6.2, 0.89, 1.6), (3.0, 1.5, 2.5, 0.3), (0.05, 40.0, 0.2, 30.0)],
    ParetoNBDModel: [
        (0.55, 10.6, 0.61, 11.7),
        (3.0, 2.0, 4.0, 40.0),  # beta >> alpha, large shapes
        (0.3, 50.0, 0.05, 1.0),  # alpha >> beta
        (2.0, 0.5, 0.2, 5.0),
    ],
}


@pytest.mark.parametrize("cls", list(THETAS), ids=lambda c: c.__name__)
def test_analytic_gradient_matches_finite_differences(cls) -> None:
    frame = _random_rfm(300, RNG_SEED)
    data = RFMData(*(frame[c].to_numpy() for c in ("frequency", "recency", "T")), np.ones(300))
    model = cls()
    for theta in THETAS[cls]:
        theta = np.array(theta, dtype=float)
        _, grad = model._loglik(theta, data)
        np.testing.assert_allclose(
            grad, _numeric_gradient(model, theta, data), rtol=2e-6, atol=1e-6
        )


def test_gamma_gamma_gradient() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(1, 30, 200).astype(float)
    m = rng.gamma(3.0, 10.0, 200)
    data = _SpendData(x, m, np.ones(200))
    model = GammaGammaModel()
    for theta in ([6.25, 3.74, 15.44], [0.5, 12.0, 300.0]):
        theta = np.array(theta)
        _, grad = model._loglik(theta, data)
        np.testing.assert_allclose(grad, _numeric_gradient(model, theta, data), rtol=2e-6)


@pytest.mark.parametrize(
    "params",
    [
        {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7},
        {"r": 3.0, "alpha": 2.0, "s": 4.0, "beta": 40.0},
        {"r": 0.3, "alpha": 50.0, "s": 0.05, "beta": 1.0},
        {"r": 1.2, "alpha": 0.7, "s": 2.5, "beta": 0.9},
    ],
)
def test_pareto_quadrature_matches_hypergeometric_formula(params) -> None:
    frame = _random_rfm(400, RNG_SEED + 1)
    x, tx, T = (frame[c].to_numpy() for c in ("frequency", "recency", "T"))
    reference = log_likelihood_hyp2f1(params, x, tx, T)
    model = ParetoNBDModel()
    data = RFMData(x, tx, T, np.ones(len(x)))
    total, _ = model._loglik(np.array(list(params.values())), data)
    assert total == pytest.approx(reference.sum(), rel=1e-10)


def test_pareto_integral_in_pieces_equals_it_whole() -> None:
    """Many rows are integrated in pieces on the machine's cores: every row's value and
    gradient is the one computed on all rows at once (a gradient to the last bit)."""
    from tierwise.clv import paretonbd

    rng = np.random.default_rng(7)
    n = 3 * paretonbd._PIECE + 11
    T = rng.uniform(1.0, 80.0, n)
    tx, x = T * rng.uniform(0.0, 0.99, n), rng.poisson(3.0, n).astype(float)
    for params in ((0.55, 10.6, 0.6, 11.7), (2.0, 1.0, 40.0, 9000.0)):
        whole = paretonbd._log_integral(*params, x, tx, T, grad=True)
        pieces = paretonbd._log_integral_rows(*params, x, tx, T, grad=True)
        assert np.isfinite(whole[0]).all()
        assert np.array_equal(whole[0], pieces[0])
        np.testing.assert_allclose(pieces[1], whole[1], rtol=1e-15, atol=0)


@pytest.mark.parametrize("cls", [BGNBDModel, MBGNBDModel], ids=lambda c: c.__name__)
def test_bg_likelihood_reduces_to_paper_formula(cls) -> None:
    """Direct evaluation of FHL eq. (6) / Batislam eq. (4), term by term."""
    from scipy.special import betaln, gammaln

    r, alpha, a, b = 0.3, 5.0, 0.9, 2.0
    frame = _random_rfm(50, 9)
    x, tx, T = (frame[c].to_numpy() for c in ("frequency", "recency", "T"))
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    if cls is BGNBDModel:
        first = np.exp(betaln(a, b + x) - betaln(a, b)) / (alpha + T) ** (r + x)
        second = np.where(
            x > 0,
            np.exp(betaln(a + 1, np.maximum(b + x - 1, 1e-9)) - betaln(a, b))
            / (alpha + tx) ** (r + x),
            0.0,
        )
    else:
        first = np.exp(betaln(a, b + x + 1) - betaln(a, b)) / (alpha + T) ** (r + x)
        second = np.exp(betaln(a + 1, b + x) - betaln(a, b)) / (alpha + tx) ** (r + x)
    expected = (base + np.log(first + second)).sum()
    data = RFMData(x, tx, T, np.ones(len(x)))
    assert cls()._loglik(np.array([r, alpha, a, b]), data)[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (BGNBDModel, {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}),
        (MBGNBDModel, {"r": 0.52, "alpha": 6.2, "a": 0.89, "b": 1.6}),
        (ParetoNBDModel, {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}),
    ],
    ids=["bgnbd", "mbgnbd", "paretonbd"],
)
def test_purchase_distribution_is_consistent(cls, params) -> None:
    model = cls.from_params(**params)
    n = np.arange(800)
    for t in (1.0, 39.0, 78.0):
        probs = model.probability_of_n_purchases_up_to_time(t, n)
        assert (probs >= 0).all()
        assert probs.sum() == pytest.approx(1.0, abs=1e-8)
        mean = float(n @ probs)
        assert mean == pytest.approx(
            float(model.expected_number_of_purchases_up_to_time(t)), rel=1e-6
        )
    assert model.expected_number_of_purchases_up_to_time(0.0) == pytest.approx(0.0)
    assert model.probability_of_n_purchases_up_to_time(0.0, 0) == pytest.approx(1.0)


@pytest.mark.parametrize("cls", [BGNBDModel, MBGNBDModel, ParetoNBDModel], ids=lambda c: c.__name__)
def test_conditional_predictions_behave(cls, cdnow_summary) -> None:
    model = cls().fit(cdnow_summary)
    x, tx, T = (cdnow_summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    p_alive = model.conditional_probability_alive(x, tx, T)
    assert ((p_alive > 0) & (p_alive <= 1)).all()
    zero = model.conditional_expected_number_of_purchases_up_to_time(0.0, x, tx, T)
    np.testing.assert_array_equal(zero, 0.0)
    e10 = model.conditional_expected_number_of_purchases_up_to_time(10.0, x, tx, T)
    e20 = model.conditional_expected_number_of_purchases_up_to_time(20.0, x, tx, T)
    assert ((e20 >= e10) & (e10 > 0)).all()
    # a long-silent frequent buyer is less likely alive than a recent one
    late, early = model.conditional_probability_alive([10, 10], [35.0, 5.0], [38.0, 38.0])
    assert late > early
    # predict() is the conditional expectation
    np.testing.assert_allclose(model.predict(cdnow_summary, t=10.0), e10)
    # score is the mean log-likelihood
    assert model.score(cdnow_summary) == pytest.approx(model.log_likelihood_ / len(x), rel=1e-9)
    # broadcasting: a grid of horizons against customers
    grid = model.conditional_expected_number_of_purchases_up_to_time(
        np.array([[10.0], [20.0]]), x[None, :], tx[None, :], T[None, :]
    )
    np.testing.assert_allclose(grid, np.vstack([e10, e20]))


def test_pareto_conditional_expectation_limit_s_equals_one() -> None:
    near = ParetoNBDModel.from_params(r=0.5, alpha=10.0, s=1.0 + 1e-7, beta=12.0)
    exact = ParetoNBDModel.from_params(r=0.5, alpha=10.0, s=1.0, beta=12.0)
    a = near.conditional_expected_number_of_purchases_up_to_time(30, 3, 20, 39)
    b = exact.conditional_expected_number_of_purchases_up_to_time(30, 3, 20, 39)
    assert a == pytest.approx(b, rel=1e-5)
    assert near.expected_number_of_purchases_up_to_time(30) == pytest.approx(
        exact.expected_number_of_purchases_up_to_time(30), rel=1e-5
    )


def test_bgnbd_expectation_against_series() -> None:
    model = BGNBDModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    t = 10.0
    z = t / (alpha + t)
    value = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))
    assert model.expected_number_of_purchases_up_to_time(t) == pytest.approx(value)


@pytest.mark.parametrize(
    ("simulate", "cls", "truth"),
    [
        (simulate_bgnbd, BGNBDModel, {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 2.5}),
        (simulate_mbgnbd, MBGNBDModel, {"r": 0.5, "alpha": 6.0, "a": 1.2, "b": 3.0}),
        (simulate_paretonbd, ParetoNBDModel, {"r": 0.6, "alpha": 8.0, "s": 0.8, "beta": 10.0}),
    ],
    ids=["bgnbd", "mbgnbd", "paretonbd"],
)
def test_simulation_recovers_parameters(simulate, cls, truth) -> None:
    T = 39.0 - np.random.default_rng(1).integers(0, 84, 20_000) / 7.0
    data = simulate(20_000, T=T, seed=7, time_resolution=1 / 7, **truth)
    model = cls().fit(data)
    for name, value in truth.items():
        low, high = model.confidence_intervals_[name]
        # 99.9 % band from the 95 % interval's width on the log scale
        half = (np.log(high) - np.log(low)) / 2 * 3.29 / 1.96
        assert abs(np.log(model.params_[name]) - np.log(value)) < half, name


def test_gamma_gamma_recovers_parameters() -> None:
    rng = np.random.default_rng(4)
    freq = rng.integers(1, 15, 20_000)
    spend = simulate_gamma_gamma(freq, p=6.0, q=4.0, gamma=15.0, seed=8)
    model = GammaGammaModel().fit(pd.DataFrame({"frequency": freq, "monetary_value": spend}))
    for name, value in {"p": 6.0, "q": 4.0, "gamma": 15.0}.items():
        low, high = model.confidence_intervals_[name]
        half = (np.log(high) - np.log(low)) / 2 * 3.29 / 1.96
        assert abs(np.log(model.params_[name]) - np.log(value)) < half, name


def test_gamma_gamma_predictions(gamma_gamma) -> None:
    p, q, g = gamma_gamma.p_, gamma_gamma.q_, gamma_gamma.gamma_
    value = gamma_gamma.conditional_expected_average_profit([0, 2, 100], [0.0, 30.0, 30.0])
    assert value[0] == pytest.approx(p * g / (q - 1))
    assert value[0] == pytest.approx(gamma_gamma.expected_average_profit())
    assert value[1] == pytest.approx(p * (g + 2 * 30.0) / (2 * p + q - 1))
    assert abs(value[2] - 30.0) < abs(value[1] - 30.0)  # more purchases, more own-mean weight


@pytest.mark.parametrize(
    ("cls", "pattern"),
    [
        (BGNBDModel, "dropout probability"),
        (MBGNBDModel, "dropout probability"),
        (ParetoNBDModel, "dropout rate"),
    ],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_no_dropout_data_raise_a_clear_error(cls, pattern) -> None:
    data = simulate_nbd(3000, r=0.5, alpha=5.0, T=39.0, seed=3, time_resolution=1 / 7)
    with pytest.raises(ConvergenceError, match=pattern) as info:
        cls().fit(data)
    assert "penalizer" in str(info.value)
    # a small ridge penalty keeps the parameters finite
    model = cls(penalizer=0.001).fit(data)
    assert np.isfinite(list(model.params_.values())).all()


def test_from_params_validates() -> None:
    with pytest.raises(ValueError, match="needs exactly"):
        BGNBDModel.from_params(r=1, alpha=1, a=1)
    with pytest.raises(ValueError, match="positive"):
        BGNBDModel.from_params(r=1, alpha=1, a=1, b=-2)
    model = BGNBDModel.from_params(r=1, alpha=1, a=1.5, b=2)
    assert np.isnan(model.summary()["std_error"]).all()


def test_summary_table(bgnbd) -> None:
    table = bgnbd.summary()
    assert list(table.index) == ["r", "alpha", "a", "b"]
    assert (table["lower_95"] < table["estimate"]).all()
    assert (table["estimate"] < table["upper_95"]).all()
    assert (table["std_error"] > 0).all()
    assert bgnbd.covariance_.shape == (4, 4)


@pytest.mark.parametrize("cls", [BGNBDModel, MBGNBDModel, ParetoNBDModel], ids=lambda c: c.__name__)
def test_heavy_buyers_get_finite_predictions(cls, cdnow_summary) -> None:
    model = cls().fit(cdnow_summary)
    x = np.array([0, 10, 100, 1000, 5000])
    tx = np.array([0.0, 38.0, 38.5, 38.8, 38.85])
    for t in (1.0, 52.0, 520.0):
        values = model.conditional_expected_number_of_purchases_up_to_time(t, x, tx, 38.86)
        assert np.isfinite(values).all()
        assert (np.diff(values[1:]) > 0).all()  # more past purchases, more future ones
    assert np.isfinite(model.expected_number_of_purchases_up_to_time([1e3, 1e5])).all()
