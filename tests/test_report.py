"""The HTML report: figures equal the library's, both languages, empty sections say so, and the
page opened in Debian's Chromium makes no request and draws its charts."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tierwise.cli import app
from tierwise.demo import generate_shop
from tierwise.demo.campaigns import write_demo_campaign
from tierwise.demo.run import run_demo
from tierwise.project import CONFIG_FILE, Project
from tierwise.report import SECTIONS

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]  # fmt: skip
LIMIT = 10 * 1024 * 1024


def _embedded(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="tierwise-report-data">(.*?)</script>',
                  html, re.S)  # fmt: skip
    assert m is not None
    return json.loads(m.group(1))


def _rounded(value):
    if isinstance(value, float):
        return float(f"{value:.10g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A demo shop (entrances, identities and member levels planted by the demo) with two
    snapshots 30 days apart, the default plan and a simulated demo campaign (sends and the
    orders after them), and its reports in both languages."""
    d = tmp_path_factory.mktemp("report") / "shop"
    demo = run_demo(d, n_customers=800, seed=5)
    previous = demo.as_of - dt.timedelta(days=30)
    with Project(d) as p:
        p.run(previous)
        p.plan(demo.as_of)
    made = write_demo_campaign(d, seed=3)
    with Project(d) as p:
        p.import_sends(made["sends"])
        p.import_file("orders", made["orders"], reference_time=dt.datetime(2027, 1, 1))
    pages = {}
    with Project(d, read_only=True) as p:
        for lang in ("zh", "en"):
            pages[lang] = p.report(d / f"report_{lang}.html", lang=lang)
    return d, demo.as_of, previous, pages


