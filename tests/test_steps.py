"""The run as steps: one contract, fitted state stored, reused on purpose, refused when stale."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from typer.testing import CliRunner

from tierwise.backends import duckdb_tables
from tierwise.cli import app
from tierwise.clv.quadrant import axis_line, two_means_line
from tierwise.config import Config
from tierwise.demo.run import run_demo
from tierwise.errors import FittedStateError, TierwiseError
from tierwise.project import Project
from tierwise.schemes.rfm import RFMBinner
from tierwise.steps import Step, known_steps, load_step
from tierwise.steps.clv import clv_inputs, margin_rates
from tierwise.store import Store
from tinyshop import insert, order

EARLY = dt.date(2025, 9, 30)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    d = tmp_path_factory.mktemp("steps") / "shop"
    result = run_demo(d, n_customers=800, seed=5)
    return d, result.as_of


def test_every_shipped_step_follows_the_contract():
    assert set(known_steps()) >= {"features", "influence", "tags", "clv", "quadrant_lines",
                                  "rfm", "schemes"}  # fmt: skip
    for name in known_steps():
        step = load_step(name)
        assert isinstance(step, Step) and step.name == name
        if step.section:
            assert step.config_block(Config.default()) is not None


def test_rfm_binner_can_be_cloned():
    binner = RFMBinner(quantiles=(0.25, 0.5, 0.75), fixed_edges={"orders": [1, 2, 3]})
    copy = clone(binner)
    assert copy.get_params() == binner.get_params() and not hasattr(copy, "edges_")


def test_two_means_line_splits_between_the_groups():
    values = np.array([0.0] * 6 + [1.0, 2.0, 10.0, 11.0, 12.0])
    assert two_means_line(values) == 2.0
    assert two_means_line(np.array([5.0, 5.0])) == 5.0


def test_a_degenerate_median_is_replaced_and_said():
    rng = np.random.default_rng(0)
    values = np.concatenate([np.zeros(600), rng.uniform(0.2, 1.0, 400)])
    line, how = axis_line("auto", values, "loyalty_threshold", tie_share=0.2)
    assert line > 0.0 and how.startswith("2-means split (the median 0 held 60% of the buyers")
    smooth = rng.uniform(0, 1, 1000)
    assert axis_line("auto", smooth, "x")[1] == "median"
    assert axis_line("auto", smooth, "x")[0] == pytest.approx(np.median(smooth))
    assert axis_line(0.5, smooth, "x") == (0.5, "fixed")


def test_one_margin_rate_for_run_and_clv_fit():
    store = Store(":memory:")
    insert(store, "customers", [{"customer_id": "a"}])
    insert(store, "orders", [order("o1", "a", "2024-01-02 10:00", 100.0, gross_margin=30.0),
                             order("o2", "a", "2024-03-02 10:00", 100.0)])  # fmt: skip
    inputs = clv_inputs(duckdb_tables(store)["orders"], dt.date(2024, 6, 30)).to_pandas()
    assert margin_rates(inputs)["a"] == pytest.approx(0.30)


def test_fitted_state_is_stored_and_reused_on_purpose(shop):
    d, as_of = shop
    with Project(d) as p:
        first = p.run(EARLY)
        assert set(first.fitted) == {"clv", "quadrant_lines", "rfm"}
        assert all(e["fitted_on"] == EARLY.isoformat() and not e["reused"]
                   for e in first.fitted.values())  # fmt: skip
        later = p.run(as_of, fit_from=EARLY)
        assert later.rfm.edges_ == first.rfm.edges_
        assert later.clv.model.params_ == first.clv.model.params_
        assert later.scheme_params["quadrant"] == first.scheme_params["quadrant"]
        assert all(e["reused"] and e["fitted_on"] == EARLY.isoformat()
                   for e in later.fitted.values())  # fmt: skip
        stored = p.fitted_state(as_of)
        assert stored["rfm"]["state"]["edges"] == first.rfm.edges_
        # the evidence of a quadrant label shows the reused lines
        labels = p.labels(as_of)
        quad = labels[labels.scheme == "quadrant"].evidence.map(json.loads).iloc[0]
        lines = first.scheme_params["quadrant"]
        assert quad["params"]["loyalty_threshold"] == lines["loyalty_threshold"]
        refit = p.run(as_of)
        assert refit.rfm.edges_ != first.rfm.edges_
        assert not any(e["reused"] for e in refit.fitted.values())


def test_reuse_latest_in_the_config(shop):
    d, as_of = shop
    with Project(d) as p:
        p.run(EARLY, refit=True)
        p.config = p.config.with_overrides({"run": {"fit": "reuse_latest"}})
        later = p.run(as_of)
        assert later.fitted["rfm"]["reused"] and later.fitted["rfm"]["fitted_on"] == "2025-09-30"
        assert not p.run(as_of, refit=True).fitted["rfm"]["reused"]


def test_state_from_another_config_block_is_refused(shop):
    d, as_of = shop
    with Project(d) as p:
        p.run(EARLY, refit=True)
        p.config = p.config.with_overrides({"rfm": {"quantiles": [0.25, 0.5, 0.75]}})
        with pytest.raises(FittedStateError, match=r"step 'rfm' was fitted under another `rfm`"):
            p.run(as_of, fit_from=EARLY)
        with pytest.raises(TierwiseError, match="no snapshot as of 2020-01-01"):
            p.run(as_of, fit_from=dt.date(2020, 1, 1))


def test_a_snapshot_without_state_says_refit(shop):
    d, as_of = shop
    with Project(d) as p:
        p.run(EARLY, refit=True)
        meta = p.store.snapshot_meta(EARLY)
        del meta["fitted"]
        p.store.con.execute("UPDATE snapshots SET config = ? WHERE as_of = ?",
                            [json.dumps(meta), EARLY])  # fmt: skip
        with pytest.raises(FittedStateError, match=r"no stored fitted state.*--refit"):
            p.run(as_of, fit_from=EARLY)


def test_cli_reuse_fit_and_notes(shop):
    d, _ = shop
    runner = CliRunner()
    env = {"COLUMNS": "100"}
    assert runner.invoke(app, ["run", "-p", str(d), "--as-of", str(EARLY), "--refit"],
                         env=env).exit_code == 0  # fmt: skip
    result = runner.invoke(app, ["run", "-p", str(d), "--reuse-fit", str(EARLY)], env=env)
    assert result.exit_code == 0, result.output
    assert "rfm: reused the state fitted on 2025-09-30" in result.output
    bad = runner.invoke(app, ["run", "-p", str(d), "--reuse-fit", "2001-01-01"], env=env)
    assert bad.exit_code == 1 and "no snapshot as of 2001-01-01" in bad.output


def test_a_run_before_any_data_stores_nothing(shop):
    d, _ = shop
    with Project(d) as p:
        before = p.snapshots()
        with pytest.raises(TierwiseError, match="is before the first order or event"):
            p.run(dt.date(2000, 1, 1))
        assert p.snapshots() == before


def test_quadrant_lines_on_a_shop_of_one_time_buyers_are_not_zero():
    rng = np.random.default_rng(1)
    axes = pd.DataFrame({"expected_loyalty": np.r_[np.zeros(700), rng.uniform(0.1, 0.9, 300)],
                         "potential_profit": rng.gamma(2.0, 50.0, 1000)})  # fmt: skip
    from tierwise.steps.quadrant_lines import learn_lines

    lines = learn_lines(axes, Config.default().quadrant_lines)
    assert lines["loyalty_threshold"] > 0 and lines["loyalty_line_method"].startswith("2-means")
    assert lines["profit_line_method"] == "median"


def test_kill_during_a_run_keeps_the_previous_snapshot(shop):
    import os
    import signal
    import subprocess
    import sys
    import textwrap

    d, as_of = shop
    with Project(d) as p:
        p.run(EARLY, refit=True)
        before = p.snapshots()
        early = p.profiles(EARLY, format="arrow")
        labels = len(p.labels(EARLY))
    day = as_of - dt.timedelta(days=1)
    script = textwrap.dedent(f"""
        import datetime, time
        import tierwise.project as project
        from tierwise.project import Project

        real = project.labels_query

        def stall(*args, **kwargs):
            print("writing", flush=True)  # inside the snapshot's transaction
            time.sleep(60)
            return real(*args, **kwargs)

        project.labels_query = stall
        Project({str(d)!r}).run(datetime.date.fromisoformat({day.isoformat()!r}), refit=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "writing"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    with Project(d) as p:
        assert p.snapshots() == before and day not in p.snapshots()
        assert p.profiles(EARLY, format="arrow").equals(early)
        assert len(p.labels(EARLY)) == labels
        assert f"profiles_{day:%Y%m%d}" not in {r[0] for r in p.store.con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()}  # fmt: skip


def test_frames_from_python_live_in_the_store_until_the_run_is_done(shop):
    from tierwise.steps.runner import run_steps

    d, as_of = shop
    with Project(d) as p:
        t = duckdb_tables(p.store)
        frames = ("SELECT count(*) FROM duckdb_tables() "
                  "WHERE temporary AND table_name LIKE '_tw_frame_%'")  # fmt: skip
        outcome = run_steps(t, as_of, p.config, base_dir=d)
        # influence, tags, CLV, satisfaction, entrance and member levels hand their frames over
        assert p.store.one(frames)[0] >= 5
        assert outcome.profile.count().execute() == t["customers"].count().execute()
        outcome.release()
        assert p.store.one(frames)[0] == 0
        p.run(as_of)
        assert p.store.one(frames)[0] == 0
