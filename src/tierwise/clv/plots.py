"""Model checks as matplotlib figures (Fader, Hardie & Lee 2005, Figures 2-4).

Every function draws on the ``ax`` it is given, or on a new figure with an
Agg canvas (pyplot and its global state are never used), and returns the
Axes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ._base import TransactionModel
from ._checks import InvalidInputError, as_rfm, check_rfm
from .holdout import CalibrationHoldoutReport

__all__ = [
    "frequency_histogram_data",
    "new_axes",
    "plot_conditional_expectations",
    "plot_cumulative_transactions",
    "plot_frequency_histogram",
    "plot_incremental_transactions",
    "plot_probability_alive_matrix",
    "probability_alive_matrix",
]


def new_axes(figsize: tuple[float, float] = (7.0, 4.5)) -> Axes:
    """A fresh Axes on its own Agg-backed figure."""
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig.add_subplot()


def frequency_histogram_data(
    model: TransactionModel, summary: Any, max_frequency: int = 7
) -> pd.DataFrame:
    """Customers by number of repeat purchases, actual and expected (``max_frequency`` pools).

    Expected counts are ``sum_i P(X(T_i) = x)`` over customers, each with her
    own ``T_i``; the pooled bin is the remainder so both columns sum to the
    number of customers.
    """
    if int(max_frequency) < 1:
        raise InvalidInputError("max_frequency must be >= 1")
    x, _, t_end = check_rfm(*as_rfm(summary))
    ages, counts = np.unique(t_end, return_counts=True)
    bins = np.arange(max_frequency)
    probs = model.probability_of_n_purchases_up_to_time(ages[:, None], bins[None, :])
    expected = counts @ probs
    expected = np.append(expected, x.size - expected.sum())
    actual = np.bincount(np.minimum(x, max_frequency).astype(np.int64), minlength=max_frequency + 1)
    labels = [str(i) for i in bins] + [f"{max_frequency}+"]
    return pd.DataFrame({"actual": actual.astype(float), "model": expected}, index=labels)


def plot_frequency_histogram(
    model: TransactionModel, summary: Any, *, max_frequency: int = 7, ax: Axes | None = None
) -> Axes:
    """Bars of customers by repeat purchases: actual beside the model's expectation."""
    table = frequency_histogram_data(model, summary, max_frequency)
    ax = ax if ax is not None else new_axes()
    pos = np.arange(len(table))
    width = 0.4
    ax.bar(pos - width / 2, table["actual"], width, label="Actual")
    ax.bar(pos + width / 2, table["model"], width, label=type(model).__name__)
    ax.set_xticks(pos, table.index)
    ax.set_xlabel("Repeat purchases in the calibration period")
    ax.set_ylabel("Customers")
    ax.set_title("Frequency of repeat purchases")
    ax.legend()
    return ax


def _tracking_axes(report: CalibrationHoldoutReport, ax: Axes | None) -> Axes:
    if not isinstance(report, CalibrationHoldoutReport):
        raise InvalidInputError("report must come from calibration_holdout_report")
    return ax if ax is not None else new_axes()


def _mark_calibration_end(ax: Axes, report: CalibrationHoldoutReport) -> None:
    tracking = report.tracking
    last_cal = tracking.index[~tracking["holdout"].to_numpy()].max()
    ax.axvline(
        float(last_cal), color="grey", linestyle="--", linewidth=1, label="End of calibration"
    )


def plot_cumulative_transactions(
    report: CalibrationHoldoutReport, *, ax: Axes | None = None
) -> Axes:
    """Cumulative repeat purchases per period, actual and predicted (FHL Figure 3)."""
    ax = _tracking_axes(report, ax)
    t = report.tracking
    ax.plot(t.index.to_numpy(), t["actual_cumulative"].to_numpy(), label="Actual")
    ax.plot(
        t.index.to_numpy(), t["predicted_cumulative"].to_numpy(), linestyle="--", label=report.model
    )
    _mark_calibration_end(ax, report)
    ax.set_xlabel(f"Period ({report.freq})")
    ax.set_ylabel("Cumulative repeat purchases")
    ax.set_title(f"Tracking cumulative repeat purchases ({report.cumulative_error_pct:+.1f} %)")
    ax.legend()
    return ax


