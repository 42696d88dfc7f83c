"""The plan, uplift and model routes: figures as the library gives them, scopes, and the
404/409/422 answers."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from service_testkit import Api

ROUTES = ["/v1/plan/runs", "/v1/plan/summary", "/v1/uplift", "/v1/models/clv",
          "/v1/models/backtest"]  # fmt: skip


@pytest.fixture(scope="module")
def api(planned_project_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("plan-api") / "shop"
    d.mkdir()
    for name in ("tierwise.yaml", "tierwise.duckdb", "playbooks.yaml"):
        shutil.copy(planned_project_dir / name, d / name)
    a = Api(d)
    yield a
    a.app.state.backtests.wait()
    a.close()


@pytest.mark.parametrize("path", ROUTES)
def test_new_routes_need_a_reading_key(api, path):
    assert api.client.get(path).status_code == 401
    assert api.get(path, role="writer").status_code == 403
    assert api.client.post("/v1/models/backtest", headers=api.h("writer")).status_code == 403


def test_plan_runs_and_summary_match_the_stored_plan(api):
    runs = api.get("/v1/plan/runs").json()["plans"]
    assert [(r["playbook"], r["as_of"]) for r in runs] == [("default", "2025-12-31"),
                                                           ("demo", "2025-12-31")]  # fmt: skip
    s = api.get("/v1/plan/summary").json()
    assert s["playbook"] == "default" and s["as_of"] == "2025-12-31"
    stored = api.get("/v1/plan?playbook=default").json()
    assert s["counts"] == {k: stored["counts"].get(k, 0) for k in s["counts"]}
    assert s["rows"] == stored["total"] == sum(s["counts"].values())
    rows = api.project.store.read_plan(dt.date(2025, 12, 31), "default").to_pandas()
    for status in ("planned", "suppressed", "control"):
        assert sum(r[status] for r in s["rules"]) == (rows.status == status).sum()
    one = next(r for r in s["rules"] if r["suppressed"])
    mine = rows[(rows.rule == one["rule"]) & (rows.channel == one["channel"])]
    want = mine[mine.status == "suppressed"].reason.value_counts().to_dict()
    assert one["reasons"] == want and sum(one["reasons"].values()) == one["suppressed"]
    assert s["cost"] == pytest.approx(rows.loc[rows.status == "planned", "cost"].sum())
    assert s["customers"] == rows.loc[rows.status == "planned", "customer_id"].nunique()
    demo = api.get("/v1/plan/summary?playbook=demo&as_of=2025-12-31").json()
    assert demo["playbook"] == "demo" and any(r["rule"] == "kol_discount" for r in demo["rules"])


def test_plan_summary_answers_404_and_422(api):
    r = api.get("/v1/plan/summary?playbook=nope")
    assert r.status_code == 404 and "default@2025-12-31" in r.json()["detail"]
    assert api.get("/v1/plan/summary?as_of=2020-01-01").status_code == 404
    r = api.get("/v1/plan/summary?as_of=yesterday")
    assert r.status_code == 422 and "as_of" in r.json()["detail"]


def test_uplift_is_the_librarys(api):
    u = api.get("/v1/uplift?playbook=demo&since=2025-12-31").json()
    lib = api.project.uplift("demo", since=dt.date(2025, 12, 31))
    assert [(r["rule"], r["n_treated"], r["n_control"], r["verdict"]) for r in u["rows"]] == [
        (r["rule"], r["n_treated"], r["n_control"], r["verdict"]) for r in lib.rows
    ]
    assert u["sent"] == sum(r["n_treated"] for r in lib.rows) > 0
    assert u["level"] == 0.95 and u["window_days"] == 30
    assert api.get("/v1/uplift?playbook=demo").json()["since"] == "2025-12-31"
    assert api.get("/v1/uplift").json()["sent"] == 0  # the default plan was not sent
    assert api.get("/v1/uplift?playbook=nope").status_code == 404
    assert api.get("/v1/uplift?playbook=demo&since=2026-06-01").status_code == 404
    assert api.get("/v1/uplift?playbook=demo&window_days=0").status_code == 422
    assert api.get("/v1/uplift?playbook=demo&level=1.5").status_code == 422


def test_clv_model_is_the_snapshots_fit(api):
    m = api.get("/v1/models/clv").json()
    meta = api.project.clv_meta()
    assert m["as_of"] == "2025-12-31" and m["fitted"]
    assert m["model"]["name"] == meta["model"]["name"]
    assert m["model"]["params"] == pytest.approx(meta["model"]["params"])
    assert m["model"]["standard_errors"] == pytest.approx(meta["model"]["standard_errors"])
    assert m["quadrant_lines"]["loyalty_threshold"] is not None
    r = api.get("/v1/models/clv?as_of=2020-01-01")
    assert r.status_code == 404 and "2025-12-31" in r.json()["detail"]


def test_backtest_runs_in_the_background_once_at_a_time(api):
    assert api.get("/v1/models/backtest").status_code == 404
    bad = api.post("/v1/models/backtest", role="reader", json={"cut": "2026-01-05"})
    assert bad.status_code == 422 and "after the cut" in bad.json()["detail"]
    early = api.post("/v1/models/backtest", role="reader", json={"cut": "2020-01-01"})
    assert early.status_code == 422 and "no data up to" in early.json()["detail"]
    started = api.post("/v1/models/backtest", role="reader")
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["status"] == "running" and job["cut"] == "2025-10-02"
    busy = api.post("/v1/models/backtest", role="reader")
    assert busy.status_code == 409
    assert api.get("/v1/snapshots").status_code == 200  # the service keeps answering
    api.app.state.backtests.wait(120)
    done = api.get("/v1/models/backtest").json()
    assert done["status"] == "done", done["error"]
    lib = api.project.backtest(dt.date(2025, 10, 2), dt.date(2025, 12, 31)).to_dict()
    res = done["result"]
    assert res["customers"] == lib["customers"]
    assert res["calibration"]["actual_purchases"] == lib["calibration"]["actual_purchases"]
    assert [(r["scheme"], r["label"], r["customers"]) for r in res["labels"]] == [
        (r["scheme"], r["label"], r["customers"]) for r in lib["labels"]
    ]
    assert all(r["zh"] and r["en"] for r in res["labels"])


def test_clv_model_without_snapshots_is_404(tmp_path):
    from tierwise.project import Project

    Project.init(tmp_path / "empty").close()
    a = Api(tmp_path / "empty")
    try:
        assert a.get("/v1/models/clv").status_code == 404
        assert a.post("/v1/models/backtest", role="reader").status_code == 404
        r = a.get("/v1/plan/summary")
        assert r.status_code == 404 and "tierwise plan" in r.json()["detail"]
    finally:
        a.close()
