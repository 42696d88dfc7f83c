"""Flows in the service: routes with scope checks, the background deliverer against a local
receiver, and the Flows page of the dashboard in a real browser (Debian's Chromium)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect, sync_playwright

from service.service_testkit import CHROMIUM, CHROMIUM_ARGS, reader_key, serving
from tierwise.project import Project
from tierwise.store import Store

from .receiver import Receiver

SECRET = "service-secret"


@pytest.fixture
def shop(flow_shop, tmp_path):
    d = tmp_path / "shop"
    shutil.copytree(flow_shop, d)
    return d


def _due(d: Path, url: str | None = None) -> int:
    with Store(d / "tierwise.duckdb") as s:
        if url:
            s.con.execute("UPDATE flow_outbox SET url = ?", [url])
        return s.one("SELECT count(*) FROM flow_outbox WHERE status = 'pending' "
                     "AND due_at <= now()::TIMESTAMP")[0]  # fmt: skip


def test_routes_and_background_deliverer(shop, monkeypatch):
    from tierwise.service import ServiceSettings, create_app, create_key

    with Receiver(SECRET) as rx:
        due = _due(shop, rx.url)
        monkeypatch.setenv("TIERWISE_FLOWS_SECRET", SECRET)
        project = Project(shop)
        keys = {role: create_key(project.store, scopes, role)[0] for role, scopes in
                (("reader", ["profiles:read"]), ("writer", ["events:write"]),
                 ("admin", ["admin"]))}  # fmt: skip
        app = create_app(ServiceSettings(project=shop), project=project)
        h = {r: {"Authorization": f"Bearer {k}"} for r, k in keys.items()}
        with TestClient(app) as client:
            assert client.get("/v1/flows", headers=h["writer"]).status_code == 403
            assert client.get("/v1/flows").status_code == 401
            end = time.monotonic() + 30
            while len(rx.processed) < due and time.monotonic() < end:
                time.sleep(0.1)
            body = client.get("/v1/flows", headers=h["reader"]).json()
            assert body["deliverer"]["running"] is True
            sent = sum(f["counts"]["sent"] for f in body["flows"])
            assert sent == due == len(rx.processed) and rx.duplicates() == 0
            rows = client.get("/v1/flows/deliveries?status=sent&limit=1000",
                              headers=h["reader"]).json()["items"]  # fmt: skip
            assert len(rows) == due and all(r["sent_at"] for r in rows)
            r = client.get("/v1/flows/deliveries?status=nope", headers=h["reader"])
            assert r.status_code == 422
            sid = rows[0]["delivery_id"]
            r = client.post(f"/v1/flows/deliveries/{sid}/retry", headers=h["reader"])
            assert r.status_code == 403
            r = client.post(f"/v1/flows/deliveries/{sid}/retry", headers=h["admin"])
            assert r.status_code == 409 and "not in the dead letter" in r.json()["detail"]
        project.close()


def test_flows_page_in_the_browser(shop, tmp_path):
    key = reader_key(shop)
    with serving(shop, without=("TIERWISE_FLOWS_SECRET",)) as (base, _proc):
        h = {"Authorization": f"Bearer {key}"}
        flows = httpx.get(base + "/v1/flows", headers=h).json()
        assert flows["deliverer"]["why_not"] == "TIERWISE_FLOWS_SECRET is not set"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=CHROMIUM_ARGS)  # fmt: skip
            page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="en-US")
            page.goto(base + "/")
            page.fill("#key", key)
            page.click("#login-form button")
            expect(page.locator("#overview")).to_be_visible()
            page.click('#nav a[data-page="flows"]')
            expect(page.locator("#fl-deliverer")).to_contain_text("TIERWISE_FLOWS_SECRET")
            for f in flows["flows"]:
                row = page.locator(f'#fl-flows tr[data-flow="{f["flow"]}"]')
                expect(row.locator("td").first).to_have_text(f["en"])
                for status in ("pending", "capped", "control"):
                    expect(row.locator(f"td.{status}")).to_have_text(f"{f['counts'][status]:,}")
            expect(page.locator("#fl-deliveries tbody tr")).to_have_count(100)
            page.screenshot(path=tmp_path / "flows-en.png", full_page=True)
            page.click("#lang")
            expect(page.locator('#fl-flows tr[data-flow="contact_removed"] td').first
                   ).to_have_text("删除企业微信好友或取关")  # fmt: skip
            expect(page.locator("#fl-flows thead th").nth(3)).to_have_text("待发送")
            capped = sum(f["counts"]["capped"] for f in flows["flows"])
            page.select_option("#fl-status", "capped")
            expect(page.locator("#fl-deliveries tbody tr")).to_have_count(min(capped, 100))
            assert set(page.locator("#fl-deliveries tbody tr").evaluate_all(
                "rows => rows.map(r => r.dataset.status)")) == {"capped"}  # fmt: skip
            expect(page.locator("#fl-deliveries tbody tr td.status").first).to_have_text("超频上限")
            page.screenshot(path=tmp_path / "flows-zh.png", full_page=True)
            browser.close()
        assert (tmp_path / "flows-zh.png").stat().st_size > 10_000


LIVE = """\
delivery: {backoff_seconds: 0.1}
flows:
  hot_now:
    trigger: {kind: intention_up, to: high, live: true}
    when: "orders >= 0"
    action: {webhook: "URL"}
"""


def test_live_intention_crossings_are_delivered_while_serving(shop, monkeypatch):
    import datetime as dt

    from tierwise.service import ServiceSettings, create_app

    with Receiver(SECRET) as rx:
        _due(shop, rx.url)
        (shop / "flows.yaml").write_text(LIVE.replace("URL", rx.url), encoding="utf-8")
        monkeypatch.setenv("TIERWISE_FLOWS_SECRET", SECRET)
        project = Project(shop)
        app = create_app(ServiceSettings(project=shop), project=project)
        svc = app.state.service
        now = dt.datetime.now().replace(microsecond=0)
        rows = [  # event_id, customer, crossed_at, grade
            ("live-1", "C000001", dt.datetime(2026, 1, 2, 10), "high"),
            ("live-2", "C000002", dt.datetime(2026, 1, 2, 11), "medium"),  # not to: high
            ("live-3", "C000003", dt.datetime(2025, 11, 20, 9), "high"),  # before the previous
        ]  # fmt: skip
        with TestClient(app) as client:
            with svc.lock:
                for eid, cid, at, grade in rows:
                    project.store.con.execute(
                        "INSERT INTO intention_live_crossings VALUES (?, ?, ?, ?, 1.0, 5.0, "
                        "'comment', 'douyin', ?)", [eid, cid, at, grade, now])  # fmt: skip
            end = time.monotonic() + 30
            while time.monotonic() < end:
                if any(b.get("flow") == "hot_now" for b in rx.processed.values()):
                    break
                time.sleep(0.1)
            time.sleep(2.5)  # one more pass: nothing else may come
            got = [b for b in rx.processed.values() if b.get("flow") == "hot_now"]
            status = client.get("/v1/flows", headers={"Authorization": "Bearer x"})
            assert status.status_code == 401
        assert [(b["customer_id"], b["trigger"]["event_id"]) for b in got] == [
            ("C000001", "live-1")]  # fmt: skip
        assert got[0]["trigger"]["to"] == "high" and got[0]["trigger"]["live"] is True
        project.close()