def test_report_figures_are_the_librarys(shop):
    d, as_of, previous, pages = shop
    page = pages["zh"]
    html = page.path.read_text("utf-8")
    assert page.bytes == page.path.stat().st_size <= LIMIT
    assert html.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in html
    assert "default-src 'none'" in html  # the page may not fetch anything
    data = _embedded(html)
    assert data["as_of"] == as_of.isoformat() and data["previous"] == previous.isoformat()
    assert data["absent"] == {} and all(data["sections"][s] is not None for s in SECTIONS)
    with Project(d, read_only=True) as p:
        # tiers: every scheme's rows, in the table as written
        value = p.store.value_by_label(as_of).to_pylist()
        tiers = data["sections"]["tiers"]["schemes"]
        assert len(value) == sum(len(s["labels"]) for s in tiers.values()) > 20
        for r in value:
            mine = next(x for x in tiers[r["scheme"]]["labels"] if x["label"] == r["label"])
            assert mine["customers"] == r["customers"]
            assert mine["value"] == pytest.approx(r["value"], rel=1e-12)
            row = (f'<td class="t">{r["label_zh"]}</td><td>{r["customers"]:,}</td>'
                   f'<td>{100 * r["customer_share"]:.1f}%</td><td>{r["value"]:,.2f}</td>'
                   f'<td>{100 * r["value_share"]:.1f}%</td>')  # fmt: skip
            assert row in html, row
        # movements
        moves = data["sections"]["moves"]["schemes"]
        for scheme in ("lifecycle", "quadrant", "intention"):
            cells = p.moves(scheme, previous, as_of, format="arrow").to_pylist()
            assert moves[scheme]["cells"] == cells
            assert moves[scheme]["customers"] == sum(c["customers"] for c in cells)
        # quadrant map
        prof = p.profiles(as_of)
        quad = data["sections"]["quadrant"]
        counts = prof["quadrant"].value_counts().to_dict()
        assert {lab["label"]: lab["customers"] for lab in quad["labels"]} == counts
        assert sum(len(lab["points"]) for lab in quad["labels"]) == quad["shown"]
        lines = p.fitted_state(as_of)["quadrant_lines"]["state"]
        assert quad["loyalty_threshold"] == lines["loyalty_threshold"]
        # CLV checks: the snapshot's model, and deciles of the backtest on the holdout
        clv = data["sections"]["clv"]
        assert clv["model"]["params"] == p.clv_meta(as_of)["model"]["params"]
        bt = p.backtest(previous, as_of).to_dict()
        assert _rounded(clv["clv_deciles"]) == _rounded(json.loads(json.dumps(bt["clv_deciles"])))
        # backtest table
        got = data["sections"]["backtest"]
        assert (got["cut"], got["until"]) == (previous.isoformat(), as_of.isoformat())
        assert [(r["scheme"], r["label"], r["customers"]) for r in got["labels"]] == [
            (r["scheme"], r["label"], r["customers"]) for r in bt["labels"]
        ]
        for r in bt["labels"]:
            zh = p.config.schemes[r["scheme"]].display(r["label"])[0]
            assert (f'<td class="t">{r["scheme"]}</td><td class="t">{zh}</td>'
                    f'<td>{r["customers"]:,}</td><td>{100 * r["repurchase_rate"]:.1f}%</td>'
                    ) in html  # fmt: skip
        # tag portraits
        dist = p.tag_distribution("lifecycle", as_of=as_of)
        for seg in data["sections"]["tags"]["segments"]:
            part = dist[dist.segment == seg["segment"]]
            assert seg["size"] == int(part.segment_size.iloc[0])
            assert [t["tag"] for t in seg["tags"]] == part.tag.head(len(seg["tags"])).tolist()
            assert seg["tags"][0]["customers"] == int(part.n_customers.iloc[0])
        # plans of the newest day and their uplift
        plans = {x["playbook"]: x for x in data["sections"]["plan"]["plans"]}
        assert set(plans) == {"default", "demo"}
        rows = p.store.read_plan(as_of, "default").to_pandas()
        sent = rows[(rows.status == "planned") & ~rows.control]
        assert plans["default"]["planned"] == len(sent)
        per_rule = sent.groupby("rule").size().to_dict()
        assert {r["rule"]: r["planned"] for r in plans["default"]["rules"]
                if r["planned"]} == per_rule  # fmt: skip
        lift = p.uplift("demo", since=as_of).rows
        mine = plans["demo"]["uplift"]["rows"]
        assert [(r["rule"], r["n_treated"], r["n_control"]) for r in mine] == [
            (r["rule"], r["n_treated"], r["n_control"]) for r in lift
        ]
        assert sum(r["n_treated"] for r in mine) > 100
    assert "客户分层报告" in html and "高价值客户" in html and "较上一快照的迁移" in html


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def test_entrance_and_distributors_are_the_librarys(shop):
    d, as_of, _previous, pages = shop
    html = pages["zh"].path.read_text("utf-8")
    sec = _embedded(html)["sections"]["entrance"]
    with Project(d, read_only=True) as p:
        kinds = p.entrance_report("kind", as_of)
        segments = p.entrance_report("segment", as_of)
        dist = p.distributors_report(as_of)
    assert len(kinds) >= 5 and len(segments) >= 3 and len(dist) >= 10
    assert _rounded(sec["kinds"]) == _rounded(json.loads(kinds.to_json(orient="records")))
    assert [r["segment"] for r in sec["segments"]] == segments["segment"].tolist()
    assert [r["customers"] for r in sec["segments"]] == segments["customers"].tolist()
    assert sum(r["customers"] for r in sec["kinds"]) == 800
    for r in kinds.to_dict("records"):
        cells = (f'<td>{r["customers"]:,}</td><td>{r["buyers"]:,}</td>'
                 f'<td>{_pct(r["conversion_rate"])}</td><td>{_pct(r["repeat_rate"])}</td>'
                 f'<td>{r["mean_clv"]:,.2f}</td><td>{r["revenue"]:,.2f}</td>')  # fmt: skip
        assert cells in html, cells
        mix = r["quadrant_mix"]
        assert sum(mix.values()) == pytest.approx(1, abs=1e-3)
    assert '<td class="t">投放 (UTM)</td>' in html and '<td class="t">母婴家长</td>' in html
    got = sec["distributors"]
    assert got["count"] == len(dist) and got["orders"] == int(dist["orders"].sum())
    assert got["revenue"] == pytest.approx(float(dist["revenue"].sum()))
    assert [r["distributor_id"] for r in got["top"]] == dist["distributor_id"].head(20).tolist()
    top = dist.iloc[0]
    assert (f'<td class="t">{top.distributor_id}</td><td>{top.customers:,}</td>'
            f"<td>{top.orders:,}</td><td>{top.revenue:,.2f}</td>") in html  # fmt: skip


