"""Benchmark: a run's features and labels against the same job in hand-written DuckDB SQL.

For each shop size (default 1M then 200k customers, ~20 orders and ~50 events each) it
generates a demo shop as Parquet, holds back its last day, loads the rest into a DuckDB store
and times, each job in its own process (so each peak resident memory is that job's own):

- before: the run as it was, every feature from the raw rows;
- the first run: building the daily rollups;
- features + all labels with current rollups, beside the hand-written DuckDB query (same
  profiles, checked column by column), and the ratio;
- the full run with CLV and text tags;
- importing the held-back day with the importer, then the daily re-run as of that day.

It prints one table per size and writes them into bench/README.md.

    python bench/bench_spine.py [--quick] [--customers N ...] [--workdir DIR] [--no-readme]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tierwise.config import Config, FeatureConfig
from tierwise.features import ATTRIBUTE_COLUMNS
from tierwise.store import Store

HERE = Path(__file__).parent
TARGETS = {"features": 60.0, "full": 90.0, "daily": 10.0, "rss_gib": 4.0, "ratio": 1.0}


def _q(items: list[str]) -> str:
    return "(" + ", ".join("'" + i.replace("'", "''") + "'" for i in items) + ")"


def reference_sql(as_of: dt.date, f: FeatureConfig) -> str:
    """The feature job written by hand as one DuckDB query (no RFM, no labels)."""
    cutoff = as_of + dt.timedelta(days=1)
    d = f"DATE '{as_of}'"
    order_ch = ",\n".join(
        f"count(*) FILTER (status = 'paid' AND channel = '{c}') AS orders_ch_{c}"
        for c in f.order_channels
    )
    ev_cols = ",\n".join(
        [f"count(*) FILTER (d < {w}) AS events_{w}" for w in f.windows]
        + [f"count(*) FILTER (event_type IN {_q(f.interaction_types)} AND d < {w}) "
           f"AS interactions_{w}" for w in f.windows]
        + [f"count(*) FILTER (event_type = '{t}' AND d < {w}) AS ev_{t}_{w}"
           for t in f.event_types for w in f.windows]
    )  # fmt: skip
    zero = [f"events_{w}" for w in f.windows] + [f"interactions_{w}" for w in f.windows]
    zero += [f"ev_{t}_{w}" for t in f.event_types for w in f.windows]
    zero += [
        "orders", "order_days", "orders_365", "refunds", "monetary_total", "monetary_365",
        "margin_orders", "items_total", "coupon_orders", "deal_orders", "orders_ch_other",
        *[f"orders_ch_{c}" for c in f.order_channels], "events_total",
        "campaign_sends_365", "campaign_responses_365", "brought_customers",
        "brought_customers_365", "brought_revenue", "creator_posts_365", "intention_score",
    ]  # fmt: skip
    filled = ",\n".join(f"coalesce({c}, 0) AS {c}" for c in zero)
    window = f.response_window_days * 86400
    score = _score_sql(as_of, f)
    return f"""
WITH o AS (
  SELECT *, date_diff('day', paid_at::DATE, {d}) AS d,
         coalesce(gross_margin, amount - cost) AS margin
  FROM orders WHERE paid_at < TIMESTAMP '{cutoff}'),
of AS (
  SELECT customer_id,
    count(*) FILTER (status = 'paid') AS orders,
    count(DISTINCT paid_at::DATE) FILTER (status = 'paid') AS order_days,
    sum(amount::DECIMAL(38,4)) FILTER (status = 'paid')::DOUBLE AS monetary_total,
    sum(margin::DECIMAL(38,4)) FILTER (status = 'paid')::DOUBLE AS margin_total,
    count(margin) FILTER (status = 'paid') AS margin_orders,
    min(paid_at) FILTER (status = 'paid') AS first_order_at,
    max(paid_at) FILTER (status = 'paid') AS last_order_at,
    count(*) FILTER (status = 'paid' AND d < 365) AS orders_365,
    sum(amount::DECIMAL(38,4)) FILTER (status = 'paid' AND d < 365)::DOUBLE AS monetary_365,
    sum(item_count) FILTER (status = 'paid') AS items_total,
    count(*) FILTER (status = 'refunded') AS refunds,
    count(*) FILTER (status = 'paid' AND coalesce(coupon_used, false)) AS coupon_orders,
    count(*) FILTER (status = 'paid' AND channel IN {_q(f.deal_channels)}) AS deal_orders,
    {order_ch},
    count(*) FILTER (status = 'paid' AND NOT coalesce(channel IN {_q(f.order_channels)}, false))
      AS orders_ch_other
  FROM o GROUP BY customer_id),
