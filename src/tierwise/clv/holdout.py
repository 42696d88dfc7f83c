"""Calibration/holdout validation of a purchase-count model on a transaction log.

The model is fitted on the calibration period and its forecasts are
compared with what happened afterwards, as in Fader, Hardie & Lee (2005,
Figures 2-4): total repeat purchases (cumulative and per period) and the
mean holdout purchases by calibration frequency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from ._base import TransactionModel
from ._checks import InvalidInputError
from .bgnbd import BGNBDModel
from .data import _timestamp, calibration_and_holdout_data, daily_transactions, unit_days
from .mbgnbd import MBGNBDModel
from .paretonbd import ParetoNBDModel

__all__ = [
    "MODELS",
    "CalibrationHoldoutReport",
    "calibration_holdout_report",
    "conditional_expectation_table",
    "repeat_purchase_tracking",
]

#: Model names accepted wherever a model can be chosen by name.
MODELS: dict[str, type[TransactionModel]] = {
    "bgnbd": BGNBDModel,
    "mbgnbd": MBGNBDModel,
    "paretonbd": ParetoNBDModel,
}


def make_model(model: str | TransactionModel) -> TransactionModel:
    """An unfitted model from a name in :data:`MODELS`, or an unfitted copy of an instance."""
    if isinstance(model, TransactionModel):
        return clone(model)
    try:
        return MODELS[str(model).lower().replace("/", "").replace("_", "").replace("-", "")]()
    except KeyError:
        raise InvalidInputError(
            f"unknown model {model!r}; choose one of {sorted(MODELS)}"
        ) from None


@dataclass(frozen=True)
class CalibrationHoldoutReport:
    """Figures of a calibration/holdout validation (repeat purchases, in transactions).

    ``*_error_pct`` are ``100 * (predicted - actual) / actual``; negative means
    the model under-forecasts.
    """

    model: str
    params: dict[str, float]
    log_likelihood: float
    n_customers: int
    freq: str
    calibration_end: pd.Timestamp
    observation_end: pd.Timestamp
    calibration_actual: float
    calibration_predicted: float
    holdout_actual: float
    holdout_predicted: float
    cumulative_actual: float
    cumulative_predicted: float
    cumulative_error_pct: float
    holdout_error_pct: float
    conditional_holdout_predicted: float
    conditional_error_pct: float
    tracking: pd.DataFrame = field(repr=False)
    conditional: pd.DataFrame = field(repr=False)
    data: pd.DataFrame = field(repr=False)
    fitted_model: TransactionModel = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Scalar figures only, JSON friendly."""
        out: dict[str, Any] = {}
        for key in (
            "model",
            "log_likelihood",
            "n_customers",
            "freq",
            "calibration_actual",
            "calibration_predicted",
            "holdout_actual",
            "holdout_predicted",
            "cumulative_actual",
            "cumulative_predicted",
            "cumulative_error_pct",
            "holdout_error_pct",
            "conditional_holdout_predicted",
            "conditional_error_pct",
        ):
            value = getattr(self, key)
            out[key] = value if isinstance(value, str) else float(value)
        out["n_customers"] = int(self.n_customers)
        out["params"] = dict(self.params)
        out["calibration_end"] = self.calibration_end.date().isoformat()
        out["observation_end"] = self.observation_end.date().isoformat()
        return out


def repeat_purchase_tracking(
    model: TransactionModel,
    daily: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    calibration_end: pd.Timestamp,
    freq: str = "W",
) -> pd.DataFrame:
    """Actual and predicted repeat purchases per period, from ``start`` to ``end``.

    ``daily`` has one row per customer and purchase day (see
    :func:`daily_transactions`) for the customers acquired by
    ``calibration_end``.  Period ``k`` covers days ``[start + (k-1) L, start +
    k L)`` of ``L`` days (the last one is cut at ``end``).  The prediction at
    the end of a period is ``sum_i E[X(t - t_i)]`` over customers with first
    purchase ``t_i`` before it (FHL 2005, Figure 3).
    """
    length = unit_days(freq)
    day = pd.Timedelta(days=1)
    first = daily.groupby("customer_id")["date"].min()
    births, counts = np.unique(((first - start) / day).to_numpy(dtype=float), return_counts=True)
    total_days = (end - start) / day
    n_periods = int(np.ceil((total_days + 1) / length))
    period_end_day = np.minimum(np.arange(1, n_periods + 1) * length - 1.0, total_days)
    age = (period_end_day[:, None] - births[None, :]) / length
    expected = np.where(
        age > 0, model.expected_number_of_purchases_up_to_time(np.maximum(age, 0.0)), 0.0
    )
    predicted_cum = expected @ counts
    is_repeat = daily["date"].to_numpy() > first.reindex(daily["customer_id"]).to_numpy()
    repeat_day = ((daily["date"][is_repeat] - start) / day).to_numpy(dtype=float)
    period_of = np.floor(repeat_day / length).astype(np.int64)
    actual = np.bincount(period_of[period_of < n_periods], minlength=n_periods).astype(float)
    dates = start + pd.to_timedelta(period_end_day, unit="D")
    tracking = pd.DataFrame(
        {
            "period": np.arange(1, n_periods + 1),
            "period_end": dates,
            "actual": actual,
            "predicted": np.diff(predicted_cum, prepend=0.0),
            "actual_cumulative": np.cumsum(actual),
            "predicted_cumulative": predicted_cum,
            "holdout": dates > calibration_end,
        }
    )
    return tracking.set_index("period")


