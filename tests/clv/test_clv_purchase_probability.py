"""P(a purchase in the next t) from the purchase models, and spend predictions at zero."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from tierwise.clv import BGNBDModel, GammaGammaModel, MBGNBDModel, ParetoNBDModel

PARETO = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}  # FHL 2005, CDNOW
BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.mark.parametrize(
    "model",
    [
        ParetoNBDModel.from_params(**PARETO),
        BGNBDModel.from_params(**BG),
        MBGNBDModel.from_params(**BG),
    ],
)
def test_a_new_customer_matches_the_unconditional_count(model):
    # just acquired (x = t_x = T = 0): P(X(t) > 0) is 1 - P(X(t) = 0) of the model
    for t in (1.0, 13.0, 39.0):
        got = model.conditional_probability_of_purchase(t, 0, 0, 0)
        assert got == pytest.approx(1 - model.probability_of_n_purchases_up_to_time(t, 0))


@pytest.mark.parametrize(
    "model",
    [
        ParetoNBDModel.from_params(**PARETO),
        BGNBDModel.from_params(**BG),
        MBGNBDModel.from_params(**BG),
    ],
)
def test_bounded_by_p_alive_and_zero_at_zero(model):
    x, tx, T = np.array([0, 2, 5, 5]), np.array([0, 10, 30, 5.0]), np.full(4, 39.0)
    p = model.conditional_probability_of_purchase(39, x, tx, T)
    assert (p > 0).all() and (p <= model.conditional_probability_alive(x, tx, T)).all()
    assert (model.conditional_probability_of_purchase(0, x, tx, T) == 0).all()


@pytest.mark.slow
def test_pareto_nbd_agrees_with_the_posterior_integral():
    r, alpha, s, beta = PARETO.values()
    model = ParetoNBDModel.from_params(**PARETO)

    def likelihood(lam, mu, x, tx, T):
        k = lam + mu
        return lam**x * (np.exp(-k * T) + mu / k * (np.exp(-k * tx) - np.exp(-k * T)))

    def prior(lam, mu):
        return stats.gamma.pdf(lam, r, scale=1 / alpha) * stats.gamma.pdf(mu, s, scale=1 / beta)

    def posterior_mass(x: int, tx: float, T: float) -> float:
        def f(v, u):  # lam = u^2, mu = v^2 removes the prior's singularity at 0
            lam, mu = u * u, v * v
            return 4 * u * v * prior(lam, mu) * likelihood(lam, mu, x, tx, T)

        return integrate.dblquad(f, 0, 3, 0, 3, epsabs=1e-10, epsrel=1e-8)[0]

    for x, tx in ((2, 10.0), (5, 30.0)):
        num, den = posterior_mass(x, tx, 78.0), posterior_mass(x, tx, 39.0)
        got = model.conditional_probability_of_purchase(39, x, tx, 39.0)
        assert got == pytest.approx(1 - num / den, abs=2e-4)


def test_free_repeat_purchases_are_valued_not_refused():
    spend = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)
    value = spend.conditional_expected_average_profit([2, 2], [0.0, 30.0])
    assert 0 < value[0] < value[1]
    with pytest.raises(ValueError, match="must not be negative"):
        spend.conditional_expected_average_profit([2], [-1.0])
