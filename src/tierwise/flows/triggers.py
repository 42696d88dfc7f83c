"""Which customers each flow fires for, and what becomes of each firing.

Triggers compare the newest snapshot with the previous one (segment entries and exits,
label changes, intention rises) or read what happened since the previous snapshot (churn
events, dates). A firing is a *crossing*; its conditions are checked on the newest snapshot,
then the caps and the control group of the flow's playbook decide whether it is delivered.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from tierwise.config import Config
from tierwise.errors import ConfigError
from tierwise.flows.model import CHURN_EVENTS, Flow, FlowFile
from tierwise.playbooks import GLOBAL, PlaybookFile, in_control
from tierwise.segments.evaluate import ResolvedSegment, segment_members, store_context
from tierwise.segments.saved import SegmentBook
from tierwise.store import Store

__all__ = [
    "GRADES",
    "Crossing",
    "FlowPass",
    "crossings",
    "evaluate_flows",
    "idempotency_key",
    "outbox_table",
]

GRADES = ("long_silent", "low", "medium", "high")
"""Intention grades from lowest to highest (a rise moves right)."""


@dataclass(frozen=True)
class Crossing:
    """One customer for whom a flow's trigger fired; ``ref`` makes it unique."""

    flow: str
    customer_id: str
    trigger: str
    ref: str
    detail: dict[str, Any]


@dataclass
class FlowPass:
    """What one evaluation found and decided: outbox rows and counts per flow."""

    as_of: dt.date
    previous: dt.date | None
    rows: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    added: int = 0

    def count(self, flow: str, what: str, n: int = 1) -> None:
        c = self.counts.setdefault(flow, {"crossings": 0, "already": 0, "unmet": 0, "pending": 0,
                                          "recorded": 0, "capped": 0, "control": 0})  # fmt: skip
        c[what] = c.get(what, 0) + n

    def totals(self) -> dict[str, int]:
        """Counts summed over the flows."""
        out: dict[str, int] = {}
        for c in self.counts.values():
            for k, v in c.items():
                out[k] = out.get(k, 0) + v
        return out


def idempotency_key(flow: str, customer_id: str, trigger: str, ref: str) -> str:
    """The key that makes a crossing unique in the outbox (and for the receiver)."""
    return hashlib.sha256(f"{flow}|{customer_id}|{trigger}|{ref}".encode()).hexdigest()[:32]


