"""``tierwise flows``: automated flows, their outbox and the webhook deliverer."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Annotated, Any

import typer

from tierwise.cli._app import app
from tierwise.cli._common import (
    AsJson,
    AsOf,
    Format,
    ProjectDir,
    Wait,
    command,
    emit,
    open_project,
    out,
    parse_date,
)
from tierwise.cli._i18n import lang, t

flows_app = typer.Typer(
    help=t(
        "Automated flows: trigger, wait, conditions, action (docs/flows.md).",
        "自动化流程：触发、等待、条件、动作（docs/flows.md）。",
    ),
    no_args_is_help=True,
)
app.add_typer(flows_app, name="flows")


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


def _title(flow: Any, name: str) -> str:
    return (flow.zh if lang() == "zh" else flow.en) or name


def _action(flow: Any) -> str:
    parts = ["webhook"] if flow.action.webhook else []
    if flow.action.rule:
        parts.append(f"{flow.playbook}.{flow.action.rule}")
    return ", ".join(parts)


def _counts(store: Any) -> dict[str, dict[str, int]]:
    out_: dict[str, dict[str, int]] = {}
    for r in store.flow_status_counts().to_pylist():
        out_.setdefault(r["flow"], {})[r["status"]] = r["deliveries"]
    return out_


@command(flows_app, "list", help=t("Every flow with its trigger, action and deliveries.",
                                   "所有流程：触发、动作与投递数。"))  # fmt: skip
def flows_list(project: ProjectDir = None, as_json: AsJson = False, fmt: Format = "table") -> None:
    """Every flow with its trigger, action and deliveries."""
    with open_project(project, read_only=True) as p:
        flows = p.flows()
        counts = _counts(p.store)
    rows = []
    for name, f in flows.flows.items():
        c = counts.get(name, {})
        rows.append({
            "flow": name, "title": _title(f, name), "trigger": f.trigger.kind,
            "wait_s": f.wait, "action": _action(f), "playbook": f.playbook,
            "enabled": f.enabled, **{s: c.get(s, 0) for s in
                                     ("pending", "sent", "dead", "capped", "control")},
        })  # fmt: skip
    emit(t(f"{len(rows)} flow(s) in {flows.source}", f"{flows.source} 中共 {len(rows)} 个流程"),
         rows, fmt=fmt, as_json=as_json)  # fmt: skip


@command(flows_app, "show", help=t("One flow: its definition and its latest deliveries.",
                                   "单个流程：定义与最近的投递。"))  # fmt: skip
def flows_show(
    name: Annotated[str, typer.Argument(help="The flow's name.")],
    project: ProjectDir = None,
    as_json: AsJson = False,
) -> None:
    """One flow: its definition and its latest deliveries."""
    with open_project(project, read_only=True) as p:
        flow = p.flows().flow(name)
        counts = _counts(p.store).get(name, {})
        latest = p.store.flow_deliveries(flow=name, limit=10).to_pylist()
    data = {"flow": name, "title": _title(flow, name),
            "definition": flow.model_dump(by_alias=True, exclude_defaults=True),
            "deliveries": counts, "latest": latest}  # fmt: skip
    if as_json:
        _print_json(data)
        return
    out.print(f"[bold]{name}[/bold]  {data['title']}", highlight=False)
    out.print(json.dumps(data["definition"], ensure_ascii=False, indent=2), highlight=False,
              markup=False)  # fmt: skip
    out.print(t("deliveries: ", "投递：") + (", ".join(f"{k} {v}" for k, v in counts.items())
                                           or t("none yet", "尚无")), highlight=False)  # fmt: skip
    if latest:
        emit(t("latest", "最近"), [{k: r[k] for k in ("delivery_id", "customer_id", "status",
                                                    "attempts", "created_at", "sent_at",
                                                    "last_error")} for r in latest])  # fmt: skip


@command(flows_app, "test", help=t(
    "Evaluate one flow on a snapshot without storing anything: who it would fire for.",
    "在快照上试算一个流程（不写入）：会触发哪些客户。"))  # fmt: skip
def flows_test(
    name: Annotated[str, typer.Argument(help="The flow's name.")],
    project: ProjectDir = None,
    as_of: AsOf = None,
    sample: Annotated[int, typer.Option(help="Crossings shown.")] = 10,
    as_json: AsJson = False,
) -> None:
    """Evaluate one flow on a snapshot without storing anything: who it would fire for."""
    from tierwise.flows import evaluate_flows
    from tierwise.playbooks import project_playbooks

    with open_project(project, read_only=True) as p:
        flows = p.flows()
        flows.flow(name)
        pbs = project_playbooks(p.directory)
        day = parse_date(as_of)
        res = evaluate_flows(p.store, p.config, p.directory, flows, pbs, day, only=name)
    counts = res.counts.get(name, {})
    keep = ("customer_id", "status", "reason", "trigger", "detail")
    shown = [{k: r[k] for k in keep} for r in res.rows[:sample]]
    if as_json:
        _print_json({"flow": name, "as_of": res.as_of, "previous": res.previous,
                     "counts": counts, "sample": shown})  # fmt: skip
        return
    prev = res.previous or t("none (first snapshot)", "无（第一个快照）")
    out.print(t(f"{name} as of {res.as_of} (compared with {prev}): ",
                f"{name}，快照 {res.as_of}（对比 {prev}）：")
              + ", ".join(f"{k} {v}" for k, v in counts.items()), highlight=False)  # fmt: skip
    if shown:
        emit("", shown)


@command(flows_app, "enqueue", help=t(
    "Evaluate the flows on a snapshot and add new crossings to the outbox (each run does).",
    "在快照上评估流程并把新的触发写入发件箱（每次 run 都会做）。"))  # fmt: skip
def flows_enqueue(
    project: ProjectDir = None, as_of: AsOf = None, wait: Wait = 0.0, as_json: AsJson = False
) -> None:
    """Evaluate the flows on a snapshot and add new crossings to the outbox."""
    with open_project(project, wait=wait) as p:
        res = p.enqueue_flows(parse_date(as_of))
    if res is None:
        out.print(t("no flows in flows.yaml", "flows.yaml 中没有流程"), highlight=False)
        return
    rows = [{"flow": k, **v} for k, v in res.counts.items()]
    if as_json:
        _print_json({"as_of": res.as_of, "previous": res.previous, "added": res.added,
                     "flows": rows})  # fmt: skip
        return
    emit(t(f"{res.added} new row(s) in the outbox as of {res.as_of}",
           f"快照 {res.as_of}：发件箱新增 {res.added} 行"), rows)  # fmt: skip


@command(flows_app, "deliveries", help=t("The outbox: deliveries, newest first.",
                                         "发件箱：投递记录，最新在前。"))  # fmt: skip
def flows_deliveries(
    project: ProjectDir = None,
    flow: Annotated[str | None, typer.Option(help="Only this flow.")] = None,
    status: Annotated[
        str | None, typer.Option(help="pending, sent, dead, capped, control or recorded.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Rows shown.")] = 50,
    as_json: AsJson = False,
    fmt: Format = "table",
) -> None:
    """The outbox: deliveries, newest first."""
    with open_project(project, read_only=True) as p:
        rows = p.store.flow_deliveries(flow=flow, status=status, limit=limit).to_pylist()
    keep = ("delivery_id", "flow", "customer_id", "trigger", "status", "reason", "attempts",
            "due_at", "sent_at", "last_error")  # fmt: skip
    emit(t("deliveries", "投递记录"), [{k: r.get(k) for k in keep} for r in rows], fmt=fmt,
         as_json=as_json)  # fmt: skip


@command(flows_app, "deliver", help=t(
    "Post due deliveries to their webhooks (signed with TIERWISE_FLOWS_SECRET).",
    "把到期的投递发送到 webhook（用 TIERWISE_FLOWS_SECRET 签名）。"))  # fmt: skip
def flows_deliver(
    project: ProjectDir = None,
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between passes.")] = 5.0,
    wait: Wait = 0.0,
    as_json: AsJson = False,
) -> None:
    """Post due deliveries to their webhooks (signed with TIERWISE_FLOWS_SECRET)."""
    import threading

    from tierwise.flows import Deliverer

    with open_project(project, wait=wait) as p, Deliverer(p.store, p.flows().delivery) as d:
        if once:
            run = d.deliver_once()
            if as_json:
                _print_json(run.to_dict())
                return
            r = run.to_dict()
            out.print(t(f"sent {r['sent']}, to retry {r['retried']}, dead {r['dead']} "
                        f"in {r['seconds']} s",
                        f"已发送 {r['sent']}，待重试 {r['retried']}，死信 {r['dead']}，"
                        f"用时 {r['seconds']} 秒"), highlight=False)  # fmt: skip
            for e in run.errors[:10]:
                out.print(f"  {e}", highlight=False, markup=False)
            return
        stop = threading.Event()
        out.print(t("delivering; Ctrl-C stops", "投递中；Ctrl-C 停止"), highlight=False)
        try:
            while not stop.is_set():
                run = d.deliver_once()
                if run.claimed:
                    out.print(f"{dt.datetime.now():%H:%M:%S} sent {run.sent} retry "
                              f"{run.retried} dead {run.dead}", highlight=False)  # fmt: skip
                stop.wait(interval)
        except KeyboardInterrupt:
            stop.set()


@command(flows_app, "retry", help=t("Put a dead-lettered delivery back in the queue.",
                                    "把死信中的投递重新放回队列。"))  # fmt: skip
def flows_retry(
    delivery_id: Annotated[int, typer.Argument(help="The delivery's id.")],
    project: ProjectDir = None,
    wait: Wait = 0.0,
) -> None:
    """Put a dead-lettered delivery back in the queue."""
    from tierwise.errors import TierwiseError

    with open_project(project, wait=wait) as p:
        if not p.store.retry_flow_delivery(delivery_id, dt.datetime.now()):
            row = p.store.flow_delivery(delivery_id)
            why = "no such delivery" if row is None else f"it is {row['status']}, not dead"
            raise TierwiseError(f"delivery {delivery_id} not retried: {why}")
    out.print(t(f"delivery {delivery_id} is queued again", f"投递 {delivery_id} 已重新排队"),
              highlight=False)  # fmt: skip
