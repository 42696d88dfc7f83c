"""A local webhook receiver for the delivery tests: it checks signatures, records every
request, keeps the first of each idempotency key, and fails on purpose when told to."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tierwise.flows import verify_signature


class Receiver:
    """``fail``: key -> number of first attempts answered 500; ``slow``: key -> number of
    first attempts answered only after ``slow_seconds`` (past the deliverer's timeout);
    ``refuse``: keys always answered with ``refuse_code``; ``delay``: seconds per request."""

    def __init__(self, secret: str, *, delay: float = 0.0, slow_seconds: float = 1.0) -> None:
        self.secret = secret
        self.delay = delay
        self.slow_seconds = slow_seconds
        self.fail: dict[str, int] = {}
        self.slow: dict[str, int] = {}
        self.refuse: set[str] = set()
        self.refuse_code = 500
        self.requests: list[str] = []
        self.processed: dict[str, dict] = {}
        self.bad_signatures = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_a: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-body: no request arrived
                    self.close_connection = True
                    return
                code = outer.handle(self.headers, body)
                try:
                    self.send_response(code)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the deliverer gave up waiting and closed the connection
                    self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *_a: None  # a killed deliverer resets connections
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def handle(self, headers: object, body: bytes) -> int:
        key = headers["Idempotency-Key"]
        ok = verify_signature(self.secret, headers["X-Tierwise-Timestamp"], body,
                              headers["X-Tierwise-Signature"])  # fmt: skip
        with self.lock:
            self.requests.append(key)
            if not ok:
                self.bad_signatures += 1
                return 401
            if key in self.refuse:
                return self.refuse_code
            if self.fail.get(key, 0) > 0:
                self.fail[key] -= 1
                return 500
            slow = self.slow.get(key, 0) > 0
            if slow:
                self.slow[key] -= 1
            self.processed.setdefault(key, json.loads(body))  # a repeated key is dropped
        time.sleep(self.slow_seconds if slow else self.delay)
        return 200

    def duplicates(self) -> int:
        """Requests beyond the first per key (repeats the receiver dropped)."""
        return sum(n - 1 for n in Counter(self.requests).values())

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
