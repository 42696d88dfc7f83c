"""From a transaction log to the per-customer summaries the models need.

Conventions (as in Fader, Hardie & Lee 2005 and the ``lifetimes`` package):

* purchases on the same calendar day are merged into one transaction (their
  values added up);
* ``frequency`` is the number of repeat transactions (days with a purchase
  after the first one);
* ``recency`` is the time from the first to the last transaction and ``T``
  the time from the first transaction to the end of the observation period
  (inclusive day), both in days divided by the unit length (7 for weeks);
* ``monetary_value`` is the mean value of the repeat transactions (0 for
  customers without one), which is what the Gamma-Gamma model expects.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._checks import InvalidInputError

__all__ = [
    "UNIT_DAYS",
    "calibration_and_holdout_data",
    "daily_transactions",
    "summary_from_transactions",
    "unit_days",
]

#: Length of one time unit in days.
UNIT_DAYS: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.25 / 12.0}


def unit_days(freq: str) -> float:
    """Days per time unit for ``freq`` in ``{'D', 'W', 'M'}``."""
    try:
        return UNIT_DAYS[freq]
    except KeyError:
        raise InvalidInputError(
            f"freq must be one of {sorted(UNIT_DAYS)} (day, week, month); got {freq!r}"
        ) from None


def _timestamp(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} is not a date: {exc}") from None
    if ts is pd.NaT:
        raise InvalidInputError(f"{name} is missing")
    return ts.normalize()


def daily_transactions(
    transactions: pd.DataFrame,
    customer_id_col: str = "customer_id",
    datetime_col: str = "datetime",
    monetary_value_col: str | None = None,
) -> pd.DataFrame:
    """One row per customer and calendar day: columns ``customer_id``, ``date`` (and ``value``).

    The input is not modified.  Missing customer ids or unparseable dates
    raise :class:`ValueError` naming how many rows are affected.
    """
    if not isinstance(transactions, pd.DataFrame):
        raise InvalidInputError("transactions must be a pandas DataFrame")
    needed = [customer_id_col, datetime_col] + ([monetary_value_col] if monetary_value_col else [])
    missing = [c for c in needed if c not in transactions.columns]
    if missing:
        raise InvalidInputError(
            f"transactions lack column(s) {missing}; have {list(transactions.columns)}"
        )
    if transactions.empty:
        raise InvalidInputError("transactions is empty")
    ids = transactions[customer_id_col]
    if ids.isna().any():
        raise InvalidInputError(f"{customer_id_col} is missing in {int(ids.isna().sum())} rows")
    dates = pd.to_datetime(transactions[datetime_col], errors="coerce")
    if dates.isna().any():
        raise InvalidInputError(
            f"{datetime_col} is missing or not a date in {int(dates.isna().sum())} rows"
        )
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    frame = pd.DataFrame({"customer_id": ids.to_numpy(), "date": dates.dt.normalize().to_numpy()})
    if monetary_value_col:
        values = pd.to_numeric(transactions[monetary_value_col], errors="coerce")
        if values.isna().any():
            raise InvalidInputError(
                f"{monetary_value_col} is missing or not numeric in {int(values.isna().sum())} rows"
            )
        frame["value"] = values.to_numpy(dtype=float)
        return frame.groupby(["customer_id", "date"], as_index=False, sort=True)["value"].sum()
    return frame.drop_duplicates(["customer_id", "date"]).sort_values(["customer_id", "date"])


def _summarise(
    daily: pd.DataFrame, end: pd.Timestamp, unit: float, with_value: bool
) -> pd.DataFrame:
    grouped = daily.groupby("customer_id", sort=True)
    first = grouped["date"].min()
    last = grouped["date"].max()
    count = grouped["date"].size()
    day = pd.Timedelta(days=1)
    out = pd.DataFrame(
        {
            "frequency": (count - 1).astype(np.int64),
            "recency": (last - first) / day / unit,
            "T": (end - first) / day / unit,
        }
    )
    if with_value:
        total = grouped["value"].sum()
        repeat_total = total - grouped["value"].first()  # rows are sorted by date
        freq = out["frequency"]
        out["monetary_value"] = np.where(freq > 0, repeat_total / freq.where(freq > 0, 1), 0.0)
    out.index.name = "customer_id"
    return out


def summary_from_transactions(
    transactions: pd.DataFrame,
    customer_id_col: str = "customer_id",
    datetime_col: str = "datetime",
    monetary_value_col: str | None = None,
    observation_period_end: Any = None,
    freq: str = "W",
) -> pd.DataFrame:
    """Per-customer ``frequency``, ``recency``, ``T`` (and ``monetary_value``).

    Parameters
    ----------
    transactions
        One row per purchase (or order line).
    customer_id_col, datetime_col, monetary_value_col
        Column names; ``monetary_value_col`` is optional (revenue or margin).
    observation_period_end
        Last day observed (inclusive); defaults to the latest transaction.
        Later transactions are ignored.
    freq
        Time unit: ``'W'`` (weeks of 7 days), ``'D'`` or ``'M'`` (months of
        365.25/12 days).

    Returns
    -------
    DataFrame
        Indexed by customer id; see the module docstring for the columns.
    """
    unit = unit_days(freq)
    daily = daily_transactions(transactions, customer_id_col, datetime_col, monetary_value_col)
    end = (
        daily["date"].max()
        if observation_period_end is None
        else _timestamp(observation_period_end, "observation_period_end")
    )
    daily = daily[daily["date"] <= end]
    if daily.empty:
        raise InvalidInputError("no transaction on or before observation_period_end")
    return _summarise(daily, end, unit, monetary_value_col is not None)


def calibration_and_holdout_data(
    transactions: pd.DataFrame,
    customer_id_col: str = "customer_id",
    datetime_col: str = "datetime",
    calibration_period_end: Any = None,
    observation_period_end: Any = None,
    freq: str = "W",
    monetary_value_col: str | None = None,
) -> pd.DataFrame:
    """Split the log at ``calibration_period_end`` for out-of-sample validation.

    Customers whose first transaction is on or before the calibration end are
    kept.  Returns ``frequency_cal``, ``recency_cal``, ``T_cal`` (and
    ``monetary_value_cal``) summarising the calibration period, and
    ``frequency_holdout`` (transaction days in the holdout period),
    ``duration_holdout`` (its length in units) and, with values,
    ``monetary_value_holdout`` (mean value per holdout transaction, 0 if none).
    """
    if calibration_period_end is None:
        raise InvalidInputError("calibration_period_end is required")
    unit = unit_days(freq)
    daily = daily_transactions(transactions, customer_id_col, datetime_col, monetary_value_col)
    cal_end = _timestamp(calibration_period_end, "calibration_period_end")
    obs_end = (
        daily["date"].max()
        if observation_period_end is None
        else _timestamp(observation_period_end, "observation_period_end")
    )
    if obs_end <= cal_end:
        raise InvalidInputError(
            f"observation_period_end ({obs_end.date()}) must be after calibration_period_end "
            f"({cal_end.date()})"
        )
    with_value = monetary_value_col is not None
    cal_daily = daily[daily["date"] <= cal_end]
    if cal_daily.empty:
        raise InvalidInputError("no transaction on or before calibration_period_end")
    cal = _summarise(cal_daily, cal_end, unit, with_value).add_suffix("_cal")
    hold = daily[(daily["date"] > cal_end) & (daily["date"] <= obs_end)]
    hold = hold[hold["customer_id"].isin(cal.index)]
    grouped = hold.groupby("customer_id")
    cal["frequency_holdout"] = grouped.size().reindex(cal.index, fill_value=0).astype(np.int64)
    if with_value:
        mean_value = grouped["value"].mean().reindex(cal.index, fill_value=0.0)
        cal["monetary_value_holdout"] = mean_value.to_numpy(dtype=float)
    cal["duration_holdout"] = (obs_end - cal_end) / pd.Timedelta(days=1) / unit
    return cal
