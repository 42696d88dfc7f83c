"""Opt-out / do-not-contact lists and send logs, read from a merchant's file and checked.

Both are read like any import (CSV in any encoding, Excel, Parquet, JSON Lines; see
``docs/import.md``) and every row is checked. A file with bad rows is refused whole by default:
the error names the file, row, column and why, and nothing is written. With
``bad_rows="quarantine"`` the good rows are kept and the bad ones go to a quarantine CSV with
their reasons.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from tierwise.errors import ImportValidationError
from tierwise.io.report import Problem
from tierwise.playbooks._selectors import _closest
from tierwise.schema import EVENTS

__all__ = [
    "CONSENT_KINDS",
    "CheckedFile",
    "read_consent_file",
    "read_sends_file",
]

CONSENT_KINDS = ("opt_out", "do_not_contact")
"""``opt_out``: the customer said no (to a channel or to all); ``do_not_contact``: the shop's
own list (complaints, legal holds)."""

BadRows = Literal["refuse", "quarantine"]

_CONSENT_COLUMNS = {
    "customer_id": ("customer_id", "customer", "customer id", "客户id", "用户id", "会员id"),
    "channel": ("channel", "渠道"),
    "kind": ("kind", "type", "类型"),
    "reason": ("reason", "原因", "备注"),
    "date": ("date", "since", "opt_out_date", "日期", "退订日期"),
}
_SEND_COLUMNS = {
    "customer_id": _CONSENT_COLUMNS["customer_id"],
    "sent_at": ("sent_at", "occurred_at", "send_time", "time", "发送时间"),
    "channel": ("channel", "渠道"),
    "playbook": ("playbook", "运营手册"),
    "action": ("action", "动作"),
    "rule": ("rule", "规则"),
    "plan": ("plan", "plan_as_of", "计划"),
    "event_id": ("event_id", "send_id", "id"),
}
_KIND_WORDS = {
    "opt_out": "opt_out", "optout": "opt_out", "opt-out": "opt_out", "unsubscribe": "opt_out",
    "unsubscribed": "opt_out", "退订": "opt_out", "拒收": "opt_out",
    "do_not_contact": "do_not_contact", "dnc": "do_not_contact",
    "do-not-contact": "do_not_contact", "勿扰": "do_not_contact", "禁止联系": "do_not_contact",
}  # fmt: skip
_ALL_WORDS = {"all", "*", "全部", "所有", "全渠道"}


@dataclass
class CheckedFile:
    """A file read and checked: the good rows, every problem, and what was done.

    Attributes
    ----------
    rows : pyarrow.Table
        The rows to store (consent rows, or canonical events for a send log).
    problems : list of Problem
        One per bad row (file, row, column, value, reason).
    rows_read : int
        Data rows in the file.
    quarantine_path : Path or None
        Where the bad rows went (``bad_rows="quarantine"``).
    """

    rows: pa.Table
    problems: list[Problem]
    rows_read: int
    quarantine_path: Path | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: rows read, kept and rejected."""
        bad = len({p.row for p in self.problems})
        where = f" (quarantined in {self.quarantine_path})" if self.quarantine_path else ""
        return f"{self.rows_read} read, {self.rows.num_rows} kept, {bad} rejected{where}"


def _columns(raw: Any, spec: Mapping[str, tuple[str, ...]], required: Collection[str]) -> dict:
    lower = {name.strip().lower(): name for name in raw.table.column_names}
    found = {}
    for canon, aliases in spec.items():
        hit = next((lower[a] for a in aliases if a in lower), None)
        if hit is not None:
            found[canon] = hit
    missing = [c for c in required if c not in found]
    if missing:
        have = ", ".join(raw.table.column_names) or "none"
        tip = _closest(missing[0], lower)
        raise ImportValidationError(
            f"{raw.name}: no {missing[0]} column{tip}; the file has: {have}"
        )
    return found


def _values(raw: Any, header: str | None) -> list[str | None]:
    if header is None:
        return [None] * raw.table.num_rows
    out = []
    for v in raw.table.column(header).to_pylist():
        v = v.strip() if isinstance(v, str) else v
        out.append(v or None)
    return out


def _date(text: str) -> dt.date:
    m = re.match(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})", text)
    if m is None:
        raise ValueError
    return dt.date(int(m[1]), int(m[2]), int(m[3]))


