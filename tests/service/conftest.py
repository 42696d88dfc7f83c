"""A small demo project served by the service, API keys of each kind, a test client."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from service_testkit import Api


def pytest_configure(config):
    # starlette's TestClient announces a move to another HTTP client; nothing to act on here
    config.addinivalue_line("filterwarnings", "ignore:Using `httpx` with `starlette.testclient`")


@pytest.fixture(scope="session")
def demo_project_dir(tmp_path_factory) -> Path:
    """A 300-customer demo shop, imported and run once for the whole session (not changed)."""
    from tierwise.demo.run import run_demo

    d = tmp_path_factory.mktemp("service") / "shop"
    run_demo(d, n_customers=300, seed=5)
    return d


@pytest.fixture
def project_dir(demo_project_dir, tmp_path) -> Path:
    """A copy of the demo project a test may change."""
    d = tmp_path / "shop"
    d.mkdir()
    for name in ("tierwise.yaml", "tierwise.duckdb"):
        shutil.copy(demo_project_dir / name, d / name)
    return d


@pytest.fixture
def api(project_dir):
    a = Api(project_dir)
    yield a
    a.close()


@pytest.fixture(scope="session")
def planned_project_dir(demo_project_dir, tmp_path_factory) -> Path:
    """A copy of the demo shop with a stored default plan and the demo playbook's plan, its
    sends and the orders that followed imported (for the plan, uplift and model pages)."""
    from tierwise.demo.campaigns import write_demo_campaign
    from tierwise.project import Project

    d = tmp_path_factory.mktemp("planned") / "shop"
    d.mkdir()
    for name in ("tierwise.yaml", "tierwise.duckdb"):
        shutil.copy(demo_project_dir / name, d / name)
    with Project(d) as p:
        p.plan()
    made = write_demo_campaign(d, seed=0)
    with Project(d) as p:
        p.import_sends(made["sends"])
        p.import_file("orders", made["orders"])
    return d