def test_path_members_satisfaction_identity_are_the_librarys(shop):
    d, as_of, previous, pages = shop
    html = pages["zh"].path.read_text("utf-8")
    sec = _embedded(html)["sections"]
    charts = json.loads(re.search(
        r'<script type="application/json" id="tierwise-charts">(.*?)</script>', html, re.S
    ).group(1))  # fmt: skip
    with Project(d, read_only=True) as p:
        # the path's funnel, table and chart
        funnel = p.funnel(as_of, format="arrow").to_pylist()
        assert _rounded(sec["path"]["stages"]) == _rounded(funnel)
        assert [r["stage"] for r in funnel] == ["fan", "customer", "member", "lifetime", "koc"]
        assert funnel[0]["reached"] == 800 and funnel[1]["moved"] > 0
        for r in funnel:
            assert (
                f'<td class="t">{r["zh"]}</td><td>{r["at_stage"]:,}</td>'
                f"<td>{r['reached']:,}</td><td>{_pct(r['conversion_rate'])}</td>"
            ) in html
        bars = charts["chart-path-funnel"]["series"][1]["data"]
        assert [b["value"] for b in bars] == [r["reached"] for r in funnel]
        # member levels now, and changes since the previous snapshot from both profiles
        levels = p.member_levels(as_of, format="arrow").to_pylist()
        got = sec["members"]
        assert [(r["level"], r["customers"]) for r in got["levels"]] == [
            (r["level"], r["customers"]) for r in levels
        ]
        now = p.profiles(as_of).set_index("customer_id")["member_rank"]
        before = p.profiles(previous).set_index("customer_id")["member_rank"]
        assert got["members"] == int((now > 0).sum()) and got["non_members"] == int(
            (now == 0).sum()
        )
        was = before.reindex(now.index).fillna(0)
        expect = {
            "upgrade": int(((was > 0) & (now > was)).sum()),
            "downgrade": int(((now > 0) & (now < was)).sum()),
            "joined": int(((was == 0) & (now > 0)).sum()),
            "left": int(((was > 0) & (now == 0)).sum()) + int((before.index.difference(
                now.index)).size),
            "stayed": int(((was > 0) & (now == was)).sum()),
        }  # fmt: skip
        assert got["changes"] == expect and expect["upgrade"] > 0 and expect["downgrade"] > 0
        keys = ("upgrade", "downgrade", "joined", "left", "stayed")
        assert "".join(f"<td>{expect[k]:,}</td>" for k in keys) in html
        # satisfaction grades and the built-in segment
        prof = p.profiles(as_of)
        counts = prof["satisfaction_grade"].value_counts().to_dict()
        sat = sec["satisfaction"]
        assert {g["grade"]: g["customers"] for g in sat["grades"] if g["customers"]} == counts
        assert sat["ungraded"] == int(prof["satisfaction_grade"].isna().sum())
        seg = p.segment_count("dissatisfied_valuable", as_of)
        hand = int(
            ((prof.satisfaction_grade == "dissatisfied") & (prof.value_tier == "high")).sum()
        )
        assert sat["segment_customers"] == seg.customers == hand
        assert f'<b class="segment-count">{hand:,}</b>' in html
        # identity
        stats = p.resolve_identities().stats
        assert sec["identity"] == json.loads(json.dumps(stats))
        assert stats["merged_persons"] > 0
        assert (
            f'<td class="t">合并后的自然人 (多于一个账号)</td><td>{stats["merged_persons"]:,}</td>'
            in html
        )
    assert "成长路径" in html and "会员等级" in html and "满意度" in html and "身份合并" in html