def _datetime(text: str) -> dt.datetime:
    m = re.match(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?",
                 text)  # fmt: skip
    if m is None:
        raise ValueError
    parts = [int(x) if x else 0 for x in m.groups()]
    return dt.datetime(*parts)


def _finish(
    raw: Any,
    good: list[dict],
    problems: list[Problem],
    schema: pa.Schema,
    bad_rows: BadRows,
    quarantine_dir: Path | None,
    what: str,
) -> CheckedFile:
    rows = pa.Table.from_pylist(good, schema=schema)
    checked = CheckedFile(rows, problems, raw.table.num_rows)
    if not problems:
        return checked
    if bad_rows == "refuse":
        bad = sorted({p.row for p in problems})
        lines = "\n".join(f"  {p}" for p in problems[:10])
        more = f"\n  … {len(problems) - 10} more" if len(problems) > 10 else ""
        raise ImportValidationError(
            f"{raw.name}: {len(bad)} of {raw.table.num_rows} rows are bad; nothing was "
            f"imported (fix them, or keep the good rows with --quarantine):\n{lines}{more}"
        )
    from tierwise.export import write_table

    qdir = Path(quarantine_dir or Path(raw.path or ".").resolve().parent / "quarantine")
    qdir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    path = qdir / f"{what}-{stamp}-{Path(raw.name).stem}.csv"
    reasons: dict[int, list[str]] = {}
    for p in problems:
        reasons.setdefault(p.row, []).append(p.reason)
    index = {int(r): i for i, r in enumerate(raw.rows)}
    keep = [index[r] for r in sorted(reasons)]
    table = raw.table.take(pa.array(keep, pa.int64()))
    table = table.append_column("_row", pa.array(sorted(reasons), pa.int64()))
    table = table.append_column(
        "_reasons", pa.array(["; ".join(reasons[r]) for r in sorted(reasons)], pa.string())
    )
    checked.quarantine_path = write_table(table, path)
    return checked


CONSENT_SCHEMA = pa.schema(
    [("customer_id", pa.string()), ("channel", pa.string()), ("kind", pa.string()),
     ("reason", pa.string()), ("since", pa.date32()), ("source", pa.string())]
)  # fmt: skip


def read_consent_file(
    path: str | Path,
    channels: Collection[str],
    *,
    kind: str | None = None,
    bad_rows: BadRows = "refuse",
    encoding: str | None = None,
    sheet: str | int | None = None,
    quarantine_dir: Path | None = None,
) -> CheckedFile:
    """Read an opt-out or do-not-contact list.

    Columns (headers in any case; Chinese headers such as 客户ID, 渠道, 原因, 日期 work too):
    ``customer_id`` (required), ``channel`` (a channel of the playbooks or ``all``; all when
    the column is missing), ``kind`` (``opt_out`` or ``do_not_contact``; else ``kind=``),
    ``reason``, ``date`` (YYYY-MM-DD).

    Raises
    ------
    ImportValidationError
        When the file cannot be read, lacks ``customer_id``, or (``bad_rows="refuse"``) has
        a bad row: the message lists file, row, column and why.
    """
    from tierwise.io.readers import read_file

    if kind is not None and kind not in CONSENT_KINDS:
        raise ImportValidationError(f"kind must be one of {', '.join(CONSENT_KINDS)}, not {kind!r}")
    raw = read_file(path, encoding=encoding, sheet=sheet)
    cols = _columns(raw, _CONSENT_COLUMNS, ["customer_id"])
    if "kind" not in cols and kind is None:
        raise ImportValidationError(
            f"{raw.name}: no kind column; say which list it is with --kind opt_out or "
            "--kind do_not_contact"
        )
    known = set(channels)
    values = {c: _values(raw, cols.get(c)) for c in _CONSENT_COLUMNS}
    good, problems = [], []
    for i, row in enumerate(raw.rows.tolist()):

        def bad(col: str, value: Any, why: str, row: int = row) -> None:
            problems.append(Problem(raw.name, row, cols.get(col, col), value, f"{col}: {why}"))

        n = len(problems)
        cid = values["customer_id"][i]
        if cid is None:
            bad("customer_id", None, "empty")
        ch = values["channel"][i] if "channel" in cols else "all"
        if ch is None:
            bad("channel", None, "empty; write all for every channel")
        elif ch.lower() in _ALL_WORDS:
            ch = "all"
        elif ch not in known:
            bad("channel", ch, f"unknown channel {ch!r}{_closest(ch, known | {'all'})}")
        k = values["kind"][i] if "kind" in cols else kind
        if "kind" in cols and k is None and kind is not None:
            k = kind
        k_norm = _KIND_WORDS.get((k or "").lower()) if k else None
        if k_norm is None:
            bad("kind", k, f"{k!r} is neither opt_out nor do_not_contact")
        since = None
        if values["date"][i] is not None:
            try:
                since = _date(values["date"][i])
            except ValueError:
                bad("date", values["date"][i], f"{values['date'][i]!r} is not a date like "
                    "2025-12-31")  # fmt: skip
        if len(problems) == n:
            good.append({"customer_id": cid, "channel": ch, "kind": k_norm,
                         "reason": values["reason"][i], "since": since,
                         "source": raw.name})  # fmt: skip
    return _finish(raw, good, problems, CONSENT_SCHEMA, bad_rows, quarantine_dir, "consent")


