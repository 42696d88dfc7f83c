"""Flows on the demo shop: crossings found by the second run, and webhook deliveries per
second to a local receiver, batched over kept-alive connections vs one row at a time.

``python bench/bench_flows.py [--customers 2000]``
"""

from __future__ import annotations

import argparse
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_a: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=2000)
    args = parser.parse_args()
    from tierwise.demo.flows import plant_demo_flows
    from tierwise.flows import Deliverer

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    with tempfile.TemporaryDirectory() as tmp:
        p = plant_demo_flows(Path(tmp) / "shop", n_customers=args.customers, url=url)
        counts = dict(p.store.con.execute(
            "SELECT status, count(*) FROM flow_outbox GROUP BY status").fetchall())  # fmt: skip
        print(f"crossings stored: {sum(counts.values())}  " + "  ".join(
            f"{k}: {v}" for k, v in sorted(counts.items())))  # fmt: skip
        settings = p.flows().delivery
        slow = settings.model_copy(update={"batch": 1, "workers": 1})
        p.store.con.execute("CREATE TABLE _pending AS SELECT * FROM flow_outbox")
        for name, s in (("one row at a time", slow), ("batched, kept alive", settings)):
            p.store.con.execute("DELETE FROM flow_outbox")
            p.store.con.execute("INSERT INTO flow_outbox SELECT * FROM _pending")
            with Deliverer(p.store, s, secret="bench") as d:
                run = d.deliver_once()
            print(f"{name:>22}: {run.sent} sent in {run.seconds:.2f} s = "
                  f"{run.sent / run.seconds:.0f} deliveries/s")  # fmt: skip
        p.close()
    server.shutdown()


if __name__ == "__main__":
    main()
