"""Playbooks on a tiered demo shop: the seeds' rules hold, lists and sends import safely, the
plan is stored, and uplift recovers the planted campaign effects."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from tierwise.cli import app
from tierwise.demo.campaigns import DEMO_EFFECTS, demo_playbooks, simulate_campaign
from tierwise.errors import ImportValidationError, StoreError
from tierwise.project import Project
from tierwise.schema import ENTITIES

runner = CliRunner()


def tw(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "100"})


@pytest.fixture(scope="module")
def shop(demo_shop, tmp_path_factory):
    """The 3,000-customer demo shop, tiered, with the demo playbook beside the default."""
    return _tiered_shop(demo_shop, tmp_path_factory.mktemp("playbooks") / "shop")


@pytest.fixture
def fresh_shop(demo_shop, tmp_path):
    """The same shop, untouched by the other tests (no consent, sends or extra plans)."""
    return _tiered_shop(demo_shop, tmp_path / "shop")


def _tiered_shop(demo_shop, d):
    import yaml

    p = Project.init(d)
    for entity in ENTITIES:
        p.store.con.register("_shop", getattr(demo_shop, entity))
        cols = ", ".join(f'"{c}"' for c in ENTITIES[entity].column_names)
        p.store.con.execute(f'INSERT INTO "{entity}" ({cols}) SELECT {cols} FROM _shop')
        p.store.con.unregister("_shop")
    p.run(demo_shop.as_of)
    (d / "playbooks.yaml").write_text(yaml.safe_dump(demo_playbooks()), encoding="utf-8")
    result = p.plan(demo_shop.as_of)
    p.close()
    return d, demo_shop, result


def test_default_plan_follows_the_seeds(shop):
    d, _demo, result = shop
    with Project(d, read_only=True) as p:
        prof = p.profiles().set_index("customer_id")
    rows = result.rows.to_pandas()
    planned = rows[rows.status == "planned"].merge(
        prof, left_on="customer_id", right_index=True, suffixes=("", "_p")
    )
    # do not wake the long-silent
    assert not (planned.intention == "long_silent").any()
    # no discount ads to those who share
    sharers = planned.behaviour_all.fillna("").str.contains(
        "kol|creator"
    ) | planned.general_tags_all.fillna("").str.contains("sharer")
    assert not planned[sharers].offer.isin(["discount", "coupon", "promotion"]).any()
    # self-directed: product information only, through their own channel
    own = planned[planned.behaviour_all.fillna("").str.contains("self_directed")]
    assert len(own) > 0 and (own.offer == "product_info").all()
    assert (own.channel == own.main_channel).all()
    # strangers: no spend
    assert (planned[planned.quadrant == "stranger"].cost == 0).all()
    # one action per customer and channel; nothing silently dropped
    assert not planned.duplicated(["customer_id", "channel"]).any()
    assert rows[rows.status == "suppressed"].reason.notnull().all()
    assert set(rows.status) == {"planned", "suppressed", "control"}
    ctrl = rows[rows.status == "control"]
    assert 0.05 < ctrl.customer_id.nunique() / rows.customer_id.nunique() < 0.15


def test_plan_is_stored_and_counts_for_the_caps_of_the_next(shop):
    d, demo, first = shop
    with Project(d) as p:
        runs = p.store.plan_runs("default")
        assert [r["as_of"] for r in runs] == [demo.as_of]
        stored = p.store.read_plan(demo.as_of, "default")
        assert stored.num_rows == first.rows.num_rows
        sms = {r["customer_id"] for r in first.rows.to_pylist()
               if r["status"] == "planned" and r["channel"] == "sms"}  # fmt: skip
        again = p.plan(demo.as_of, playbook="demo", write=False)
    capped = {r["customer_id"] for r in again.rows.to_pylist()
              if r["channel"] == "sms" and r["reason"] == "cap"}  # fmt: skip
    planned = {r["customer_id"] for r in again.rows.to_pylist()
               if r["channel"] == "sms" and r["status"] == "planned"}  # fmt: skip
    assert not (planned & sms)  # last plan's sms customers are within the one-a-week cap
    assert capped & sms


def test_consent_file_suppresses_and_bad_rows_write_nothing(shop, tmp_path):
    d, _, result = shop
    planned = [r for r in result.rows.to_pylist() if r["status"] == "planned"]
    a, b = planned[0]["customer_id"], planned[1]["customer_id"]
    bad = tmp_path / "optout_bad.csv"
    bad.write_text(f"customer_id,channel,reason,date\n{a},all,asked,2025-12-01\n"
                   f",sms,x,2025-12-01\n{b},smss,x,2025-12-01\n{b},sms,x,31/12/2025\n",
                   encoding="utf-8")  # fmt: skip
    with Project(d) as p, pytest.raises(ImportValidationError) as exc:
        p.import_consent(bad, kind="opt_out")
    msg = str(exc.value)
    assert "3 of 4 rows are bad; nothing was imported" in msg
    assert "row 3: customer_id: empty" in msg
    assert "row 4: channel: unknown channel 'smss' (did you mean sms?)" in msg
    assert "row 5: date: '31/12/2025' is not a date" in msg
    with Project(d, read_only=True) as p:
        assert p.store.read_consent().num_rows == 0
    res = tw("consent", "import", bad, "-p", d, "--kind", "opt_out", "--quarantine")
    assert res.exit_code == 0, res.output
    assert "4 read, 1 kept, 3 rejected (quarantined in" in res.output
    with Project(d) as p:
        assert p.store.read_consent().column("customer_id").to_pylist() == [a]
        again = p.plan(result.as_of, write=False)
    mine = [r for r in again.rows.to_pylist() if r["customer_id"] == a]
    assert mine and all(r["reason"] == "opt_out" or r["status"] != "planned" for r in mine)
    assert any(r["reason"] == "opt_out" for r in mine)


def test_send_file_for_unknown_customers_is_refused(shop, tmp_path):
    d, _demo, _ = shop
    f = tmp_path / "sends.csv"
    f.write_text("customer_id,sent_at,playbook,action,channel\n"
                 "NOPE1,2026-01-01 09:00,default,hard_sell,sms\n"
                 "C000001,2026-01-01 09:00,default,hard_sel,sms\n", encoding="utf-8")  # fmt: skip
    with Project(d) as p:
        before = p.store.count("events")
    res = tw("sends", "import", f, "-p", d)
    assert res.exit_code == 1
    assert "no customer 'NOPE1' in the store" in res.output
    assert "playbook default has no action 'hard_sel' (did you mean hard_sell?)" in res.output
    with Project(d, read_only=True) as p:
        assert p.store.count("events") == before


def test_plan_and_playbook_commands(shop, tmp_path):
    d, demo, _ = shop
    res = tw("plan", "-p", d, "--as-of", demo.as_of, "--out", tmp_path / "plan.csv")
    assert res.exit_code == 0, res.output
    assert "plan default as of 2025-12-31" in res.output and "why not sent" in res.output
    assert (tmp_path / "plan.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    data = json.loads(tw("plan", "-p", d, "--json").output)
    assert data["counts"]["planned"] > 0
    assert data["actions"][0]["rule"] == "self_directed_channel_news"  # highest priority first
    res = tw("plan", "-p", d, "--playbook", "defualt")
    assert res.exit_code == 1 and "did you mean default?" in res.output
    assert tw("playbooks", "check", "-p", d).exit_code == 0
    res = tw("uplift", "-p", d, "--since", "2025-12-31", "--window", "-3d")
    assert res.exit_code == 1 and "positive number of days" in res.output


def test_uplift_recovers_the_planted_effects(fresh_shop):
    """The planted differences lie inside their 99 % intervals — of some thirty intervals at
    most one misses (0.3 misses are expected by chance; two or more happen 4 % of the time) —
    and the discount to KOLs is flagged as harmful at 95 %."""
    d, demo, _ = fresh_shop
    with Project(d) as p:
        # ten days after the default plan, so its sends are outside the demo's weekly cap
        plan = p.plan(demo.as_of, playbook="demo", send_at=dt.datetime(2026, 1, 10, 10))
        out = simulate_campaign(plan.rows, playbook="demo", as_of=demo.as_of, seed=5)
        p.import_frame("events", out.sends, reference_time=dt.datetime(2027, 1, 1))
        p.import_frame("orders", out.orders, reference_time=dt.datetime(2027, 1, 1))
        wide = {r["rule"]: r for r in p.uplift("demo", since=demo.as_of, level=0.99).rows}
        rows = {r["rule"]: r for r in p.uplift("demo", since=demo.as_of).rows}
    truth = {r["rule"]: r for r in out.truth.to_pylist()}
    checked, misses = 0, []
    for rule, r in wide.items():
        if r["n_control"] < 20:
            continue
        for key in ("conversion", "revenue", "margin"):
            if not r[f"{key}_low"] <= truth[rule][key] <= r[f"{key}_high"]:
                misses.append((rule, key, truth[rule][key], r[f"{key}_low"], r[f"{key}_high"]))
        checked += 1
    assert checked >= 8 and len(misses) <= 1, misses
    kol = rows["kol_discount"]
    assert kol["verdict"] == "harmful" and kol["margin_high"] < 0
    assert "no evidence of an effect" in kol["words"].split(";")[0]  # conversion unchanged
    assert DEMO_EFFECTS["kol_discount"].truth()["margin"] < 0
    assert rows["low_intention_soft_touch"]["verdict"] == "no evidence of an effect"
    assert rows["true_friend_care"]["verdict"] == "helps", rows["true_friend_care"]
    res = tw("uplift", "-p", d, "--playbook", "demo", "--since", "2025-12-31")
    assert res.exit_code == 0, res.output
    assert "kol_discount: conversion" in res.output and "harmful" in res.output
    data = json.loads(tw("uplift", "-p", d, "--playbook", "demo", "--since", "2025-12-31",
                         "--json").output)  # fmt: skip
    assert {r["rule"] for r in data} == set(rows)
    # a later plan of the same playbook that never went out adds no control customers
    later = demo.as_of + dt.timedelta(days=14)
    with Project(d) as p:
        p.run(as_of=later)
        p.plan(later, playbook="demo")
        again = p.uplift("demo", since=demo.as_of)
        only = p.uplift("demo", since=demo.as_of, plan_day=demo.as_of)
        with pytest.raises(StoreError, match="no plan of playbook 'demo' of"):
            p.uplift("demo", since=demo.as_of, plan_day=later - dt.timedelta(days=1))
    assert {r["rule"]: r["n_control"] for r in again.rows} == {
        r: v["n_control"] for r, v in rows.items()
    }
    assert any(str(later) in n and "left out" in n for n in again.notes), again.notes
    # the same customers (float sums may differ in their last bits between two queries)
    assert [(r["rule"], r["n_treated"], r["n_control"]) for r in only.rows] == [
        (r["rule"], r["n_treated"], r["n_control"]) for r in again.rows
    ]
    for a, b in zip(only.rows, again.rows, strict=True):
        assert a["margin_diff"] == pytest.approx(b["margin_diff"], rel=1e-9, abs=1e-9)
    res = tw("uplift", "-p", d, "--playbook", "demo", "--since", "2025-12-31",
             "--plan-day", str(demo.as_of), "--json")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert {r["rule"] for r in json.loads(res.stdout)} == set(rows)


def test_demo_campaign_writes_files_that_import(shop):
    d, _, _ = shop
    res = tw("demo-campaign", "-p", d, "--seed", 2)
    assert res.exit_code == 0, res.output
    res = tw("sends", "import", d / "data" / "sends.csv", "-p", d)
    assert res.exit_code == 0, res.output
    assert "0 rejected" in res.output and "0 quarantined" in res.output
    truth = (d / "data" / "campaign_truth.csv").read_text("utf-8-sig")
    assert truth.startswith('"rule","conversion","revenue","margin"') or "kol_discount" in truth


def test_a_rule_can_select_a_saved_segment(shop, tmp_path):
    """`{segment: NAME}` in a playbook resolves through the project's saved segments."""
    import shutil

    import yaml

    d, demo, _ = shop
    copy = tmp_path / "shop"
    shutil.copytree(d, copy)
    with Project(copy) as p:
        p.add_segment("big_spenders", "monetary_total > 3000 and orders >= 2")
        expected = set(p.segment("big_spenders").customer_id)
        book = {"playbooks": {"vip": {
            "zh": "大客户", "en": "VIPs", "control": {"share": 0.0, "salt": "vip"},
            "caps": [], "exclusions": [],
            "rules": [{"id": "vip_care", "when": {"segment": "big_spenders"}, "priority": 10,
                       "action": {"id": "care_call", "channel": "wecom", "offer": "care",
                                  "message": "vip.care", "cost": 0}}]}}}  # fmt: skip
        (copy / "playbooks.yaml").write_text(yaml.safe_dump(book), encoding="utf-8")
        rows = p.plan(demo.as_of, playbook="vip").rows.to_pandas()
    assert expected and set(rows.customer_id) == expected
    cli = tw("plan", "-p", copy, "--playbook", "vip", "--as-of", demo.as_of)
    assert cli.exit_code == 0, cli.output
    (copy / "playbooks.yaml").write_text(
        yaml.safe_dump(book).replace("big_spenders", "big_spender"), encoding="utf-8"
    )
    missing = tw("plan", "-p", copy, "--playbook", "vip", "--as-of", demo.as_of)
    assert missing.exit_code == 1 and "big_spender" in missing.output
