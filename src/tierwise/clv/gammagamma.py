"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie's
note "The Gamma-Gamma Model of Monetary Value", 2013).

Each transaction value of a customer is ``Gamma(p, nu)``; across customers
``nu ~ Gamma(q, gamma)``.  Fitted on repeat buyers (``frequency > 0``) with
their mean repeat transaction value; the model assumes spend per
transaction is independent of purchase frequency.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from ._base import MLEModel, ensure_finite, group_rows, weights_from
from ._checks import InvalidInputError, check_monetary

__all__ = ["GammaGammaModel"]


class _SpendData:
    """Grouped ``(x, m)`` rows, the parameter-free logarithms and the distinct ``x``."""

    __slots__ = ("const", "log_mx", "m", "mx", "n", "n_groups", "w", "x", "x_index", "x_values")

    def __init__(self, x: np.ndarray, m: np.ndarray, w: np.ndarray) -> None:
        keep = w > 0
        (self.x, self.m), self.w = group_rows([x[keep], m[keep]], w[keep])
        self.n = float(self.w.sum())
        self.n_groups = len(self.w)
        self.mx = self.m * self.x
        self.log_mx = np.log(self.mx)
        self.const = float(self.w @ (np.log(self.x) - self.log_mx))
        self.x_values, self.x_index = np.unique(self.x, return_inverse=True)


class GammaGammaModel(MLEModel):
    """Gamma-Gamma model of the mean value per repeat transaction.

    ``fit(X)`` takes a DataFrame with columns ``frequency`` and
    ``monetary_value`` (mean value of the repeat transactions; pass margins
    instead of revenue to model profit) or an ``(n, 2)`` array.  Every row
    must have ``frequency > 0``: filter with ``summary[summary.frequency >
    0]``.  Learned: ``p_``, ``q_``, ``gamma_``.
    """

    _param_names: ClassVar[tuple[str, ...]] = ("p", "q", "gamma")
    _param_meaning: ClassVar[dict[str, str]] = {
        "p": "shape of the transaction-value distribution",
        "q": "shape of the spend-scale distribution across customers",
        "gamma": "scale of the spend-scale distribution across customers",
    }

    def _data_for_fit(self, X: Any, sample_weight: Any) -> _SpendData:
        x, m = check_monetary(*_as_spend(X), for_fit=True)
        return _SpendData(x, m, weights_from(sample_weight, len(x)))

    def _default_start(self, data: _SpendData) -> np.ndarray:
        mean = float((data.w @ data.m) / data.n)
        return np.array([1.0, 2.0, mean])

    def _loglik(self, theta: np.ndarray, data: _SpendData) -> tuple[float, np.ndarray]:
        """Log-likelihood of the mean spend ``m`` over ``x`` transactions (note, eq. 5).

        ``lnG(px+q) - lnG(px) - lnG(q) + q ln(gamma) + (px-1) ln(m x) + ln x
        - (px+q) ln(gamma + m x)``.
        """
        p, q, gamma = theta
        x, w, idx = data.x, data.w, data.x_index
        pxu = p * data.x_values
        psi_pxq = digamma(pxu + q)[idx]
        psi_px = digamma(pxu)[idx]
        lg = (gammaln(pxu + q) - gammaln(pxu))[idx]
        px = p * x
        l_gmx = np.log(gamma + data.mx)
        ll = (
            w @ (lg + px * data.log_mx - (px + q) * l_gmx)
            + data.const
            + data.n * (q * np.log(gamma) - gammaln(q))
        )
        g_p = (w * x) @ (psi_pxq - psi_px + data.log_mx - l_gmx)
        g_q = w @ (psi_pxq - l_gmx) + data.n * (np.log(gamma) - digamma(q))
        g_gamma = data.n * q / gamma - w @ ((px + q) / (gamma + data.mx))
        return float(ll), np.array([g_p, g_q, g_gamma])

    def _diagnose(self, params: dict[str, float], data: Any) -> str | None:
        if params["q"] > 1e5 and params["gamma"] > 1e5:
            return (
                "q and gamma grow together: the spend level looks identical across customers, "
                "so its spread cannot be estimated"
            )
        return None

    def conditional_expected_average_profit(
        self, frequency: Any, monetary_value: Any
    ) -> np.ndarray:
        """E[M | x, m_x]: expected value per future transaction, FHL (2005) eq. (5).

        ``p (gamma + x m_x) / (p x + q - 1)``; customers with ``x = 0`` get the
        population mean ``p gamma / (q - 1)`` (their ``monetary_value`` is
        ignored).  Requires ``q > 1`` when any ``x = 0`` (otherwise the
        population mean is infinite).
        """
        p, q, gamma = self._check_fitted()
        x, m = check_monetary(frequency, monetary_value)
        m = np.where(x > 0, m, 0.0)
        denom = p * x + q - 1.0
        if np.any(denom <= 0):
            raise InvalidInputError(
                f"q = {q:.3g} <= 1: the population mean spend is infinite, so customers without "
                "repeat purchases have no finite expected spend; predict only for frequency > 0"
            )
        return ensure_finite(
            p * (gamma + x * m) / denom, "conditional_expected_average_profit", self
        )

    def expected_average_profit(self) -> float:
        """Population mean value per transaction, ``p gamma / (q - 1)`` (``q > 1``)."""
        p, q, gamma = self._check_fitted()
        if q <= 1:
            raise InvalidInputError(f"q = {q:.3g} <= 1: the population mean spend is infinite")
        return p * gamma / (q - 1.0)


def _as_spend(X: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(X, pd.DataFrame):
        missing = [c for c in ("frequency", "monetary_value") if c not in X.columns]
        if missing:
            raise InvalidInputError(
                f"X lacks column(s) {missing}; expected ['frequency', 'monetary_value']"
            )
        return X["frequency"].to_numpy(), X["monetary_value"].to_numpy()
    arr = np.asarray(X, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise InvalidInputError(
            "X must be a DataFrame with columns ['frequency', 'monetary_value'] or an (n, 2) "
            f"array; got shape {arr.shape}"
        )
    return arr[:, 0], arr[:, 1]
