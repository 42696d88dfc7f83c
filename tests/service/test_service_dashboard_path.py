"""The dashboard's Path page in a real browser (Debian's Chromium): the path's funnel and the
entrances shown are the API's, with and without a breakdown, both languages, and phone width."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright
from service_testkit import CHROMIUM, CHROMIUM_ARGS, copy_project, reader_key, serving


@pytest.fixture(scope="module")
def served(demo_project_dir, tmp_path_factory):
    """`tierwise serve` on a copy of the demo shop with a second, earlier snapshot (so the
    funnel has days between stages), and a reader key."""
    from tierwise.project import Project

    d = copy_project(demo_project_dir, tmp_path_factory.mktemp("dash-path") / "shop")
    with Project(d) as p:
        p.run(as_of=dt.date(2025, 6, 30))
    key = reader_key(d)
    with serving(d) as (base, _proc):
        yield base, key


def _pct(x) -> str:
    return "–" if x is None else f"{x * 100:.1f}%"


def _days(x) -> str:
    return "–" if x is None else (f"{x:,.0f}" if float(x).is_integer() else f"{x:.2f}")


def _check_funnel_rows(page, stages) -> None:
    expect(page.locator("#pa-funnel tbody tr")).to_have_count(len(stages))
    for r in stages:
        row = page.locator(f'#pa-funnel tr[data-group="{r["group"]}"][data-stage="{r["stage"]}"]')
        expect(row.locator(".reached")).to_have_text(f"{r['reached']:,}")
        expect(row.locator(".conversion")).to_have_text(_pct(r["conversion_rate"]))
        expect(row.locator(".share")).to_have_text(_pct(r["first_stage_share"]))
        expect(row.locator(".days")).to_have_text(_days(r["median_days"]))
        expect(row.locator(".at-stage")).to_have_text(f"{r['at_stage']:,}")


def test_path_page_shows_the_funnel_and_entrances(served, tmp_path):
    base, key = served
    h = {"Authorization": f"Bearer {key}"}
    funnel = httpx.get(base + "/v1/funnel", headers=h).json()
    by_kind = httpx.get(base + "/v1/funnel?by=entrance_kind", headers=h).json()
    entrance = httpx.get(base + "/v1/entrance?by=kind", headers=h).json()
    stages = funnel["stages"]
    assert [r["stage"] for r in stages] == ["fan", "customer", "member", "lifetime", "koc"]
    assert any(r["median_days"] is not None for r in stages)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="en-US")
        page.goto(base + "/")
        page.fill("#key", key)
        page.click("#login-form button")
        expect(page.locator("#overview")).to_be_visible()
        page.click('#nav a[data-page="path"]')
        expect(page.locator("#pa-as-of")).to_have_value(funnel["as_of"])
        _check_funnel_rows(page, stages)
        expect(page.locator('#pa-funnel tr[data-stage="customer"] .stage')).to_have_text("Customer")
        assert page.locator("#pa-chart canvas").count() >= 1
        expect(page.locator("#pa-entrance tbody tr")).to_have_count(len(entrance["rows"]))
        for r in entrance["rows"]:
            row = page.locator(f'#pa-entrance tr[data-entrance="{r["kind"]}"]')
            expect(row.locator(".customers")).to_have_text(f"{r['customers']:,}")
            expect(row.locator(".buyers")).to_have_text(f"{r['buyers']:,}")
            expect(row.locator(".conversion")).to_have_text(_pct(r["conversion_rate"]))
            expect(row.locator(".repeat")).to_have_text(_pct(r["repeat_rate"]))
            clv = "–" if r["mean_clv"] is None else f"{r['mean_clv']:,.0f}"
            expect(row.locator(".clv")).to_have_text(clv)
        page.screenshot(path=tmp_path / "path-en.png", full_page=True)

        page.select_option("#pa-by", "entrance_kind")
        _check_funnel_rows(page, by_kind["stages"])
        assert len({r["group"] for r in by_kind["stages"]}) > 1

        page.click("#lang")
        expect(page.locator('#nav a[data-page="path"]')).to_have_text("路径")
        stage = page.locator('#pa-funnel tr[data-stage="customer"] .stage').first
        expect(stage).to_have_text("顾客")
        expect(page.locator("#pa-funnel th").nth(2)).to_have_text("到达客户数")
        qr = page.locator('#pa-entrance tr[data-entrance="qr_code"] td').first
        expect(qr).to_have_text("二维码")
        page.click("#lang")
        expect(qr).to_have_text("QR code")
        page.click("#lang")
        _check_funnel_rows(page, by_kind["stages"])
        page.screenshot(path=tmp_path / "path-zh.png", full_page=True)

        page.set_viewport_size({"width": 390, "height": 844})
        page.select_option("#pa-by", "")
        _check_funnel_rows(page, stages)
        page.wait_for_timeout(200)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 392, f"the page is {width}px wide on a phone"
        page.screenshot(path=tmp_path / "path-phone.png", full_page=True)
        browser.close()
    assert (tmp_path / "path-zh.png").stat().st_size > 10_000
