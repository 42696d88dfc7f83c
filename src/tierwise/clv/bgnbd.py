"""BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While alive, a customer buys as a Poisson process with rate ``lambda``;
after every repeat purchase she drops out with probability ``p``.  Across
customers ``lambda ~ Gamma(r, alpha)`` and ``p ~ Beta(a, b)``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.special import betainc, betaln, digamma, expit, gammaln, hyp2f1

from ._base import RFMData, TransactionModel, ensure_finite
from ._checks import check_count, check_time

__all__ = ["BGNBDModel"]


def _add_dropout_mixture(
    part: Any,
    r: float,
    alpha: float,
    a: float,
    bx: np.ndarray,
    acc: tuple[float, float, float, float, float],
) -> tuple[float, float, float, float, float]:
    """Add ``ln[(alpha+T)^-(r+x) + a/bx (alpha+t_x)^-(r+x)]`` over ``part`` and its gradient.

    ``bx`` is ``b + x - 1`` for BG/NBD and ``b + x`` for MBG/NBD; ``acc`` holds the running
    log-likelihood and the gradient in (r, alpha, a, b).
    """
    ll, g_r, g_alpha, g_a, g_b = acc
    x, w = part.x, part.w
    rx = r + x
    log_T = np.log(alpha + part.T_values)
    log_t = np.log(alpha + part.tx_values)
    lt_T = log_T[part.T_index]
    inv_T = np.exp(-log_T)[part.T_index]
    inv_t = np.exp(-log_t)[part.tx_index]
    diff = log_t[part.tx_index] - lt_T
    d = (np.log(a) - np.log(bx)) - rx * diff
    soft, w2 = _softplus_and_weight(d)
    ll += w @ (soft - rx * lt_T)
    ww2 = w * w2
    g_r -= w @ lt_T + ww2 @ diff
    g_alpha -= (w * rx) @ inv_T + (ww2 * rx) @ (inv_t - inv_T)
    g_a += ww2.sum() / a
    g_b -= ww2 @ (1.0 / bx)
    return ll, g_r, g_alpha, g_a, g_b


def _softplus_and_weight(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log(1 + exp(d))`` and ``exp(d) / (1 + exp(d))``, both overflow-free."""
    return np.logaddexp(0.0, d), expit(d)


