"""Benchmark: tierwise's feature + lifecycle + RFM step against the same job in plain DuckDB SQL.

Generates a demo shop (default 1M customers, ~20M orders) as Parquet, loads it into a DuckDB
store, then in one run times

1. tierwise: the Ibis feature expressions, RFM edges and rule schemes (`compute_profiles`);
2. the reference: hand-written DuckDB SQL computing the same columns and labels;

checks that both give the same profiles and prints both times, the ratio and peak memory.

    python bench/bench_spine.py [--customers 1000000] [--orders-per-customer 20]
                                [--events-per-customer 50]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tierwise.config import Config, FeatureConfig
from tierwise.engine import duckdb_tables
from tierwise.features import ATTRIBUTE_COLUMNS
from tierwise.pipeline import compute_profiles
from tierwise.store import Store


class PeakMemory:
    """Peak resident memory of this process while a block runs (sampled every 20 ms).

    The whole process is counted (DuckDB works inside it); memory freed by an earlier step may
    be reused without showing, so the figure is an upper bound of what the step needed.
    """

    def __enter__(self) -> PeakMemory:
        self.base = self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def mib(self) -> float:
        """Peak resident memory of the process during the block, in MiB."""
        return self.peak / 2**20


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


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


def intention_sql(as_of: dt.date, f: FeatureConfig) -> str:
    """The decayed intention score per customer, by hand."""
    cutoff = as_of + dt.timedelta(days=1)
    return (
        f"SELECT customer_id, {_score_sql(as_of, f)} AS intention_score FROM events "
        f"WHERE occurred_at < TIMESTAMP '{cutoff}' GROUP BY customer_id ORDER BY customer_id"
    )


def intention_tierwise(store: Store, as_of: dt.date, f: FeatureConfig) -> pa.Table:
    """The same score from tierwise's engine-neutral expression."""
    import ibis

    from tierwise.features import intention_score

    e = duckdb_tables(store)["events"]
    cutoff = ibis.timestamp(dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time()))
    e = e.filter(e.occurred_at < cutoff)
    expr = e.group_by("customer_id").aggregate(
        intention_score=intention_score(e, cutoff, f.intention).sum().round(4)
    )
    return expr.order_by("customer_id").to_pyarrow()


def run_tierwise(store: Store, as_of: dt.date, config: Config) -> pa.Table:
    """The tierwise job as `tierwise run` computes it (before writing the snapshot)."""
    t = duckdb_tables(store)
    return compute_profiles(t["customers"], t["orders"], t["events"], as_of, config).profiles


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


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Result, seconds and peak MiB of one call."""
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - t0
    return result, seconds, mem.mib


def load_shop(store: Store, directory: Path) -> None:
    """Load generated Parquet files straight into the store's canonical tables."""
    from tierwise.schema import ENTITIES

    for name, ent in ENTITIES.items():
        cols = ", ".join(f'"{c}"' for c in ent.column_names)
        source = f"read_parquet('{directory}/{name}.parquet')"
        store.con.execute(f'INSERT INTO "{name}" ({cols}) SELECT {cols} FROM {source}')


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and print its table."""
    from tierwise.demo import generate_shop

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--orders-per-customer", type=float, default=20.0)
    ap.add_argument("--events-per-customer", type=float, default=50.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="tierwise-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    shop = generate_shop(
        args.customers,
        seed=args.seed,
        orders_per_customer=args.orders_per_customer,
        events_per_customer=args.events_per_customer,
    )
    shop.write(work / "data", format="parquet")
    as_of = shop.as_of
    counts = {k: getattr(shop, k).num_rows for k in ("customers", "orders", "events")}
    del shop
    store = Store(work / "bench.duckdb")
    load_shop(store, work / "data")
    setup = time.perf_counter() - t0
    full = Config.default()
    # the job the reference does: features, RFM, rule schemes (no CLV fit, no text tagging)
    config = full.with_overrides({"clv": {"enabled": False}, "tags": {"enabled": False}})

    ours, t_ours, m_ours = timed(lambda: run_tierwise(store, as_of, config))
    ref, t_ref, m_ref = timed(lambda: run_reference(store, as_of, config))
    diffs = compare(ours, ref)
    f = config.features
    score, t_score, m_score = timed(lambda: intention_tierwise(store, as_of, f))
    score_ref, t_score_ref, m_score_ref = timed(
        lambda: store.con.sql(intention_sql(as_of, f)).to_arrow_table()
    )
    score_diffs = compare(score, score_ref)
    t = duckdb_tables(store)
    full_run, t_full, m_full = timed(
        lambda: compute_profiles(t["customers"], t["orders"], t["events"], as_of, full)
    )
    store.close()
    print(f"shop: {counts['customers']:,} customers, {counts['orders']:,} orders, "
          f"{counts['events']:,} events (generated and loaded in {setup:.1f} s)")  # fmt: skip
    print(f"{'job':<34}{'seconds':>10}{'peak MiB':>12}")
    print(f"{'tierwise (Ibis -> DuckDB)':<34}{t_ours:>10.2f}{m_ours:>12.0f}")
    print(f"{'hand-written DuckDB SQL':<34}{t_ref:>10.2f}{m_ref:>12.0f}")
    print(f"ratio tierwise / SQL: {t_ours / t_ref:.2f} (goal <= 1.3)")
    print("same profiles: " + ("yes" if not diffs else f"NO, columns differ: {diffs}"))
    print(f"{'intention score, tierwise':<34}{t_score:>10.2f}{m_score:>12.0f}")
    print(f"{'intention score, hand-written SQL':<34}{t_score_ref:>10.2f}{m_score_ref:>12.0f}")
    print(f"ratio tierwise / SQL: {t_score / t_score_ref:.2f}; same scores: "
          + ("yes" if not score_diffs else f"NO {score_diffs}"))  # fmt: skip
    print(f"{'full run (+ CLV fit, text tags)':<34}{t_full:>10.2f}{m_full:>12.0f}")
    clv = full_run.clv
    if clv is not None and clv.model is not None:
        print(f"  CLV: {type(clv.model).__name__} {clv.meta()['model']['params']}")
    if clv is not None and clv.note:
        print(f"  CLV note: {clv.note}")
    return {"full_seconds": t_full, "intention_seconds": t_score,
            "intention_reference_seconds": t_score_ref, "seconds": t_ours,
            "reference_seconds": t_ref, "ratio": t_ours / t_ref,
            "peak_mib": m_ours, "reference_peak_mib": m_ref, "diffs": diffs, **counts}  # fmt: skip


if __name__ == "__main__":
    main()
