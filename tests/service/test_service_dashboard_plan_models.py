"""The dashboard's Plan and Models pages in a real browser (Debian's Chromium): the figures
shown are the API's, both languages, a backtest started from the page, and phone width."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright
from service_testkit import CHROMIUM, CHROMIUM_ARGS, copy_project, reader_key, serving


@pytest.fixture(scope="module")
def served(planned_project_dir, tmp_path_factory):
    """`tierwise serve` on a copy of the planned demo shop, and a reader key."""
    d = copy_project(planned_project_dir, tmp_path_factory.mktemp("dash-plan") / "shop",
                     extra=("playbooks.yaml",))  # fmt: skip
    key = reader_key(d)
    with serving(d) as (base, _proc):
        yield base, key


def _login(page, base, key):
    page.goto(base + "/")
    page.fill("#key", key)
    page.click("#login-form button")
    expect(page.locator("#overview")).to_be_visible()


def _fits_the_phone(page) -> None:
    page.wait_for_timeout(200)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 392, f"the page is {width}px wide on a phone"


def test_plan_page_shows_the_plan_and_uplift(served, tmp_path):
    base, key = served
    h = {"Authorization": f"Bearer {key}"}
    summary = httpx.get(base + "/v1/plan/summary", headers=h).json()
    demo = httpx.get(base + "/v1/plan/summary?playbook=demo", headers=h).json()
    uplift = httpx.get(base + "/v1/uplift?playbook=demo", headers=h).json()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="en-US")
        _login(page, base, key)
        page.click('#nav a[data-page="plan"]')
        expect(page.locator("#pl-run")).to_have_value("default@2025-12-31")
        expect(page.locator("#pl-planned")).to_have_text(f"{summary['counts']['planned']:,}")
        expect(page.locator("#pl-suppressed")).to_have_text(f"{summary['counts']['suppressed']:,}")
        expect(page.locator("#pl-control")).to_have_text(f"{summary['counts']['control']:,}")
        expect(page.locator("#pl-cost")).to_have_text(f"{summary['cost']:,.0f}")
        assert page.locator("#pl-rules tbody tr").count() == len(summary["rules"])
        for r in summary["rules"]:
            sel = f'tr[data-rule="{r["rule"]}"][data-channel="{r["channel"]}"]'
            row = page.locator("#pl-rules " + sel)
            expect(row.locator(".planned")).to_have_text(f"{r['planned']:,}")
            expect(row.locator(".suppressed")).to_have_text(f"{r['suppressed']:,}")
            expect(row.locator(".control")).to_have_text(f"{r['control']:,}")
        assert page.locator("#pl-chart canvas").count() >= 1
        expect(page.locator("#pl-uplift-note")).to_contain_text("No sends recorded")
        page.screenshot(path=tmp_path / "plan-default-en.png", full_page=True)

        page.select_option("#pl-run", "demo@2025-12-31")
        expect(page.locator("#pl-planned")).to_have_text(f"{demo['counts']['planned']:,}")
        assert uplift["sent"] > 0
        expect(page.locator("#pl-uplift tbody tr")).to_have_count(len(uplift["rows"]))
        kol = next(r for r in uplift["rows"] if r["rule"] == "kol_discount")
        row = page.locator('#pl-uplift tr[data-rule="kol_discount"]')
        expect(row.locator(".n-treated")).to_have_text(f"{kol['n_treated']:,}")
        expect(row.locator(".n-control")).to_have_text(f"{kol['n_control']:,}")
        expect(row.locator(".rate-treated")).to_have_text(f"{kol['conversion_treated'] * 100:.1f}%")
        expect(row.locator(".rate-control")).to_have_text(f"{kol['conversion_control'] * 100:.1f}%")
        lo, hi = kol["conversion_low"] * 100, kol["conversion_high"] * 100
        expect(row.locator(".ci")).to_have_text(f"[{lo:.1f}, {hi:.1f}]")
        expect(row.locator(".words")).to_have_text(kol["words"])
        expect(row.locator(".verdict")).to_have_text(kol["verdict"])
        page.screenshot(path=tmp_path / "plan-demo-en.png", full_page=True)

        page.click("#lang")
        expect(page.locator('#nav a[data-page="plan"]')).to_have_text("运营计划")
        expect(page.locator("#pl-planned")).to_have_text(f"{demo['counts']['planned']:,}")
        zh = {"helps": "有效", "harmful": "有害", "no evidence of an effect": "无证据显示有效果",
              "no data": "暂无数据"}  # fmt: skip
        expect(row.locator(".verdict")).to_have_text(zh[kol["verdict"]])
        expect(row.locator(".words")).to_contain_text("转化率")
        expect(page.locator("#plan .cards .k").first).to_have_text("计划触达")
        page.screenshot(path=tmp_path / "plan-demo-zh.png", full_page=True)

        page.set_viewport_size({"width": 390, "height": 844})
        _fits_the_phone(page)
        page.screenshot(path=tmp_path / "plan-phone.png", full_page=True)
        browser.close()
    assert (tmp_path / "plan-demo-zh.png").stat().st_size > 10_000


def test_models_page_shows_the_fit_and_runs_a_backtest(served, tmp_path):
    base, key = served
    h = {"Authorization": f"Bearer {key}"}
    clv = httpx.get(base + "/v1/models/clv", headers=h).json()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="en-US")
        _login(page, base, key)
        page.click('#nav a[data-page="models"]')
        expect(page.locator("#mo-as-of")).to_have_value(clv["as_of"])
        for name, value in clv["model"]["params"].items():
            row = page.locator(f'#mo-params tr[data-model="model"][data-param="{name}"]')
            shown = float(row.locator(".estimate").inner_text().replace(",", ""))
            assert shown == pytest.approx(value, rel=1e-3)
            se = float(row.locator(".se").inner_text().replace(",", ""))
            assert se == pytest.approx(clv["model"]["standard_errors"][name], rel=1e-3)
        expect(page.locator("#mo-bt-status")).to_contain_text("No backtest yet")
        page.click("#mo-run")
        expect(page.locator("#mo-run")).to_be_disabled()
        expect(page.locator("#mo-bt-status")).to_contain_text("cut 2025-10-02", timeout=120_000)
        expect(page.locator("#mo-run")).to_be_enabled()
        bt = httpx.get(base + "/v1/models/backtest", headers=h).json()
        res = bt["result"]
        assert bt["status"] == "done"
        expect(page.locator("#mo-customers")).to_have_text(f"{res['customers']:,}")
        expect(page.locator("#mo-buyers")).to_have_text(f"{res['holdout_buyers']:,}")
        cal = res["calibration"]
        expect(page.locator("#mo-actual")).to_have_text(f"{cal['actual_purchases']:.1f}")
        expect(page.locator("#mo-pred")).to_have_text(f"{cal['predicted_purchases']:.1f}")
        expect(page.locator("#mo-deciles tbody tr")).to_have_count(len(res["clv_deciles"]))
        top = res["clv_deciles"][-1]
        row = page.locator(f'#mo-deciles tr[data-decile="{top["decile"]}"]')
        expect(row.locator(".actual")).to_have_text(f"{top['actual_purchases']:.2f}")
        expect(row.locator(".predicted")).to_have_text(f"{top['predicted_purchases']:.2f}")
        assert page.locator("#mo-deciles-chart canvas").count() >= 1
        expect(page.locator("#mo-backtest tbody tr")).to_have_count(len(res["labels"]))
        lab = next(r for r in res["labels"] if r["scheme"] == "lifecycle")
        row = page.locator(f'#mo-backtest tr[data-scheme="lifecycle"][data-label="{lab["label"]}"]')
        expect(row.locator(".customers")).to_have_text(f"{lab['customers']:,}")
        expect(row.locator(".label")).to_have_text(lab["en"])
        page.screenshot(path=tmp_path / "models-en.png", full_page=True)

        page.click("#lang")
        expect(page.locator('#nav a[data-page="models"]')).to_have_text("模型")
        expect(row.locator(".label")).to_have_text(lab["zh"])
        expect(page.locator("#mo-bt-status")).to_contain_text("切分日 2025-10-02")
        page.screenshot(path=tmp_path / "models-zh.png", full_page=True)

        page.set_viewport_size({"width": 390, "height": 844})
        _fits_the_phone(page)
        page.screenshot(path=tmp_path / "models-phone.png", full_page=True)
        browser.close()
    assert (tmp_path / "models-zh.png").stat().st_size > 10_000
