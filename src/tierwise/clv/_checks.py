"""Input checks shared by the lifetime-value models.

Every check raises :class:`ValueError` (a ``TierwiseError`` subclass) with a
message that names the offending column and how many rows are affected, so
that no NaN ever reaches the output silently.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tierwise.errors import TierwiseError

__all__ = ["InvalidInputError", "as_rfm", "check_monetary", "check_rfm"]

RFM_COLUMNS = ("frequency", "recency", "T")


class InvalidInputError(TierwiseError, ValueError):
    """Input data violate the model's assumptions; the message says which row and why."""


def _as_float_array(values: Any, name: str) -> np.ndarray:
    if isinstance(values, pd.Series | pd.Index):
        values = values.to_numpy()
    try:
        return np.array(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must be numeric: {exc}") from None


def _count(mask: np.ndarray) -> str:
    n = int(np.count_nonzero(mask))
    return f"{n} row{'s' if n != 1 else ''}"


def check_rfm(
    frequency: Any,
    recency: Any,
    T: Any,
    *,
    for_fit: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate and broadcast frequency ``x``, recency ``t_x`` and age ``T``.

    Parameters
    ----------
    frequency, recency, T
        Array-likes of the same (broadcastable) shape: number of repeat
        purchases, time of the last purchase and time of the end of the
        observation, both measured from the customer's first purchase.
    for_fit
        Apply the additional checks a fit needs (at least two customers, at
        least one repeat purchase).

    Returns
    -------
    tuple of ndarray
        Float copies ``(x, t_x, T)``; the inputs are never modified.
    """
    x = _as_float_array(frequency, "frequency")
    tx = _as_float_array(recency, "recency")
    t_end = _as_float_array(T, "T")
    try:
        x, tx, t_end = np.broadcast_arrays(x, tx, t_end)
    except ValueError:
        raise InvalidInputError(
            f"frequency, recency and T must have the same length "
            f"(got shapes {np.shape(x)}, {np.shape(tx)}, {np.shape(t_end)})"
        ) from None
    x, tx, t_end = (np.array(a, dtype=float) for a in (x, tx, t_end))
    for name, arr in (("frequency", x), ("recency", tx), ("T", t_end)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise InvalidInputError(f"{name} is missing or infinite in {_count(bad)}")
        neg = arr < 0
        if neg.any():
            raise InvalidInputError(
                f"{name} must be non-negative; {_count(neg)} negative (min {arr.min():g})"
            )
    frac = x != np.round(x)
    if frac.any():
        raise InvalidInputError(
            f"frequency must be a whole number of repeat purchases; {_count(frac)} "
            f"non-integer (e.g. {x[frac].flat[0]:g})"
        )
    # tolerate float rounding of days/7 conversions
    late = tx > t_end * (1 + 1e-9) + 1e-9
    if late.any():
        raise InvalidInputError(
            f"recency must not exceed T (the last purchase cannot be after the end of the "
            f"observation period); {_count(late)} violate this"
        )
    tx = np.minimum(tx, t_end)
    ghost = (x == 0) & (tx > 0)
    if ghost.any():
        raise InvalidInputError(
            f"recency must be 0 when frequency is 0 (no repeat purchase, so no last repeat "
            f"purchase time); {_count(ghost)} violate this"
        )
    if for_fit:
        if x.ndim != 1:
            x, tx, t_end = x.ravel(), tx.ravel(), t_end.ravel()
        if x.size < 2:
            raise InvalidInputError(
                f"at least 2 customers are needed to fit a population model; got {x.size}"
            )
        if not (x > 0).any():
            raise InvalidInputError(
                "every customer has frequency 0 (no repeat purchase at all): the purchase "
                "rate cannot be estimated; collect a longer observation period"
            )
        if not (t_end > 0).any():
            raise InvalidInputError("every customer has T = 0: no observation time to learn from")
    return x, tx, t_end


def as_rfm(X: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split ``X`` into frequency, recency and T arrays without modifying it.

    ``X`` is a DataFrame with columns ``frequency``, ``recency`` and ``T`` or a
    2-D array whose three columns are in that order.
    """
    if isinstance(X, pd.DataFrame):
        missing = [c for c in RFM_COLUMNS if c not in X.columns]
        if missing:
            raise InvalidInputError(
                f"X lacks column(s) {missing}; expected {list(RFM_COLUMNS)} "
                "(see summary_from_transactions)"
            )
        return X["frequency"].to_numpy(), X["recency"].to_numpy(), X["T"].to_numpy()
    arr = np.asarray(X, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise InvalidInputError(
            f"X must be a DataFrame with columns {list(RFM_COLUMNS)} or an (n, 3) array; "
            f"got shape {arr.shape}"
        )
    return arr[:, 0], arr[:, 1], arr[:, 2]


def check_monetary(
    frequency: Any, monetary_value: Any, *, for_fit: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Validate frequency and mean spend (or margin) per repeat purchase."""
    x = _as_float_array(frequency, "frequency")
    m = _as_float_array(monetary_value, "monetary_value")
    try:
        x, m = (np.array(a, dtype=float) for a in np.broadcast_arrays(x, m))
    except ValueError:
        raise InvalidInputError(
            "frequency and monetary_value must have the same length "
            f"(got shapes {np.shape(x)}, {np.shape(m)})"
        ) from None
    for name, arr in (("frequency", x), ("monetary_value", m)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise InvalidInputError(f"{name} is missing or infinite in {_count(bad)}")
    if (x < 0).any() or (x != np.round(x)).any():
        raise InvalidInputError("frequency must be a non-negative whole number")
    if for_fit:
        zero = x == 0
        if zero.any():
            raise InvalidInputError(
                f"the Gamma-Gamma spend model is fitted on repeat buyers only; {_count(zero)} "
                "have frequency 0 — pass summary[summary['frequency'] > 0] "
                "(their expected spend is predicted from the population afterwards)"
            )
        nonpos = m <= 0
        if nonpos.any():
            raise InvalidInputError(
                f"monetary_value must be positive for the Gamma-Gamma model; {_count(nonpos)} "
                "are zero or negative (drop refunds/free orders or model margin separately)"
            )
        if x.size < 2:
            raise InvalidInputError(
                f"at least 2 customers are needed to fit a population model; got {x.size}"
            )
    else:
        # a repeat buyer whose repeat purchases were free (0) is valid data: the spend model's
        # posterior shrinks them towards the population; only negative spend is refused
        negative = (m < 0) & (x > 0)
        if negative.any():
            raise InvalidInputError(
                f"monetary_value must not be negative for customers with repeat purchases; "
                f"{_count(negative)} are negative"
            )
    return x, m


def check_time(t: Any) -> np.ndarray:
    """Validate a prediction horizon (finite, non-negative)."""
    arr = _as_float_array(t, "t")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise InvalidInputError("t (the prediction horizon) must be finite and non-negative")
    return arr


def check_count(n: Any) -> np.ndarray:
    """Validate a number of purchases (non-negative whole number)."""
    arr = _as_float_array(n, "n")
    if not np.isfinite(arr).all() or (arr < 0).any() or (arr != np.round(arr)).any():
        raise InvalidInputError("n (a number of purchases) must be a non-negative whole number")
    return arr
