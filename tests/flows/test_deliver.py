"""Delivery through the outbox against a real local receiver that fails on purpose: signed
posts, retries with backoff, the dead letter, timeouts, two deliverers at once, and a
deliverer killed mid-delivery: nothing lost, nothing processed twice."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tierwise.errors import ConfigError
from tierwise.flows import Deliverer, Delivery, sign, verify_signature
from tierwise.flows.triggers import outbox_table
from tierwise.store import Store

from .receiver import Receiver

SECRET = "s3cret-for-tests"
SRC = Path(__file__).resolve().parents[2] / "src"


def rows(url: str, n: int, *, flow: str = "f", max_attempts: int = 3) -> list[dict]:
    now = dt.datetime.now()
    return [{
        "idempotency_key": f"key{i:05d}", "flow": flow, "customer_id": f"c{i}",
        "trigger": "churn_signal", "detail": "{}", "as_of": dt.date(2025, 12, 31),
        "action": "webhook", "url": url, "status": "pending", "reason": None,
        "payload": json.dumps({"idempotency_key": f"key{i:05d}", "customer_id": f"c{i}"}),
        "max_attempts": max_attempts, "due_at": now,
    } for i in range(n)]  # fmt: skip


def filled(path: Path | str, url: str, n: int, **kw: object) -> Store:
    s = Store(path)
    assert s.enqueue_flow_rows(outbox_table(rows(url, n, **kw))) == n
    return s


def statuses(store: Store) -> dict[str, int]:
    return dict(store.con.execute(
        "SELECT status, count(*) FROM flow_outbox GROUP BY status").fetchall())  # fmt: skip


def drain(d: Deliverer, seconds: float = 20.0) -> None:
    """Deliver until no row is pending (retries included) or time runs out."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        d.deliver_once()
        if not d.store.one("SELECT count(*) FROM flow_outbox WHERE status = 'pending'")[0]:
            return
        time.sleep(0.05)
    raise AssertionError("rows still pending")


def test_signature_round_trip():
    body = b'{"a": 1}'
    sig = sign("k", "1700000000", body)
    assert sig.startswith("sha256=") and verify_signature("k", "1700000000", body, sig)
    assert not verify_signature("k", "1700000001", body, sig)
    assert not verify_signature("other", "1700000000", body, sig)


def test_no_secret_no_delivery(tmp_path, monkeypatch):
    monkeypatch.delenv("TIERWISE_FLOWS_SECRET", raising=False)
    with Store(tmp_path / "s.duckdb") as s, pytest.raises(ConfigError, match="TIERWISE_FLOWS"):
        Deliverer(s)


def test_retries_then_sent_and_dead_letter(tmp_path):
    settings = Delivery(max_attempts=3, backoff_seconds=0.05, timeout_seconds=2, batch=16)
    with Receiver(SECRET) as rx:
        store = filled(tmp_path / "s.duckdb", rx.url, 40)
        rx.fail = {"key00001": 2, "key00002": 1}  # recover on the 3rd and 2nd try
        rx.refuse = {"key00003"}  # 500 for ever: dead after 3 tries
        with Deliverer(store, settings, secret=SECRET) as d:
            drain(d)
        assert statuses(store) == {"sent": 39, "dead": 1}
        assert rx.bad_signatures == 0
        assert set(rx.processed) == {f"key{i:05d}" for i in range(40)} - {"key00003"}
        dead = store.arrow("SELECT * FROM flow_outbox WHERE status = 'dead'").to_pylist()[0]
        assert dead["attempts"] == 3 and dead["last_error"] == "HTTP 500"
        ok = store.arrow("SELECT attempts FROM flow_outbox WHERE idempotency_key = "
                         "'key00001'").to_pylist()[0]  # fmt: skip
        assert ok["attempts"] == 3
        # the backoff doubles: after the first failure the row waited 0.05 s, then 0.1 s
        assert settings.backoff(1) == 0.05 and settings.backoff(2) == 0.1
        assert Delivery(backoff_seconds=30, max_backoff_seconds=100).backoff(9) == 100
        # a dead-lettered row goes back in the queue on demand
        rx.refuse = set()
        assert store.retry_flow_delivery(dead["delivery_id"], dt.datetime.now())
        with Deliverer(store, settings, secret=SECRET) as d:
            drain(d)
        assert statuses(store) == {"sent": 40}
        assert rx.duplicates() == 2 + 1 + 3  # only the failed tries were repeated
        store.close()


