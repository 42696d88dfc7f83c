"""Pareto/NBD model (Schmittlein, Morrison & Colombo 1987).

While alive, a customer buys as a Poisson process with rate ``lambda`` and
has an exponentially distributed lifetime with rate ``mu``; across customers
``lambda ~ Gamma(r, alpha)`` and ``mu ~ Gamma(s, beta)``.

Likelihood and its gradient
---------------------------
Fader & Hardie's "A Note on Deriving the Pareto/NBD Model and Related
Expressions" (2005) write the likelihood with a Gauss hypergeometric
function, choosing the branch on ``alpha >= beta``.  SciPy offers ``2F1``
but no derivative with respect to its parameters, so the fit uses the
equivalent integral form

``L = G(r+x) alpha^r beta^s / G(r) [ (alpha+T)^-(r+x) (beta+T)^-s
+ s I ]``,  ``I = int_{t_x}^{T} (alpha+u)^-(r+x) (beta+u)^-(s+1) du``.

``I`` is computed after the substitution ``y = ((A+t_x)/(A+u))^k``
(``k = r+s+x``), which turns it into ``(A+t_x)^-k / k * int_{y0}^{1}
(1 - zeta y^(1/k))^-m dy`` with ``zeta = (A-B)/(A+t_x)``.  ``A`` is the
rate whose factor carries the larger exponent (``A = alpha, m = s+1`` when
``s+1 <= r+x``, else ``A = beta, m = r+x``; this keeps ``m < k``).  The
integral is then taken over ``log y = -L w^2``, ``w`` in ``(0, 1)``, where
the integrand is smooth (the square clusters nodes at ``y = 1``, next to
which the integrand has a singularity when ``alpha`` and ``beta`` differ a
lot; ``L`` is ``-log y0``, capped where the integrand falls below
``exp(-40)`` of its value at ``y = 1``), with a fixed 20-node Gauss-Legendre
rule.  That finite sum is differentiated exactly (chain rule through the
nodes, ``L`` and ``zeta``), so the optimiser sees the exact gradient of the
function it minimises.  Against SciPy's ``2F1`` branch formula
(:func:`log_likelihood_hyp2f1`) and an arbitrary-precision integral, the
relative error of ``I`` is about 1e-15 on typical data and below 1e-7 in
extreme corners (``alpha/beta`` of 20 or more with large shapes).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import numpy as np
from scipy.special import digamma, expit, gammaln, hyp2f1

from ._base import (
    RFMData,
    TransactionModel,
    ensure_finite,
    gauss_legendre_nodes,
    tanh_sinh_nodes,
)
from ._checks import check_count, check_rfm, check_time

__all__ = ["ParetoNBDModel"]

_NODES = gauss_legendre_nodes(20)
# log y = -L u^2 at the nodes: the square clusters nodes at y = 1, where the integrand
# has a nearby singularity when the two rates differ a lot.
_V = _NODES[0] ** 2
_LOG_W = np.log(2.0 * _NODES[0] * _NODES[1])
_ONES = np.ones_like(_V)
_TS_NODES = tanh_sinh_nodes(41)
#: Lower limit of log y: integrand mass below it is under exp(-40) of the total.
_CUT = 40.0
#: Rows per piece of a large ``I``: its node arrays stay in cache, and the pieces run on the
#: machine's cores (numpy releases the GIL); 4x faster on 700k rows with 2 cores.
_PIECE = 1 << 14
_POOL: list[ThreadPoolExecutor] = []


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _log_integral_rows(
    r: float, alpha: float, s: float, beta: float, x: np.ndarray, tx: np.ndarray,
    T: np.ndarray, *, grad: bool,
) -> tuple[np.ndarray, np.ndarray | None]:  # fmt: skip
    """`_log_integral` in pieces of `_PIECE` rows, on the machine's cores (rows are
    independent: each row's value is the same, its gradient to the last bit)."""
    n = len(x)
    if n <= _PIECE:
        return _log_integral(r, alpha, s, beta, x, tx, T, grad=grad)
    if not _POOL and _cores() > 1:
        _POOL.append(ThreadPoolExecutor(min(_cores(), 8), thread_name_prefix="pareto"))

    def piece(i: int) -> tuple[np.ndarray, np.ndarray | None]:
        rows = slice(i, i + _PIECE)
        return _log_integral(r, alpha, s, beta, x[rows], tx[rows], T[rows], grad=grad)

    parts = list((_POOL[0].map if _POOL else map)(piece, range(0, n, _PIECE)))
    log_i = np.concatenate([p[0] for p in parts])
    return log_i, (np.concatenate([p[1] for p in parts], axis=1) if grad else None)


