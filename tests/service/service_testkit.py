"""A test client over the service with one API key per role, and `tierwise serve` in a
subprocess for the browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium, driven by Playwright in the dashboard tests."""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]  # fmt: skip


def copy_project(source: Path, target: Path, extra: tuple[str, ...] = ()) -> Path:
    """Copy a project's config, store and ``extra`` files into a new folder ``target``."""
    import shutil

    target.mkdir(parents=True)
    for name in ("tierwise.yaml", "tierwise.duckdb", *extra):
        shutil.copy(source / name, target / name)
    return target


def reader_key(project_dir: Path) -> str:
    """A new ``profiles:read`` key of the project, made with the command line."""
    import json

    from typer.testing import CliRunner

    from tierwise.cli import app

    made = CliRunner().invoke(app, ["keys", "create", "-p", str(project_dir), "--scope",
                                    "profiles:read", "--name", "dashboard", "--json"])  # fmt: skip
    assert made.exit_code == 0, made.output
    return json.loads(made.stdout)[0]["key"]


@contextmanager
def serving(
    project_dir: Path, *, without: tuple[str, ...] = ()
) -> Iterator[tuple[str, subprocess.Popen]]:
    """`tierwise serve` in a subprocess on a free local port (the environment variables
    ``without`` left out): its base URL and process."""
    import httpx
    import pytest

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {k: v for k, v in os.environ.items() if k not in without}
    env["PYTHONPATH"] = src + os.pathsep + os.environ.get("PYTHONPATH", "")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from tierwise.cli import main; main()", "serve", "-p",
         str(project_dir), "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("tierwise serve did not start: " + (proc.stdout.read() or ""))
        time.sleep(0.3)
    try:
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(30)
