"""Shared fixtures: the CDNOW sample (Fader & Hardie) and models fitted on it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tierwise.clv import (
    BGNBDModel,
    GammaGammaModel,
    ParetoNBDModel,
    calibration_and_holdout_data,
    summary_from_transactions,
)

CDNOW = Path(__file__).resolve().parent.parent / "data" / "cdnow_sample.txt"
CALIBRATION_END = "1997-09-30"
OBSERVATION_END = "1998-06-30"


@pytest.fixture(scope="session")
def cdnow_transactions() -> pd.DataFrame:
    """One row per purchase: customer_id, datetime, amount (plus CDs)."""
    raw = pd.read_csv(
        CDNOW,
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "amount"],
        dtype={"date": str},
    )
    raw["datetime"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw[["customer_id", "datetime", "amount", "cds"]]


@pytest.fixture(scope="session")
def cdnow_summary(cdnow_transactions: pd.DataFrame) -> pd.DataFrame:
    """Calibration-period summary in weeks (frequency, recency, T, monetary_value)."""
    return summary_from_transactions(
        cdnow_transactions,
        "customer_id",
        "datetime",
        monetary_value_col="amount",
        observation_period_end=CALIBRATION_END,
        freq="W",
    )


@pytest.fixture(scope="session")
def cdnow_cal_holdout(cdnow_transactions: pd.DataFrame) -> pd.DataFrame:
    return calibration_and_holdout_data(
        cdnow_transactions,
        "customer_id",
        "datetime",
        calibration_period_end=CALIBRATION_END,
        observation_period_end=OBSERVATION_END,
        freq="W",
    )


@pytest.fixture(scope="session")
def bgnbd(cdnow_summary: pd.DataFrame) -> BGNBDModel:
    return BGNBDModel().fit(cdnow_summary)


@pytest.fixture(scope="session")
def paretonbd(cdnow_summary: pd.DataFrame) -> ParetoNBDModel:
    return ParetoNBDModel().fit(cdnow_summary)


@pytest.fixture(scope="session")
def gamma_gamma(cdnow_summary: pd.DataFrame) -> GammaGammaModel:
    return GammaGammaModel().fit(cdnow_summary[cdnow_summary["frequency"] > 0])
