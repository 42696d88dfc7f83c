"""A small demo project served by the service, API keys of each kind, a test client."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest

from tierwise.project import Project

warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient.*")


@pytest.fixture(scope="session")
def demo_project_dir(tmp_path_factory) -> Path:
    """A 300-customer demo shop, imported and run once for the whole session (not changed)."""
    from tierwise.demo_run import run_demo

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


class Api:
    """A test client with one key per role."""

    def __init__(self, project_dir: Path, **settings) -> None:
        from fastapi.testclient import TestClient

        from tierwise.service import ServiceSettings, create_app, create_key

        self.project = Project(project_dir)
        store = self.project.store
        self.keys = {
            "reader": create_key(store, ["profiles:read"], "reader")[0],
            "writer": create_key(store, ["events:write"], "writer")[0],
            "pii": create_key(store, ["profiles:read", "pii:read"], "pii")[0],
            "admin": create_key(store, ["admin"], "admin")[0],
        }
        self.app = create_app(
            ServiceSettings(project=project_dir, **settings), project=self.project
        )
        self.service = self.app.state.service
        self.client = TestClient(self.app)

    def h(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def get(self, path: str, role: str = "reader", **kw):
        return self.client.get(path, headers={**self.h(role), **kw.pop("headers", {})}, **kw)

    def post(self, path: str, role: str = "writer", **kw):
        return self.client.post(path, headers={**self.h(role), **kw.pop("headers", {})}, **kw)

    def close(self) -> None:
        self.service.close()
        self.project.close()


@pytest.fixture
def api(project_dir):
    a = Api(project_dir)
    yield a
    a.close()
