"""The dashboard in a real browser (Debian's Chromium), served by `tierwise serve`."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright
from service_testkit import CHROMIUM, CHROMIUM_ARGS, copy_project, reader_key, serving

from tierwise.errors import StoreError
from tierwise.project import Project


@pytest.fixture(scope="module")
def served(demo_project_dir, tmp_path_factory):
    """`tierwise serve` in a subprocess on a copy of the demo shop, and a reader key."""
    d = copy_project(demo_project_dir, tmp_path_factory.mktemp("dash") / "shop")
    key = reader_key(d)
    with serving(d) as (base, proc):
        yield base, key, d, proc


def test_serve_holds_the_store_and_says_so(served):
    _base, _key, d, proc = served
    with pytest.raises(StoreError, match=rf"in use by .*PID {proc.pid}"):
        Project(d).store  # noqa: B018


def test_dashboard_login_overview_language_and_customer(served, tmp_path):
    base, key, _d, _proc = served
    h = {"Authorization": f"Bearer {key}"}
    overview = httpx.get(base + "/v1/overview", headers=h).json()
    cust = httpx.get(base + "/v1/customers/C000001", headers=h).json()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="en-US")
        page.goto(base + "/")
        page.fill("#key", "tw_0000_wrong")
        page.click("#login-form button")
        expect(page.locator("#login-error")).to_contain_text("unknown or revoked")
        page.fill("#key", key)
        page.click("#login-form button")
        expect(page.locator("#overview")).to_be_visible()
        expect(page.locator("#ov-customers")).to_have_text(f"{overview['customers']:,}")
        expect(page.locator("#as-of")).to_have_value(overview["as_of"])
        lifecycle = next(s for s in overview["schemes"] if s["scheme"] == "lifecycle")
        for lab in lifecycle["labels"]:
            row = page.locator(f'[data-scheme="lifecycle"] tr[data-label="{lab["label"]}"]')
            expect(row.locator(".customers")).to_have_text(f"{lab['customers']:,}")
            expect(row.locator(".value-share")).to_have_text(f"{lab['value_share'] * 100:.1f}%")
        assert page.locator('[data-scheme="lifecycle"] canvas').count() >= 1
        page.screenshot(path=tmp_path / "overview-en.png", full_page=True)

        page.click("#lang")
        expect(page.locator('#nav a[data-page="overview"]')).to_have_text("总览")
        expect(page.locator('[data-scheme="lifecycle"] h2')).to_have_text(lifecycle["zh"])
        page.screenshot(path=tmp_path / "overview-zh.png", full_page=True)

        page.click('#nav a[data-page="customer"]')
        page.fill("#customer-id", "C000001")
        page.click("#search-form button")
        primary = next(lab for lab in cust["labels"]
                       if lab["scheme"] == "lifecycle" and lab["is_primary"])  # fmt: skip
        sel = f'#cu-labels li[data-scheme="lifecycle"][data-label="{primary["label"]}"]'
        line = page.locator(sel)
        expect(line.locator(".because")).to_have_text(primary["because"]["zh"])
        expect(page.locator("#cu-orders")).to_have_text(f"{cust['profile']['orders']:,}")
        expect(page.locator('#cu-profile tr[data-field="city"] td.num')).to_have_text("•••")
        assert page.locator("#cu-timeline tbody tr").count() > 0
        page.screenshot(path=tmp_path / "customer-zh.png", full_page=True)

        page.click("#lang")
        expect(line.locator(".because")).to_have_text(primary["because"]["en"])

        page.fill("#customer-id", "nobody-here")
        page.click("#search-form button")
        expect(page.locator("#customer-error")).to_contain_text("No such customer")

        page.click('#nav a[data-page="segments"]')
        expr = "orders >= 2"
        total = httpx.get(f"{base}/v1/segments/{expr}/members", headers=h).json()["total"]
        page.fill("#segment-expr", expr)
        page.click("#segment-form button")
        expect(page.locator("#segments-note")).to_contain_text(f"{total:,} customers")
        assert page.locator("#segment-members tbody tr").count() == min(total, 20)
        page.fill("#segment-expr", "ordrs >= 2")
        page.click("#segment-form button")
        expect(page.locator("#segments-note")).to_contain_text("did you mean orders")

        page.set_viewport_size({"width": 390, "height": 844})
        page.click('#nav a[data-page="overview"]')
        expect(page.locator("#ov-customers")).to_be_visible()
        page.wait_for_timeout(200)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 392, f"the page is {width}px wide on a phone"
        page.screenshot(path=tmp_path / "overview-phone.png", full_page=True)
        browser.close()
    assert (tmp_path / "customer-zh.png").stat().st_size > 10_000
