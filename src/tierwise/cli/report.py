"""``tierwise report``: one self-contained HTML page of a snapshot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tierwise.cli._app import app
from tierwise.cli._common import (
    AsJson,
    AsOf,
    ProjectDir,
    Wait,
    command,
    err,
    fail,
    open_project,
    out,
    parse_date,
    progress,
)
from tierwise.cli._i18n import lang as chosen_lang
from tierwise.cli._i18n import t


@command(
    app,
    "report",
    help=t(
        "Write one self-contained HTML report of a snapshot (no network needed).",
        "生成一个独立的 HTML 报告（无需联网）。",
    ),
)
def report(
    out_file: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")],
    as_of: AsOf = None,
    lang: Annotated[
        str | None,
        typer.Option("--lang", help="zh or en (default: the language of the command line)."),
    ] = None,
    backtest: Annotated[
        bool, typer.Option(help="Include the backtest and the CLV holdout checks.")
    ] = True,
    backtest_cut: Annotated[
        str | None,
        typer.Option("--backtest-cut", help="Backtest cut (default: the previous snapshot)."),
    ] = None,
    project: ProjectDir = None,
    wait: Wait = 0.0,
    as_json: AsJson = False,
) -> None:
    """Write one self-contained HTML report of a snapshot (no network needed)."""
    language = (lang or chosen_lang()).lower()
    if language not in ("zh", "en"):
        raise fail(f"--lang must be zh or en, not {lang!r}", 2)
    day = parse_date(as_of)
    cut = parse_date(backtest_cut, "--backtest-cut")
    with open_project(project, read_only=True, wait=wait) as p:
        with err.status("report") as status:
            result = p.report(out_file, day, lang=language, backtest=backtest,
                              backtest_cut=cut, progress=progress(status))  # fmt: skip
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        return
    info = result.to_dict()
    out.print(
        t(f"wrote {result.path} ({result.bytes / 1e6:.1f} MB, {language}): snapshot as of "
          f"{info['as_of']}, {info['customers']:,} customers",
          f"已写入 {result.path}（{result.bytes / 1e6:.1f} MB，{language}）：快照日期 "
          f"{info['as_of']}，{info['customers']:,} 位客户"),
        highlight=False,
    )  # fmt: skip
    for section, why in info["absent"].items():
        out.print(t(f"  {section}: {why}", f"  {section}：{why}"), highlight=False)
