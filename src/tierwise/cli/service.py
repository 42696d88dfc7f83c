"""``tierwise serve`` and ``tierwise keys``: the HTTP service and its API keys."""

from __future__ import annotations

from typing import Annotated

import typer

from tierwise.cli._app import app
from tierwise.cli._common import (
    AsJson,
    ProjectDir,
    Wait,
    command,
    emit,
    open_project,
    out,
    project_dir,
)

keys_app = typer.Typer(help="API keys of the service.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@command(app)
def serve(
    project: ProjectDir = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    wait: Wait = 0.0,
) -> None:
    """Serve the API (OpenAPI at /docs) and the dashboard (/) for a project.

    The service owns the store while it runs: other tierwise commands on this project wait
    (--wait) or go through the service.
    """
    import uvicorn

    from tierwise.service import ServiceSettings, create_app

    settings = ServiceSettings(project=project_dir(project), host=host, port=port)
    p = open_project(project, wait=wait)
    application = create_app(settings, project=p)
    base = f"http://{host}:{port}"
    out.print(f"serving {p.directory} at {base}/ (dashboard) and {base}/docs (API)",
              highlight=False)  # fmt: skip
    out.print(
        "this service holds the store: other tierwise commands on this project must wait "
        "(--wait) or go through the service; stop it with Ctrl-C",
        highlight=False,
    )
    try:
        uvicorn.run(application, host=host, port=port, log_level="warning")
    finally:
        p.close()


@command(keys_app, "create")
def keys_create(
    scope: Annotated[
        str, typer.Option(help="Comma-separated: events:write, profiles:read, pii:read, admin.")
    ],
    name: Annotated[str, typer.Option(help="Who or what uses the key.")] = "",
    project: ProjectDir = None,
    wait: Wait = 0.0,
    as_json: AsJson = False,
) -> None:
    """Make an API key; it is shown once and stored only as a salted digest."""
    from tierwise.service.keys import create_key, parse_scopes

    with open_project(project, wait=wait) as p:
        text, key = create_key(p.store, parse_scopes(scope), name)
    if as_json:
        emit("key", [{"key": text, "key_id": key.key_id, "scopes": ",".join(sorted(key.scopes))}],
             as_json=True)  # fmt: skip
        return
    out.print(f"API key {key.key_id} ({', '.join(sorted(key.scopes))}):", highlight=False)
    out.print(text, highlight=False, soft_wrap=True)
    out.print("store it now: it is not shown again", highlight=False)


@command(keys_app, "list")
def keys_list(project: ProjectDir = None, wait: Wait = 0.0, as_json: AsJson = False) -> None:
    """The API keys: id, name, scopes, when made and revoked (never the secret)."""
    from tierwise.service.keys import list_keys

    with open_project(project, wait=wait) as p:
        rows = list_keys(p.store)
    emit(f"{len(rows)} API keys", rows, as_json=as_json)


@command(keys_app, "revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (`tierwise keys list`).")],
    project: ProjectDir = None,
    wait: Wait = 0.0,
) -> None:
    """Revoke an API key at once."""
    from tierwise.service.keys import revoke_key

    with open_project(project, wait=wait) as p:
        revoke_key(p.store, key_id)
    out.print(f"revoked {key_id}", highlight=False)
