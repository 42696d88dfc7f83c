"""The Typer application, its global options and the entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tierwise import __version__
from tierwise.cli import _common, _i18n
from tierwise.cli._i18n import t

app = typer.Typer(
    name="tierwise",
    help=t(
        "Customer tiering: lifecycle, RFM, value, behaviour and intention labels with evidence.",
        "客户分层运营：生命周期、RFM、价值、行为与意向分层，每个标签附带依据。",
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        _common.out.print(f"tierwise {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _global(
    project: Annotated[
        Path | None,
        typer.Option(
            "--project",
            "-p",
            help=t(
                "Project folder, for every command that takes one.",
                "项目目录（对所有需要项目的命令有效）。",
            ),
        ),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            envvar="TIERWISE_LANG",
            help=t(
                "Language of messages and tables: en or zh (default: locale).",
                "提示与表格的语言：en 或 zh（默认随系统区域设置）。",
            ),
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help=t("Print the version.", "显示版本号。"),
        ),
    ] = False,
) -> None:
    _common.GLOBAL_PROJECT[0] = project
    _i18n.CHOSEN[0] = lang


def main() -> None:
    """Entry point of the ``tierwise`` command."""
    app()