e AS (
  SELECT *, date_diff('day', occurred_at::DATE, {d}) AS d
  FROM events WHERE occurred_at < TIMESTAMP '{cutoff}'),
ef AS (
  SELECT customer_id, min(occurred_at) AS first_event_at, max(occurred_at) AS last_event_at,
    count(*) AS events_total,
    count(*) FILTER (event_type IN {_q(f.creator_types)} AND d < 365) AS creator_posts_365,
    max(occurred_at) FILTER (event_type IN {_q(f.creator_types)}) AS last_creator_post_at,
    {score} AS intention_score,
    {ev_cols}
  FROM e GROUP BY customer_id),
mc AS (
  SELECT customer_id, arg_max(channel, (n, last, -rank)) AS main_channel FROM (
    SELECT customer_id, channel, count(*) AS n, max(paid_at) AS last,
           dense_rank() OVER (ORDER BY channel) AS rank
    FROM o WHERE status = 'paid' AND channel IS NOT NULL GROUP BY customer_id, channel)
  GROUP BY customer_id),
sends AS (
  SELECT event_id, customer_id, epoch(occurred_at) AS s FROM e
  WHERE event_type IN {_q(f.campaign_send_types)} AND d < 365),
responses AS (
  SELECT customer_id, epoch(occurred_at) AS s FROM e
  WHERE event_type IN {_q(f.campaign_response_types)}
  UNION ALL SELECT customer_id, epoch(paid_at) FROM o WHERE status = 'paid'),
cf AS (
  SELECT customer_id, count(*) AS campaign_sends_365,
    count(*) FILTER (EXISTS (SELECT 1 FROM responses r WHERE r.customer_id = sends.customer_id
                             AND r.s >= sends.s AND r.s < sends.s + {window}))
      AS campaign_responses_365
  FROM sends GROUP BY customer_id),
firsts AS (SELECT customer_id AS target, first_order_at AS first_at, monetary_total AS revenue
           FROM of WHERE orders > 0),
pairs AS (
  SELECT referrer, target, min(first_at) AS first_at, max(revenue) AS revenue FROM (
    SELECT e.customer_id AS referrer, firsts.target, firsts.first_at, firsts.revenue
    FROM e JOIN firsts ON e.target_customer_id = firsts.target
    WHERE e.event_type IN {_q(f.referral_types)} AND e.target_customer_id <> e.customer_id
      AND firsts.first_at >= e.occurred_at
    UNION ALL
    SELECT c.referrer_id, firsts.target, firsts.first_at, firsts.revenue
    FROM customers c JOIN firsts ON c.customer_id = firsts.target
    WHERE c.referrer_id IS NOT NULL AND c.referrer_id <> c.customer_id)
  GROUP BY referrer, target),
rf AS (
  SELECT referrer AS customer_id, count(*) AS brought_customers,
    count(*) FILTER (date_diff('day', first_at::DATE, {d}) < 365) AS brought_customers_365,
    sum(revenue::DECIMAL(38,4))::DOUBLE AS brought_revenue
  FROM pairs GROUP BY referrer),
