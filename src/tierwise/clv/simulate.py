"""Simulate customer summaries from the models, with a seeded generator.

Each simulator draws every customer's latent rates from the model's mixing
distributions and returns the sufficient statistics ``frequency``,
``recency`` and ``T`` exactly (no event-by-event loop): given ``N`` Poisson
events in ``(0, h]``, the ``x``-th event time is ``h * Beta(x, N - x + 1)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._checks import InvalidInputError

__all__ = [
    "simulate_bgnbd",
    "simulate_gamma_gamma",
    "simulate_mbgnbd",
    "simulate_nbd",
    "simulate_paretonbd",
]


def _ages(n: int, T: Any, rng: np.random.Generator) -> np.ndarray:
    arr = np.asarray(T, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,) or not np.isfinite(arr).all() or (arr <= 0).any():
        raise InvalidInputError(f"T must be a positive number or {n} positive numbers")
    return arr


def _positive(**params: float) -> None:
    for name, value in params.items():
        if not (np.isfinite(value) and value > 0):
            raise InvalidInputError(f"{name} must be positive; got {value!r}")


def _summary(
    x: np.ndarray,
    horizon: np.ndarray,
    n_events: np.ndarray,
    T: np.ndarray,
    rng: np.random.Generator,
    time_resolution: float | None,
) -> pd.DataFrame:
    """Recency = time of the x-th of ``n_events`` uniform events on ``(0, horizon]``."""
    pos = x > 0
    tx = np.zeros_like(T)
    tx[pos] = horizon[pos] * rng.beta(x[pos], n_events[pos] - x[pos] + 1.0)
    t_end = T.copy()
    if time_resolution is not None:
        if not (time_resolution > 0):
            raise InvalidInputError("time_resolution must be positive")
        tx = np.round(tx / time_resolution) * time_resolution
        t_end = np.round(t_end / time_resolution) * time_resolution
        tx = np.minimum(tx, t_end)
    return pd.DataFrame({"frequency": x.astype(np.int64), "recency": tx, "T": t_end})


def simulate_bgnbd(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: Any = 39.0,
    seed: int | None = 0,
    time_resolution: float | None = None,
) -> pd.DataFrame:
    """Customers from the BG/NBD model (Fader, Hardie & Lee 2005).

    ``lambda ~ Gamma(r, rate=alpha)``, ``p ~ Beta(a, b)``; the customer drops
    out after the ``J``-th repeat purchase, ``J ~ Geometric(p)`` on
    ``{1, 2, ...}``, and ``x = min(N(T), J)``.

    Parameters
    ----------
    n_customers
        Number of customers.
    r, alpha, a, b
        Model parameters.
    T
        Observation length per customer (scalar or one value each).
    seed
        Seed of :func:`numpy.random.default_rng`.
    time_resolution
        If given, recency and ``T`` are rounded to this grid (e.g.
        ``1/7`` for days when the unit is weeks), as real data would be.
    """
    return _simulate_beta_geometric(
        n_customers, r, alpha, a, b, T, seed, time_resolution, first_dropout=1
    )


def simulate_mbgnbd(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: Any = 39.0,
    seed: int | None = 0,
    time_resolution: float | None = None,
) -> pd.DataFrame:
    """Customers from the MBG/NBD model: as :func:`simulate_bgnbd` with ``J`` on ``{0, 1, ...}``."""
    return _simulate_beta_geometric(
        n_customers, r, alpha, a, b, T, seed, time_resolution, first_dropout=0
    )


def _simulate_beta_geometric(
    n_customers: int,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: Any,
    seed: int | None,
    time_resolution: float | None,
    *,
    first_dropout: int,
) -> pd.DataFrame:
    """BG/NBD (dropout after purchase 1, 2, ...) or MBG/NBD (also at 0) customers."""
    _positive(r=r, alpha=alpha, a=a, b=b)
    rng = np.random.default_rng(seed)
    t_end = _ages(n_customers, T, rng)
    lam = rng.gamma(r, 1.0 / alpha, n_customers)
    p = rng.beta(a, b, n_customers)
    n_events = rng.poisson(lam * t_end).astype(float)
    j = rng.geometric(np.clip(p, 1e-300, 1.0)).astype(float) - (1.0 - first_dropout)
    x = np.minimum(n_events, j)
    return _summary(x, t_end, n_events, t_end, rng, time_resolution)


def simulate_paretonbd(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    s: float,
    beta: float,
    T: Any = 39.0,
    seed: int | None = 0,
    time_resolution: float | None = None,
) -> pd.DataFrame:
    """Customers from the Pareto/NBD model (Schmittlein et al. 1987).

    ``lambda ~ Gamma(r, rate=alpha)``, ``mu ~ Gamma(s, rate=beta)``, lifetime
    ``tau ~ Exponential(mu)``; purchases are Poisson on ``(0, min(tau, T)]``.
    """
    _positive(r=r, alpha=alpha, s=s, beta=beta)
    rng = np.random.default_rng(seed)
    t_end = _ages(n_customers, T, rng)
    lam = rng.gamma(r, 1.0 / alpha, n_customers)
    mu = rng.gamma(s, 1.0 / beta, n_customers)
    tau = rng.exponential(1.0 / np.maximum(mu, 1e-300))
    horizon = np.minimum(tau, t_end)
    x = rng.poisson(lam * horizon).astype(float)
    return _summary(x, horizon, x, t_end, rng, time_resolution)


def simulate_nbd(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    T: Any = 39.0,
    seed: int | None = 0,
    time_resolution: float | None = None,
) -> pd.DataFrame:
    """Customers who never drop out: Poisson purchasing with ``lambda ~ Gamma(r, rate=alpha)``."""
    _positive(r=r, alpha=alpha)
    rng = np.random.default_rng(seed)
    t_end = _ages(n_customers, T, rng)
    lam = rng.gamma(r, 1.0 / alpha, n_customers)
    x = rng.poisson(lam * t_end).astype(float)
    return _summary(x, t_end, x, t_end, rng, time_resolution)


def simulate_gamma_gamma(
    frequency: Any, *, p: float, q: float, gamma: float, seed: int | None = 0
) -> np.ndarray:
    """Mean value of ``frequency`` transactions per customer under the Gamma-Gamma model.

    ``nu ~ Gamma(q, rate=gamma)``; the sum of ``x`` transactions is
    ``Gamma(p x, rate=nu)``.  Customers with ``frequency = 0`` get 0.
    """
    _positive(p=p, q=q, gamma=gamma)
    rng = np.random.default_rng(seed)
    x = np.asarray(frequency, dtype=float)
    if (x < 0).any() or (x != np.round(x)).any():
        raise InvalidInputError("frequency must be a non-negative whole number")
    nu = rng.gamma(q, 1.0 / gamma, x.shape)
    pos = x > 0
    out = np.zeros_like(x)
    out[pos] = rng.gamma(p * x[pos], 1.0 / nu[pos]) / x[pos]
    return out
