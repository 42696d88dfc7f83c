"""A test client over the service with one API key per role."""

from __future__ import annotations

from pathlib import Path

from tierwise.project import Project


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
