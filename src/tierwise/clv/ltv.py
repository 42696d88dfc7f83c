"""Customer lifetime value from a purchase-count model and a spend (or margin) figure.

Two views are offered:

* :func:`customer_lifetime_value` - the discounted sum of expected future
  purchases times the value per purchase, month by month (as in
  ``lifetimes``);
* :func:`seed_ltv` - the seed article's decomposition
  ``LTV = lifetime x average gross margin x annual repurchase frequency``
  with each term reported.

Both are computed on margin when the caller passes margins (or a gross
margin rate through ``margin``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._base import TransactionModel
from ._checks import InvalidInputError, check_monetary, check_rfm
from .data import unit_days
from .gammagamma import GammaGammaModel

__all__ = [
    "DAYS_PER_YEAR",
    "customer_lifetime_value",
    "expected_loyalty",
    "predict_customers",
    "purchase_regularity",
    "seed_ltv",
]

DAYS_PER_YEAR = 365.25


def _periods_per_month(freq: str) -> float:
    return DAYS_PER_YEAR / 12.0 / unit_days(freq)


def _margin_array(margin: Any, n: int) -> np.ndarray:
    arr = np.broadcast_to(np.asarray(margin, dtype=float), (n,)).copy()
    if not np.isfinite(arr).all():
        raise InvalidInputError("margin must be finite")
    return arr


def customer_lifetime_value(
    transaction_model: TransactionModel,
    frequency: Any,
    recency: Any,
    T: Any,
    monetary_value: Any,
    *,
    time: int = 12,
    discount_rate: float = 0.01,
    freq: str = "W",
    margin: Any = 1.0,
) -> np.ndarray:
    """Discounted expected value of each customer's purchases over ``time`` months.

    ``CLV = sum_{i=1..time} value * (E[Y(i)] - E[Y(i-1)]) / (1 + d)^i`` where
    ``E[Y(i)]`` is the model's conditional expected number of purchases in the
    next ``i`` months and ``value = monetary_value * margin``.

    Parameters
    ----------
    transaction_model
        A fitted BG/NBD, MBG/NBD or Pareto/NBD model.
    frequency, recency, T
        Customer summaries in the model's time unit ``freq``.
    monetary_value
        Expected value per future purchase: revenue, or margin to get a
        profit-based CLV (e.g. from
        :meth:`GammaGammaModel.conditional_expected_average_profit`).
    time
        Horizon in months.
    discount_rate
        Monthly discount rate (``0.01`` is about 12.7 % a year).
    freq
        Time unit of the model: ``'W'``, ``'D'`` or ``'M'``; a month is
        365.25/12 days.
    margin
        Gross-margin rate applied to ``monetary_value`` (scalar or per
        customer); leave at 1 when ``monetary_value`` is already a margin.
    """
    x, tx, t_end = check_rfm(frequency, recency, T)
    _, value = check_monetary(x, monetary_value)
    if int(time) != time or time < 1:
        raise InvalidInputError(f"time must be a whole number of months >= 1; got {time!r}")
    if not (np.isfinite(discount_rate) and discount_rate > -1):
        raise InvalidInputError(f"discount_rate must be > -1; got {discount_rate!r}")
    x, tx, t_end, value = (np.ravel(a) for a in (x, tx, t_end, value))
    value = value * _margin_array(margin, x.size)
    months = np.arange(1, int(time) + 1, dtype=float)
    horizons = months[:, None] * _periods_per_month(freq)
    expected = transaction_model.conditional_expected_number_of_purchases_up_to_time(
        horizons, x[None, :], tx[None, :], t_end[None, :]
    )
    increments = np.diff(expected, axis=0, prepend=0.0)
    discount = (1.0 + discount_rate) ** -months
    return (discount @ increments) * value


def seed_ltv(
    transaction_model: TransactionModel | None,
    frequency: Any,
    recency: Any,
    T: Any,
    monetary_value: Any,
    *,
    spend_model: GammaGammaModel | None = None,
    margin: Any = 1.0,
    lifetime: str | float = "model",
    horizon_years: float = 3.0,
    freq: str = "W",
    index: Any = None,
) -> pd.DataFrame:
    """The seed article's ``LTV = lifetime x average gross margin x annual repurchase frequency``.

    Terms
    -----
    ``annual_repurchase_frequency``
        Purchases per year while the customer is active: the posterior mean
        purchase rate given the customer is alive, ``(r + x) / (alpha + T)``
        per time unit (the same for BG/NBD, MBG/NBD and Pareto/NBD), times
        the units per year.  Without a model: the observed rate ``x / T``.
    ``lifetime_years``
        With ``lifetime="model"``: the expected *active* years within the
        next ``horizon_years``, defined as the model's conditional expected
        purchases over the horizon divided by the annual frequency above.  It
        folds in P(alive) and future dropout, never exceeds
        ``horizon_years``, and stays finite where the mean remaining lifetime
        is infinite (a heavy-tailed dropout distribution, e.g. BG/NBD with
        ``a <= 1`` or Pareto/NBD with ``s <= 1``, as on CDNOW).  With a number:
        that fixed lifetime in years for everyone (a configured value).
    ``avg_gross_margin``
        Expected margin per purchase: ``monetary_value * margin``, or the
        Gamma-Gamma expected average value times ``margin`` when
        ``spend_model`` is given.
    ``ltv``
        The product of the three (undiscounted).  With ``lifetime="model"`` it
        equals expected purchases over the horizon times the margin per
        purchase.

    Returns
    -------
    DataFrame
        Columns ``lifetime_years``, ``avg_gross_margin``,
        ``annual_repurchase_frequency``, ``ltv``; indexed by ``index`` or by
        the index of ``frequency`` when it is a Series.
    """
    if index is None and isinstance(frequency, pd.Series):
        index = frequency.index
    x, tx, t_end = (np.ravel(a) for a in check_rfm(frequency, recency, T))
    _, value = check_monetary(x, monetary_value)
    value = np.ravel(value) * _margin_array(margin, x.size)
    if spend_model is not None:
        value = spend_model.conditional_expected_average_profit(x, np.ravel(monetary_value)) * (
            _margin_array(margin, x.size)
        )
    per_year = DAYS_PER_YEAR / unit_days(freq)
    if transaction_model is not None:
        transaction_model._check_fitted()
        r, alpha = transaction_model.params_["r"], transaction_model.params_["alpha"]
        rate = (r + x) / (alpha + t_end)
    else:
        if lifetime == "model":
            raise InvalidInputError(
                "lifetime='model' needs a fitted transaction_model; pass a number of years instead"
            )
        if (t_end <= 0).any():
            raise InvalidInputError("T must be positive to compute the observed purchase rate")
        rate = x / t_end
    annual = rate * per_year
    if lifetime == "model":
        if not (np.isfinite(horizon_years) and horizon_years > 0):
            raise InvalidInputError(f"horizon_years must be positive; got {horizon_years!r}")
        expected = transaction_model.conditional_expected_number_of_purchases_up_to_time(
            horizon_years * per_year, x, tx, t_end
        )
        years = expected / annual
    else:
        try:
            fixed = float(lifetime)
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"lifetime must be 'model' or a number of years; got {lifetime!r}"
            ) from None
        if not (np.isfinite(fixed) and fixed >= 0):
            raise InvalidInputError(f"lifetime must be a non-negative number; got {lifetime!r}")
        years = np.full(x.size, fixed)
    return pd.DataFrame(
        {
            "lifetime_years": years,
            "avg_gross_margin": value,
            "annual_repurchase_frequency": annual,
            "ltv": years * value * annual,
        },
        index=index,
    )


def purchase_regularity(
    transactions: pd.DataFrame,
    customer_id_col: str = "customer_id",
    datetime_col: str = "datetime",
    observation_period_end: Any = None,
) -> pd.Series:
    """How regular each customer's purchase gaps are, in ``[0, 1]``.

    ``1 / (1 + CV)`` of the gaps between purchase days, where CV is their
    coefficient of variation: 1 for a metronome, 0.5 for a memoryless
    (Poisson) buyer, towards 0 for bursty buying.  A customer with a single
    gap gets 0.5 (no evidence either way) and a customer without a repeat
    purchase gets 0 (no regular buying shown).
    """
    from .data import daily_transactions

    daily = daily_transactions(transactions, customer_id_col, datetime_col)
    if observation_period_end is not None:
        daily = daily[daily["date"] <= pd.Timestamp(observation_period_end).normalize()]
    gaps = daily.groupby("customer_id")["date"].diff() / pd.Timedelta(days=1)
    stats = gaps.groupby(daily["customer_id"]).agg(["count", "mean", "std"])
    cv = stats["std"] / stats["mean"]
    out = pd.Series(0.5, index=stats.index, name="regularity")
    out[stats["count"] == 0] = 0.0
    many = stats["count"] >= 2
    out[many] = 1.0 / (1.0 + cv[many])
    out.index.name = "customer_id"
    return out


def expected_loyalty(p_alive: Any, regularity: Any = None) -> np.ndarray:
    """Expected loyalty in ``[0, 1]``: ``P(alive) x regularity``.

    ``regularity`` (see :func:`purchase_regularity`) defaults to 1, in which
    case loyalty is P(alive) alone.
    """
    p = np.asarray(p_alive, dtype=float)
    reg = np.ones_like(p) if regularity is None else np.asarray(regularity, dtype=float)
    if not (np.isfinite(p).all() and np.isfinite(reg).all()):
        raise InvalidInputError("p_alive and regularity must be finite")
    if (p < 0).any() or (p > 1).any() or (reg < 0).any() or (reg > 1).any():
        raise InvalidInputError("p_alive and regularity must lie in [0, 1]")
    return p * reg


def _with_first_purchase(
    spend_model: GammaGammaModel, x: np.ndarray, first_value: pd.Series, value: np.ndarray
) -> np.ndarray:
    """Value one-time buyers on their first purchase as one observation of their spend.

    Gamma-Gamma is fitted on repeat purchases, and a customer without one gets the population
    mean; but what a one-time buyer paid is evidence of what they will pay (on CDNOW, the top
    fifth of first purchases spent three times as much in the holdout as the bottom fifth), so
    their posterior mean given that one value is used: ``p (gamma + m_1) / (p + q - 1)``.
    """
    first = first_value.to_numpy(dtype=float)
    one = (x == 0) & np.isfinite(first) & (first > 0)
    if not one.any():
        return value
    out = np.array(value, dtype=float, copy=True)
    out[one] = spend_model.conditional_expected_average_profit(np.ones(int(one.sum())), first[one])
    return out


def predict_customers(
    transaction_model: TransactionModel,
    summary: pd.DataFrame,
    *,
    spend_model: GammaGammaModel | None = None,
    horizon: float | None = None,
    time: int = 12,
    discount_rate: float = 0.01,
    freq: str = "W",
    margin: Any = 1.0,
    regularity: pd.Series | None = None,
    lifetime: str | float = "model",
    horizon_years: float = 3.0,
) -> pd.DataFrame:
    """Everything the profile stores per customer, in one table.

    Parameters
    ----------
    transaction_model
        Fitted purchase-count model.
    summary
        Output of :func:`summary_from_transactions` (``frequency``,
        ``recency``, ``T``, optional ``monetary_value``; optional
        ``first_value``, the value of the first purchase).
    spend_model
        Fitted Gamma-Gamma model; without one, the customer's own
        ``monetary_value`` is the value per purchase.  With ``first_value``,
        one-time buyers are valued on their first purchase as one observation
        (Gamma-Gamma posterior) instead of the population mean.
    horizon
        Horizon of ``expected_purchases`` in model units (default: one year).
    time, discount_rate
        CLV horizon in months and monthly discount rate.
    freq
        Model time unit.
    margin
        Gross-margin rate applied to the value per purchase.
    regularity
        Optional :func:`purchase_regularity` per customer (aligned on the
        index; missing customers get 0.5).
    lifetime, horizon_years
        As in :func:`seed_ltv`.

    Returns
    -------
    DataFrame
        Indexed like ``summary``: ``p_alive``, ``p_repurchase`` (probability
        of at least one purchase within ``horizon``), ``expected_purchases``,
        ``expected_average_value``, ``clv``, ``lifetime_years``,
        ``annual_repurchase_frequency``, ``seed_ltv``, ``expected_loyalty``
        and ``potential_profit`` (= ``clv``), ready for
        :class:`LoyaltyProfitQuadrant`.
    """
    if not isinstance(summary, pd.DataFrame):
        raise InvalidInputError("summary must be a DataFrame (see summary_from_transactions)")
    x = summary["frequency"].to_numpy()
    tx = summary["recency"].to_numpy()
    t_end = summary["T"].to_numpy()
    if "monetary_value" not in summary.columns and spend_model is None:
        raise InvalidInputError(
            "summary has no monetary_value column: build it with monetary_value_col=... or pass "
            "a fitted spend_model"
        )
    monetary = (
        summary["monetary_value"].to_numpy(dtype=float)
        if "monetary_value" in summary.columns
        else np.zeros(len(summary))
    )
    if spend_model is not None:
        value = spend_model.conditional_expected_average_profit(x, monetary)
        if "first_value" in summary.columns:
            value = _with_first_purchase(spend_model, x, summary["first_value"], value)
    else:
        value = monetary
    per_year = DAYS_PER_YEAR / unit_days(freq)
    horizon = per_year if horizon is None else horizon
    p_alive = transaction_model.conditional_probability_alive(x, tx, t_end)
    p_purchase = transaction_model.conditional_probability_of_purchase(horizon, x, tx, t_end)
    expected = transaction_model.conditional_expected_number_of_purchases_up_to_time(
        horizon, x, tx, t_end
    )
    clv = customer_lifetime_value(
        transaction_model,
        x,
        tx,
        t_end,
        value,
        time=time,
        discount_rate=discount_rate,
        freq=freq,
        margin=margin,
    )
    seed = seed_ltv(
        transaction_model,
        x,
        tx,
        t_end,
        value,
        margin=margin,
        lifetime=lifetime,
        horizon_years=horizon_years,
        freq=freq,
    )
    reg = None
    if regularity is not None:
        reg = regularity.reindex(summary.index).fillna(0.5).to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "p_alive": p_alive,
            "p_repurchase": p_purchase,
            "expected_purchases": expected,
            "expected_average_value": value * _margin_array(margin, len(x)),
            "clv": clv,
            "lifetime_years": seed["lifetime_years"].to_numpy(),
            "annual_repurchase_frequency": seed["annual_repurchase_frequency"].to_numpy(),
            "seed_ltv": seed["ltv"].to_numpy(),
            "expected_loyalty": expected_loyalty(p_alive, reg),
            "potential_profit": clv,
        },
        index=summary.index,
    )
