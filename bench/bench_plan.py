"""Benchmark: a full playbook plan (caps, opt-outs, exclusions, budgets, control groups) on a
large shop, against the 30-second budget.

The profile snapshot of a large shop is made by tiling the snapshot of a tiered 20 000-customer
demo shop (`tierwise demo`) until it has ``--customers`` rows (new customer ids, same label
mix), so the labels are the ones the real run gives. Beside it the store gets the campaign
sends of the last 30 days (``--sends-per-customer`` on average, on sms / wecom /
wechat_official), an earlier stored plan, and an opt-out list of 2 % of the customers. The
timed step is `Project.plan`: build the plan in DuckDB, read it back and store it.

    python bench/bench_plan.py [--customers 1000000] [--sends-per-customer 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tierwise.demo.run import run_demo
from tierwise.evidence import LABEL_COLUMNS
from tierwise.project import Project

BUDGET_S = 30.0


def _no_labels(name: str, evidence: bool = True) -> str:
    """A labels query giving no rows (the plan reads the profiles only)."""
    types = {"is_primary": "BOOLEAN"}
    cols = ", ".join(f"NULL::{types.get(c, 'VARCHAR')} AS {c}" for c in LABEL_COLUMNS)
    return f"SELECT {cols} WHERE false"


def _tile(profiles: pa.Table, n: int) -> pa.Table:
    reps = -(-n // profiles.num_rows)
    idx = np.tile(np.arange(profiles.num_rows), reps)[:n]
    big = profiles.take(pa.array(idx))
    ids = pa.array([f"B{i:08d}" for i in range(n)])
    return big.set_column(big.column_names.index("customer_id"), "customer_id", ids)


def _sends(ids: pa.Array, per_customer: float, as_of: dt.date, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    n = len(ids)
    k = rng.poisson(per_customer, n)
    cust = np.repeat(np.arange(n), k)
    m = cust.size
    end = np.datetime64(as_of + dt.timedelta(days=1), "us")
    at = end - (rng.random(m) * 30 * 86400e6).astype("timedelta64[us]")
    channels = np.array(["sms", "wecom", "wechat_official"])
    return pa.table({
        "event_id": pa.array([f"S{i:09d}" for i in range(m)]),
        "customer_id": ids.take(pa.array(cust)),
        "occurred_at": pa.array(at, pa.timestamp("us")),
        "event_type": pa.array(np.full(m, "campaign_send")),
        "channel": pa.array(channels[rng.integers(0, 3, m)]),
    })  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--sends-per-customer", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        demo = run_demo(Path(tmp) / "seed", n_customers=20_000, seed=args.seed)
        with Project(demo.project, read_only=True) as seed_project:
            seed_profiles = seed_project.profiles(format="arrow")
            config = (demo.project / "tierwise.yaml").read_text("utf-8")
        as_of = demo.as_of
        d = Path(tmp) / "big"
        p = Project.init(d)
        (d / "tierwise.yaml").write_text(config, encoding="utf-8")
        p = Project(d)
        profiles = _tile(seed_profiles, args.customers)
        ids = profiles.column("customer_id").combine_chunks()
        store = p.store
        store.con.register("_c", pa.table({"customer_id": ids}))
        store.con.execute("INSERT INTO customers (customer_id) SELECT customer_id FROM _c")
        sends = _sends(ids, args.sends_per_customer, as_of, args.seed)
        store.con.register("_e", sends)
        store.con.execute(
            "INSERT INTO events (event_id, customer_id, occurred_at, event_type, channel) "
            "SELECT * FROM _e"
        )
        store.write_snapshot(as_of, profiles, labels_query=_no_labels, meta={})
        rng = np.random.default_rng(args.seed + 1)
        opted = pc.filter(ids, pa.array(rng.random(len(ids)) < 0.02))
        store.write_consent(pa.table({
            "customer_id": opted, "channel": pa.array(np.full(len(opted), "all")),
            "kind": pa.array(np.full(len(opted), "opt_out")),
            "reason": pa.array(np.full(len(opted), "bench"), pa.string()),
            "since": pa.array(np.full(len(opted), as_of), pa.date32()),
            "source": pa.array(np.full(len(opted), "bench")),
        }))  # fmt: skip
        earlier = as_of - dt.timedelta(days=5)
        store.write_snapshot(earlier, profiles, labels_query=_no_labels, meta={})
        p.plan(earlier)
        prep = time.perf_counter() - t0
        print(
            f"prepared {args.customers:,} customers, {sends.num_rows:,} sends, "
            f"{len(opted):,} opt-outs, one earlier plan in {prep:.0f} s",
            flush=True,
        )
        t, cpu = time.perf_counter(), time.process_time()
        result = p.plan(as_of)
        took, cpu = time.perf_counter() - t, time.process_time() - cpu
        p.close()
    counts = ", ".join(f"{k} {v:,}" for k, v in sorted(result.counts.items()))
    print(f"plan rows: {result.rows.num_rows:,} ({counts})")
    print(
        f"tierwise plan: {took:.1f} s wall ({cpu:.1f} s CPU) for {args.customers:,} customers; "
        f"budget {BUDGET_S:.0f} s; ratio {took / BUDGET_S:.2f}"
    )
    return 0 if took <= BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