joined AS (
  SELECT c.customer_id, c.first_seen, {", ".join(f"c.{a}" for a in ATTRIBUTE_COLUMNS)},
    of.* EXCLUDE (customer_id), ef.* EXCLUDE (customer_id), cf.* EXCLUDE (customer_id),
    rf.* EXCLUDE (customer_id), mc.main_channel
  FROM customers c
  LEFT JOIN of USING (customer_id) LEFT JOIN ef USING (customer_id)
  LEFT JOIN cf USING (customer_id) LEFT JOIN rf USING (customer_id)
  LEFT JOIN mc USING (customer_id)
  WHERE c.first_seen IS NULL OR c.first_seen < TIMESTAMP '{cutoff}'),
feats AS (
  SELECT * REPLACE ({filled}),
    date_diff('day', last_order_at::DATE, {d}) AS recency_days,
    date_diff('day', last_event_at::DATE, {d}) AS event_recency_days,
    date_diff('day', last_creator_post_at::DATE, {d}) AS creator_recency_days,
    date_diff('day', least(first_seen, first_order_at, first_event_at)::DATE, {d})
      AS tenure_days
  FROM joined)
SELECT *,
  CASE WHEN orders > 0 THEN monetary_total / orders END AS monetary_avg,
  CASE WHEN margin_orders > 0 THEN margin_total / margin_orders END AS margin_avg,
  CASE WHEN orders > 0 THEN deal_orders / orders END AS deal_share,
  CASE WHEN orders > 0 THEN coupon_orders / orders END AS coupon_share,
  orders / greatest(tenure_days / 365.0, 1.0) AS annual_purchase_frequency,
  CASE WHEN campaign_sends_365 > 0 THEN campaign_responses_365 / campaign_sends_365 END
    AS campaign_response_rate
FROM feats
"""


def reference_labels_sql(features: str, edges: dict[str, list[float]], params: dict) -> str:
    """RFM scores on given edges and the default lifecycle and RFM-group rules, by hand."""

    def above(col: str) -> str:
        return " + ".join(f"({col} > {e!r})::INT" for e in edges[col])

    p = params
    return f"""
WITH s AS (
  SELECT *,
    CASE WHEN orders > 0 THEN 5 - ({above("recency_days")}) END AS r,
    CASE WHEN orders > 0 THEN 1 + ({above("orders")}) END AS f,
    CASE WHEN orders > 0 THEN 1 + ({above("monetary_total")}) END AS m
  FROM {features}),
s2 AS (SELECT *, floor((f + m + 1) / 2)::BIGINT AS fm FROM s),
flags AS (
  SELECT *,
    coalesce(coalesce(recency_days, 999999) > {p["long_silent_days"]}
             AND coalesce(event_recency_days, 999999) > {p["long_silent_days"]}, false) AS st_ls,
    coalesce(orders >= 1 AND recency_days > {p["churn_days"]}, false) AS st_ch,
    coalesce((orders >= 2 AND recency_days <= {p["churn_days"]}
              AND monetary_365 >= {p["high_value_amount"]})
             OR (brought_customers >= 1 AND coalesce(recency_days, 0) <= {p["churn_days"]})
             OR ev_share_90 >= {p["high_value_shares_90"]}, false) AS st_hv,
    coalesce(orders >= 2 AND recency_days <= {p["churn_days"]}, false) AS st_rp,
    coalesce(orders = 1 AND recency_days <= {p["churn_days"]}, false) AS st_nw,
    orders = 0 AS st_pt
  FROM s2)
