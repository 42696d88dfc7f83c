"""MBG/NBD model (Batislam, Denizel & Filiztekin 2007).

The BG/NBD with one change: a customer may also drop out right after the
first purchase, so customers with no repeat purchase are not assumed alive.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import betainc, betaln, digamma, expit, gammaln, hyp2f1

from ._base import RFMData, ensure_finite
from ._checks import check_count, check_time
from .bgnbd import BGNBDModel, _add_dropout_mixture

__all__ = ["MBGNBDModel"]


class MBGNBDModel(BGNBDModel):
    """Modified beta-geometric/NBD purchase-count model.

    Same parameters as :class:`BGNBDModel` (``r_``, ``alpha_``, ``a_``,
    ``b_``); dropout opportunities are the first purchase and every repeat
    purchase.
    """

    def _loglik(self, theta: np.ndarray, data: RFMData) -> tuple[float, np.ndarray]:
        """Log-likelihood, Batislam et al. (2007) eq. (4), and its exact gradient.

        ``log L = lnG(r+x) - lnG(r) + r ln(alpha) + ln B(a, b+x+1) - ln B(a, b)
        + ln[(alpha+T)^-(r+x) + a/(b+x) (alpha+t_x)^-(r+x)]``.
        """
        r, alpha, a, b = theta
        xs, wx, n = data.x_values, data.x_weights, data.n
        psi_abx = digamma(a + b + xs + 1.0)
        ll = wx @ (gammaln(r + xs) + gammaln(b + xs + 1.0) - gammaln(a + b + xs + 1.0)) + n * (
            -gammaln(r) + r * np.log(alpha) + gammaln(a + b) - gammaln(b)
        )
        g_r = wx @ digamma(r + xs) + n * (np.log(alpha) - digamma(r))
        g_alpha = n * r / alpha
        g_a = n * digamma(a + b) - wx @ psi_abx
        g_b = wx @ (digamma(b + xs + 1.0) - psi_abx) + n * (digamma(a + b) - digamma(b))
        for part in (data.split(repeat=False), data.split(repeat=True)):
            if part.size:
                ll, g_r, g_alpha, g_a, g_b = _add_dropout_mixture(
                    part, r, alpha, a, b + part.x, (ll, g_r, g_alpha, g_a, g_b)
                )
        return float(ll), np.array([g_r, g_alpha, g_a, g_b])

    def conditional_probability_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(alive at T | x, t_x, T), Batislam et al. (2007) eq. (6).

        ``1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x))``.
        """
        x, tx, t_end, r, alpha, a, b = self._rfm(frequency, recency, T)
        log_odds = (
            np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + t_end) - np.log(alpha + tx))
        )
        return ensure_finite(expit(-log_odds), "conditional_probability_alive", self)

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> np.ndarray:
        """E[Y(t) | x, t_x, T], Batislam et al. (2007) eq. (7).

        ``(a+b+x)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x+1;
        a+b+x; t/(alpha+T+t))] P(alive)``.
        """
        x, tx, t_end, r, alpha, a, b = self._rfm(frequency, recency, T)
        t = check_time(t)
        z = t / (alpha + t_end + t)
        # Euler's transformation keeps the 2F1 term finite for large x
        hyp = hyp2f1(a + b - r, a - 1.0, a + b + x, z)
        power = np.exp((a - 1.0) * np.log1p(-z))
        numerator = (a + b + x) / (a - 1.0) * (1.0 - power * hyp)
        out = np.where(t > 0, numerator * self.conditional_probability_alive(x, tx, t_end), 0.0)
        return ensure_finite(out, "conditional_expected_number_of_purchases_up_to_time", self)

    def expected_number_of_purchases_up_to_time(self, t: Any) -> np.ndarray:
        """E[X(t)], Batislam et al. (2007) eq. (5).

        ``b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))]``.
        """
        r, alpha, a, b = self._check_fitted()
        t = check_time(t)
        z = t / (alpha + t)
        hyp = hyp2f1(a + b - r, a - 1.0, a + b, z)  # Euler's transformation
        out = np.where(t > 0, b / (a - 1.0) * (1.0 - np.exp((a - 1.0) * np.log1p(-z)) * hyp), 0.0)
        return ensure_finite(out, "expected_number_of_purchases_up_to_time", self)

    def probability_of_n_purchases_up_to_time(self, t: Any, n: Any) -> np.ndarray:
        """P(X(t) = n): ``X = min(N(t), J)`` with ``P(J = j) = (1-p)^j p``.

        ``B(a, b+n+1)/B(a, b) NBD(n; r, alpha, t) + B(a+1, b+n)/B(a, b)
        P(NBD(r, alpha, t) >= n)`` (the second term is ``a/(a+b)`` at ``n = 0``).
        """
        r, alpha, a, b = self._check_fitted()
        t, n = np.broadcast_arrays(check_time(t), check_count(n))
        with np.errstate(divide="ignore"):
            log_q = n * np.log(np.where(n > 0, t / (alpha + t), 1.0))
        nbd = np.exp(
            gammaln(r + n) - gammaln(r) - gammaln(n + 1.0) + r * np.log(alpha / (alpha + t)) + log_q
        )
        tail = np.where(n > 0, betainc(np.maximum(n, 1.0), r, t / (alpha + t)), 1.0)
        out = (
            np.exp(betaln(a, b + n + 1.0) - betaln(a, b)) * nbd
            + np.exp(betaln(a + 1.0, b + n) - betaln(a, b)) * tail
        )
        return ensure_finite(out, "probability_of_n_purchases_up_to_time", self)