def plot_incremental_transactions(
    report: CalibrationHoldoutReport, *, ax: Axes | None = None
) -> Axes:
    """Repeat purchases per period, actual and predicted."""
    ax = _tracking_axes(report, ax)
    t = report.tracking
    ax.plot(t.index.to_numpy(), t["actual"].to_numpy(), label="Actual")
    ax.plot(t.index.to_numpy(), t["predicted"].to_numpy(), linestyle="--", label=report.model)
    _mark_calibration_end(ax, report)
    ax.set_xlabel(f"Period ({report.freq})")
    ax.set_ylabel("Repeat purchases")
    ax.set_title("Repeat purchases per period")
    ax.legend()
    return ax


def plot_conditional_expectations(
    report: CalibrationHoldoutReport, *, ax: Axes | None = None
) -> Axes:
    """Mean holdout purchases by calibration frequency, actual and predicted (FHL Figure 4)."""
    ax = _tracking_axes(report, ax)
    c = report.conditional
    labels = [str(int(i)) for i in c.index]
    labels[-1] = labels[-1] + "+"
    pos = np.arange(len(c))
    ax.plot(pos, c["actual"].to_numpy(), marker="o", label="Actual")
    ax.plot(pos, c["predicted"].to_numpy(), marker="s", linestyle="--", label=report.model)
    ax.set_xticks(pos, labels)
    ax.set_xlabel("Repeat purchases in the calibration period")
    ax.set_ylabel("Mean purchases in the holdout period")
    ax.set_title("Conditional expectations")
    ax.legend()
    return ax


def probability_alive_matrix(
    model: TransactionModel,
    *,
    max_frequency: int = 20,
    T: float | None = None,
    n_recency: int = 40,
) -> pd.DataFrame:
    """P(alive) on a grid: rows frequency ``0..max_frequency``, columns recency ``0..T``.

    Cells with ``frequency = 0`` and positive recency are impossible and left
    NaN (they are not drawn).
    """
    model._check_fitted()
    if T is None:
        raise InvalidInputError("T (the customers' age at the end of the period) is required")
    if not (np.isfinite(T) and T > 0):
        raise InvalidInputError("T must be positive")
    freqs = np.arange(int(max_frequency) + 1)
    recencies = np.linspace(0.0, float(T), int(n_recency))
    grid_f, grid_r = np.meshgrid(freqs, recencies, indexing="ij")
    valid = ~((grid_f == 0) & (grid_r > 0))
    values = np.full(grid_f.shape, np.nan)
    values[valid] = model.conditional_probability_alive(
        grid_f[valid], grid_r[valid], np.full(valid.sum(), float(T))
    )
    return pd.DataFrame(
        values, index=pd.Index(freqs, name="frequency"), columns=pd.Index(recencies, name="recency")
    )


def plot_probability_alive_matrix(
    model: TransactionModel,
    *,
    max_frequency: int = 20,
    T: float | None = None,
    n_recency: int = 40,
    ax: Axes | None = None,
) -> Axes:
    """Heat map of P(alive) by recency (x axis) and frequency (y axis)."""
    table = probability_alive_matrix(model, max_frequency=max_frequency, T=T, n_recency=n_recency)
    ax = ax if ax is not None else new_axes()
    recencies = table.columns.to_numpy(dtype=float)
    image = ax.imshow(
        np.ma.masked_invalid(table.to_numpy()),
        origin="lower",
        aspect="auto",
        vmin=0.0,
        vmax=1.0,
        cmap="viridis",
        extent=(recencies[0], recencies[-1], -0.5, table.index[-1] + 0.5),
    )
    ax.figure.colorbar(image, ax=ax, label="P(alive)")
    ax.set_xlabel("Recency (time of last purchase)")
    ax.set_ylabel("Frequency (repeat purchases)")
    ax.set_title(f"Probability alive at T = {T:g}")
    return ax