def _day_end(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


def _members(store: Store, config: Config, directory: Path, expr: str, name: str,
             day: dt.date) -> set[str]:  # fmt: skip
    book = SegmentBook(directory).load()
    ctx = store_context(store, config, day, segments={n: s.expr for n, s in book.items()},
                        base_dir=directory)  # fmt: skip
    ids = segment_members(ResolvedSegment(expr, name), ctx, ["customer_id"]).to_pyarrow()
    return set(ids.column("customer_id").to_pylist())


def _segment_expr(directory: Path, spec: str) -> str:
    book = SegmentBook(directory).load()
    return book[spec].expr if spec in book else spec


def _as_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def crossings(
    store: Store, config: Config, directory: Path, name: str, flow: Flow, as_of: dt.date,
    previous: dt.date | None,
) -> list[Crossing]:  # fmt: skip
    """The customers a flow's trigger fires for between ``previous`` and ``as_of``.

    Snapshot comparisons (segments, labels, intention) need a previous snapshot; without
    one they fire for nobody. Events and dates look back ``lookback_days`` instead.
    """
    tr = flow.trigger
    out: list[Crossing] = []
    if tr.kind in ("segment_entry", "segment_exit"):
        if previous is None:
            return []
        expr = _segment_expr(directory, tr.segment or "")
        now = _members(store, config, directory, expr, tr.segment or "", as_of)
        before = _members(store, config, directory, expr, tr.segment or "", previous)
        ids = now - before if tr.kind == "segment_entry" else before - now
        for cid in sorted(ids):
            out.append(Crossing(name, cid, tr.kind, f"{tr.segment}@{as_of}",
                                {"segment": tr.segment, "previous": str(previous)}))  # fmt: skip
    elif tr.kind == "intention_up" and tr.live:
        start = (_day_end(previous) if previous is not None
                 else _day_end(as_of) - dt.timedelta(days=tr.lookback_days))  # fmt: skip
        to = tr.to or ["medium", "high"]
        for r in store.live_intention_crossings(start).to_pylist():
            if r["grade"] not in to:
                continue
            out.append(Crossing(name, r["customer_id"], tr.kind, f"live:{r['event_id']}",
                                {"live": True, "to": r["grade"], "event_id": r["event_id"],
                                 "event_type": r["event_type"], "channel": r["channel"],
                                 "crossed_at": str(r["crossed_at"]),
                                 "score_before": r["score_before"],
                                 "score_after": r["score_after"]}))  # fmt: skip
    elif tr.kind in ("label_change", "intention_up"):
        if previous is None:
            return []
        scheme = tr.scheme or "intention"
        if scheme not in config.schemes:
            raise ConfigError(f"flow {name}: unknown scheme {scheme!r}; schemes: "
                              f"{', '.join(config.schemes)}")  # fmt: skip
        changes = store.snapshot_column_changes(scheme, previous, as_of).to_pylist()
        to = tr.to or (["medium", "high"] if tr.kind == "intention_up" else None)
        for r in changes:
            if r["before"] is None:
                continue
            if tr.from_ and r["before"] not in tr.from_:
                continue
            if to and r["after"] not in to:
                continue
            if tr.kind == "intention_up":
                rank = {g: i for i, g in enumerate(GRADES)}
                if rank.get(r["after"], -1) <= rank.get(r["before"], -1):
                    continue
            out.append(Crossing(name, r["customer_id"], tr.kind,
                                f"{scheme}:{r['before']}>{r['after']}@{as_of}",
                                {"scheme": scheme, "from": r["before"], "to": r["after"],
                                 "previous": str(previous)}))  # fmt: skip
    elif tr.kind == "churn_signal":
        start = (_day_end(previous) if previous is not None
                 else _day_end(as_of) - dt.timedelta(days=tr.lookback_days))  # fmt: skip
        ev = store.events_between(list(tr.events or CHURN_EVENTS), start, _day_end(as_of))
        for r in ev.to_pylist():
            if tr.channels and r["channel"] not in tr.channels:
                continue
            out.append(Crossing(name, r["customer_id"], tr.kind, r["event_id"],
                                {"event_type": r["event_type"], "channel": r["channel"],
                                 "occurred_at": str(r["occurred_at"])}))  # fmt: skip
    elif tr.kind == "date":
        first = previous if previous is not None else as_of - dt.timedelta(days=tr.lookback_days)
        if tr.column is not None:
            if tr.column not in store.profile_columns(as_of):
                raise ConfigError(f"flow {name}: the snapshot as of {as_of} has no column "
                                  f"{tr.column!r}")  # fmt: skip
            values = store.arrow(f'SELECT customer_id, "{tr.column}" AS value FROM '
                                 f'"{store.profile_table_name(as_of)}" '
                                 f'WHERE "{tr.column}" IS NOT NULL').to_pylist()  # fmt: skip
        else:
            values = store.customer_attribute(tr.attribute or "").to_pylist()
        for r in values:
            base = _as_date(r["value"])
            if base is None:
                continue
            hit = _date_hit(base + dt.timedelta(days=tr.after_days), first, as_of, tr.yearly)
            if hit is not None:
                out.append(Crossing(name, r["customer_id"], tr.kind, str(hit),
                                    {"date": str(base), "due": str(hit),
                                     "after_days": tr.after_days}))  # fmt: skip
    return out


def _date_hit(day: dt.date, first: dt.date, last: dt.date, yearly: bool) -> dt.date | None:
    """The day in ``(first, last]`` that ``day`` (every year when ``yearly``) falls on."""
    if not yearly:
        return day if first < day <= last else None
    for year in range(first.year, last.year + 1):
        try:
            d = day.replace(year=year)
        except ValueError:  # 29 February in a common year: 28 February
            d = dt.date(year, 2, 28)
        if first < d <= last:
            return d
    return None


def evaluate_flows(
    store: Store, config: Config, directory: str | Path, flows: FlowFile,
    playbooks: PlaybookFile, as_of: dt.date | None = None, *, only: str | None = None,
    now: dt.datetime | None = None,
) -> FlowPass:  # fmt: skip
    """Crossings of every enabled flow (or ``only`` one) as of a snapshot, with conditions,
    caps and control groups applied, as outbox rows (nothing is written here).

    Caps count ``campaign_send`` events and earlier flow deliveries in the cap's days before
    the end of ``as_of``, plus the rows of this pass; held-out customers become ``control``
    rows, capped ones ``capped`` rows, so both are kept with their reason.
    """
    directory = Path(directory)
    as_of = as_of or store.latest_snapshot()
    earlier = [d for d in store.snapshots() if d < as_of]
    previous = earlier[-1] if earlier else None
    now = now or dt.datetime.now().replace(microsecond=0)
    result = FlowPass(as_of, previous)
    names = [only] if only is not None else [n for n, f in flows.flows.items() if f.enabled]
    contacts: dict[tuple[str, int], dict[str, int]] = {}
    planned: dict[str, int] = {}
    for name in names:
        flow = flows.flow(name)
        pb = playbooks.playbook(flow.playbook)
        rule = None
        if flow.action.rule is not None:
            rules = {r.id: r for r in pb.rules}
            if flow.action.rule not in rules:
                raise ConfigError(f"{flows.source}: flows.{name}.action.rule: no rule "
                                  f"{flow.action.rule!r} in playbook {flow.playbook}")  # fmt: skip
            rule = rules[flow.action.rule]
        channel = rule.action.channel if rule is not None else None
        found = crossings(store, config, directory, name, flow, as_of, previous)
        result.count(name, "crossings", len(found))
        keys = [idempotency_key(name, c.customer_id, c.trigger, c.ref) for c in found]
        present = store.flow_keys_present(keys)
        if present:
            result.count(name, "already", len(present))
        pairs = [(c, k) for c, k in zip(found, keys, strict=True) if k not in present]
        found = [c for c, _ in pairs]
        key_of = {id(c): k for c, k in pairs}
        if flow.when is not None and found:
            keep = _members(store, config, directory, flow.when, name, as_of)
            met = [c for c in found if c.customer_id in keep]
            result.count(name, "unmet", len(found) - len(met))
            found = met
        caps = [c for c in pb.caps
                if (c.channel == "all" or c.channel == channel)
                and (c.rule is None or c.rule == flow.action.rule)]  # fmt: skip
        for cap in caps:
            k = (cap.channel, cap.days)
            if k not in contacts:
                since = _day_end(as_of) - dt.timedelta(days=cap.days)
                t = store.flow_contacts(since, None if cap.channel == "all" else cap.channel)
                contacts[k] = dict(zip(t.column("customer_id").to_pylist(),
                                       t.column("contacts").to_pylist(), strict=True))  # fmt: skip
        gc = playbooks.global_control
        for c in found:
            status, reason = ("pending" if flow.action.webhook else "recorded"), None
            if in_control(c.customer_id, GLOBAL, gc.salt, gc.share):
                status, reason = "control", "global control group"
            elif in_control(c.customer_id, flow.playbook, pb.control.salt, pb.control.share):
                status, reason = "control", f"control group of playbook {flow.playbook}"
            else:
                for cap in caps:
                    had = (contacts[(cap.channel, cap.days)].get(c.customer_id, 0)
                           + planned.get(c.customer_id, 0))  # fmt: skip
                    if had + 1 > cap.max:
                        status = "capped"
                        reason = f"cap {cap.id}: {had} sent in {cap.days} days, max {cap.max}"
                        break
            if status in ("pending", "recorded"):
                planned[c.customer_id] = planned.get(c.customer_id, 0) + 1
            result.count(name, status)
            key = key_of[id(c)]
            action = None
            if rule is not None:
                action = {"rule": rule.id, "channel": rule.action.channel,
                          "offer": rule.action.offer, "message": rule.action.message}  # fmt: skip
            payload = {"idempotency_key": key, "flow": name, "customer_id": c.customer_id,
                       "as_of": str(as_of), "trigger": {"kind": c.trigger, **c.detail},
                       "action": action}  # fmt: skip
            result.rows.append({
                "idempotency_key": key, "flow": name, "customer_id": c.customer_id,
                "trigger": c.trigger, "detail": json.dumps(c.detail, ensure_ascii=False),
                "as_of": as_of, "action": "webhook" if flow.action.webhook else "playbook",
                "url": flow.action.webhook,
                "payload": json.dumps(payload, ensure_ascii=False, sort_keys=True),
                "status": status, "reason": reason,
                "max_attempts": flows.delivery.max_attempts,
                "due_at": now + dt.timedelta(seconds=flow.wait),
            })  # fmt: skip
    return result


def outbox_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Outbox rows as the Arrow table the store takes."""
    schema = pa.schema([
        ("idempotency_key", pa.string()), ("flow", pa.string()), ("customer_id", pa.string()),
        ("trigger", pa.string()), ("detail", pa.string()), ("as_of", pa.date32()),
        ("action", pa.string()), ("url", pa.string()), ("payload", pa.string()),
        ("status", pa.string()), ("reason", pa.string()), ("max_attempts", pa.int64()),
        ("due_at", pa.timestamp("us")),
    ])  # fmt: skip
    return pa.Table.from_pylist(rows, schema=schema)
