"""Benchmark: tierwise.clv model fits against lifetimes 0.11.3 (and PyMC-Marketing MAP).

Times, in one run,

1. the CDNOW sample (2,357 customers, 39-week calibration): BG/NBD, MBG/NBD,
   Pareto/NBD and Gamma-Gamma fits by tierwise (including standard errors)
   and by lifetimes, with the ratio;
2. optionally PyMC-Marketing's MAP fits of BG/NBD and Pareto/NBD (in this
   interpreter if it imports, or in another one given by ``--pymc-python``);
3. a million customers simulated from the BG/NBD with known parameters:
   fit time including standard errors and the recovered parameters;
4. a million customers who never drop out: the fit must converge or say why
   it cannot.

    python bench/bench_clv.py [--repeats 15] [--customers 1000000]
                              [--pymc-python /path/to/python] [--lifetimes-large]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tierwise.clv import (
    BGNBDModel,
    ConvergenceError,
    GammaGammaModel,
    MBGNBDModel,
    ParetoNBDModel,
    simulate_bgnbd,
    simulate_nbd,
    summary_from_transactions,
)

ROOT = Path(__file__).resolve().parent.parent
CDNOW = ROOT / "tests" / "data" / "cdnow_sample.txt"
TRUTH = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}

PYMC_SNIPPET = """
import json, sys, time, warnings
import numpy as np, pandas as pd
warnings.simplefilter("ignore")
from pymc_marketing.clv import BetaGeoModel, ParetoNBDModel
df = pd.read_csv(sys.argv[1])
data = pd.DataFrame({"customer_id": np.arange(len(df)), "frequency": df["frequency"],
                     "recency": df["recency"], "T": df["T"]})
out = {}
for name, cls in (("bgnbd", BetaGeoModel), ("paretonbd", ParetoNBDModel)):
    times = []
    for _ in range(2):  # the first fit compiles the model
        start = time.perf_counter()
        model = cls(data=data)
        model.fit(method="map", progressbar=False)
        times.append(time.perf_counter() - start)
    out[name] = {"cold": times[0], "warm": times[1],
                 "params": {k: float(v) for k, v in model.fit_summary().items()}}