def test_uplift_and_backtest_words_in_chinese(shop):
    _d, _as_of, _previous, pages = shop
    zh, en = (pages[k].path.read_text("utf-8") for k in ("zh", "en"))
    rows = _embedded(zh)["sections"]["plan"]["plans"]
    verdicts = {r["verdict"] for p in rows if p["uplift"] for r in p["uplift"]["rows"]}
    assert verdicts
    zh_verdict = {"helps": "有效", "harmful": "有害", "no evidence of an effect": "无明显效果",
                  "no data": "暂无数据"}  # fmt: skip
    for v in verdicts:
        assert f'<td class="t">{zh_verdict[v]}</td>' in zh
        assert f'<td class="t">{v}</td>' in en
    assert "置信区间" in zh and " CI " not in zh.split('id="tierwise-report-data"')[0]
    checks = [c for c in _embedded(zh)["sections"]["backtest"]["checks"]
              if c["status"] != "no customers"]  # fmt: skip
    assert checks
    assert '<td class="t">复购率</td>' in zh and '<td class="t">Repurchase rate</td>' in en
    with Project(_d, read_only=True) as p:
        spec = p.config.schemes["lifecycle"]
        hi, lo = (spec.display(x) for x in ("repeat", "new"))
    assert f'<td class="t">{hi[0]} &gt; {lo[0]}</td>' in zh
    assert f'<td class="t">{hi[1]} &gt; {lo[1]}</td>' in en
    flags = [r["flag"] for r in _embedded(zh)["sections"]["backtest"]["labels"] if r["flag"]]
    assert flags and all(f.split(" < ")[0] in ("repurchase", "orders", "revenue", "margin")
                         for f in flags)  # fmt: skip
    assert '<td class="t">复购率 &lt; ' in zh or '<td class="t">人均收入 &lt; ' in zh


def test_report_in_english_has_the_same_figures(shop):
    _d, _as_of, _previous, pages = shop
    zh, en = (pages[k].path.read_text("utf-8") for k in ("zh", "en"))
    assert '<html lang="en">' in en and pages["en"].bytes <= LIMIT
    # the same figures (sums of floats may differ in their last bits between two reads)
    assert _rounded(_embedded(en)) == _rounded(_embedded(zh))
    for words in ("Customer tiering report", "Tiers and their value share", "Quadrant map",
                  "CLV checks", "Tag portraits per segment", "Playbook plan and uplift",
                  "Backtest", "High-value", "Entrances: which bring customers who stay",
                  "Campaign (UTM)", "Distributors", "Member levels", "Satisfaction",
                  "Dissatisfied valuable customers", "Identity", "Merged persons"):  # fmt: skip
        assert words in en, words
    heads = re.findall(r"<h2>(.*?)</h2>", en)
    assert len(heads) == len(SECTIONS)
    assert not any(re.search(r"[\u4e00-\u9fff]", h) for h in heads)
    assert "客户分层报告" not in en


def test_empty_sections_say_why(tmp_path):
    d = tmp_path / "shop"
    run_demo(d, n_customers=300, seed=2)
    with Project(d, read_only=True) as p:
        made = p.report(tmp_path / "r.html", lang="en", backtest=False)
    html = made.path.read_text("utf-8")
    assert set(made.data.absent) == {"moves", "plan", "backtest"}
    assert '<p class="absent" data-absent="moves">' in html
    assert "No earlier snapshot to compare with" in html
    assert "No plan yet" in html and "No backtest in this report" in html
    # the CLV section still shows the model, and says its holdout check is missing
    assert "No holdout check" in html and "ParetoNBDModel" in html


def test_sections_without_data_say_why(tmp_path):
    """A shop without entrance, satisfaction, member levels, a path scheme or identities."""
    d = tmp_path / "shop"
    shop = generate_shop(300, seed=4)
    Project.init(d)
    cfg = d / CONFIG_FILE
    text = cfg.read_text("utf-8")
    lookback = "\n  lookback_days: 365"
    for old, new in (("entrance:\n  enabled: true", "entrance:\n  enabled: false"),
                     ("  enabled: true" + lookback, "  enabled: false" + lookback),
                     ("funnel:\n  scheme: path", "funnel:\n  scheme: journey")):  # fmt: skip
        assert old in text
        text = text.replace(old, new)
    cfg.write_text(text, encoding="utf-8")
    files = shop.write(d / "data", format="parquet")
    with Project(d) as p:
        for entity in ("customers", "orders", "events"):
            p.import_file(entity, files[entity])
        p.run(shop.as_of)
    with Project(d, read_only=True) as p:
        made = p.report(tmp_path / "r.html", lang="en", backtest=False)
        zh = p.report(tmp_path / "z.html", lang="zh", backtest=False)
    new = {"entrance", "path", "members", "satisfaction", "identity"}
    assert new <= set(made.data.absent)
    assert "journey" in made.data.absent["path"]
    html = made.path.read_text("utf-8")
    for name in new:
        assert f'<p class="absent" data-absent="{name}">' in html, name
    assert "The members step is off" in html and "No identities imported" in html
    assert "No entrance columns in this snapshot" in html
    assert "No satisfaction grades in this snapshot" in html
    assert "会员等级未开启" in zh.path.read_text("utf-8")


