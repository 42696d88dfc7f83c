"""Every command against bad arguments and bad states: one line `error: …`, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from typer.testing import CliRunner

from tierwise.cli import app
from tierwise.project import Project

runner = CliRunner()


def tw(*args: object):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "80"})


@pytest.fixture(scope="module")
def shops(tmp_path_factory):
    """An empty project, a project with data but no snapshot, and a demo shop with one."""
    root = tmp_path_factory.mktemp("failures")
    empty = Project.init(root / "empty").directory
    nosnap = Project.init(root / "nosnap").directory
    (root / "orders.csv").write_text(
        "order_id,customer_id,paid_at,amount,status\no1,c1,2025-01-05 10:00,10,paid\n",
        encoding="utf-8",
    )
    assert tw("import", "orders", root / "orders.csv", "-p", nosnap).exit_code == 0
    demo = root / "demo"
    assert tw("demo", demo, "--customers", 300, "--seed", 2).exit_code == 0
    return {"root": root, "empty": empty, "nosnap": nosnap, "demo": demo}


CASES = [
    (("run", "-p", "{root}/nowhere"), "is not a tierwise project"),
    (("run", "-p", "{empty}"), "no orders or events yet"),
    (("run", "-p", "{nosnap}", "--as-of", "2024-01-01"), "before the first order or event"),
    (("run", "-p", "{demo}", "--as-of", "31/12/2025"), "is not a date like 2025-12-31"),
    (("run", "-p", "{demo}", "--reuse-fit", "2001-01-01"), "no snapshot as of 2001-01-01"),
    (("show", "C1", "-p", "{nosnap}"), "no snapshot yet"),
    (("show", "C1", "-p", "{demo}", "--as-of", "2020-01-01"), "no snapshot as of 2020-01-01"),
    (("show", "nobody", "-p", "{demo}"), "no customer 'nobody'"),
    (
        ("export", "labels", "{root}/l.csv", "-p", "{demo}", "--as-of", "2020-01-01"),
        "no snapshot as of 2020-01-01",
    ),
    (("export", "profiles", "{root}/missing/p.csv", "-p", "{demo}"), "does not exist"),
    (("export", "profiles", "{root}/p.txt", "-p", "{demo}"), "unknown format"),
    (("export", "things", "{root}/x.csv", "-p", "{demo}"), "export takes profiles or labels"),
    (("snapshots", "-p", "{root}/nowhere"), "is not a tierwise project"),
    (("tags", "segments", "-p", "{demo}", "--as-of", "2020-01-01"), "no snapshot as of"),
    (("tags", "segments", "-p", "{demo}", "--by", "nope"), "no column 'nope'"),
    (("tags", "text", "{root}/none.csv"), "none.csv"),
    (("intention", "risers", "-p", "{empty}"), "no orders or events yet"),
    (("clv", "show", "-p", "{nosnap}"), "no snapshot yet"),
    (("clv", "fit", "-p", "{nosnap}"), "CLV skipped"),
    (("clv", "validate", "1997-13-01", "-p", "{demo}"), "is not a date"),
    (("import", "orders", "{root}/none.csv", "-p", "{demo}"), "none.csv"),
    (("import", "things", "{root}/orders.csv", "-p", "{demo}"), "things"),
    (("init", "{demo}"), "already holds a tierwise project"),
    (("run", "-p", "{demo}", "--engine", "oracle"), "engine must be duckdb or spark"),
    (("run", "-p", "{demo}", "--format", "xml"), "--format 'xml'"),
]


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(a[:2]) for a, _ in CASES])
def test_failure_is_one_line_without_traceback(shops, args, message):
    result = tw(*[str(a).format(**shops) for a in args])
    assert result.exit_code != 0
    assert ("Traceback" not in result.output and result.exception is None) or isinstance(
        result.exception, SystemExit
    )
    assert result.output.strip().startswith("error:"), result.output
    assert message in result.output, result.output


@pytest.mark.parametrize(
    ("params", "hint"),
    [("churn_days: abc", "param churn_days is the text 'abc'"),
     ('churn_days: "180"', "param churn_days is the text '180', write it without quotes")],
)  # fmt: skip
def test_a_param_of_the_wrong_type_is_named(shops, tmp_path, params, hint):
    import shutil

    d = tmp_path / "shop"
    shutil.copytree(shops["demo"], d)
    cfg = d / "tierwise.yaml"
    cfg.write_text(cfg.read_text("utf-8") + f"\nschemes:\n  lifecycle:\n    params: {{{params}}}\n",
                   encoding="utf-8")  # fmt: skip
    result = tw("run", "-p", d)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "schemes.lifecycle.labels" in result.output and hint in result.output


def test_a_held_store_names_the_holder_and_wait_gives_up(shops):
    """A second process holds the store: the command says who, and --wait waits first."""
    db = shops["demo"] / "tierwise.duckdb"
    script = textwrap.dedent(f"""
        import time
        from tierwise.store import Store
        s = Store({str(db)!r})
        print("holding", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "holding"
        result = tw("run", "-p", shops["demo"])
        assert result.exit_code == 1
        assert f"in use by another tierwise command (PID {proc.pid}" in result.output
        waited = tw("snapshots", "-p", shops["demo"], "--wait", "0.5")
        assert waited.exit_code == 1 and "after waiting 0.5 s" in waited.output
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert tw("snapshots", "-p", shops["demo"]).exit_code == 0
