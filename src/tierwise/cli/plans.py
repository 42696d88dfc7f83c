"""``tierwise plan``, ``uplift``, ``consent``, ``sends``, ``playbooks``: act on the tiers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from tierwise.cli._app import app
from tierwise.cli._common import (
    AsJson,
    AsOf,
    Format,
    ProjectDir,
    command,
    emit,
    err,
    fail,
    open_project,
    out,
    parse_date,
    project_dir,
)
from tierwise.cli._i18n import t

consent_app = typer.Typer(
    help=t("Opt-out and do-not-contact lists.", "退订与免打扰名单。"), no_args_is_help=True
)
app.add_typer(consent_app, name="consent")
sends_app = typer.Typer(
    help=t(
        "Send logs, imported as campaign_send events.", "触达发送日志，导入为 campaign_send 事件。"
    ),
    no_args_is_help=True,
)
app.add_typer(sends_app, name="sends")
playbooks_app = typer.Typer(
    help=t("Playbooks: show, check, write a copy.", "运营剧本：查看、检查、写出可编辑副本。"),
    no_args_is_help=True,
)
app.add_typer(playbooks_app, name="playbooks")

Playbook = Annotated[str, typer.Option("--playbook", help=t("Playbook name.", "运营剧本名称。"))]
BadRowsOpt = Annotated[
    bool,
    typer.Option(
        "--quarantine",
        help=t(
            "Keep the good rows; bad rows go to quarantine.", "保留正确的行；错误行进入隔离区。"
        ),
    ),
]


def _window(text: str) -> int:
    value = text.strip().lower().removesuffix("d")
    try:
        days = int(value)
    except ValueError:
        raise fail(f"--window {text!r}: give days, e.g. 30d") from None
    if days <= 0:
        raise fail(f"--window {text!r}: the window must be a positive number of days")
    return days


@command(
    app,
    help=t(
        "Apply a playbook to a snapshot: actions x counts, suppressed and control; store it.",
        "将运营剧本应用到快照：各动作人数、被抑制人数与对照组，并保存计划。",
    ),
)
def plan(
    project: ProjectDir = None,
    as_of: AsOf = None,
    playbook: Playbook = "default",
    send_at: Annotated[
        str | None,
        typer.Option(
            help=t(
                "When it goes out, YYYY-MM-DDTHH:MM (default: the next day 00:00).",
                "发送时间，YYYY-MM-DDTHH:MM（默认：次日 00:00）。",
            )
        ),
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help=t("Export every plan row.", "导出计划的每一行。"))
    ] = None,
    as_json: AsJson = False,
    fmt: Format = "table",
) -> None:
    """Apply a playbook to a snapshot: actions x counts, suppressed and control; store it."""
    when = None
    if send_at is not None:
        try:
            when = dt.datetime.fromisoformat(send_at)
        except ValueError:
            raise fail(f"--send-at {send_at!r} is not a time like 2026-01-01T09:00") from None
    with open_project(project) as p:
        result = p.plan(parse_date(as_of), playbook=playbook, send_at=when)
    if out_file is not None:
        from tierwise.export import write_table

        write_table(result.rows, out_file)
    if as_json or fmt != "table":
        data = {"as_of": result.as_of.isoformat(), "playbook": result.playbook,
                "send_at": result.send_at.isoformat(), "counts": result.counts,
                "actions": result.summary, "reasons": result.reasons()}  # fmt: skip
        if fmt == "csv":
            emit("", result.summary, fmt="csv")
        else:
            typer.echo(json.dumps(data, ensure_ascii=False, default=str))
        return
    c = result.counts
    fixed = ("priority", "rule", "action", "channel", "planned", "control")
    short = [{"rule": r["rule"], "channel": r["channel"], "planned": r["planned"],
              "control": r.get("control", 0),
              "held_back": sum(v for k, v in r.items() if k not in fixed)}
             for r in result.summary]  # fmt: skip
    emit(
        f"plan {playbook} as of {result.as_of}: {c.get('planned', 0)} planned, "
        f"{c.get('suppressed', 0)} suppressed, {c.get('control', 0)} control",
        short,
    )
    emit("why not sent", [r for r in result.reasons() if r["status"] != "planned"])
    if out_file is not None:
        out.print(f"wrote {out_file}")


@command(
    app,
    help=t(
        "Treated vs control per segment x action: conversion, revenue and margin, 95 % CI.",
        "按分群 × 动作比较触达组与对照组：转化、收入与毛利的增量，含 95% 置信区间。",
    ),
)
def uplift(
    since: Annotated[
        str,
        typer.Option(
            "--since", help=t("Plans made on or after this day.", "该日及之后生成的计划。")
        ),
    ],
    project: ProjectDir = None,
    playbook: Playbook = "default",
    window: Annotated[
        str,
        typer.Option(
            help=t("Days after the send that count, e.g. 30d.", "发送后计入效果的天数，如 30d。")
        ),
    ] = "30d",
    plan_day: Annotated[
        str | None,
        typer.Option(
            "--plan-day",
            help=t("Only the plan made on this day.", "只看该日生成的那份计划。"),
        ),
    ] = None,
    as_json: AsJson = False,
    fmt: Format = "table",
) -> None:
    """Treated vs control per segment x action: conversion, revenue and margin, 95 % CI."""
    days = _window(window)
    day = parse_date(plan_day, "--plan-day") if plan_day else None
    with open_project(project, read_only=True) as p:
        result = p.uplift(playbook, since=parse_date(since, "--since"), window_days=days,
                          plan_day=day)  # fmt: skip
    if as_json or fmt != "table":
        emit("", result.rows, fmt=fmt, as_json=as_json)
        return
    short = [
        {"rule": r["rule"], "action": r["action"], "treated": r["n_treated"],
         "control": r["n_control"], "conv_diff": r["conversion_diff"],
         "conv_95": _ci(r["conversion_low"], r["conversion_high"], 100),
         "margin_diff": r["margin_diff"], "margin_95": _ci(r["margin_low"], r["margin_high"]),
         "verdict": r["verdict"]}
        for r in result.rows
    ]  # fmt: skip
    emit(f"uplift of {playbook} since {since}, {days}-day window (treated - control)", short)
    out.print("conversion: normal approximation; revenue and margin per customer: Welch's t.",
              highlight=False)  # fmt: skip
    for r in result.rows:
        out.print(f"{r['rule']}: {r['words']}", highlight=False, markup=False)
    for note in result.notes:
        err.print(f"note: {note}", highlight=False)


def _ci(low: float, high: float, scale: float = 1) -> str:
    if low != low or high != high:  # NaN
        return ""
    return f"{low * scale:+.3g} to {high * scale:+.3g}"


@command(
    consent_app,
    "import",
    help=t(
        "Import an opt-out or do-not-contact list (customer_id, channel or all, reason, date).",
        "导入退订或免打扰名单（customer_id、渠道或 all、原因、日期）。",
    ),
)
def consent_import(
    file: Annotated[
        Path,
        typer.Argument(
            help=t("CSV, .xlsx, .parquet or .jsonl file.", "CSV、.xlsx、.parquet 或 .jsonl 文件。")
        ),
    ],
    project: ProjectDir = None,
    kind: Annotated[
        str | None,
        typer.Option(
            help=t(
                "opt_out or do_not_contact (when the file has no kind).",
                "opt_out 或 do_not_contact（文件中没有 kind 列时）。",
            )
        ),
    ] = None,
    quarantine: BadRowsOpt = False,
    encoding: Annotated[
        str | None,
        typer.Option(help=t("Text encoding (default: detect).", "文本编码（默认：自动识别）。")),
    ] = None,
) -> None:
    """Import an opt-out or do-not-contact list (customer_id, channel or all, reason, date)."""
    with open_project(project) as p:
        checked = p.import_consent(file, kind=kind, encoding=encoding,
                                   bad_rows="quarantine" if quarantine else "refuse")  # fmt: skip
    out.print(f"{file.name} -> consent: {checked.summary()}", highlight=False)
    for problem in checked.problems[:20]:
        err.print(f"  {problem}", highlight=False)


@command(
    consent_app,
    "list",
    help=t("The stored opt-out and do-not-contact rows.", "已保存的退订与免打扰记录。"),
)
def consent_list(
    project: ProjectDir = None, as_json: AsJson = False, fmt: Format = "table"
) -> None:
    """The stored opt-out and do-not-contact rows."""
    with open_project(project, read_only=True) as p:
        rows = p.store.read_consent().to_pylist()
    emit(f"{len(rows)} consent rows", rows, fmt=fmt, as_json=as_json)


@command(
    sends_app,
    "import",
    help=t(
        "Import a send log (customer_id, sent_at, playbook, action, channel, rule, plan).",
        "导入发送日志（customer_id、sent_at、playbook、action、channel、rule、plan）。",
    ),
)
def sends_import(
    file: Annotated[
        Path,
        typer.Argument(
            help=t("CSV, .xlsx, .parquet or .jsonl file.", "CSV、.xlsx、.parquet 或 .jsonl 文件。")
        ),
    ],
    project: ProjectDir = None,
    quarantine: BadRowsOpt = False,
    encoding: Annotated[
        str | None,
        typer.Option(help=t("Text encoding (default: detect).", "文本编码（默认：自动识别）。")),
    ] = None,
) -> None:
    """Import a send log (customer_id, sent_at, playbook, action, channel, rule, plan)."""
    with open_project(project) as p:
        bad_rows = "quarantine" if quarantine else "refuse"
        checked, report = p.import_sends(file, encoding=encoding, bad_rows=bad_rows)
    out.print(f"{file.name}: {checked.summary()}", highlight=False)
    if report is not None:
        out.print(report.summary(), highlight=False)
    for problem in checked.problems[:20]:
        err.print(f"  {problem}", highlight=False)


@command(
    playbooks_app,
    "show",
    help=t(
        "The rules of a playbook: selector, action, channel, priority, cost.",
        "运营剧本的规则：筛选条件、动作、渠道、优先级、成本。",
    ),
)
def playbooks_show(
    project: ProjectDir = None,
    playbook: Playbook = "default",
    as_json: AsJson = False,
    fmt: Format = "table",
) -> None:
    """The rules of a playbook: selector, action, channel, priority, cost."""
    from tierwise.playbooks import project_playbooks

    pf = project_playbooks(project_dir(project))
    pb = pf.playbook(playbook)
    rows = [
        {"priority": r.priority, "rule": r.id,
         "when": pf.selectors[(playbook, "rules", r.id)].describe(), "action": r.action.id,
         "channel": r.action.channel or f"<{r.action.channel_column}>",
         "offer": r.action.offer, "cost": r.action.cost}
        for r in sorted(pb.rules, key=lambda r: -r.priority)
    ]  # fmt: skip
    emit(f"{playbook}: {pb.zh} {pb.en}", rows, fmt=fmt, as_json=as_json)
    if not (as_json or fmt != "table"):
        excl = [{"exclusion": e.id, "when": pf.selectors[(playbook, "exclusions", e.id)].describe(),
                 "reason": e.reason} for e in pb.exclusions]  # fmt: skip
        emit("exclusions", excl)
        emit("caps", [c.model_dump() for c in pb.caps])


@command(
    playbooks_app,
    "check",
    help=t(
        "Check every playbook against a snapshot (schemes, labels, tags, columns).",
        "用快照检查每个运营剧本（分层方案、标签、标记、列）。",
    ),
)
def playbooks_check(project: ProjectDir = None, as_of: AsOf = None) -> None:
    """Check every playbook against a snapshot (schemes, labels, tags, columns)."""
    from tierwise.playbooks import check_playbook, snapshot_vocabulary

    with open_project(project, read_only=True) as p:
        pf = p.playbooks()
        day = parse_date(as_of) or p.store.latest_snapshot()
        vocab = snapshot_vocabulary(p.store, p.config, p.directory, day)
        for name in pf.playbooks:
            check_playbook(pf, name, vocab)
    out.print(f"{len(pf.playbooks)} playbooks checked against the snapshot as of {day}: ok")


@command(
    playbooks_app,
    "init",
    help=t(
        "Write the default playbooks into the project's playbooks.yaml, to edit.",
        "将默认运营剧本写入项目的 playbooks.yaml，供编辑。",
    ),
)
def playbooks_init(
    project: ProjectDir = None,
    force: Annotated[
        bool,
        typer.Option(
            help=t("Overwrite an existing playbooks.yaml.", "覆盖已有的 playbooks.yaml。")
        ),
    ] = False,
) -> None:
    """Write the default playbooks into the project's playbooks.yaml, to edit."""
    from tierwise.playbooks import PLAYBOOKS_FILE, default_playbooks_text

    path = project_dir(project) / PLAYBOOKS_FILE
    if path.exists() and not force:
        raise fail(f"{path} exists; use --force to overwrite it")
    path.write_text(default_playbooks_text(), encoding="utf-8")
    out.print(f"wrote {path}")


_DEMO_CAMPAIGN_EN = (
    "On a demo shop: plan the demo playbook and write a simulated send log and the orders\n"
    "    that follow (planted effects) to import."
)


@command(
    app,
    "demo-campaign",
    help=t(
        _DEMO_CAMPAIGN_EN,
        "在演示店铺上：按演示运营剧本生成计划，并写出模拟的发送日志和随后的订单"
        "（含预设效果），供导入。",
    ),
)
def demo_campaign(
    project: ProjectDir = None,
    seed: Annotated[int, typer.Option(help=t("Random seed.", "随机种子。"))] = 0,
) -> None:
    """On a demo shop: plan the demo playbook and write a simulated send log and the orders
    that follow (planted effects) to import."""
    from tierwise.demo.campaigns import write_demo_campaign

    res = write_demo_campaign(project_dir(project), seed=seed)
    out.print(f"planned the demo playbook as of {res['as_of']}; wrote {res['sends']}, "
              f"{res['orders']} and the planted truth {res['truth']}", highlight=False)  # fmt: skip
