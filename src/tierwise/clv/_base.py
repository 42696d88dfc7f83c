"""Shared maximum-likelihood machinery of the lifetime-value models.

Every model maximises its log-likelihood over positive parameters
``theta = exp(phi)``: the optimiser works on ``phi`` (log-parameter space,
L-BFGS-B with box bounds ``|phi| <= 18``) and each model supplies the exact
(analytic) gradient with respect to ``theta``; L-BFGS-B stops at a moderate
gradient and Newton steps on the Hessian below finish the job.  Identical
data rows are grouped and weighted before fitting, so the cost of one
likelihood evaluation grows with the number of distinct rows, not customers.

Standard errors come from the observed information: the Hessian of the
negative log-likelihood in ``phi`` is obtained by forward differences of the
exact gradient, inverted, and mapped to ``theta`` by the delta method
(``se(theta) = theta * se(phi)``).  Confidence intervals are computed on the
log scale, ``exp(phi +/- z * se(phi))``, so they never include non-positive
values.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from sklearn.base import BaseEstimator

from tierwise.errors import NotFittedError

from ._checks import InvalidInputError, as_rfm, check_rfm
from ._errors import ConvergenceError, NumericalError

__all__ = [
    "LOG_BOUND",
    "MLEModel",
    "RFMData",
    "Subset",
    "TransactionModel",
    "gauss_legendre_nodes",
    "group_rows",
    "tanh_sinh_nodes",
]

#: Parameters are confined to ``[exp(-LOG_BOUND), exp(LOG_BOUND)]`` during the fit.
LOG_BOUND = 18.0
#: A fitted log-parameter whose standard error exceeds this is not identified.
_MAX_LOG_SE = 25.0
#: 97.5 % quantile of the standard normal distribution (95 % two-sided intervals).
_Z95 = 1.959963984540054
#: L-BFGS-B runs to this projected gradient; Newton steps take it to ``tol``.
_LBFGS_GTOL = 1e-5
#: Largest acceptable gradient (per customer, log-parameter scale) at the optimum.
_MAX_GRAD = 1e-4


def group_rows(
    columns: Sequence[np.ndarray], weights: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray]:
    """Collapse identical rows of ``columns`` and add up their ``weights``.

    Equivalent to ``np.unique(np.column_stack(columns), axis=0,
    return_counts=True)`` (with weights), but hash based, which is several
    times faster on millions of rows.
    """
    n = len(weights)
    codes_list, sizes = [], []
    for col in columns:
        codes, uniques = pd.factorize(col, sort=False)
        codes_list.append(codes.astype(np.int64))
        sizes.append(max(len(uniques), 1))
    if float(np.prod(np.array(sizes, dtype=float))) < 2.0**62:
        key = codes_list[0]
        for codes, size in zip(codes_list[1:], sizes[1:], strict=True):
            key = key * size + codes
    else:  # re-factorise as we go to keep the key small
        key = codes_list[0]
        for codes, size in zip(codes_list[1:], sizes[1:], strict=True):
            key, _ = pd.factorize(key * size + codes, sort=False)
    codes, uniques = pd.factorize(key, sort=False)
    group_weight = np.bincount(codes, weights=weights, minlength=len(uniques))
    first = np.empty(len(uniques), dtype=np.int64)
    first[codes[::-1]] = np.arange(n - 1, -1, -1)
    return [np.asarray(col)[first] for col in columns], group_weight


def gauss_legendre_nodes(n: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (summing to 1) of the ``n``-point Gauss-Legendre rule on (0, 1)."""
    from scipy.special import roots_legendre

    u, w = roots_legendre(n)
    return 0.5 * (u + 1.0), 0.5 * w


