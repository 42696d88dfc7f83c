"""The service under load on 127.0.0.1: event ingest in batches and customer lookups.

Usage: ``python bench/bench_service.py [--customers 20000] [--events 100000] [--batch 2000]
[--lookups 3000] [--rate 200] [--project DIR]``

Makes the demo shop (``tierwise demo``) unless ``--project`` names one, serves it with
``tierwise serve`` in its own process on a free local port, then

- posts ``--events`` new events in batches of ``--batch`` (JSON over HTTP, validated and
  stored like an import, live intention updated) and reports events per second against the
  target of 5,000/s;
- looks up ``--lookups`` random customers at ``--rate`` requests per second (an open loop:
  each request starts on its slot) and reports p50/p99 latency against the p99 target of 10 ms.

Everything is bounded and stops by itself.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from tierwise.demo.run import run_demo
from tierwise.project import Project
from tierwise.service import create_key

TYPES = ["view", "like", "comment", "favorite", "share", "cart", "message", "review"]
CHANNELS = ["douyin", "wechat_moments", "taobao", "store", "dianping"]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=2_000)
    ap.add_argument("--lookups", type=int, default=3_000)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--project", type=Path, default=None)
    args = ap.parse_args()

    tmp = None
    if args.project is None:
        tmp = tempfile.TemporaryDirectory()
        args.project = Path(tmp.name) / "shop"
        t0 = time.perf_counter()
        run_demo(args.project, n_customers=args.customers, seed=7)
        print(f"demo shop of {args.customers:,} customers made in "
              f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
    with Project(args.project) as project:
        writer, _ = create_key(project.store, ["events:write"], "bench")
        reader, _ = create_key(project.store, ["profiles:read"], "bench")
        ids = project.store.arrow("SELECT customer_id FROM customers").column(0).to_pylist()
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", "from tierwise.cli import main; main()", "serve",
         "-p", str(args.project), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            print("the server did not start:", server.stderr.read())
            return 1
        time.sleep(0.2)
    try:
        return _measure(args, base, writer, reader, ids, server.pid)
    finally:
        server.terminate()
        server.wait(60)
        if tmp is not None:
            tmp.cleanup()


def _measure(
    args: argparse.Namespace, base: str, writer: str, reader: str, ids: list, pid: int
) -> int:
    rng = random.Random(1)
    run = f"{dt.datetime.now():%Y%m%d%H%M%S}"

    def live_batch(k: int, n: int) -> list[dict]:
        """Events stamped as they are sent (the last one now), as a live feed would be."""
        now = dt.datetime.now()
        return [
            {"event_id": f"bench-{run}-{k}-{i}", "customer_id": rng.choice(ids),
             "occurred_at": (now - dt.timedelta(microseconds=n - i)).isoformat(),
             "event_type": rng.choice(TYPES), "channel": rng.choice(CHANNELS)}
            for i in range(n)
        ]  # fmt: skip

    sizes = [args.batch] * (args.events // args.batch)
    with httpx.Client(base_url=base, timeout=120) as client:
        h = {"Authorization": f"Bearer {writer}"}
        client.post("/v1/events", json={"events": live_batch(-1, 10)}, headers=h)  # warm up
        t0, cpu0 = time.perf_counter(), _cpu_seconds(pid)
        imported = crossings = sent_events = 0
        for k, n in enumerate(sizes):
            b = live_batch(k, n)
            sent_events += n
            r = client.post("/v1/events", json={"events": b}, headers=h)
            r.raise_for_status()
            body = r.json()
            imported += body["imported"] + body["duplicate"]
            crossings += len(body["crossings"])
        ingest_s = time.perf_counter() - t0
        ingest_cpu = _cpu_seconds(pid) - cpu0
        rate = sent_events / ingest_s
        assert imported == sent_events, (imported, sent_events)

        h = {"Authorization": f"Bearer {reader}"}
        picks = [rng.choice(ids) for _ in range(args.lookups)]
        for cid in picks[:20]:
            client.get(f"/v1/customers/{cid}", headers=h)  # warm up
        lat, own = [], []
        period = 1.0 / args.rate
        t0, cpu0 = time.perf_counter(), _cpu_seconds(pid)
        for k, cid in enumerate(picks):
            slot = t0 + k * period
            now = time.perf_counter()
            if now < slot:
                time.sleep(slot - now)
            sent = time.perf_counter()
            r = client.get(f"/v1/customers/{cid}", headers=h)
            done = time.perf_counter()
            lat.append((done - slot) * 1000)  # from its slot: waiting behind others counts
            own.append((done - sent) * 1000)
            assert r.status_code == 200, r.text
        achieved = len(picks) / (time.perf_counter() - t0)
        lookup_cpu = _cpu_seconds(pid) - cpu0
    p50, p99 = np.percentile(lat, [50, 99])
    o50, o99 = np.percentile(own, [50, 99])
    print(f"\ningest: {sent_events:,} events in batches of {args.batch:,} in {ingest_s:.1f} s "
          f"= {rate:,.0f} events/s (target 5,000: ratio {rate / 5000:.2f}); "
          f"{crossings} grade crossings seen")  # fmt: skip
    print(f"lookup: {len(picks):,} customers at {achieved:.0f} req/s: p50 {p50:.1f} ms, "
          f"p99 {p99:.1f} ms from each request's slot (target p99 10 ms: ratio "
          f"{p99 / 10:.2f}); one request alone: p50 {o50:.1f} ms, p99 {o99:.1f} ms")  # fmt: skip
    print(f"service CPU: {ingest_cpu / sent_events * 1e6:.0f} µs per event "
          f"({sent_events / max(ingest_cpu, 1e-9):,.0f} events per CPU-second), "
          f"{lookup_cpu / len(picks) * 1000:.2f} ms per lookup "
          f"({len(picks) / max(lookup_cpu, 1e-9):,.0f} lookups per CPU-second); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    return 0 if rate >= 5000 and p99 <= 10 else 1


if __name__ == "__main__":
    sys.exit(main())
