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
from tierwise.cli._i18n import t

keys_app = typer.Typer(
    help=t("API keys of the service.", "服务的 API 密钥。"), no_args_is_help=True
)
app.add_typer(keys_app, name="keys")

_SERVE_EN = """Serve the API (OpenAPI at /docs) and the dashboard (/) for a project.

    The service owns the store while it runs: other tierwise commands on this project wait
    (--wait) or go through the service.
    """


@command(
    app,
    help=t(
        _SERVE_EN,
        "为项目提供 API（OpenAPI 文档在 /docs）和看板（/）。\n\n"
        "服务运行期间独占数据库：本项目上的其他 tierwise 命令需等待（--wait）或经由服务调用。",
    ),
)
def serve(
    project: ProjectDir = None,
    host: Annotated[str, typer.Option(help=t("Address to listen on.", "监听地址。"))] = "127.0.0.1",
    port: Annotated[int, typer.Option(help=t("Port to listen on.", "监听端口。"))] = 8000,
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


@command(
    keys_app,
    "create",
    help=t(
        "Make an API key; it is shown once and stored only as a salted digest.",
        "创建 API 密钥；只显示一次，仅保存加盐摘要。",
    ),
)
def keys_create(
    scope: Annotated[
        str,
        typer.Option(
            help=t(
                "Comma-separated: events:write, profiles:read, pii:read, admin.",
                "权限范围，逗号分隔：events:write、profiles:read、pii:read、admin。",
            )
        ),
    ],
    name: Annotated[
        str, typer.Option(help=t("Who or what uses the key.", "密钥的使用者或用途。"))
    ] = "",
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


@command(
    keys_app,
    "list",
    help=t(
        "The API keys: id, name, scopes, when made and revoked (never the secret).",
        "API 密钥：编号、名称、权限范围、创建与吊销时间（从不显示密钥本身）。",
    ),
)
def keys_list(project: ProjectDir = None, wait: Wait = 0.0, as_json: AsJson = False) -> None:
    """The API keys: id, name, scopes, when made and revoked (never the secret)."""
    from tierwise.service.keys import list_keys

    with open_project(project, wait=wait) as p:
        rows = list_keys(p.store)
    emit(f"{len(rows)} API keys", rows, as_json=as_json)


@command(keys_app, "revoke", help=t("Revoke an API key at once.", "立即吊销一个 API 密钥。"))
def keys_revoke(
    key_id: Annotated[
        str,
        typer.Argument(
            help=t("The key id (`tierwise keys list`).", "密钥编号（见 `tierwise keys list`）。")
        ),
    ],
    project: ProjectDir = None,
    wait: Wait = 0.0,
) -> None:
    """Revoke an API key at once."""
    from tierwise.service.keys import revoke_key

    with open_project(project, wait=wait) as p:
        revoke_key(p.store, key_id)
    out.print(f"revoked {key_id}", highlight=False)
