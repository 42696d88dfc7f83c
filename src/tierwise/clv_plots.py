"""Write the CLV model checks of a calibration/holdout report as PNG files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["write_model_checks"]


def write_model_checks(report: Any, directory: str | Path) -> dict[str, Path]:
    """Save the five model-check plots of ``report`` into ``directory``.

    Returns
    -------
    dict
        Plot name -> PNG path.
    """
    from tierwise.clv import plots

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    summary = report.data.rename(
        columns={"frequency_cal": "frequency", "recency_cal": "recency", "T_cal": "T"}
    )[["frequency", "recency", "T"]]
    model = report.fitted_model
    drawn = {
        "frequency_histogram": plots.plot_frequency_histogram(model, summary),
        "cumulative_repeat_purchases": plots.plot_cumulative_transactions(report),
        "weekly_repeat_purchases": plots.plot_incremental_transactions(report),
        "conditional_expectations": plots.plot_conditional_expectations(report),
        "p_alive_matrix": plots.plot_probability_alive_matrix(model, T=float(summary["T"].max())),
    }
    paths = {}
    for name, ax in drawn.items():
        paths[name] = out / f"{name}.png"
        ax.figure.savefig(paths[name], dpi=110, bbox_inches="tight")
    return paths
