"""CLV through the project: CDNOW orders imported, then validated and fitted (known answers)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tierwise.cli import app
from tierwise.project import Project

CDNOW = Path(__file__).parent / "data" / "cdnow_sample.txt"


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory):
    raw = pd.read_csv(CDNOW, sep=r"\s+", header=None, names=["master", "cid", "date", "cds", "usd"])
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(len(raw))],
            "customer_id": raw.cid.astype(str),
            "paid_at": pd.to_datetime(raw.date.astype(str), format="%Y%m%d"),
            "amount": raw.usd,
            "item_count": raw.cds,
            "status": "paid",
        }
    )
    p = Project.init(tmp_path_factory.mktemp("cdnow") / "shop")
    report = p.import_frame("orders", orders, source="CDNOW_sample")
    assert report.rows_imported == 6919 and report.customers_created == 2357
    yield p
    p.close()


def test_holdout_matches_the_paper(cdnow, tmp_path):
    report = cdnow.clv_validate(
        dt.date(1997, 9, 30), dt.date(1998, 6, 30), model="bgnbd", plots_dir=tmp_path
    )
    assert report.calibration_actual == 2457 and report.holdout_actual == 1882
    assert report.params["r"] == pytest.approx(0.243, abs=1e-3)
    assert -5.0 < report.cumulative_error_pct < -3.0  # the paper: about 4 % under
    assert len(list(tmp_path.glob("*.png"))) == 5


def test_fit_as_of_the_calibration_end_recovers_bgnbd(cdnow):
    result = cdnow.clv_fit(dt.date(1997, 9, 30), model="bgnbd")
    params = result.model.params_
    assert params["a"] == pytest.approx(0.793, abs=2e-3)
    assert params["b"] == pytest.approx(2.426, abs=1e-2)
    assert result.table.p_alive.between(0, 1).all() and result.table.clv.ge(0).all()


def test_the_cli_validates(cdnow):
    result = CliRunner().invoke(
        app,
        ["clv", "validate", "1997-09-30", "-p", str(cdnow.directory),
         "--observation-end", "1998-06-30", "--model", "paretonbd"],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "holdout_actual" in result.output and "1,882" in result.output


def test_validate_prints_parameters_and_honours_the_penalizer(cdnow):
    args = ["clv", "validate", "1997-09-30", "-p", str(cdnow.directory),
            "--observation-end", "1998-06-30", "--model", "bgnbd"]  # fmt: skip
    plain = CliRunner().invoke(app, args, env={"COLUMNS": "80"})
    assert plain.exit_code == 0, plain.output
    assert "fitted parameters" in plain.output and "0.2426" in plain.output  # r of the paper
    penalised = json.loads(CliRunner().invoke(app, [*args, "--penalizer", "0.5", "--json"]).output)
    unpenalised = json.loads(CliRunner().invoke(app, [*args, "--json"]).output)
    assert unpenalised["params"]["r"] == pytest.approx(0.243, abs=1e-3)
    assert penalised["params"]["r"] != pytest.approx(unpenalised["params"]["r"], abs=1e-3)
