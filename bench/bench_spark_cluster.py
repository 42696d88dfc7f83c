"""Benchmark: the same run on DuckDB, on Spark local mode and on a Spark standalone cluster.

Generates a demo shop (default 200k customers, ~4M orders, ~10M events), loads it into a
project's DuckDB store and exports its canonical tables as Parquet. Then each job runs in a
fresh process (a cold JVM for Spark, as a real ``tierwise run`` would have):

1. DuckDB: ``Project.run`` on the store (the reference);
2. Spark local mode, ``local[2]``: driver and executors in one JVM, reading the Parquet folder;
3. Spark standalone: a master and two workers of one core each on 127.0.0.1
   (`tierwise.spark_cluster.SparkCluster`), the driver in the job's process.

Each Spark job stores its snapshot in its own project; the profiles are compared column by
column with DuckDB's. Prints seconds of ``Project.run``, the peak resident memory of the job's
process tree (Python and its JVM) and, for the cluster, of the executors.

    python bench/bench_spark_cluster.py [--customers 200000] [--orders-per-customer 20]
                                        [--events-per-customer 50] [--full]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa

from bench_spine import compare, load_shop
from tierwise.backends import export_tables
from tierwise.project import Project
from tierwise.spark_cluster import SparkCluster, driver_env

#: the job of bench_spine.py (features, RFM, rule schemes); --full adds the CLV fit and text tags
SPINE_OVERRIDES = {"clv": {"enabled": False}, "tags": {"enabled": False}}
#: the same Spark settings in both modes; the cluster's executors get what the workers offer
SPARK_CONF = {
    "spark.driver.memory": "6g",
    "spark.driver.maxResultSize": "4g",
    "spark.ui.showConsoleProgress": "false",
}
EXECUTOR_MEMORY = "3g"


_TICK = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, int, float]]:
    """pid -> (parent pid, resident bytes, CPU seconds so far) of every process."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry.name}/statm") as f:
                rss = int(f.read().split()[1]) * 4096
        except (OSError, IndexError, ValueError):
            continue
        cpu = (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
        table[int(entry.name)] = (int(fields[1]), rss, cpu)
    return table


def _tree(table: dict[int, tuple[int, int, float]], roots: Iterable[int], *, own: bool) -> set:
    """The descendants of ``roots`` (and the roots when ``own``)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    todo = [p for r in roots for p in ([r] if own else children.get(r, []))]
    found = set()
    while todo:
        pid = todo.pop()
        if pid in table and pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


class TreePeak:
    """Peak resident memory and CPU seconds of process trees while a block runs.

    Sampled every 100 ms: memory is the largest sum over a tree seen at one sample; CPU is the
    last CPU time seen of every process of the tree, summed (so it does not depend on how busy
    the rest of the machine is, as wall time does on a shared machine).
    """

    def __init__(self) -> None:
        self.job_roots: list[int] = []
        self.executor_parents: list[int] = []
        self.job = self.executors = 0
        self._cpu: dict[str, dict[int, float]] = {"job": {}, "executors": {}}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            table = _processes()
            job = _tree(table, self.job_roots, own=True)
            execs = _tree(table, self.executor_parents, own=False)
            self.job = max(self.job, sum(table[p][1] for p in job))
            self.executors = max(self.executors, sum(table[p][1] for p in execs))
            for key, pids in (("job", job), ("executors", execs)):
                for p in pids:
                    self._cpu[key][p] = table[p][2]

    @property
    def job_cpu(self) -> float:
        """CPU seconds of the job's process tree (Python and its JVM)."""
        return sum(self._cpu["job"].values())

    @property
    def executors_cpu(self) -> float:
        """CPU seconds of the executors (and the Python they started)."""
        return sum(self._cpu["executors"].values())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_job(args: argparse.Namespace) -> None:
    """In the child: open the project, run, print the seconds as JSON."""
    from tierwise.backends import spark_session

    with Project(args.project) as p:
        if not args.full:
            p.config = p.config.with_overrides(SPINE_OVERRIDES)
        spark = source = None
        t0 = time.perf_counter()
        if args.job != "duckdb":
            conf = dict(SPARK_CONF)
            if args.job == "cluster":
                conf["spark.executor.memory"] = EXECUTOR_MEMORY
            spark = spark_session(args.master, conf=conf)
            spark.sparkContext.setLogLevel("ERROR")
            source = args.source
        started = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = p.run(args.as_of, engine="spark" if spark else "duckdb", spark=spark,
                       source=source)  # fmt: skip
        seconds = time.perf_counter() - t0
        rows = result.num_customers
    print(json.dumps({"seconds": seconds, "startup": started, "customers": rows}))


def spawn(
    job: str,
    project: Path,
    as_of: str,
    *,
    full: bool,
    master: str = "",
    source: str = "",
    executor_parents: list[int] | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run one job in a fresh process; its seconds and peak memory (MiB)."""
    cmd = [sys.executable, __file__, "--job", job, "--project", str(project), "--as-of", as_of,
           "--master", master, "--source", source] + (["--full"] if full else [])  # fmt: skip
    with TreePeak() as peak:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
        peak.job_roots = [proc.pid]
        peak.executor_parents = executor_parents or []
        out, _ = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{job} job failed with exit code {proc.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    return {
        **result,
        "peak_mib": peak.job / 2**20,
        "executors_mib": peak.executors / 2**20,
        "cpu": peak.job_cpu,
        "executors_cpu": peak.executors_cpu,
    }


def _profiles(project: Path, as_of: str) -> pa.Table:
    with Project(project) as p:
        return p.profiles(dt.date.fromisoformat(as_of), format="arrow")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and print its table."""
    from tierwise.demo import generate_shop

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--orders-per-customer", type=float, default=20.0)
    ap.add_argument("--events-per-customer", type=float, default=50.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--full", action="store_true", help="with the CLV fit and text tags")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument(
        "--resume",
        action="store_true",
        help="reuse the shop in --workdir and the engines' results saved there",
    )
    ap.add_argument("--job", choices=["duckdb", "local", "cluster"], help=argparse.SUPPRESS)
    ap.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--as-of", help=argparse.SUPPRESS)
    ap.add_argument("--master", help=argparse.SUPPRESS)
    ap.add_argument("--source", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.job:
        args.as_of = dt.date.fromisoformat(args.as_of)
        run_job(args)
        return {}

    work = args.workdir or Path(tempfile.mkdtemp(prefix="tierwise-bench-spark-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.resume and (work / "shop.json").exists():
        counts = json.loads((work / "shop.json").read_text())
        as_of = counts.pop("as_of")
        return _compare_engines(work, as_of, counts, args)
    t0 = time.perf_counter()
    shop = generate_shop(
        args.customers,
        seed=args.seed,
        orders_per_customer=args.orders_per_customer,
        events_per_customer=args.events_per_customer,
    )
    shop.write(work / "data", format="parquet")
    as_of = str(shop.as_of)
    counts = {k: getattr(shop, k).num_rows for k in ("customers", "orders", "events")}
    del shop
    with Project.init(work / "duckdb", force=True) as p:
        load_shop(p.store, work / "data")
        export_tables(p.store, work / "parquet")
    for name in ("local", "cluster"):
        Project.init(work / name, force=True).close()
    setup = time.perf_counter() - t0
    print(f"shop: {counts['customers']:,} customers, {counts['orders']:,} orders, "
          f"{counts['events']:,} events (generated, loaded, exported in {setup:.1f} s)",
          flush=True)  # fmt: skip
    (work / "shop.json").write_text(json.dumps({**counts, "as_of": as_of}))
    return _compare_engines(work, as_of, counts, args)


def _compare_engines(work: Path, as_of: str, counts: dict, args: argparse.Namespace) -> dict:
    """Run the job on each engine (a job whose result is saved in ``work`` is not run again
    with ``--resume``), compare the profiles and print the table."""
    full = args.full
    env = {**os.environ, **driver_env()}
    src = str(work / "parquet")
    print(f"load average at the start: {os.getloadavg()[0]:.1f}", flush=True)

    def job(name: str, run: Any) -> dict:
        saved = work / f"{name}.result.json"
        if args.resume and saved.exists():
            row = json.loads(saved.read_text())
        else:
            row = run()
            saved.write_text(json.dumps(row))
        print(f"{name}: {row['seconds']:.1f} s", flush=True)
        return row

    rows = {"duckdb": job("duckdb", lambda: spawn("duckdb", work / "duckdb", as_of, full=full))}
    rows["local"] = job("local", lambda: spawn("local", work / "local", as_of, full=full,
                                               master="local[2]", source=src, env=env))  # fmt: skip
    cluster = SparkCluster(workers=2, cores=1, memory=EXECUTOR_MEMORY,
                           directory=work / "cluster-daemons", stop_with_parent=True)  # fmt: skip
    t1 = time.perf_counter()
    with cluster:
        cluster_start = time.perf_counter() - t1
        rows["cluster"] = job("cluster", lambda: spawn(
            "cluster", work / "cluster", as_of, full=full, master=cluster.master_url,
            source=src, executor_parents=cluster.pids, env=env,
        ))  # fmt: skip
        apps = cluster.status()["completedapps"]

    duck = _profiles(work / "duckdb", as_of)
    diffs = {name: compare(_profiles(work / name, as_of), duck) for name in ("local", "cluster")}
    job = "full run (+ CLV fit, text tags)" if full else "features + RFM + every rule scheme"
    print(f"\njob: {job}, as of {as_of}")
    print(f"{'engine':<34}{'seconds':>8}{'startup':>8}{'CPU s':>7}{'peak MiB':>9}"
          f"{'exec CPU s':>11}{'exec MiB':>9}")  # fmt: skip
    names = {
        "duckdb": "DuckDB (embedded store)",
        "local": "Spark local[2]",
        "cluster": "Spark standalone, 2 x 1 core",
    }
    for key, label in names.items():
        r = rows[key]
        start = f"{r['startup']:.1f}" if key != "duckdb" else "-"
        ecpu = f"{r['executors_cpu']:.0f}" if key == "cluster" else "-"
        emib = f"{r['executors_mib']:.0f}" if key == "cluster" else "-"
        print(f"{label:<34}{r['seconds']:>8.1f}{start:>8}{r['cpu']:>7.0f}{r['peak_mib']:>9.0f}"
              f"{ecpu:>11}{emib:>9}")  # fmt: skip
    wall = rows["cluster"]["seconds"] / rows["local"]["seconds"]
    cpu = (rows["cluster"]["cpu"] + rows["cluster"]["executors_cpu"]) / rows["local"]["cpu"]
    print(f"ratio standalone / local: {wall:.2f} (wall), {cpu:.2f} (CPU, driver + executors)")
    print(
        f"cluster started in {cluster_start:.1f} s; applications it ran: "
        + ", ".join(f"{a['name']} ({a['state']}, {a['cores']} cores)" for a in apps)
    )
    load = os.getloadavg()
    print(f"load average of the machine at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
          f" (1 / 5 / 15 min; {os.cpu_count()} cores)")  # fmt: skip
    for name, d in diffs.items():
        print(f"same profiles as DuckDB on {name}: " + ("yes" if not d else f"NO, columns {d}"))
    return {"rows": rows, "diffs": diffs, **counts}


if __name__ == "__main__":
    main()