def conditional_expectation_table(
    model: TransactionModel, data: pd.DataFrame, max_frequency: int = 7
) -> pd.DataFrame:
    """Mean holdout purchases, actual and predicted, by calibration frequency (FHL Figure 4).

    The last row pools customers with ``frequency_cal >= max_frequency``.
    """
    duration = data["duration_holdout"].to_numpy()
    predicted = model.conditional_expected_number_of_purchases_up_to_time(
        duration, data["frequency_cal"], data["recency_cal"], data["T_cal"]
    )
    group = np.minimum(data["frequency_cal"].to_numpy(), max_frequency)
    frame = pd.DataFrame(
        {
            "frequency_cal": group,
            "actual": data["frequency_holdout"].to_numpy(dtype=float),
            "predicted": predicted,
        }
    )
    table = frame.groupby("frequency_cal").agg(
        n_customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean")
    )
    return table.reindex(range(max_frequency + 1)).dropna()


def calibration_holdout_report(
    transactions: pd.DataFrame,
    calibration_end: Any,
    observation_end: Any = None,
    *,
    model: str | TransactionModel = "bgnbd",
    customer_id_col: str = "customer_id",
    datetime_col: str = "datetime",
    freq: str = "W",
    max_frequency: int = 7,
) -> CalibrationHoldoutReport:
    """Fit on the calibration period and compare forecasts with the holdout period.

    Parameters
    ----------
    transactions
        One row per purchase with a customer id and a date-time (other
        columns, e.g. ``amount``, are ignored).
    calibration_end, observation_end
        Last day of the calibration period and of the data used (inclusive;
        default: the latest transaction).
    model
        ``'bgnbd'``, ``'mbgnbd'``, ``'paretonbd'`` or an (unfitted) model
        instance carrying its hyper-parameters.
    customer_id_col, datetime_col
        Column names.
    freq
        Model time unit (``'W'``, ``'D'`` or ``'M'``).
    max_frequency
        Calibration frequencies pooled from this value on in ``conditional``.

    Returns
    -------
    CalibrationHoldoutReport
    """
    estimator = make_model(model)
    daily_all = daily_transactions(transactions, customer_id_col, datetime_col)
    cal_end = _timestamp(calibration_end, "calibration_end")
    obs_end = (
        daily_all["date"].max()
        if observation_end is None
        else _timestamp(observation_end, "observation_end")
    )
    data = calibration_and_holdout_data(
        daily_all, "customer_id", "date", cal_end, obs_end, freq=freq
    )
    estimator.fit(
        data.rename(columns={"frequency_cal": "frequency", "recency_cal": "recency", "T_cal": "T"})[
            ["frequency", "recency", "T"]
        ]
    )
    daily = daily_all[daily_all["customer_id"].isin(data.index) & (daily_all["date"] <= obs_end)]
    start = daily["date"].min()
    tracking = repeat_purchase_tracking(estimator, daily, start, obs_end, cal_end, freq)
    in_cal = ~tracking["holdout"]
    cal_actual = float(tracking.loc[in_cal, "actual"].sum())
    cal_pred = float(tracking.loc[in_cal, "predicted"].sum())
    hold_actual = float(tracking.loc[~in_cal, "actual"].sum())
    hold_pred = float(tracking.loc[~in_cal, "predicted"].sum())
    cum_actual = cal_actual + hold_actual
    cum_pred = float(tracking["predicted_cumulative"].iloc[-1])
    conditional = conditional_expectation_table(estimator, data, max_frequency)
    cond_pred = float((conditional["predicted"] * conditional["n_customers"]).sum())
    return CalibrationHoldoutReport(
        model=type(estimator).__name__,
        params=dict(estimator.params_),
        log_likelihood=float(estimator.log_likelihood_),
        n_customers=len(data),
        freq=freq,
        calibration_end=cal_end,
        observation_end=obs_end,
        calibration_actual=cal_actual,
        calibration_predicted=cal_pred,
        holdout_actual=hold_actual,
        holdout_predicted=hold_pred,
        cumulative_actual=cum_actual,
        cumulative_predicted=cum_pred,
        cumulative_error_pct=_pct(cum_pred, cum_actual),
        holdout_error_pct=_pct(hold_pred, hold_actual),
        conditional_holdout_predicted=cond_pred,
        conditional_error_pct=_pct(cond_pred, hold_actual),
        tracking=tracking,
        conditional=conditional,
        data=data,
        fitted_model=estimator,
    )


def _pct(predicted: float, actual: float) -> float:
    if actual <= 0:
        raise InvalidInputError(
            "no repeat purchase in this period: the forecast error is undefined; choose "
            "another calibration_end"
        )
    return 100.0 * (predicted - actual) / actual
