"""The deliverer: posts outbox rows to their webhooks, signed, with retries and a dead letter.

Each row is leased before it is sent, so two deliverers never send it at the same time, and a
deliverer killed mid-delivery leaves its rows leased until the lease runs out; another
deliverer then sends them again **with the same idempotency key**. The receiver sees every
row at least once and can drop repeats by the ``Idempotency-Key`` header; the outbox never
holds one crossing twice and never loses a row.

Every request carries::

    Content-Type: application/json
    Idempotency-Key: <the row's key>
    X-Tierwise-Delivery: <delivery id>
    X-Tierwise-Timestamp: <unix seconds>
    X-Tierwise-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>

The secret comes from the environment variable ``TIERWISE_FLOWS_SECRET``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tierwise.errors import ConfigError
from tierwise.flows.model import Delivery
from tierwise.store import Store

__all__ = ["SECRET_ENV", "Deliverer", "DeliveryRun", "sign", "verify_signature"]

SECRET_ENV = "TIERWISE_FLOWS_SECRET"
"""Environment variable holding the webhook signing secret."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: the HMAC-SHA256 of ``<timestamp>.<body>`` with ``secret``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether a received signature is the one `sign` makes (constant time)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass
class DeliveryRun:
    """What a delivery pass did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        rate = self.sent / self.seconds if self.seconds > 0 else None
        return {"claimed": self.claimed, "sent": self.sent, "retried": self.retried,
                "dead": self.dead, "seconds": round(self.seconds, 3),
                "per_second": round(rate, 1) if rate else None,
                "errors": self.errors[:10]}  # fmt: skip


_PERMANENT = {400, 401, 403, 404, 405, 410, 413, 415, 422}
"""Answers that will not change on a retry: the row goes to the dead letter at once."""


class Deliverer:
    """Sends due outbox rows in leased batches over kept-alive connections.

    Parameters
    ----------
    store : Store
        Holds the ``flow_outbox`` table (a `Store.sibling` in a service thread).
    settings : Delivery
        Attempts, backoff, timeouts, lease, batch size and parallel connections.
    secret : str, optional
        Signing secret; ``TIERWISE_FLOWS_SECRET`` by default.
    owner : str, optional
        Name of this deliverer in the leases (unique by default).
    clock : callable, optional
        The current time (shop-local, naive).
    """

    def __init__(
        self,
        store: Store,
        settings: Delivery | None = None,
        *,
        secret: str | None = None,
        owner: str | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or Delivery()
        secret = secret if secret is not None else os.environ.get(SECRET_ENV)
        if not secret:
            raise ConfigError(
                f"set {SECRET_ENV} to the secret webhook payloads are signed with "
                "(the receiver checks X-Tierwise-Signature with it)"
            )
        self.secret = secret
        self.owner = owner or f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.clock = clock or (lambda: dt.datetime.now())
        self._local = threading.local()
        self.last_run: DeliveryRun | None = None
        self.last_error: str | None = None
        self._pool = ThreadPoolExecutor(self.settings.workers, thread_name_prefix="tw-deliver")

    def close(self) -> None:
        """Stop the worker threads."""
        self._pool.shutdown(wait=True)

    def __enter__(self) -> Deliverer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one HTTP post -------------------------------------------------------------------
    def _connection(self, url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        conns = getattr(self._local, "conns", None)
        if conns is None:
            conns = self._local.conns = {}
        con = conns.get(key)
        if con is None:
            https = parts.scheme == "https"
            cls = http.client.HTTPSConnection if https else http.client.HTTPConnection
            con = conns[key] = cls(parts.netloc, timeout=timeout)
        con.timeout = timeout
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return con, path

    def _drop(self, url: str) -> None:
        parts = urlsplit(url)
        con = getattr(self._local, "conns", {}).pop((parts.scheme, parts.netloc), None)
        if con is not None:
            con.close()

    def post(self, row: dict[str, Any]) -> tuple[int | None, str | None]:
        """Post one row: ``(status code, None)`` or ``(None, error)``."""
        body = row["payload"].encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": row["idempotency_key"],
            "X-Tierwise-Delivery": str(row["delivery_id"]),
            "X-Tierwise-Timestamp": stamp,
            "X-Tierwise-Signature": sign(self.secret, stamp, body),
        }
        for attempt in (1, 2):  # a kept-alive connection the server closed: reconnect once
            con, path = self._connection(row["url"], self.settings.timeout_seconds)
            try:
                con.request("POST", path, body=body, headers=headers)
                resp = con.getresponse()
                resp.read()
                if resp.will_close:
                    self._drop(row["url"])
                return resp.status, None
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._drop(row["url"])
                if attempt == 2:
                    return None, f"{type(exc).__name__}: {exc}"
            except (TimeoutError, OSError, http.client.HTTPException) as exc:
                self._drop(row["url"])
                what = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}"
                return None, f"{what}: {exc}"[:300]
        return None, "unreachable"

    # -- a pass ----------------------------------------------------------------------------
    def _outcome(self, row: dict[str, Any], code: int | None, error: str | None) -> dict:
        now = self.clock()
        attempts = int(row["attempts"]) + 1
        out = {"delivery_id": row["delivery_id"], "attempts": attempts, "due_at": now,
               "sent_at": None, "last_error": error, "response_code": code}  # fmt: skip
        if code is not None and 200 <= code < 300:
            return {**out, "status": "sent", "sent_at": now, "last_error": None}
        if code is not None:
            out["last_error"] = f"HTTP {code}"
        if (code in _PERMANENT) or attempts >= int(row["max_attempts"]):
            return {**out, "status": "dead"}
        wait = self.settings.backoff(attempts)
        return {**out, "status": "pending", "due_at": now + dt.timedelta(seconds=wait)}

    def deliver_once(self, limit: int | None = None) -> DeliveryRun:
        """Claim due rows batch by batch and send them until none is due (or ``limit``)."""
        run = DeliveryRun()
        started = time.perf_counter()
        while limit is None or run.claimed < limit:
            size = self.settings.batch if limit is None else min(self.settings.batch,
                                                                 limit - run.claimed)  # fmt: skip
            rows = self.store.claim_flow_deliveries(
                self.owner, self.clock(), self.settings.lease_seconds, size
            )
            if not rows:
                break
            run.claimed += len(rows)
            results = list(self._pool.map(self.post, rows))
            outcomes = [self._outcome(r, c, e) for r, (c, e) in zip(rows, results, strict=True)]
            self.store.finish_flow_deliveries(self.owner, outcomes)
            for o in outcomes:
                if o["status"] == "sent":
                    run.sent += 1
                elif o["status"] == "dead":
                    run.dead += 1
                    run.errors.append(f"#{o['delivery_id']}: {o['last_error']}")
                else:
                    run.retried += 1
                    run.errors.append(f"#{o['delivery_id']}: {o['last_error']}")
        run.seconds = time.perf_counter() - started
        return run

    def run_forever(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Deliver until ``stop`` is set, looking for due rows every ``interval`` seconds."""
        while not stop.is_set():
            try:
                self.last_run = self.deliver_once()
                self.last_error = None
            except Exception as exc:  # keep delivering: the rows keep their state
                self.last_error = f"{type(exc).__name__}: {exc}"
            stop.wait(interval)
