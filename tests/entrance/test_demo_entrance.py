"""Planted entrances and distributors in the demo shop, recovered by the step and the reports."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from tierwise.cli import app
from tierwise.demo import generate_shop
from tierwise.demo.entrance import ENTRANCES, plant_entrance
from tierwise.demo.run import run_demo
from tierwise.project import Project
from tierwise.schema import CUSTOMERS, EVENTS, ORDERS

runner = CliRunner()


def test_planting_touches_no_column_a_feature_reads():
    shop = generate_shop(600, seed=3)
    planted = plant_entrance(shop, seed=3)
    assert planted.customers.schema == CUSTOMERS.arrow_schema()
    assert planted.orders.schema == ORDERS.arrow_schema()
    assert planted.events.schema == EVENTS.arrow_schema()
    assert planted.customers.drop(["attributes"]).equals(shop.customers.drop(["attributes"]))
    assert planted.orders.drop(["attributes"]).equals(shop.orders.drop(["attributes"]))
    added = planted.events.num_rows - shop.events.num_rows
    links = planted.extras["distributor_truth"].filter(
        pc.equal(planted.extras["distributor_truth"]["named_by"], "link"))  # fmt: skip
    assert added == links.num_rows > 0
    kinds = pc.value_counts(planted.events["event_type"]).to_pylist()
    assert {"values": "distributor_link", "counts": added} in kinds
    again = plant_entrance(shop, seed=3)
    assert again.customers.equals(planted.customers) and again.events.equals(planted.events)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("entrance") / "shop"
    run_demo(d, n_customers=1500, seed=5)
    return d


def test_entrance_step_recovers_the_planted_channels(demo):
    with Project(demo) as p:
        prof = p.profiles().set_index("customer_id")
    truth = pd.read_parquet(demo / "data" / "entrance_truth.parquet").set_index("customer_id")
    planted = truth[truth.planted_channel.notna()]
    got = prof.loc[planted.index, "entrance_channel"]
    agree = (got == planted.planted_channel).mean()
    assert agree >= 0.85, agree
    referred = truth[truth.planted_kind == "referral"].index
    assert (prof.loc[referred, "entrance_kind"] == "referral").mean() >= 0.95
    assert set(ENTRANCES) <= set(prof.entrance_channel)


def test_entrance_report_finds_the_loyal_entrances(demo):
    with Project(demo) as p:
        rep = p.entrance_report("kind").set_index("kind")
        by_seg = p.entrance_report("segment")
    assert rep.customers.sum() == 1500
    tf = rep.quadrant_mix.map(lambda m: m.get("true_friend", 0.0))
    # planted: store live-codes and stores bring loyal archetypes, ads the fickle ones
    assert tf["qr_code"] > tf["utm"] and tf["offline_store"] > tf["utm"]
    assert rep.loc["qr_code", "repeat_rate"] > rep.loc["utm", "repeat_rate"]
    assert by_seg.customers.sum() == 1500 and "baby_parent" in set(by_seg.segment)


def test_distributors_recover_the_planted_attribution(demo):
    with Project(demo) as p:
        orders = p.distributor_orders().set_index("order_id")
        report = p.distributors_report()
    truth = pd.read_parquet(demo / "data" / "distributor_truth.parquet").set_index("order_id")
    paid = truth.index.intersection(orders.index)
    named = truth.loc[paid][truth.loc[paid].named_by == "order"].index
    assert (orders.loc[named, "distributor_id"] == truth.loc[named, "distributor_id"]).all()
    assert (orders.loc[named, "attribution"] == "order").all()
    linked = truth.loc[paid][truth.loc[paid].named_by == "link"].index
    hit = (orders.loc[linked, "distributor_id"] == truth.loc[linked, "distributor_id"]).mean()
    assert hit >= 0.8, hit
    mine = orders[orders.distributor_id.notna()]
    assert report.commission.sum() == pytest.approx(mine.commission.astype(float).sum(), abs=0.1)
    assert report.orders.sum() == len(mine)
    first = mine[mine.order_kind == "first"]
    assert (first.rate == 0.15).all() and (mine[mine.order_kind == "repeat"].rate == 0.05).all()
    assert report.influence_score.notna().any()


def test_reports_on_the_command_line(demo):
    res = runner.invoke(app, ["entrance", "report", "-p", str(demo), "--by", "segment",
                              "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert {r["segment"] for r in rows} >= {"other", "baby_parent"}
    assert set(rows[0]) >= {"customers", "conversion_rate", "repeat_rate", "mean_clv",
                            "quadrant_mix"}  # fmt: skip
    res = runner.invoke(app, ["entrance", "report", "-p", str(demo)], env={"COLUMNS": "250"})
    assert res.exit_code == 0 and "qr_code:门店海报活码" in res.output
    res = runner.invoke(app, ["distributors", "report", "-p", str(demo), "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert rows and set(rows[0]) >= {
        "distributor_id",
        "customers",
        "revenue",
        "repurchase_rate",
        "commission",
        "influence_score",
    }
    bad = runner.invoke(app, ["entrance", "report", "-p", str(demo), "--by", "city"])
    assert bad.exit_code == 1 and "--by must be one of" in bad.output