def tanh_sinh_nodes(n: int = 41, t_max: float = 3.2) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of a fixed tanh-sinh (double-exponential) rule on (0, 1).

    Fixed nodes make the quadrature a smooth function of the integrand's
    parameters, so it can be differentiated exactly; the double-exponential
    clustering at both ends copes with the endpoint (near-)singularities of the
    Pareto/NBD integrals.
    """
    m = (n - 1) // 2
    h = t_max / m
    t = np.arange(-m, m + 1) * h
    s = 0.5 * np.pi * np.sinh(t)
    u = 0.5 * (1.0 + np.tanh(s))
    w = 0.5 * h * 0.5 * np.pi * np.cosh(t) / np.cosh(s) ** 2
    return u, w / w.sum()


_THREADPOOLS: list[Any] = []


@contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """Run the optimiser with one BLAS thread.

    L-BFGS-B makes many tiny BLAS calls; with a multi-threaded OpenBLAS each
    of them pays the thread start-up cost, which makes small fits ten times
    slower on a busy machine.
    """
    if not _THREADPOOLS:
        from threadpoolctl import ThreadpoolController

        _THREADPOOLS.append(ThreadpoolController())
    with _THREADPOOLS[0].limit(limits=1, user_api="blas"):
        yield


def weights_from(sample_weight: Any, n: int) -> np.ndarray:
    """Validate ``sample_weight`` (``None`` means one per row)."""
    if sample_weight is None:
        return np.ones(n)
    w = np.array(sample_weight, dtype=float).ravel()
    if w.shape != (n,):
        raise InvalidInputError(f"sample_weight must have {n} entries; got {w.size}")
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise InvalidInputError("sample_weight must be finite, non-negative and not all zero")
    return w


class MLEModel(BaseEstimator):
    """Base class: hyper-parameters, fitting, standard errors and reporting.

    Subclasses define ``_param_names``, ``_data_for_fit``, ``_default_start``,
    ``_loglik`` (total log-likelihood and its exact gradient) and may refine
    ``_diagnose`` to explain a failed fit.

    Parameters
    ----------
    penalizer
        Ridge penalty on the log-parameters: the objective is the mean negative
        log-likelihood plus ``penalizer * sum(log(theta) ** 2)``.  ``0`` gives
        the maximum-likelihood estimate; a small positive value (e.g. ``0.001``)
        keeps parameters finite on data that cannot identify them.
    initial_params
        Starting values by parameter name; missing names use data-driven
        defaults.
    max_iter
        Maximum number of L-BFGS-B iterations.
    tol
        Convergence tolerance on the projected gradient of the per-customer
        objective in log-parameter space.
    """

    _param_names: ClassVar[tuple[str, ...]] = ()
    _param_meaning: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        *,
        penalizer: float = 0.0,
        initial_params: Mapping[str, float] | None = None,
        max_iter: int = 1000,
        tol: float = 1e-8,
    ) -> None:
        self.penalizer = penalizer
        self.initial_params = initial_params
        self.max_iter = max_iter
        self.tol = tol

    # ------------------------------------------------------------------ hooks
    def _data_for_fit(self, X: Any, sample_weight: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    def _default_start(self, data: Any) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _loglik(self, theta: np.ndarray, data: Any) -> tuple[float, np.ndarray]:
        raise NotImplementedError  # pragma: no cover

    def _diagnose(self, params: dict[str, float], data: Any) -> str | None:
        """Explain, in the model's terms, why parameters ran off (or ``None``)."""
        return None

    # ---------------------------------------------------------------- fitting
    def _check_hyper(self) -> None:
        if not (np.isfinite(self.penalizer) and self.penalizer >= 0):
            raise InvalidInputError(f"penalizer must be >= 0; got {self.penalizer!r}")
        if int(self.max_iter) < 1:
            raise InvalidInputError(f"max_iter must be >= 1; got {self.max_iter!r}")
        if not (self.tol > 0):
            raise InvalidInputError(f"tol must be > 0; got {self.tol!r}")
        unknown = set(self.initial_params or {}) - set(self._param_names)
        if unknown:
            raise InvalidInputError(
                f"initial_params has unknown name(s) {sorted(unknown)}; "
                f"{type(self).__name__} has {list(self._param_names)}"
            )

    def _start(self, data: Any) -> np.ndarray:
        theta = np.asarray(self._default_start(data), dtype=float)
        for i, name in enumerate(self._param_names):
            if self.initial_params and name in self.initial_params:
                value = float(self.initial_params[name])
                if not (np.isfinite(value) and value > 0):
                    raise InvalidInputError(f"initial_params[{name!r}] must be > 0; got {value}")
                theta[i] = value
        return np.clip(np.log(theta), -LOG_BOUND + 2, LOG_BOUND - 2)

    def _objective(self, phi: np.ndarray, data: Any, n: float) -> tuple[float, np.ndarray]:
        theta = np.exp(phi)
        ll, grad = self._loglik(theta, data)
        f = -ll / n + self.penalizer * float(phi @ phi)
        g = -(grad * theta) / n + 2.0 * self.penalizer * phi
        if not np.isfinite(f) or not np.isfinite(g).all():
            return np.inf, np.zeros_like(phi)
        return f, g

    def fit(self, X: Any, y: Any = None, *, sample_weight: Any = None) -> Self:
        """Estimate the parameters by maximum likelihood.

        Parameters
        ----------
        X
            Customer summaries (see the model's class docstring for columns).
        y
            Ignored; present for scikit-learn compatibility.
        sample_weight
            Optional non-negative weight per row (e.g. number of identical
            customers).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Invalid input (negative values, recency > T, ...).
        ConvergenceError
            The likelihood has no interior maximum on these data or the
            optimiser failed; the message says why and what to try.
        """
        with _single_threaded_blas():
            return self._fit(X, sample_weight)

    def _fit(self, X: Any, sample_weight: Any) -> Self:
        self._check_hyper()
        data = self._data_for_fit(X, sample_weight)
        n = float(data.n)
        phi0 = self._start(data)
        bounds = [(-LOG_BOUND, LOG_BOUND)] * len(phi0)
        res = minimize(
            self._objective,
            phi0,
            args=(data, n),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={
                "maxiter": int(self.max_iter),
                "gtol": max(self.tol, _LBFGS_GTOL),
                "ftol": 1e-15,
            },
        )
        phi = np.asarray(res.x, dtype=float)
        f, g = float(res.fun), np.asarray(res.jac, dtype=float)
        name = type(self).__name__
        if not np.isfinite(f):
            params = dict(zip(self._param_names, np.exp(phi).tolist(), strict=True))
            raise ConvergenceError(
                f"{name}: the log-likelihood is not finite at {_fmt(params)}; "
                "check the input for extreme values or pass initial_params"
            )
        phi, g, hess = self._newton_polish(phi, f, g, data, n)
        theta = np.exp(phi)
        params = dict(zip(self._param_names, theta.tolist(), strict=True))
        near_bound = np.abs(phi) > LOG_BOUND - 1.0
        if near_bound.any():
            raise ConvergenceError(self._divergence_message(params, near_bound, data))
        if np.max(np.abs(g)) > _MAX_GRAD:
            raise ConvergenceError(
                f"{name}: the optimiser stopped after {res.nit} iterations ({res.message}) "
                f"with gradient {np.max(np.abs(g)):.2g} at {_fmt(params)}; try a larger max_iter, "
                "other initial_params, or a small penalizer (e.g. 0.001)"
            )
        try:
            chol = np.linalg.cholesky(hess)
        except np.linalg.LinAlgError:
            raise ConvergenceError(
                self._divergence_message(params, None, data, "the Hessian is not positive definite")
            ) from None
        inv_chol = np.linalg.inv(chol)
        cov_phi = inv_chol.T @ inv_chol
        se_phi = np.sqrt(np.diag(cov_phi))
        if not np.isfinite(se_phi).all() or (se_phi > _MAX_LOG_SE).any():
            flat = ~np.isfinite(se_phi) | (se_phi > _MAX_LOG_SE)
            raise ConvergenceError(
                self._divergence_message(
                    params, flat, data, "the likelihood is flat in this direction"
                )
            )
        z = _Z95
        self._set_params(theta)
        self.log_likelihood_ = float(self._loglik(theta, data)[0])
        self.standard_errors_ = dict(zip(self._param_names, (theta * se_phi).tolist(), strict=True))
        lower, upper = np.exp(phi - z * se_phi), np.exp(phi + z * se_phi)
        self.confidence_intervals_ = {
            k: (float(lo), float(hi))
            for k, lo, hi in zip(self._param_names, lower, upper, strict=True)
        }
        self.covariance_ = cov_phi * np.outer(theta, theta)
        self.n_customers_ = n
        self.n_groups_ = int(data.n_groups)
        self.n_iter_ = int(res.nit)
        return self

    def _newton_polish(
        self, phi: np.ndarray, f: float, g: np.ndarray, data: Any, n: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Finish with Newton steps on the finite-difference Hessian.

        L-BFGS-B stops at a moderate gradient; one or two Newton steps then
        reach ``tol`` (quadratic convergence) for less than the quasi-Newton
        iterations would cost.  Returns the point, its gradient and the Hessian
        used for the standard errors.
        """
        hess = self._hessian(phi, g, data, n)
        for _ in range(4):
            if np.max(np.abs(g)) <= self.tol:
                break
            try:
                step = np.linalg.solve(hess, g * n)
            except np.linalg.LinAlgError:
                break
            if not np.isfinite(step).all() or np.any(np.linalg.eigvalsh(hess) <= 0):
                break
            new_phi = np.clip(phi - step, -LOG_BOUND, LOG_BOUND)
            new_f, new_g = self._objective(new_phi, data, n)
            if not (np.isfinite(new_f) and new_f <= f + 1e-12 * abs(f)):
                break
            phi, f, g = new_phi, new_f, new_g
            if np.max(np.abs(step)) > 1e-3:
                hess = self._hessian(phi, g, data, n)
        return phi, g, hess

    def _hessian(self, phi: np.ndarray, grad: np.ndarray, data: Any, n: float) -> np.ndarray:
        """Hessian of the total penalised negative log-likelihood in log space.

        Forward differences of the exact gradient ``grad`` (taken at ``phi``).
        """
        k = len(phi)
        hess = np.empty((k, k))
        step = 1e-6
        for i in range(k):
            e = np.zeros(k)
            e[i] = step
            hess[:, i] = (self._objective(phi + e, data, n)[1] - grad) * n / step
        return 0.5 * (hess + hess.T)

    def _divergence_message(
        self, params: dict[str, float], which: np.ndarray | None, data: Any, why: str = ""
    ) -> str:
        name = type(self).__name__
        parts = [f"{name} did not converge to an interior maximum"]
        if why:
            parts[0] += f" ({why})"
        if which is not None:
            names = [p for p, bad in zip(self._param_names, which, strict=True) if bad]
            meaning = "; ".join(
                f"{p} = {params[p]:.3g} ({self._param_meaning.get(p, 'parameter')})" for p in names
            )
            parts.append(f"parameter(s) running off: {meaning}")
        parts.append(f"estimates {_fmt(params)}")
        hint = self._diagnose(params, data)
        if hint:
            parts.append(hint)
        parts.append(
            "Try a small penalizer (e.g. penalizer=0.001) to keep the parameters finite, "
            "a longer observation period, or another model"
        )
        return ". ".join(parts) + "."

    # ------------------------------------------------------------- parameters
    def _set_params(self, theta: np.ndarray) -> None:
        self.params_ = dict(zip(self._param_names, np.asarray(theta, float).tolist(), strict=True))
        for key, value in self.params_.items():
            setattr(self, f"{key}_", value)

    @classmethod
    def from_params(cls, **params: float) -> Self:
        """Return a model with the given parameters, ready to predict.

        Useful to reproduce published results or to score with stored
        estimates.  Standard errors are not available on such a model.
        """
        missing = [p for p in cls._param_names if p not in params]
        extra = sorted(set(params) - set(cls._param_names))
        if missing or extra:
            raise InvalidInputError(
                f"{cls.__name__}.from_params needs exactly {list(cls._param_names)}; "
                f"missing {missing}, unknown {extra}"
            )
        theta = np.array([float(params[p]) for p in cls._param_names])
        if not (np.isfinite(theta).all() and (theta > 0).all()):
            raise InvalidInputError(f"{cls.__name__} parameters must be positive and finite")
        model = cls()
        model._set_params(theta)
        return model

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "params_")

    def _check_fitted(self) -> tuple[float, ...]:
        if not hasattr(self, "params_"):
            name = type(self).__name__
            raise NotFittedError(
                f"{name} is not fitted yet; call fit(...) first or build it with "
                f"{name}.from_params(...)"
            )
        return tuple(self.params_[p] for p in self._param_names)

    def summary(self) -> pd.DataFrame:
        """Estimates, standard errors and 95 % confidence intervals, one row per parameter."""
        self._check_fitted()
        rows = []
        se = getattr(self, "standard_errors_", None)
        ci = getattr(self, "confidence_intervals_", None)
        for p in self._param_names:
            rows.append(
                {
                    "parameter": p,
                    "estimate": self.params_[p],
                    "std_error": se[p] if se else np.nan,
                    "lower_95": ci[p][0] if ci else np.nan,
                    "upper_95": ci[p][1] if ci else np.nan,
                }
            )
        return pd.DataFrame(rows).set_index("parameter")


def _fmt(params: Mapping[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in params.items())


def ensure_finite(values: np.ndarray, what: str, model: object) -> np.ndarray:
    """Raise :class:`NumericalError` rather than return NaN or infinity."""
    arr = np.asarray(values, dtype=float)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise NumericalError(
            f"{type(model).__name__}.{what} is not finite for {int(bad.sum())} input row(s) "
            f"with parameters {_fmt(getattr(model, 'params_', {}))}"
        )
    return arr


class RFMData:
    """Grouped ``(x, t_x, T)`` rows with weights, plus lookup tables.

    ``x_values``/``x_weights`` hold the distinct frequencies and their total
    weight (for the terms that depend on ``x`` only); :meth:`split` caches the
    rows with and without repeat purchases together with the distinct values
    of ``t_x`` and ``T`` and their inverse indices, so that logarithms of
    ``alpha + T`` are taken once per distinct value.
    """

    __slots__ = (
        "T",
        "_split",
        "cache",
        "n",
        "n_groups",
        "tx",
        "w",
        "x",
        "x_values",
        "x_weights",
    )

    def __init__(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> None:
        keep = w > 0
        (self.x, self.tx, self.T), self.w = group_rows([x[keep], tx[keep], T[keep]], w[keep])
        self.n = float(self.w.sum())
        self.n_groups = len(self.w)
        self.x_values, inverse = np.unique(self.x, return_inverse=True)
        self.x_weights = np.bincount(inverse, weights=self.w, minlength=len(self.x_values))
        self._split: dict[bool, Subset] = {}
        #: model-specific precomputations that do not depend on the parameters
        self.cache: dict[str, Any] = {}

    def split(self, repeat: bool) -> Subset:
        """Rows with (``repeat=True``) or without repeat purchases."""
        if repeat not in self._split:
            mask = (self.x > 0) if repeat else (self.x == 0)
            self._split[repeat] = Subset(self.x[mask], self.tx[mask], self.T[mask], self.w[mask])
        return self._split[repeat]


class Subset:
    """Rows of :class:`RFMData` with the distinct ``t_x``/``T`` values factored out."""

    __slots__ = ("T", "T_index", "T_values", "size", "tx", "tx_index", "tx_values", "w", "x")

    def __init__(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> None:
        self.x, self.tx, self.T, self.w = x, tx, T, w
        self.size = len(x)
        self.T_index, self.T_values = pd.factorize(T, sort=False)
        self.tx_index, self.tx_values = pd.factorize(tx, sort=False)


class TransactionModel(MLEModel):
    """Base of the purchase-count ("buy till you die") models.

    ``fit(X)`` takes a DataFrame with columns ``frequency`` (number of repeat
    purchases ``x``), ``recency`` (time of the last purchase ``t_x``) and ``T``
    (time from the first purchase to the end of the observation period), all
    measured from the customer's first purchase in one time unit (as made by
    :func:`tierwise.clv.summary_from_transactions`), or an ``(n, 3)`` array.
    """

    def _data_for_fit(self, X: Any, sample_weight: Any) -> RFMData:
        x, tx, t_end = check_rfm(*as_rfm(X), for_fit=True)
        w = weights_from(sample_weight, len(x))
        return RFMData(x, tx, t_end, w)

    def _default_start(self, data: RFMData) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    @staticmethod
    def _mean_rate(data: RFMData) -> float:
        """Repeat purchases per unit time across the population (a start value)."""
        return float(max((data.w @ data.x) / max(data.w @ data.T, 1e-12), 1e-6))

    def conditional_probability_alive(
        self, frequency: Any, recency: Any, T: Any
    ) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def conditional_probability_of_purchase(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> np.ndarray:  # pragma: no cover
        """P(at least one purchase in the next ``t`` time units | x, t_x, T)."""
        raise NotImplementedError

    def predict(self, X: Any, *, t: float) -> np.ndarray:
        """Expected number of purchases in the next ``t`` time units, per row of ``X``."""
        return self.conditional_expected_number_of_purchases_up_to_time(t, *as_rfm(X))

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-likelihood per customer of ``X`` under the fitted parameters."""
        theta = np.asarray(self._check_fitted())
        x, tx, t_end = check_rfm(*as_rfm(X))
        data = RFMData(x.ravel(), tx.ravel(), t_end.ravel(), np.ones(x.size))
        return float(self._loglik(theta, data)[0] / data.n)

    def _rfm(self, frequency: Any, recency: Any, T: Any) -> tuple[np.ndarray, ...]:
        params = self._check_fitted()
        return (*check_rfm(frequency, recency, T), *params)
