"""Transaction log to customer summaries."""

from __future__ import annotations

import pandas as pd
import pytest

from tierwise.clv import calibration_and_holdout_data, summary_from_transactions


@pytest.fixture
def log() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b", "c", "c"],
            "datetime": [
                "2024-01-01 09:00",
                "2024-01-01 18:00",  # same day: one transaction
                "2024-01-15 10:00",
                "2024-02-12 11:00",
                "2024-01-08 12:00",
                "2024-01-29 08:00",
                "2024-03-04 08:00",  # after the calibration end
            ],
            "amount": [10.0, 5.0, 20.0, 40.0, 7.0, 12.0, 30.0],
        }
    )


def test_summary_conventions(log: pd.DataFrame) -> None:
    before = log.copy()
    s = summary_from_transactions(
        log, monetary_value_col="amount", observation_period_end="2024-02-26"
    )
    pd.testing.assert_frame_equal(log, before)
    assert list(s.columns) == ["frequency", "recency", "T", "monetary_value"]
    a = s.loc["a"]
    assert a["frequency"] == 2
    assert a["recency"] == pytest.approx(42 / 7)
    assert a["T"] == pytest.approx(56 / 7)
    assert a["monetary_value"] == pytest.approx(30.0)  # mean of the repeat purchases 20 and 40
    b = s.loc["b"]
    assert (b["frequency"], b["recency"], b["monetary_value"]) == (0, 0.0, 0.0)
    c = s.loc["c"]  # the March purchase is after the end
    assert c["frequency"] == 0
    assert c["T"] == pytest.approx(28 / 7)


def test_summary_in_days_and_default_end(log: pd.DataFrame) -> None:
    s = summary_from_transactions(log, freq="D")
    assert "monetary_value" not in s.columns
    assert s.loc["a", "T"] == pytest.approx(63.0)  # 2024-01-01 .. 2024-03-04
    assert s.loc["c", "recency"] == pytest.approx(35.0)


def test_calibration_holdout_split(log: pd.DataFrame) -> None:
    out = calibration_and_holdout_data(
        log,
        calibration_period_end="2024-01-20",
        observation_period_end="2024-03-04",
        monetary_value_col="amount",
    )
    assert list(out.index) == ["a", "b"]  # c starts after the calibration end
    assert out.loc["a", "frequency_cal"] == 1
    assert out.loc["a", "frequency_holdout"] == 1
    assert out.loc["a", "monetary_value_holdout"] == pytest.approx(40.0)
    assert out.loc["b", "frequency_holdout"] == 0
    assert out["duration_holdout"].iloc[0] == pytest.approx(44 / 7)
    with pytest.raises(ValueError, match="must be after calibration_period_end"):
        calibration_and_holdout_data(
            log, calibration_period_end="2024-03-04", observation_period_end="2024-01-01"
        )
