"""The backtest: labels as of a cut measured on the orders after it (CDNOW sample, demo shop)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tierwise.backtest import compare
from tierwise.cli import app
from tierwise.config import Config
from tierwise.errors import ConfigError, TierwiseError
from tierwise.project import Project

CDNOW = Path(__file__).parent / "data" / "cdnow_sample.txt"
CUT, UNTIL = dt.date(1997, 9, 30), dt.date(1998, 6, 30)


def _cdnow_orders() -> pd.DataFrame:
    raw = pd.read_csv(CDNOW, sep=r"\s+", header=None, names=["master", "cid", "date", "cds", "usd"])
    return pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(len(raw))],
            "customer_id": raw.cid.astype(str),
            "paid_at": pd.to_datetime(raw.date.astype(str), format="%Y%m%d"),
            "amount": raw.usd,
            "item_count": raw.cds,
            "status": "paid",
        }
    )


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory):
    p = Project.init(tmp_path_factory.mktemp("cdnow") / "shop")
    p.import_frame("orders", _cdnow_orders(), source="CDNOW_sample")
    yield p
    p.close()


@pytest.fixture(scope="module")
def result(cdnow):
    return cdnow.backtest(CUT, UNTIL)


def test_holdout_outcomes_are_the_papers_figures(result):
    # weeks 40-78 of the BG/NBD paper: 1,882 repeat purchases (same-day merged)
    assert result.customers.holdout_purchase_days.sum() == 1882
    assert len(result.customers) == 2357
    assert result.calibration["actual_purchases"] == 1882
    # the model's conditional expectation over the holdout (Pareto/NBD, as `clv validate`)
    assert result.calibration["predicted_purchases"] == pytest.approx(1665.5, abs=0.5)


def test_label_table_counts_every_customer_once_per_exclusive_scheme(result):
    quadrant = result.labels[result.labels.scheme == "quadrant"]
    assert quadrant.customers.sum() == 2357
    rfm = result.labels[(result.labels.scheme == "rfm_group") & (result.labels.customers > 0)]
    assert rfm.customers.sum() == 2357
    row = rfm.set_index("label").loc["champions"]
    members = result.customers[result.customers.rfm_group == "champions"]
    assert row.repurchase_rate == pytest.approx((members.holdout_orders > 0).mean())
    assert row.revenue_per_customer == pytest.approx(members.holdout_revenue.mean())


def test_declared_orderings_are_checked_with_their_noise(result):
    checks = result.checks
    value = checks[(checks.scheme == "value_tier") & (checks.metric == "revenue_per_customer")]
    assert value.status.tolist() == ["holds"]
    loyalty = checks[(checks.scheme == "quadrant") & (checks.higher == "true_friend+barnacle")]
    assert loyalty.status.tolist() == ["holds"]
    assert set(checks.status) <= {"holds", "within noise", "contradicted", "no customers"}
    assert (checks.dropna(subset=["margin95"]).margin95 > 0).all()


def test_compare_flags_only_outside_the_interval():
    rng = np.random.default_rng(3)
    a, b = pd.Series(rng.normal(10, 1, 400)), pd.Series(rng.normal(11, 1, 400))
    assert compare(a, b)["status"] == "contradicted"
    assert compare(b, a)["status"] == "holds"
    assert compare(a, a + rng.normal(0, 0.01, 400))["status"] == "within noise"
    assert compare(a, pd.Series([], dtype=float))["status"] == "no customers"


def test_clv_deciles_rise_and_capture_the_top(result):
    deciles = result.clv_deciles
    assert deciles.customers.sum() == 2357 and len(deciles) == 10
    revenue = deciles.revenue_per_customer.to_numpy()
    # one-time buyers are valued on their first purchase: the low deciles are no longer flat
    assert revenue[:5].mean() < revenue[5:8].mean() < revenue[8:].mean()
    assert result.calibration["spearman_clv_revenue"] > 0.42
    assert 0.45 < result.calibration["top_decile_capture"] < 0.6


def test_p_alive_and_p_purchase_are_calibrated_against_the_holdout(result):
    alive = result.p_alive_deciles
    # nobody buys without being alive: P(alive) of the long-silent repeat buyers is too low
    assert result.calibration["p_alive_below_repurchase"] == ["decile 1"]
    assert alive.repurchase_rate.iloc[0] > alive.p_alive.iloc[0]
    # the probability of a purchase in the holdout ranks buyers better than P(alive)
    cal = result.calibration
    assert cal["spearman_p_purchase_repurchase"] > cal["spearman_p_alive_repurchase"] + 0.03
    assert (alive.p_purchase <= alive.p_alive + 1e-12).all()


def test_orders_after_the_cut_change_nothing_in_the_cuts_labels(tmp_path):
    orders = _cdnow_orders()
    after_cut = orders.paid_at >= pd.Timestamp(CUT + dt.timedelta(days=1))
    early, later = orders[~after_cut], orders[after_cut]
    p = Project.init(tmp_path / "shop")
    p.import_frame("orders", early, source="early")
    before = p.backtest(CUT, dt.date(1997, 10, 1)).customers
    extra = pd.DataFrame({"order_id": ["x1", "x2"], "customer_id": ["1", "new-after-cut"],
                          "paid_at": pd.to_datetime(["1997-10-01", "1997-10-02"]),
                          "amount": [99.0, 5.0], "item_count": [1, 1],
                          "status": "paid"})  # fmt: skip
    p.import_frame("orders", pd.concat([later, extra]), source="later")
    after = p.backtest(CUT, UNTIL).customers
    p.close()
    assert list(before.index) == list(after.index)  # the new customer is not in the cut's run
    columns = [c for c in before.columns if not c.startswith("holdout_") and c != "bought"]
    pd.testing.assert_frame_equal(before[columns], after[columns])
    assert after.loc["1", "holdout_orders"] >= 1


def test_bad_days_are_refused(cdnow):
    with pytest.raises(TierwiseError, match="must end after the cut"):
        cdnow.backtest(CUT, CUT)
    with pytest.raises(TierwiseError, match="no data up to the cut"):
        cdnow.backtest(dt.date(1990, 1, 1), UNTIL)


def test_expectations_are_validated():
    cfg = Config.default()
    with pytest.raises(ConfigError, match=r"expect\[0\] names champs"):
        cfg.with_overrides(
            {"schemes": {"rfm_group": {"expect": [{"metric": "repurchase_rate",
                                                   "order": ["champs", "loyal"]}]}}}
        )  # fmt: skip
    with pytest.raises(ConfigError, match="either order or higher/lower"):
        cfg.with_overrides(
            {"schemes": {"value_tier": {"expect": [{"metric": "repurchase_rate",
                                                    "order": ["high", "low"], "higher": "high"}]}}}
        )  # fmt: skip
    with pytest.raises(ConfigError, match="metric"):
        cfg.with_overrides(
            {"schemes": {"value_tier": {"expect": [{"metric": "happiness", "higher": "high",
                                                    "lower": "low"}]}}}
        )  # fmt: skip


def test_the_cli_prints_tables_and_json(cdnow):
    runner = CliRunner()
    args = ["backtest", "--cut", "1997-09-30", "--until", "1998-06-30", "-p", str(cdnow.directory)]
    shown = runner.invoke(app, [*args, "--scheme", "quadrant"], env={"COLUMNS": "80"})
    assert shown.exit_code == 0, shown.output
    assert "true_friend" in shown.output and "CLV deciles" in shown.output
    assert max(len(line) for line in shown.stdout.splitlines()) <= 80
    data = runner.invoke(app, [*args, "--json"])
    assert data.exit_code == 0, data.output
    doc = json.loads(data.stdout)
    assert doc["holdout_buyers"] == 684 and len(doc["clv_deciles"]) == 10
    assert {"labels", "checks", "calibration", "contradictions"} <= set(doc)
    bad = runner.invoke(app, ["backtest", "--cut", "1997-13-01", "-p", str(cdnow.directory)])
    assert bad.exit_code == 1 and "not a date" in bad.output


def test_demo_shop_backtest(demo_store, tmp_path):
    store, as_of = demo_store
    p = Project.init(tmp_path / "demo")
    for entity in ("customers", "orders", "events"):
        p.import_frame(entity, store.read(entity), source="demo")
    result = p.backtest(as_of - dt.timedelta(days=120), as_of)
    p.close()
    margin = result.checks[(result.checks.scheme == "quadrant")
                           & (result.checks.higher == "true_friend+butterfly")]  # fmt: skip
    assert margin.status.tolist() == ["holds"]
    held = result.customers
    assert held.holdout_margin.sum() <= held.holdout_revenue.sum()
    assert result.calibration["spearman_clv_revenue"] > 0.2


def test_new_labels_without_expectations_drop_the_old_ones(tmp_path):
    f = tmp_path / "t.yaml"
    f.write_text(
        "schemes:\n  value_tier:\n    labels:\n"
        "      - {id: big, zh: 大, en: Big, when: 'orders >= 3'}\n",
        encoding="utf-8",
    )
    from tierwise.config import load_config

    assert load_config(f).schemes["value_tier"].expect == []
    assert len(load_config(None).schemes["value_tier"].expect) == 2