def read_sends_file(
    path: str | Path,
    *,
    known_customers: Any,
    actions: Mapping[str, Collection[str]],
    bad_rows: BadRows = "refuse",
    encoding: str | None = None,
    sheet: str | int | None = None,
    quarantine_dir: Path | None = None,
) -> CheckedFile:
    """Read a send log (what a messaging tool actually sent) as ``campaign_send`` events.

    Columns: ``customer_id``, ``sent_at``, ``playbook``, ``action`` (required), ``channel``,
    ``rule``, ``plan`` (the plan's as-of day), ``event_id`` (else a hash of the row). The event
    ``attributes`` carry ``{"playbook", "action", "rule", "plan"}``, which uplift and the caps
    read.

    Parameters
    ----------
    known_customers : callable
        ``known_customers(ids) -> list of unknown ids`` (`tierwise.store.Store.unknown_customers`).
    actions : mapping
        Playbook name -> its action ids; other names are bad rows.
    """
    from tierwise.io.readers import read_file

    raw = read_file(path, encoding=encoding, sheet=sheet)
    cols = _columns(raw, _SEND_COLUMNS, ["customer_id", "sent_at", "playbook", "action"])
    values = {c: _values(raw, cols.get(c)) for c in _SEND_COLUMNS}
    unknown = set(known_customers(pa.array(values["customer_id"], pa.string())))
    good, problems = [], []
    for i, row in enumerate(raw.rows.tolist()):

        def bad(col: str, value: Any, why: str, row: int = row) -> None:
            problems.append(Problem(raw.name, row, cols.get(col, col), value, f"{col}: {why}"))

        n = len(problems)
        v = {c: values[c][i] for c in values}
        if v["customer_id"] is None:
            bad("customer_id", None, "empty")
        elif v["customer_id"] in unknown:
            bad("customer_id", v["customer_id"], f"no customer {v['customer_id']!r} in the store")
        at = None
        try:
            at = _datetime(v["sent_at"] or "")
        except ValueError:
            bad("sent_at", v["sent_at"], f"{v['sent_at']!r} is not a time like 2026-01-01 09:00")
        pb, act = v["playbook"], v["action"]
        if pb not in actions:
            bad("playbook", pb, f"unknown playbook {pb!r}{_closest(pb or '', actions)}")
        elif act not in actions[pb]:
            bad("action", act, f"playbook {pb} has no action {act!r}"
                f"{_closest(act or '', actions[pb])}")  # fmt: skip
        plan = v["plan"]
        if plan is not None:
            try:
                plan = _date(plan).isoformat()
            except ValueError:
                bad("plan", plan, f"{plan!r} is not a plan day like 2025-12-31")
        if len(problems) > n:
            continue
        attrs = {"playbook": pb, "action": act}
        attrs |= {k: x for k, x in (("rule", v["rule"]), ("plan", plan)) if x is not None}
        eid = (
            v["event_id"]
            or "send-"
            + hashlib.sha256(
                f"{v['customer_id']}|{at.isoformat()}|{pb}|{act}".encode()
            ).hexdigest()[:20]
        )
        good.append({
            "event_id": eid, "customer_id": v["customer_id"], "occurred_at": at,
            "event_type": "campaign_send", "channel": v["channel"], "text": None,
            "target_customer_id": None,
            "attributes": json.dumps(attrs, ensure_ascii=False, sort_keys=True),
        })  # fmt: skip
    return _finish(raw, good, problems, EVENTS.arrow_schema(), bad_rows, quarantine_dir, "sends")