def test_refused_payload_goes_to_the_dead_letter_at_once(tmp_path):
    with Receiver(SECRET) as rx:
        store = filled(tmp_path / "s.duckdb", rx.url, 3)
        rx.refuse, rx.refuse_code = {"key00000"}, 422
        with Deliverer(store, Delivery(backoff_seconds=0.05), secret=SECRET) as d:
            drain(d)
        row = store.arrow("SELECT status, attempts, response_code FROM flow_outbox "
                          "WHERE idempotency_key = 'key00000'").to_pylist()[0]  # fmt: skip
        assert row == {"status": "dead", "attempts": 1, "response_code": 422}
        store.close()


def test_a_webhook_that_times_out_loses_and_doubles_nothing(tmp_path):
    # a timeout well above a loaded machine's answer time, so only the slowed keys time out
    settings = Delivery(max_attempts=5, backoff_seconds=0.05, timeout_seconds=1.5, batch=8)
    with Receiver(SECRET, slow_seconds=3.0) as rx:
        store = filled(tmp_path / "s.duckdb", rx.url, 20)
        rx.slow = {"key00004": 1, "key00011": 2}
        with Deliverer(store, settings, secret=SECRET) as d:
            drain(d)
        assert statuses(store) == {"sent": 20}
        assert len(rx.processed) == 20  # each key processed once
        assert rx.duplicates() == 3  # the timed-out tries were sent again with the same key
        errors = store.arrow("SELECT idempotency_key, attempts FROM flow_outbox "
                             "WHERE attempts > 1 ORDER BY 1").to_pylist()  # fmt: skip
        assert errors == [{"idempotency_key": "key00004", "attempts": 2},
                          {"idempotency_key": "key00011", "attempts": 3}]  # fmt: skip
        store.close()


def test_two_deliverers_never_send_the_same_row(tmp_path):
    settings = Delivery(batch=10, workers=4)
    with Receiver(SECRET, delay=0.002) as rx:
        store = filled(tmp_path / "s.duckdb", rx.url, 300)
        twins = [store, store.sibling()]
        ds = [Deliverer(s, settings, secret=SECRET, owner=f"d{i}") for i, s in enumerate(twins)]
        threads = [threading.Thread(target=d.deliver_once) for d in ds]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for d in ds:
            d.close()
        assert statuses(store) == {"sent": 300}
        assert len(rx.requests) == 300 and rx.duplicates() == 0
        twins[1].close()
        store.close()


KILLED = """
import sys, datetime as dt
from tierwise.store import Store
from tierwise.flows import Deliverer, Delivery
store = Store(sys.argv[1])
settings = Delivery(batch=20, workers=4, lease_seconds=1.0)
Deliverer(store, settings, secret=sys.argv[2]).deliver_once()
"""


def test_killed_mid_delivery_nothing_lost_nothing_doubled(tmp_path):
    path = tmp_path / "s.duckdb"
    n = 400
    with Receiver(SECRET, delay=0.01) as rx:
        filled(path, rx.url, n).close()
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        proc = subprocess.Popen([sys.executable, "-c", KILLED, str(path), SECRET], env=env)
        end = time.monotonic() + 60
        while len(rx.requests) < n // 3 and time.monotonic() < end:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        seen_at_kill = len(set(rx.requests))
        assert 0 < seen_at_kill < n  # killed in the middle
        store = Store(path, wait=10)
        marked = statuses(store).get("sent", 0)
        assert marked <= seen_at_kill  # nothing is marked sent that was not received
        time.sleep(1.1)  # the dead deliverer's leases run out
        with Deliverer(store, Delivery(batch=50), secret=SECRET) as d:
            drain(d)
        assert statuses(store) == {"sent": n}  # nothing lost
        assert set(rx.processed) == {f"key{i:05d}" for i in range(n)}
        # repeats are only the rows in flight when the deliverer died, with the same key
        assert rx.duplicates() <= 20
        assert rx.bad_signatures == 0
        store.close()