SELECT * EXCLUDE (st_ls, st_ch, st_hv, st_rp, st_nw, st_pt),
  CASE WHEN st_ls THEN 'long_silent' WHEN st_ch THEN 'churned' WHEN st_hv THEN 'high_value'
       WHEN st_rp THEN 'repeat' WHEN st_nw THEN 'new' ELSE 'potential' END AS lifecycle,
  nullif(concat_ws(';', CASE WHEN st_ls THEN 'long_silent' END,
    CASE WHEN st_ch THEN 'churned' END, CASE WHEN st_hv THEN 'high_value' END,
    CASE WHEN st_rp THEN 'repeat' END, CASE WHEN st_nw THEN 'new' END,
    CASE WHEN st_pt THEN 'potential' END), '') AS lifecycle_all,
  CASE WHEN orders = 0 THEN 'prospects' WHEN r >= 4 AND fm >= 4 THEN 'champions'
       WHEN r >= 3 AND fm >= 4 THEN 'loyal' WHEN r >= 4 AND orders = 1 THEN 'new'
       WHEN r >= 4 THEN 'active' WHEN r = 3 AND fm <= 2 THEN 'promising'
       WHEN r = 3 THEN 'needs_attention' WHEN r <= 2 AND fm >= 4 THEN 'previously_loyal'
       WHEN r <= 2 AND fm = 3 THEN 'at_risk' WHEN r = 2 THEN 'almost_lost'
       WHEN r = 1 THEN 'dormant' ELSE 'other' END AS rfm_group
