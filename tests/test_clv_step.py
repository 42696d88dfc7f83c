"""CLV inside a run: fits that need help still give figures, and say what was done."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tierwise.clv import simulate_nbd
from tierwise.config import CLVConfig
from tierwise.steps.clv import CLV_COLUMNS, fit_clv


def inputs_from_summary(summary: pd.DataFrame, unit_days: float = 7.0) -> pd.DataFrame:
    """The per-buyer statistics `clv_inputs` would give for a simulated summary."""
    n = len(summary)
    x = summary.frequency.to_numpy()
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "purchase_days": (x + 1).astype(int),
            "recency_days": np.round(summary.recency.to_numpy() * unit_days).astype(int),
            "t_days": np.round(summary["T"].to_numpy() * unit_days).astype(int),
            "total_amount": 50.0 * (x + 1),
            "margin_known": 0.0,
            "margin_base": 0.0,
            "repeat_amount": 50.0 * x + np.where(x > 0, np.arange(n) % 7, 0.0),
            "gap_n": x.astype(int),
            "gap_mean": np.where(x > 0, 7.0, np.nan),
            "gap_std": np.where(x > 1, 2.0, np.nan),
        }
    )


def test_no_visible_dropout_is_fitted_with_a_penalty_and_said():
    summary = simulate_nbd(5000, r=0.5, alpha=4.0, T=52.0, seed=3)
    result = fit_clv(inputs_from_summary(summary), CLVConfig())
    assert result.model is not None, result.note
    assert "purchases: refitted with penalizer 0.001" in result.note
    table = result.table
    assert list(table.columns) == ["customer_id", *CLV_COLUMNS]
    assert table[list(CLV_COLUMNS)].notna().all().all()
    assert table.p_alive.between(0, 1).all()


def test_too_few_buyers_skip_clv_with_the_reason():
    summary = simulate_nbd(20, r=0.5, alpha=4.0, T=52.0, seed=1)
    result = fit_clv(inputs_from_summary(summary), CLVConfig())
    assert result.model is None and result.table.empty
    assert result.note == "CLV skipped: 20 buyers, fewer than clv.min_buyers"