@np.errstate(over="ignore", invalid="ignore", divide="ignore")
def _log_integral(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
    *,
    grad: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    """``log I`` for rows with ``t_x < T`` and, optionally, its gradient (4 x rows).

    Far from the optimum (during a line search) the terms can overflow; the result is then
    not finite and the optimiser steps back, so numpy's warnings are silenced here.
    """
    k = r + s + x
    alpha_form = (s + 1.0) <= (r + x)
    A = np.where(alpha_form, alpha, beta)
    B = np.where(alpha_form, beta, alpha)
    m = np.where(alpha_form, s + 1.0, r + x)
    la_t = np.log(A + tx)
    span = k * (np.log(A + T) - la_t)  # -log(y0), y0 = ((A+t_x)/(A+T))^k
    cut_value = _CUT * k / (k - m)
    cut = span > cut_value
    L = np.where(cut, cut_value, span)
    zeta = (A - B) / (A + tx)
    ell = np.multiply.outer(-L, _V)  # log y at the nodes, -L u^2
    z = np.exp(np.multiply.outer(-L / k, _V))  # y^(1/k)
    q = 1.0 - zeta[:, None] * z
    lnq = np.log(q)
    expo = ell - m[:, None] * lnq
    expo += _LOG_W
    term = np.exp(expo)
    S = term @ _ONES
    log_i = -k * la_t - np.log(k) + np.log(L) + np.log(S)
    if not grad:
        return log_i, None
    c = term * (z / q)  # term * z / q; the factor m is applied per row below
    c_sum = m * (c @ _ONES) / S
    c_v = m * (c @ _V) / S
    d_zeta = c_sum
    d_k_direct = (zeta / k**2) * L * c_v  # sum(c * ell) = -L * sum(c * v)
    d_L = 1.0 / L - (term @ _V) / S - (zeta / k) * c_v
    d_m = -np.einsum("ij,ij->i", term, lnq) / S
    inv_at = 1.0 / (A + tx)
    km2 = (k - m) ** 2
    dL_dk = np.where(cut, -_CUT * m / km2, span / k)
    dL_dm = np.where(cut, _CUT * k / km2, 0.0)
    dL_dA = np.where(cut, 0.0, k * (1.0 / (A + T) - inv_at))
    d_k = -la_t - 1.0 / k + d_L * dL_dk + d_k_direct
    d_A = -k * inv_at + d_L * dL_dA + d_zeta * (B + tx) * inv_at**2
    d_B = -d_zeta * inv_at
    d_m = d_m + d_L * dL_dm
    g = np.empty((4, len(x)))
    g[0] = d_k + np.where(alpha_form, 0.0, d_m)
    g[1] = np.where(alpha_form, d_A, d_B)
    g[2] = d_k + np.where(alpha_form, d_m, 0.0)
    g[3] = np.where(alpha_form, d_B, d_A)
    return log_i, g


def _open_terms(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
    *,
    grad: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Rows with ``t_x < T``: ``log[first + s I]``, the weight ``s I / (first + s I)``
    and the gradient (4 x rows)."""
    log_at = np.log(alpha + T)
    log_bt = np.log(beta + T)
    u1 = -(r + x) * log_at - s * log_bt
    log_i, g_i = _log_integral_rows(r, alpha, s, beta, x, tx, T, grad=grad)
    u2 = np.log(s) + log_i
    lse = np.logaddexp(u1, u2)
    w2 = expit(u2 - u1)
    if not grad:
        return lse, w2, None
    w1 = 1.0 - w2
    g = g_i * w2
    g[0] -= w1 * log_at
    g[1] -= w1 * (r + x) / (alpha + T)
    g[2] += w2 / s - w1 * log_bt
    g[3] -= w1 * s / (beta + T)
    return lse, w2, g


def _row_terms(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: ``log[first + s I]`` and the weight ``s I / (first + s I)`` (no gradient)."""
    lse = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    w2 = np.zeros_like(lse)
    open_ = tx < T
    if open_.any():
        lse[open_], w2[open_], _ = _open_terms(
            r, alpha, s, beta, x[open_], tx[open_], T[open_], grad=False
        )
    return lse, w2


class ParetoNBDModel(TransactionModel):
    """Pareto/NBD purchase-count model.

    Parameters (learned): ``r_``, ``alpha_`` (Gamma heterogeneity of the
    purchase rate) and ``s_``, ``beta_`` (Gamma heterogeneity of the dropout
    rate).  See the module docstring for how the likelihood is evaluated.
    """

    _param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")
    _param_meaning: ClassVar[dict[str, str]] = {
        "r": "shape of the purchase-rate distribution",
        "alpha": "scale of the purchase-rate distribution",
        "s": "shape of the dropout-rate distribution",
        "beta": "scale of the dropout-rate distribution",
    }

    def _default_start(self, data: RFMData) -> np.ndarray:
        rate = self._mean_rate(data)
        mean_t = float((data.w @ data.T) / data.n)
        return np.array([1.0, 1.0 / rate, 1.0, max(mean_t, 1e-3)])

    def _loglik(self, theta: np.ndarray, data: RFMData) -> tuple[float, np.ndarray]:
        """Log-likelihood (Fader & Hardie 2005 note, eq. 3) and its exact gradient."""
        r, alpha, s, beta = theta
        xs, wx, n = data.x_values, data.x_weights, data.n
        ll = wx @ gammaln(r + xs) + n * (-gammaln(r) + r * np.log(alpha) + s * np.log(beta))
        g = np.array(
            [
                wx @ digamma(r + xs) + n * (np.log(alpha) - digamma(r)),
                n * r / alpha,
                n * np.log(beta),
                n * s / beta,
            ]
        )
        if "pareto" not in data.cache:
            open_ = data.tx < data.T
            data.cache["pareto"] = (
                (data.x[open_], data.tx[open_], data.T[open_], data.w[open_]),
                (data.x[~open_], data.T[~open_], data.w[~open_]),
            )
        (x, tx, T, w), (xc, Tc, wc) = data.cache["pareto"]
        if x.size:
            lse, _, g_rows = _open_terms(r, alpha, s, beta, x, tx, T, grad=True)
            ll += w @ lse
            g += g_rows @ w
        if xc.size:  # last purchase at the end of the period: alive for sure
            log_at, log_bt = np.log(alpha + Tc), np.log(beta + Tc)
            ll -= wc @ ((r + xc) * log_at + s * log_bt)
            g[0] -= wc @ log_at
            g[1] -= wc @ ((r + xc) / (alpha + Tc))
            g[2] -= wc @ log_bt
            g[3] -= s * (wc @ (1.0 / (beta + Tc)))
        return float(ll), g

    def _diagnose(self, params: dict[str, float], data: Any) -> str | None:
        s, beta = params["s"], params["beta"]
        mean_age = float((data.w @ data.T) / data.n)
        if s > 1e5 and beta > 1e5:
            return (
                f"s and beta grow together: dropout rates look identical across customers "
                f"(one common rate s/beta = {s / beta:.3g} per time unit), so their spread "
                "cannot be estimated"
            )
        if s / beta * mean_age < 1e-2 or beta > 1e6:
            return (
                f"The mean dropout rate s/beta = {s / beta:.2g} per time unit is practically "
                f"zero over the mean observation time ({mean_age:.3g}): the data show no sign "
                "of customers becoming inactive, so the dropout process cannot be estimated. A "
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
        """P(alive at T | x, t_x, T), Fader & Hardie (2005 note) eq. (11).

        ``1 / (1 + s I (alpha+T)^(r+x) (beta+T)^s)`` with ``I`` as in the module
        docstring.
        """
        x, tx, t_end, r, alpha, s, beta = self._rfm(frequency, recency, T)
        shape = x.shape
        _, w2 = _row_terms(r, alpha, s, beta, x.ravel(), tx.ravel(), t_end.ravel())
        return ensure_finite((1.0 - w2).reshape(shape), "conditional_probability_alive", self)

    def conditional_probability_of_purchase(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> np.ndarray:
        """P(at least one purchase in ``(T, T+t]`` | x, t_x, T).

        No purchase in ``(T, T+t]`` means the history ``(x, t_x, T+t)``, so its probability
        is the likelihood ratio ``L(x, t_x, T+t) / L(x, t_x, T)``; the factors that depend on
        ``x`` alone cancel, leaving the bracket of the likelihood at ``T+t`` over that at ``T``.
        """
        x, tx, t_end, r, alpha, s, beta = self._rfm(frequency, recency, T)
        t = check_time(t)
        x, tx, t_end, t = np.broadcast_arrays(x, tx, t_end, t)
        shape = x.shape
        args = (x.ravel(), tx.ravel())
        now, _ = _row_terms(r, alpha, s, beta, *args, t_end.ravel())
        later, _ = _row_terms(r, alpha, s, beta, *args, (t_end + t).ravel())
        out = (0.0 - np.expm1(np.minimum(later - now, 0.0))).reshape(shape)
        return ensure_finite(out, "conditional_probability_of_purchase", self)

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> np.ndarray:
        """E[Y(t) | x, t_x, T], Schmittlein et al. (1987) eq. (22).

        ``P(alive) (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)]``
        (the ``s = 1`` limit is a logarithm).
        """
        x, tx, t_end, r, alpha, s, beta = self._rfm(frequency, recency, T)
        t = check_time(t)
        p_alive = self.conditional_probability_alive(x, tx, t_end)
        growth = _one_minus_power_over(s - 1.0, np.log((beta + t_end) / (beta + t_end + t)))
        out = p_alive * (r + x) * (beta + t_end) / (alpha + t_end) * growth
        return ensure_finite(out, "conditional_expected_number_of_purchases_up_to_time", self)

    def expected_number_of_purchases_up_to_time(self, t: Any) -> np.ndarray:
        """E[X(t)] for a customer just acquired, Schmittlein et al. (1987) eq. (17).

        ``r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]``.
        """
        r, alpha, s, beta = self._check_fitted()
        t = check_time(t)
        out = r * beta / alpha * _one_minus_power_over(s - 1.0, np.log(beta / (beta + t)))
        return ensure_finite(out, "expected_number_of_purchases_up_to_time", self)

    def probability_of_n_purchases_up_to_time(self, t: Any, n: Any) -> np.ndarray:
        """P(X(t) = n) for a customer just acquired (Fader, Hardie & Lee 2006 note).

        ``NBD(n; r, alpha, t) (beta/(beta+t))^s + s beta^s alpha^r G(r+n)/(G(r) n!)
        int_0^t u^n (alpha+u)^-(r+n) (beta+u)^-(s+1) du``; the integral is taken
        with a fixed tanh-sinh rule after substituting ``v = u/(alpha+u)`` and
        ``y = (v/v_t)^(n+1)``.
        """
        r, alpha, s, beta = self._check_fitted()
        t, n = np.broadcast_arrays(check_time(t), check_count(n))
        vt = t / (alpha + t)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_vt = np.log(vt)
            log_nbd = (
                gammaln(r + n)
                - gammaln(r)
                - gammaln(n + 1.0)
                + r * np.log(alpha / (alpha + t))
                + n * np.log(np.where(n > 0, vt, 1.0))
            )
        first = np.exp(log_nbd + s * np.log(beta / (beta + t)))
        u, wq = _TS_NODES
        v = vt[..., None] * u ** (1.0 / (n[..., None] + 1.0))
        integrand = np.exp(
            (r + s - 1.0) * np.log1p(-v) - (s + 1.0) * np.log(beta + (alpha - beta) * v)
        )
        quad = integrand @ wq
        with np.errstate(divide="ignore"):
            log_second = (
                np.log(s)
                + s * np.log(beta)
                + np.log(alpha)
                + gammaln(r + n)
                - gammaln(r)
                - gammaln(n + 2.0)
                + (n + 1.0) * log_vt
                + np.log(quad)
            )
        out = first + np.where(t > 0, np.exp(log_second), 0.0)
        return ensure_finite(out, "probability_of_n_purchases_up_to_time", self)


def _one_minus_power_over(e: float, log_c: np.ndarray) -> np.ndarray:
    """``(1 - exp(e * log_c)) / e`` with its ``e -> 0`` limit ``-log_c``."""
    if abs(e) < 1e-10:
        return -log_c
    return -np.expm1(e * log_c) / e


def log_likelihood_hyp2f1(
    params: dict[str, float], frequency: Any, recency: Any, T: Any
) -> np.ndarray:
    """Per-customer log-likelihood by Fader & Hardie's ``2F1`` branch formula.

    A reference implementation (no gradient) used to check the quadrature.
    """
    x, tx, t_end = check_rfm(frequency, recency, T)
    r, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))
    k = r + s + x
    if alpha >= beta:

        def f(u: np.ndarray) -> np.ndarray:
            return hyp2f1(k, s + 1.0, k + 1.0, (alpha - beta) / (alpha + u)) / (alpha + u) ** k
    else:

        def f(u: np.ndarray) -> np.ndarray:
            return hyp2f1(k, r + x, k + 1.0, (beta - alpha) / (beta + u)) / (beta + u) ** k

    a0 = f(tx) - f(t_end)
    first = 1.0 / ((alpha + t_end) ** (r + x) * (beta + t_end) ** s)
    return (
        gammaln(r + x)
        - gammaln(r)
        + r * np.log(alpha)
        + s * np.log(beta)
        + np.log(first + s / k * a0)
    )