print(json.dumps(out))
"""


def timed_cpu(fn: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    """Median wall and CPU (all threads of this process) seconds, and the last result.

    CPU time is less sensitive than wall time to other jobs on a shared machine.
    """
    wall, cpu, result = [], [], None
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu), result


def cdnow_summary() -> pd.DataFrame:
    raw = pd.read_csv(
        CDNOW,
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "amount"],
        dtype={"date": str},
    )
    raw["datetime"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return summary_from_transactions(
        raw, monetary_value_col="amount", observation_period_end="1997-09-30"
    )


def lifetimes_fitters() -> dict[str, Callable[[pd.DataFrame], Any]] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import lifetimes
    except Exception as exc:  # any import failure means "not available"
        print(f"note: lifetimes not importable ({type(exc).__name__}: {exc}); skipped")
        return None

    def rfm(cls: Any) -> Callable[[pd.DataFrame], Any]:
        return lambda s: cls().fit(s["frequency"], s["recency"], s["T"])

    return {
        "BG/NBD": rfm(lifetimes.BetaGeoFitter),
        "MBG/NBD": rfm(lifetimes.ModifiedBetaGeoFitter),
        "Pareto/NBD": rfm(lifetimes.ParetoNBDFitter),
        "Gamma-Gamma": lambda s: lifetimes.GammaGammaFitter().fit(
            s["frequency"], s["monetary_value"]
        ),
    }


def bench_cdnow(summary: pd.DataFrame, repeats: int) -> list[dict[str, Any]]:
    repeat = summary[summary["frequency"] > 0]
    ours: dict[str, Callable[[], Any]] = {
        "BG/NBD": lambda: BGNBDModel().fit(summary),
        "MBG/NBD": lambda: MBGNBDModel().fit(summary),
        "Pareto/NBD": lambda: ParetoNBDModel().fit(summary),
        "Gamma-Gamma": lambda: GammaGammaModel().fit(repeat),
    }
    rows = []
    for name, fit in ours.items():
        fit()  # warm-up (imports, thread-pool discovery)
        t_ours, c_ours, model = timed_cpu(fit, repeats)
        rows.append(
            {
                "model": name,
                "tierwise_ms": 1e3 * t_ours,
                "tierwise_cpu_ms": 1e3 * c_ours,
                "log_lik": model.log_likelihood_,
                "params": ", ".join(f"{k}={v:.4g}" for k, v in model.params_.items()),
            }
        )
    # lifetimes runs after all tierwise fits: its multi-threaded BLAS calls leave busy
    # worker threads behind that would slow down whatever is timed next
    theirs = lifetimes_fitters()
    if theirs is not None:
        for row in rows:
            name = row["model"]
            data = repeat if name == "Gamma-Gamma" else summary
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t_theirs, c_theirs, _ = timed_cpu(
                    lambda data=data, name=name: theirs[name](data), max(3, repeats // 2)
                )
            row["lifetimes_ms"] = 1e3 * t_theirs
            row["lifetimes_cpu_ms"] = 1e3 * c_theirs
            row["speed-up"] = t_theirs / (row["tierwise_ms"] / 1e3)
            row["speed-up_cpu"] = c_theirs / (row["tierwise_cpu_ms"] / 1e3)
    return rows


def bench_pymc(summary: pd.DataFrame, python: str | None) -> dict[str, Any] | None:
    try:
        import pymc_marketing  # noqa: F401

        python = sys.executable
    except ImportError:
        if python is None:
            print("note: PyMC-Marketing not importable here and no --pymc-python given; skipped")
            return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cdnow.csv"
        summary[["frequency", "recency", "T"]].to_csv(path, index=False)
        proc = subprocess.run(
            [python, "-c", PYMC_SNIPPET, str(path)], capture_output=True, text=True, check=False
        )
    if proc.returncode != 0:
        print(f"note: PyMC-Marketing run failed; skipped ({proc.stderr.strip()[-300:]})")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_large(n: int, lifetimes_large: bool) -> None:
    ages = 39.0 - np.random.default_rng(1).integers(0, 84, n) / 7.0
    start = time.perf_counter()
    data = simulate_bgnbd(n, T=ages, seed=42, time_resolution=1 / 7, **TRUTH)
    t_sim = time.perf_counter() - start
    BGNBDModel().fit(data.iloc[:1000])  # warm-up
    t_fit, c_fit, model = timed_cpu(lambda: BGNBDModel().fit(data), 3)
    print(f"\nBG/NBD on {n:,} simulated customers (12 weekly cohorts, day resolution)")
    print(
        f"  simulate {t_sim:.2f} s; fit incl. standard errors {t_fit:.3f} s wall, "
        f"{c_fit:.3f} s CPU (median of 3); "
        f"{model.n_groups_:,} distinct (x, t_x, T) rows; {model.n_iter_} L-BFGS-B iterations"
    )
    table = model.summary()
    table.insert(0, "true", pd.Series(TRUTH))
    table["covered"] = (table["lower_95"] <= table["true"]) & (table["true"] <= table["upper_95"])
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))

    data = simulate_nbd(
        n, r=TRUTH["r"], alpha=TRUTH["alpha"], T=ages, seed=43, time_resolution=1 / 7
    )
    print(f"\nBG/NBD on {n:,} customers who never drop out")
    start = time.perf_counter()
    try:
        model = BGNBDModel().fit(data)
        print(f"  converged in {time.perf_counter() - start:.3f} s: {model.params_}")
    except ConvergenceError as exc:
        print(f"  ConvergenceError after {time.perf_counter() - start:.3f} s: {exc}")
    start = time.perf_counter()
    model = BGNBDModel(penalizer=0.001).fit(data)
    print(
        f"  with penalizer=0.001: converged in {time.perf_counter() - start:.3f} s, "
        + ", ".join(f"{k}={v:.4g}" for k, v in model.params_.items())
    )
    if lifetimes_large:
        import lifetimes

        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                lifetimes.BetaGeoFitter().fit(data["frequency"], data["recency"], data["T"])
            print(f"  lifetimes: converged in {time.perf_counter() - start:.1f} s")
        except Exception as exc:  # report whatever lifetimes raises
            print(f"  lifetimes: {type(exc).__name__} after {time.perf_counter() - start:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument(
        "--pymc-python", default=None, help="interpreter with pymc-marketing installed (optional)"
    )
    parser.add_argument(
        "--lifetimes-large",
        action="store_true",
        help="also fit lifetimes on the no-dropout data (minutes)",
    )
    args = parser.parse_args()

    summary = cdnow_summary()
    rows = bench_cdnow(summary, args.repeats)
    print(
        f"CDNOW sample: {len(summary):,} customers, calibration 39 weeks "
        f"(median of {args.repeats} fits; tierwise includes standard errors; *_ms wall clock, "
        "*_cpu_ms CPU time)"
    )
    frame = pd.DataFrame(rows).set_index("model")
    columns = [
        c
        for c in (
            "tierwise_ms",
            "lifetimes_ms",
            "speed-up",
            "tierwise_cpu_ms",
            "lifetimes_cpu_ms",
            "speed-up_cpu",
            "log_lik",
        )
        if c in frame
    ]
    print(frame[columns].to_string(float_format=lambda v: f"{v:,.1f}"))
    for name, row in frame.iterrows():
        print(f"  {name}: {row['params']}")

    pymc = bench_pymc(summary, args.pymc_python)
    if pymc is not None:
        print("\nPyMC-Marketing MAP fits on CDNOW (first fit compiles the model)")
        for name, key in (("BG/NBD", "bgnbd"), ("Pareto/NBD", "paretonbd")):
            res = pymc[key]
            ours = frame.loc[name, "tierwise_ms"] / 1e3
            print(
                f"  {name}: cold {res['cold']:.1f} s, warm {res['warm']:.2f} s, "
                f"{res['warm'] / ours:,.0f}x tierwise; "
                + ", ".join(f"{k}={v:.4g}" for k, v in res["params"].items())
            )

    bench_large(args.customers, args.lifetimes_large)


if __name__ == "__main__":
    main()
