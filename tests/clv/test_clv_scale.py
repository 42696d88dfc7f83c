"""Scale: a million simulated customers (slow; run with -m slow)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tierwise.clv import BGNBDModel, ConvergenceError, simulate_bgnbd, simulate_nbd

TRUTH = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def _ages(n: int) -> np.ndarray:
    return 39.0 - np.random.default_rng(1).integers(0, 84, n) / 7.0


@pytest.mark.slow
def test_million_customers_recover_parameters() -> None:
    data = simulate_bgnbd(1_000_000, T=_ages(1_000_000), seed=42, time_resolution=1 / 7, **TRUTH)
    start = time.perf_counter()
    model = BGNBDModel().fit(data)
    elapsed = time.perf_counter() - start
    for name, value in TRUTH.items():
        low, high = model.confidence_intervals_[name]
        half = (np.log(high) - np.log(low)) / 2 * 3.29 / 1.96
        assert abs(np.log(model.params_[name]) - np.log(value)) < half, name
    assert elapsed < 5.0  # the benchmark tracks the 1 s goal; this only guards regressions


@pytest.mark.slow
def test_million_customers_without_dropout() -> None:
    data = simulate_nbd(
        1_000_000, r=0.243, alpha=4.414, T=_ages(1_000_000), seed=43, time_resolution=1 / 7
    )
    with pytest.raises(ConvergenceError, match="no sign of customers becoming inactive"):
        BGNBDModel().fit(data)