class BGNBDModel(TransactionModel):
    """Beta-geometric/NBD purchase-count model.

    Parameters (learned): ``r_``, ``alpha_`` (Gamma heterogeneity of the
    purchase rate) and ``a_``, ``b_`` (Beta heterogeneity of the dropout
    probability).  Hyper-parameters are those of
    :class:`~tierwise.clv._base.MLEModel`.

    Examples
    --------
    >>> model = BGNBDModel().fit(summary)  # doctest: +SKIP
    >>> model.conditional_expected_number_of_purchases_up_to_time(39, 2, 30.43, 38.86)
    ... # doctest: +SKIP
    """

    _param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    _param_meaning: ClassVar[dict[str, str]] = {
        "r": "shape of the purchase-rate distribution",
        "alpha": "scale of the purchase-rate distribution",
        "a": "first shape of the dropout-probability distribution",
        "b": "second shape of the dropout-probability distribution",
    }

    # ------------------------------------------------------------ likelihood
    def _default_start(self, data: RFMData) -> np.ndarray:
        rate = self._mean_rate(data)
        return np.array([1.0, 1.0 / rate, 1.0, 3.0])

    def _loglik(self, theta: np.ndarray, data: RFMData) -> tuple[float, np.ndarray]:
        """Log-likelihood, FHL (2005) eq. (6), and its exact gradient.

        ``log L = lnG(r+x) - lnG(r) + r ln(alpha) + ln B(a, b+x) - ln B(a, b)
        + ln[(alpha+T)^-(r+x) + 1{x>0} a/(b+x-1) (alpha+t_x)^-(r+x)]``.
        """
        r, alpha, a, b = theta
        xs, wx, n = data.x_values, data.x_weights, data.n
        psi_abx = digamma(a + b + xs)
        ll = wx @ (gammaln(r + xs) + gammaln(b + xs) - gammaln(a + b + xs)) + n * (
            -gammaln(r) + r * np.log(alpha) + gammaln(a + b) - gammaln(b)
        )
        g_r = wx @ digamma(r + xs) + n * (np.log(alpha) - digamma(r))
        g_alpha = n * r / alpha
        g_a = n * digamma(a + b) - wx @ psi_abx
        g_b = wx @ (digamma(b + xs) - psi_abx) + n * (digamma(a + b) - digamma(b))

        # customers without repeat purchases: only the (alpha+T)^-r term
        zero = data.split(repeat=False)
        if zero.size:
            lt0 = np.log(alpha + zero.T)
            ll -= r * (zero.w @ lt0)
            g_r -= zero.w @ lt0
            g_alpha -= r * (zero.w @ (1.0 / (alpha + zero.T)))
        pos = data.split(repeat=True)
        if pos.size:
            ll, g_r, g_alpha, g_a, g_b = _add_dropout_mixture(
                pos, r, alpha, a, b + pos.x - 1.0, (ll, g_r, g_alpha, g_a, g_b)
            )
        return float(ll), np.array([g_r, g_alpha, g_a, g_b])

    def _diagnose(self, params: dict[str, float], data: Any) -> str | None:
        a, b = params["a"], params["b"]
        if a > 1e5 and b > 1e5:
            return (
                f"a and b grow together: dropout probabilities look identical across customers "
                f"(one common p = a/(a+b) = {a / (a + b):.3g}), so their spread cannot be estimated"
            )
        if a / (a + b) < 1e-3 or b > 1e6:
            return (
                f"The mean dropout probability a/(a+b) = {a / (a + b):.2g} is practically zero: "
                "the data show no sign of customers becoming inactive (everyone still buys at "
                "the rate they started with), so the dropout process cannot be estimated. A "
                "model without dropout (an NBD) describes such data; or observe for longer"
            )
        if params["r"] > 1e5 and params["alpha"] > 1e5:
            return (
                "r and alpha grow together: purchase rates look identical across customers, "
                "so their spread cannot be estimated"
            )
        return None

    # ------------------------------------------------------------ predictions
    def conditional_probability_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(alive at T | x, t_x, T), FHL (2005) eq. (12).

        ``1 / (1 + 1{x>0} a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))``.
        """
        x, tx, t_end, r, alpha, a, b = self._rfm(frequency, recency, T)
        pos = x > 0
        bx1 = np.where(pos, b + x - 1.0, 1.0)
        log_odds = np.log(a) - np.log(bx1) + (r + x) * (np.log(alpha + t_end) - np.log(alpha + tx))
        return ensure_finite(
            np.where(pos, expit(-log_odds), 1.0), "conditional_probability_alive", self
        )

    def conditional_probability_of_purchase(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> np.ndarray:
        """P(at least one purchase in ``(T, T+t]`` | x, t_x, T).

        A customer alive at ``T`` stays alive until the next purchase, and given alive the
        purchase rate is Gamma(r+x, alpha+T): ``P(alive) [1 - ((alpha+T)/(alpha+T+t))^(r+x)]``
        (the same for MBG/NBD with its own P(alive)).
        """
        x, tx, t_end, r, alpha, _, _ = self._rfm(frequency, recency, T)
        t = check_time(t)
        buys = 0.0 - np.expm1((r + x) * (np.log(alpha + t_end) - np.log(alpha + t_end + t)))
        out = self.conditional_probability_alive(x, tx, t_end) * buys
        return ensure_finite(out, "conditional_probability_of_purchase", self)

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> np.ndarray:
        """E[Y(t) | x, t_x, T]: expected purchases in ``(T, T+t]``, FHL (2005) eq. (10).

        ``(a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x)
        2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))] / (1 + 1{x>0} a/(b+x-1)
        ((alpha+T)/(alpha+t_x))^(r+x))``.
        """
        x, tx, t_end, r, alpha, a, b = self._rfm(frequency, recency, T)
        t = check_time(t)
        z = t / (alpha + t_end + t)
        # Euler's transformation of the 2F1 term keeps it finite for large x:
        # (1-z)^(r+x) 2F1(r+x, b+x; c; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; c; z)
        hyp = hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
        power = np.exp((a - 1.0) * np.log1p(-z))
        numerator = (a + b + x - 1.0) / (a - 1.0) * (1.0 - power * hyp)
        p_alive = self.conditional_probability_alive(x, tx, t_end)
        out = np.where(t > 0, numerator * p_alive, 0.0)
        return ensure_finite(out, "conditional_expected_number_of_purchases_up_to_time", self)

    def expected_number_of_purchases_up_to_time(self, t: Any) -> np.ndarray:
        """E[X(t)] for a customer just acquired, FHL (2005) eq. (9).

        ``(a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]``.
        """
        r, alpha, a, b = self._check_fitted()
        t = check_time(t)
        z = t / (alpha + t)
        # Euler's transformation: (1-z)^r 2F1(r, b; a+b-1; z)
        #   = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b-1; z)
        hyp = hyp2f1(a + b - 1.0 - r, a - 1.0, a + b - 1.0, z)
        out = (a + b - 1.0) / (a - 1.0) * (1.0 - np.exp((a - 1.0) * np.log1p(-z)) * hyp)
        out = np.where(t > 0, out, 0.0)
        return ensure_finite(out, "expected_number_of_purchases_up_to_time", self)

    def probability_of_n_purchases_up_to_time(self, t: Any, n: Any) -> np.ndarray:
        """P(X(t) = n) for a customer just acquired, FHL (2005) eq. (8).

        ``B(a, b+n)/B(a, b) NBD(n; r, alpha, t) + 1{n>0} B(a+1, b+n-1)/B(a, b)
        P(NBD(r, alpha, t) >= n)``, where the NBD tail is a regularised
        incomplete beta function.
        """
        r, alpha, a, b = self._check_fitted()
        t = check_time(t)
        n = check_count(n)
        t, n = np.broadcast_arrays(t, n)
        log_p0 = r * np.log(alpha / (alpha + t))
        with np.errstate(divide="ignore"):
            log_q = n * np.log(np.where(n > 0, t / (alpha + t), 1.0))
        nbd = np.exp(gammaln(r + n) - gammaln(r) - gammaln(n + 1.0) + log_p0 + log_q)
        first = np.exp(betaln(a, b + n) - betaln(a, b)) * nbd
        tail = betainc(np.maximum(n, 1.0), r, t / (alpha + t))
        second = np.exp(betaln(a + 1.0, np.maximum(b + n - 1.0, 1e-300)) - betaln(a, b)) * tail
        out = first + np.where(n > 0, second, 0.0)
        return ensure_finite(out, "probability_of_n_purchases_up_to_time", self)