def test_report_command(shop, tmp_path):
    d, as_of, _previous, _pages = shop
    run = CliRunner()
    res = run.invoke(app, ["report", "-p", str(d), "--lang", "en", "--no-backtest",
                           "--out", str(tmp_path / "r.html"), "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    assert info["as_of"] == as_of.isoformat() and info["lang"] == "en"
    assert info["bytes"] == (tmp_path / "r.html").stat().st_size
    assert info["sections"]["backtest"] is False and info["sections"]["plan"] is True
    res = run.invoke(app, ["report", "-p", str(d), "--lang", "zh", "--no-backtest",
                           "--as-of", "2025-12-01", "--out", str(tmp_path / "z.html")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "2025-12-01" in res.output
    assert '<html lang="zh-CN">' in (tmp_path / "z.html").read_text("utf-8")
    res = run.invoke(app, ["report", "-p", str(d), "--lang", "fr", "--out", "x.html"])
    assert res.exit_code == 2 and "zh or en" in res.output
    res = run.invoke(app, ["report", "-p", str(d), "--as-of", "2025-11-11",
                           "--out", str(tmp_path / "n.html")])  # fmt: skip
    assert res.exit_code == 1 and "no snapshot as of 2025-11-11" in res.output


def test_report_opens_offline_in_chromium(shop):
    import playwright.sync_api as pw_api

    assert Path(CHROMIUM).exists(), "no Chromium at /usr/bin/chromium: run `make chromium`"
    _d, _as_of, _previous, pages = shop
    html = pages["zh"].path.read_text("utf-8")
    charts = len(json.loads(re.search(
        r'<script type="application/json" id="tierwise-charts">(.*?)</script>', html, re.S
    ).group(1)))  # fmt: skip
    outside: list[str] = []
    problems: list[str] = []

    def record(route):
        url = route.request.url
        if not url.startswith(("file://", "data:")):
            outside.append(url)
            route.abort()
        else:
            route.continue_()

    with pw_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            # the page's own policy forbids requests; bypass it, so the route sees any the
            # page would make
            ctx = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
            ctx.route("**/*", record)
            page = ctx.new_page()
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.goto(pages["zh"].path.resolve().as_uri())
            page.wait_for_function("document.documentElement.dataset.charts !== undefined")
            drawn = page.evaluate("Number(document.documentElement.dataset.charts)")
            svgs = page.locator(".chart svg").count()
            scatter_points = page.locator("#chart-quadrant svg path").count()
            funnel_bars = page.locator("#chart-path-funnel svg path").count()
            funnel_text = page.locator("#chart-path-funnel svg text").all_text_contents()
            title = page.locator("h1").inner_text()
            axis_text = page.locator("#chart-tiers-lifecycle svg text").all_text_contents()
            body = page.locator("main").inner_text()
        finally:
            browser.close()
    assert outside == [] and problems == []
    assert drawn == svgs == charts >= 12
    assert scatter_points > 0
    assert funnel_bars >= 5 and "粉丝" in funnel_text and "KOC" in funnel_text
    assert title == "客户分层报告"
    assert "高价值客户" in " ".join(axis_text)
    assert (
        "分层与价值占比" in body
        and "四象限图" in body
        and "成长路径" in body
        and "身份合并" in body
    )


@pytest.mark.slow
def test_report_of_the_20k_demo_shop_is_small(tmp_path):
    d = tmp_path / "shop"
    demo = run_demo(d, n_customers=20_000, seed=7)
    with Project(d) as p:
        p.run(demo.as_of - dt.timedelta(days=30))
        p.plan(demo.as_of)
        made = p.report(tmp_path / "r.html")
    assert made.bytes <= LIMIT and made.data.absent == {}
    assert made.data.customers == 20_000