FROM flags
"""


def run_reference(store: Store, as_of: dt.date, config: Config) -> pa.Table:
    """The reference job: features, RFM edges (quantiles in SQL) and labels in plain SQL."""
    con = store.con
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE ref_feats AS {reference_sql(as_of, config.features)}"
    )
    qs = config.rfm.quantiles
    edges = {}
    for col in ("recency_days", "orders", "monetary_total"):
        row = con.execute(
            f"SELECT quantile_cont({col}, {list(qs)}) FROM ref_feats WHERE orders > 0"
        ).fetchall()[0]
        edges[col] = [float(round(v, 6)) for v in row[0]]
    params = dict(config.schemes["lifecycle"].params)
    sql = reference_labels_sql("ref_feats", edges, params)
    out = con.sql(f"{sql} ORDER BY customer_id").to_arrow_table()
    con.execute("DROP TABLE ref_feats")
    return out


def _score_sql(as_of: dt.date, f: FeatureConfig) -> str:
    """The decayed intention score as a DuckDB aggregate over events."""
    cutoff = as_of + dt.timedelta(days=1)
    weight = " ".join(
        f"WHEN event_type = '{t}'" + (f" AND channel = '{c}'" if c else "") + f" THEN {float(w)!r}"
        for c, t, w in f.intention.weight_table()
    )
    age = f"(epoch(TIMESTAMP '{cutoff}') - epoch(occurred_at)) / 86400.0"
    return (
        f"round(sum(CASE WHEN {age} < {f.intention.lookback_days} THEN (CASE {weight} ELSE 0.0 "
        f"END) * pow(0.5, {age} / {float(f.intention.half_life_days)!r}) ELSE 0.0 END), 4)"
    )


def compare(ours: pa.Table, ref: pa.Table) -> list[str]:
    """Columns whose values differ between the two results (floats to 1e-9)."""
    diffs = []
    for col in ref.column_names:
        if col not in ours.column_names:
            continue
        a = ours.column(col).to_numpy(zero_copy_only=False)
        b = ref.column(col).to_numpy(zero_copy_only=False)
        if a.dtype.kind == "f" or b.dtype.kind == "f":
            same = np.allclose(a.astype(float), b.astype(float), rtol=1e-9, equal_nan=True)
        else:
            same = [x if x == x else None for x in a] == [x if x == x else None for x in b]
        if not same:
            diffs.append(col)
    return diffs


def _now() -> tuple[float, float]:
    """Wall-clock and CPU seconds (all threads of the process: DuckDB's too)."""
    return time.perf_counter(), time.process_time()


def _since(t0: tuple[float, float]) -> dict[str, float]:
    """Wall-clock ``seconds`` and ``cpu`` seconds since `_now`; CPU time does not grow while
    the process waits for a core, so it compares jobs on a busy machine."""
    wall, cpu = _now()
    return {"seconds": wall - t0[0], "cpu": cpu - t0[1]}


def labels_config() -> Config:
    """The job the reference does: features, RFM and every rule scheme (no CLV, no tags)."""
    return Config.default().with_overrides({
        "clv": {"enabled": False}, "tags": {"enabled": False},
        "features": {"profile_columns": "needed", "rollups": True},
    })  # fmt: skip


# -- jobs, each run in its own process ----------------------------------------------------
def job_generate(work: Path, args: argparse.Namespace) -> dict:
    """Generate the shop as Parquet: everything before its last day, and that day apart."""
    from tierwise.demo import generate_shop

    data = work / "data"
    if (data / "meta.json").exists():
        return json.loads((data / "meta.json").read_text())
    data.mkdir(parents=True, exist_ok=True)
    t0 = _now()
    shop = generate_shop(args.n, seed=args.seed, orders_per_customer=args.orders_per_customer,
                         events_per_customer=args.events_per_customer)  # fmt: skip
    day = dt.datetime.combine(shop.as_of, dt.time())
    pq.write_table(shop.customers, data / "customers.parquet")
    for name, col in (("orders", "paid_at"), ("events", "occurred_at")):
        table = getattr(shop, name)
        ts = table.column(col)
        last = pc.greater_equal(ts, pa.scalar(day, ts.type)).fill_null(False)
        pq.write_table(table.filter(pc.invert(last)), data / f"{name}.parquet")
        pq.write_table(table.filter(last), data / f"{name}_last_day.parquet")
    counts = {k: getattr(shop, k).num_rows for k in ("customers", "orders", "events")}
    meta = {"as_of": shop.as_of.isoformat(), **_since(t0), **counts}
    (data / "meta.json").write_text(json.dumps(meta))
    return meta


def job_load(work: Path, args: argparse.Namespace) -> dict:
    """A fresh store holding every row before the last day (loaded with SQL, not imported)."""
    path = work / "bench.duckdb"
    for p in (path, Path(f"{path}.wal")):
        p.unlink(missing_ok=True)
    t0 = _now()
    with Store(path) as store:
        load_shop(store, work / "data")
    return _since(t0)


def load_shop(store: Store, directory: Path) -> None:
    """Load a shop's Parquet files straight into the store's canonical tables."""
    from tierwise.schema import ENTITIES

    for name, ent in ENTITIES.items():
        cols = ", ".join(f'"{c}"' for c in ent.column_names)
        src = f"read_parquet('{directory / name}.parquet')"
        store.con.execute(f'INSERT INTO "{name}" ({cols}) SELECT {cols} FROM {src}')


def _as_of(work: Path, last_day: bool = False) -> dt.date:
    day = dt.date.fromisoformat(json.loads((work / "data" / "meta.json").read_text())["as_of"])
    return day if last_day else day - dt.timedelta(days=1)


def _profiles(store: Store, as_of: dt.date, config: Config, *, previous: bool = False,
              write: bool = False) -> tuple[dict, Any]:  # fmt: skip
    """Compute the profiles (timed) as `tierwise run` does: into the store, or into memory
    when the store is read-only; with ``previous``, given the snapshot before (features are
    carried over from it); with ``write``, store the snapshot with its labels (timed apart)."""
    from tierwise.backends import duckdb_tables
    from tierwise.evidence import labels_query
    from tierwise.pipeline import compute_profiles, previous_snapshot

    t = duckdb_tables(store)
    t0 = _now()
    before = previous_snapshot(store, as_of) if previous else None
    run = compute_profiles(t["customers"], t["orders"], t["events"], as_of, config,
                           previous=before, store=None if store.read_only else store)  # fmt: skip
    timing = _since(t0)
    if write:
        t1 = _now()
        store.write_snapshot(
            as_of, run.profile_data, meta=run.meta(),
            labels_query=lambda name, evidence=True: labels_query(
                name, run.config, run.rfm, run.scheme_params, evidence=evidence),
        )  # fmt: skip
        timing["write"] = _since(t1)
    return timing, run


def _save_profiles(store: Store, run: Any, path: Path) -> None:
    """Write a run's profiles to Parquet (straight from the store when they are kept there)."""
    data = run.profile_data
    if isinstance(data, pa.Table):
        pq.write_table(data, path)
    else:
        store.con.execute(f"COPY (SELECT * FROM \"{data.table}\" ORDER BY customer_id) "
                          f"TO '{path}' (FORMAT parquet)")  # fmt: skip


def job_before(work: Path, args: argparse.Namespace) -> dict:
    """The run as it was: every feature column, from the raw rows (a read-only store)."""
    config = labels_config().with_overrides({"features": {"profile_columns": "all"}})
    with Store(work / "bench.duckdb", read_only=True) as store:
        timing, run = _profiles(store, _as_of(work), config)
        _save_profiles(store, run, work / "before.parquet")
    return timing


def job_rollups(work: Path, args: argparse.Namespace) -> dict:
    """Build the rollups (what the first run after loading does before its features)."""
    from tierwise.rollups import refresh_rollups

    with Store(work / "bench.duckdb") as store:
        t0 = _now()
        stats = refresh_rollups(store, labels_config().features)
        timing = _since(t0)
        rows = {t: store.one(f"SELECT count(*) FROM rollup_{t}")[0]
                for t in ("orders", "events", "sends")}  # fmt: skip
    return {**timing, "stats": stats, "rows": rows}


def job_tierwise(work: Path, args: argparse.Namespace) -> dict:
    """Features + every label scheme with current rollups."""
    with Store(work / "bench.duckdb") as store:
        timing, run = _profiles(store, _as_of(work), labels_config(), write=True)
        _save_profiles(store, run, work / "tierwise.parquet")
    return {**timing, "columns": len(run.columns)}


def job_reference(work: Path, args: argparse.Namespace) -> dict:
    """The hand-written DuckDB query (features, RFM quantiles, lifecycle and RFM groups)."""
    with Store(work / "bench.duckdb", read_only=True) as store:
        t0 = _now()
        ref = run_reference(store, _as_of(work), labels_config())
        timing = _since(t0)
    pq.write_table(ref, work / "reference.parquet")
    return timing


def job_full(work: Path, args: argparse.Namespace) -> dict:
    """The full run: features, CLV fit and predictions, text tags, influence, every scheme."""
    with Store(work / "bench.duckdb") as store:
        config = Config.default().with_overrides(
            {"features": {"profile_columns": "needed", "rollups": True}}
        )
        timing, run = _profiles(store, _as_of(work), config)
    clv = run.clv
    model = type(clv.model).__name__ if clv is not None and clv.model is not None else None
    return {**timing, "clv_model": model, "clv_note": clv.note if clv else ""}


def job_import(work: Path, args: argparse.Namespace) -> dict:
    """Import the held-back last day with the importer (orders, then events)."""
    from tierwise.io import import_frame

    with Store(work / "bench.duckdb") as store:
        t0 = _now()
        rows = 0
        for name in ("orders", "events"):
            table = pq.read_table(work / "data" / f"{name}_last_day.parquet")
            report = import_frame(store, name, table, source=f"{name}_last_day",
                                  options={"quarantine_dir": work / "quarantine"})  # fmt: skip
            rows += report.rows_imported
    return {**_since(t0), "rows": rows}


def job_daily(work: Path, args: argparse.Namespace) -> dict:
    """The daily re-run as of the imported day: rollups brought up to date, features carried
    over from the snapshot of the day before, labels; then its snapshot is written."""
    with Store(work / "bench.duckdb") as store:
        timing, run = _profiles(store, _as_of(work, last_day=True), labels_config(),
                                previous=True, write=True)  # fmt: skip
    return {**timing, "customers": run.num_customers, "features": run.features}


def job_compare(work: Path, args: argparse.Namespace) -> dict:
    """The run's profiles against the hand-written query's (and the run as it was)."""
    ours = pq.read_table(work / "tierwise.parquet")
    out = {"diffs": compare(ours, pq.read_table(work / "reference.parquet"))}
    if (work / "before.parquet").exists():
        out["before_diffs"] = compare(ours, pq.read_table(work / "before.parquet"))
    return out


JOBS = {
    "generate": job_generate, "load": job_load, "before": job_before, "rollups": job_rollups,
    "tierwise": job_tierwise, "reference": job_reference, "full": job_full,
    "import": job_import, "daily": job_daily, "compare": job_compare,
}  # fmt: skip


def run_job(name: str, work: Path, args: argparse.Namespace) -> dict:
    """Run one job in a child process; its result with the child's peak RSS in MiB."""
    cmd = [sys.executable, __file__, "--job", name, "--workdir", str(work),
           "--customers", str(args.n), "--seed", str(args.seed),
           "--orders-per-customer", str(args.orders_per_customer),
           "--events-per-customer", str(args.events_per_customer)]  # fmt: skip
    print(f"  {name} …", end="", flush=True)
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.stdout.close()
    if status != 0:
        raise SystemExit(f"job {name} failed (status {status}); output:\n{out}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mib"] = usage.ru_maxrss / 1024
    result["load"] = os.getloadavg()[0]
    print(
        f" {result.get('seconds', 0):.1f} s, {result.get('cpu', 0):.1f} CPU s, "
        f"{result['peak_mib']:.0f} MiB",
        flush=True,
    )
    return result


def bench_size(n: int, args: argparse.Namespace, workdir: Path) -> dict:
    """Every job on one shop size, in order; the results by job."""
    args.n = n
    work = workdir / f"spine-{n}-{args.seed}"
    work.mkdir(parents=True, exist_ok=True)
    print(f"shop of {n:,} customers in {work}", flush=True)
    skip = {"before"} if args.skip_before else set()
    names = [job for job in JOBS if job != "compare"]
    if args.resume_from:
        # reuse the generated shop and the store of an earlier run of this size
        skip |= set(names[1 : names.index(args.resume_from)])
    res = {}
    for name in names:
        saved = work / f"{name}.json"
        if name in skip and saved.exists():
            res[name] = json.loads(saved.read_text())
        elif name not in skip:
            res[name] = run_job(name, work, args)
            saved.write_text(json.dumps(res[name], default=str))
    # compared in a child too: a child started by this process counts this process's
    # resident memory into its own peak
    diffs = run_job("compare", work, args)
    res["diffs"] = diffs["diffs"]
    if "before" in res:
        res["before_diffs"] = diffs["before_diffs"]
    return res


def _gib(mib: float) -> str:
    return f"{mib / 1024:.1f} GiB"


def _row(label: str, r: dict, ref: dict | None, target: str = "", note: str = "") -> str:
    vs = ""
    if ref is not None:
        vs = f"{r['seconds'] / ref['seconds']:.2f}× ({r['cpu'] / ref['cpu']:.2f}× CPU)"
    vs = f"{vs} {note}".strip()
    return (f"| {label} | {r['seconds']:.1f} | {r['cpu']:.1f} | {_gib(r['peak_mib'])} | {vs} | "
            f"{target} |")  # fmt: skip


def _with_write(r: dict) -> dict:
    """A job's figures with its snapshot write added (peak as measured for the process)."""
    w = r["write"]
    return {**r, "seconds": r["seconds"] + w["seconds"], "cpu": r["cpu"] + w["cpu"]}


def table(res: dict) -> str:
    """The results of one size as a Markdown table."""
    g = res["generate"]
    t, ref = res["tierwise"], res["reference"]
    same = "same profiles" if not res["diffs"] else f"columns differ: {res['diffs']}"
    first = {
        "seconds": res["rollups"]["seconds"] + t["seconds"],
        "cpu": res["rollups"]["cpu"] + t["cpu"],
        "peak_mib": max(res["rollups"]["peak_mib"], t["peak_mib"]),
    }
    rows = [
        f"Shop: {g['customers']:,} customers, {g['orders']:,} orders, {g['events']:,} events; "
        f"runs as of the day before the last, then the last day is imported and run.",
        "",
        "| job | seconds | CPU s | peak RSS | vs hand-written SQL | target |",
        "|---|---:|---:|---:|---|---|",
    ]
    if "before" in res:
        rows.append(_row("features + all labels, before (raw rows, every feature)",
                         res["before"], ref))  # fmt: skip
    rows += [
        _row("features + all labels (rollups current)", t, ref, "≤ 1.0×, ≤ 60 s", same),
        _row("hand-written DuckDB SQL, same job", ref, None),
        _row("building the rollups (first run only)", res["rollups"], None),
        _row("first run: rollups + features + all labels", first, ref),
        _row("full run (+ CLV fit, text tags)", res["full"], None, "≤ 90 s"),
        _row(
            f"importing one more day ({res['import']['rows']:,} rows, importer)",
            res["import"],
            None,
        ),
        _row(
            "writing its snapshot (the profile table; label rows and evidence are views over it)",
            {**t["write"], "peak_mib": t["peak_mib"]},
            None,
        ),
        _row(
            "daily re-run after it (rollups updated, features carried over, all labels, "
            "snapshot written)",
            _with_write(res["daily"]),
            ref,
            "≤ 10 s",
            f"(computing {res['daily']['seconds']:.1f} s, writing "
            f"{res['daily']['write']['seconds']:.1f} s; carried from "
            f"{(res['daily'].get('features') or {}).get('carried_from')})",
        ),
    ]
    loads = [r["load"] for r in res.values() if isinstance(r, dict) and "load" in r]
    rows.append(f"\nPeak RSS target: ≤ 4 GiB in each job. Load average (1 min) after each "
                f"job: {min(loads):.1f} to {max(loads):.1f} on 2 cores. Rollup rows: "
                f"{res['rollups']['rows']}.")  # fmt: skip
    if res.get("before_diffs"):
        rows.append(f"\nColumns differing from before: {res['before_diffs']}")
    return "\n".join(rows)


def write_readme(path: Path, n: int, text: str) -> None:
    """Replace (or add) the table of one shop size in the benchmark README."""
    begin, end = f"<!-- bench_spine {n} begin -->", f"<!-- bench_spine {n} end -->"
    doc = path.read_text("utf-8") if path.exists() else ""
    block = f"{begin}\n{text}\n{end}"
    if begin in doc and end in doc:
        doc = doc[: doc.index(begin)] + block + doc[doc.index(end) + len(end) :]
    else:
        doc = doc.rstrip("\n") + f"\n\n### {n:,} customers\n\n{block}\n"
    path.write_text(doc, "utf-8")


def main(argv: list[str] | None = None) -> dict[int, dict]:
    """Run the benchmark for each size, print and record the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, action="append", help="shop size (repeatable)")
    ap.add_argument("--quick", action="store_true", help="only the 200k-customer shop")
    ap.add_argument("--orders-per-customer", type=float, default=20.0)
    ap.add_argument("--events-per-customer", type=float, default=50.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", type=Path, default=None, help="keeps generated shops")
    ap.add_argument("--no-readme", action="store_true", help="do not write bench/README.md")
    ap.add_argument("--skip-before", action="store_true", help="do not time the run as it was")
    ap.add_argument("--resume-from", choices=list(JOBS), help="skip the jobs before this one")
    ap.add_argument("--job", choices=sorted(JOBS), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.job:
        args.n = args.customers[0]
        print(json.dumps(JOBS[args.job](args.workdir, args), default=str))
        return {}
    sizes = args.customers or ([200_000] if args.quick else [1_000_000, 200_000])
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="tierwise-bench-"))
    results = {}
    for n in sizes:
        results[n] = bench_size(n, args, workdir)
        text = table(results[n])
        print(text, flush=True)
        if not args.no_readme:
            write_readme(HERE / "README.md", n, text)
        if args.workdir is None:
            shutil.rmtree(workdir / f"spine-{n}-{args.seed}", ignore_errors=True)
    return results


if __name__ == "__main__":
    main()
