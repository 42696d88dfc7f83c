"""`tierwise keys create|list|revoke`: shown once, listed without secrets, revoked."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tierwise.cli import app
from tierwise.project import Project
from tierwise.service.keys import verify


def tw(*args: str):
    return CliRunner().invoke(app, list(args))


def test_keys_create_list_revoke(project_dir):
    p = str(project_dir)
    made = tw("keys", "create", "-p", p, "--scope", "events:write,profiles:read", "--name", "crm")
    assert made.exit_code == 0, made.output
    text = made.stdout.split("\n")[1].strip()
    assert text.startswith("tw_") and "not shown again" in made.stdout
    listed = tw("keys", "list", "-p", p, "--json")
    rows = json.loads(listed.stdout)
    assert [r["name"] for r in rows] == ["crm"]
    assert rows[0]["scopes"] == "events:write,profiles:read"
    assert text.split("_", 2)[2] not in listed.stdout
    with Project(project_dir) as proj:
        assert verify(proj.store, text).allows("events:write")
    key_id = rows[0]["key_id"]
    assert tw("keys", "revoke", "-p", p, key_id).exit_code == 0
    with Project(project_dir) as proj:
        assert verify(proj.store, text) is None
    again = tw("keys", "revoke", "-p", p, key_id)
    assert again.exit_code == 1 and "no live API key" in again.output
    bad = tw("keys", "create", "-p", p, "--scope", "everything")
    assert bad.exit_code == 1 and "unknown scope 'everything'" in bad.output
