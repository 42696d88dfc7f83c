"""Benchmark: counting a 5-condition segment against the same count in hand-written DuckDB SQL.

    python bench/bench_segments.py --project demo-shop        # an existing project
    python bench/bench_segments.py --customers 1000000        # generate, load and run a shop

Times `Project.segment_count` (parse, check, compile to Ibis, count and a 10-row sample) warm,
median of the repeats, against one SQL query computing the same count, checks both agree and
prints the ratio. The issue's targets: < 1 s on the 20k demo shop, <= 2 s on 1M customers.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from tierwise.project import Project

EXPR = (
    "orders >= 2 and last_order_at > -180d and quadrant in ('butterfly', 'true_friend') "
    "and events('comment', since=-30d) >= 1 and not has_tag('price_sensitive')"
)


def reference_count(p: Project) -> int:
    """The same segment counted by one hand-written query."""
    as_of = p.store.latest_snapshot()
    table = p.store.profile_table_name(as_of)
    return p.store.one(
        f"""SELECT count(*) FROM "{table}" AS t
            WHERE orders >= 2 AND CAST(last_order_at AS DATE) > DATE '{as_of}' - 180
              AND quadrant IN ('butterfly', 'true_friend')
              AND customer_id IN (SELECT customer_id FROM events
                   WHERE event_type = 'comment' AND occurred_at >= DATE '{as_of}' - 30
                     AND occurred_at < DATE '{as_of}' + 1
                   GROUP BY customer_id HAVING count(*) >= 1)
              AND NOT coalesce(';' || tags || ';' LIKE '%/price_sensitive;%', false)"""
    )[0]


def build(customers: int, work: Path) -> Path:
    """Generate a shop, load it straight into a new project's store and run it."""
    from bench_spine import load_shop
    from tierwise.demo import generate_shop

    shop = generate_shop(customers, seed=7)
    shop.write(work / "data", format="parquet")
    p = Project.init(work / "shop")
    load_shop(p.store, work / "data")
    p.run(shop.as_of)
    p.close()
    return work / "shop"


def timed(fn, repeats: int) -> tuple[object, float]:
    result, times = None, []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", type=Path, help="An existing project (else generate one).")
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="tierwise-bench-seg-"))
    directory = args.project or build(args.customers, work)
    with Project(directory, read_only=True) as p:
        start = time.perf_counter()
        cold = p.segment_count(EXPR)
        cold_s = time.perf_counter() - start
        ours, ours_s = timed(lambda: p.segment_count(EXPR), args.repeats)
        ref, ref_s = timed(lambda: reference_count(p), args.repeats)
    assert ours.customers == ref == cold.customers, (ours.customers, ref)
    print(f"segment: {EXPR}")
    print(f"{ours.total:,} customers, {ours.customers:,} in the segment")
    print(f"{'tierwise segment_count (first call)':<40}{cold_s:8.3f} s")
    print(f"{'tierwise segment_count (warm, median)':<40}{ours_s:8.3f} s")
    print(f"{'hand-written DuckDB SQL (median)':<40}{ref_s:8.3f} s")
    print(f"{'ratio tierwise / SQL':<40}{ours_s / ref_s:8.2f}")


if __name__ == "__main__":
    main()
