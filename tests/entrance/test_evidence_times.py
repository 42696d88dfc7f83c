"""Times in the entrance evidence read as `pd.Timestamp.isoformat` writes them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tierwise.entrance import _iso_json


def _reference(values: pd.Series) -> list[str]:
    return ["null" if pd.isna(a) else f'"{pd.Timestamp(a).isoformat()}"' for a in values]


def _iso_times(values: pd.Series) -> list[str]:
    out = _iso_json(values)
    assert isinstance(out, pa.Array)
    return out.to_pylist()


@pytest.mark.parametrize("unit", ["s", "us", "ns"])
def test_iso_times_equal_timestamp_isoformat(unit: str) -> None:
    rng = np.random.default_rng(3)
    ticks = rng.integers(1_000_000_000, 1_800_000_000, 400) * 1_000_000_000
    ticks[::3] += rng.integers(1, 1_000_000, ticks[::3].size) * 1000  # microseconds
    ticks[::7] += rng.integers(1, 1000, ticks[::7].size)  # nanoseconds
    values = pd.Series(ticks.astype("datetime64[ns]")).astype(f"datetime64[{unit}]")
    values[::5] = pd.NaT
    assert _iso_times(values) == _reference(values)
    early = ["1960-05-01 10:00:00.25", None, "1970-01-01"]
    early = pd.Series(pd.to_datetime(early, format="mixed"))
    assert _iso_times(early) == _reference(early)
    aware = pd.Series(pd.to_datetime(["2024-03-01 08:00:00"]).tz_localize("Asia/Shanghai"))
    assert _iso_times(aware) == ['"2024-03-01T08:00:00+08:00"']
