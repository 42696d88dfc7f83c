"""The plan builder: a playbook applied to a snapshot, with caps, consent and control groups.

Every candidate action (a rule's selector holds for the customer) becomes one row of the
plan. The checks run in this order, and the first that holds gives the row its ``reason``:

1. ``exclusion`` — an exclusion of the playbook holds the customer back from this action;
2. ``no_channel`` — the action takes its channel from a profile column that is empty;
3. ``do_not_contact`` / ``opt_out`` — the customer is on the list for this channel or all;
4. ``outranked`` — a higher-priority action won the channel (one action per channel);
5. ``cap`` — a channel or rule cap is reached, counting ``campaign_send`` events and the
   planned rows of other stored plans less than the cap's ``days`` away from the send time (a
   stored plan stops counting once sends carrying its ``plan`` day have been imported);
6. ``cap`` — an all-channel cap is reached (the customer's actions count in priority order);
7. ``budget`` — the rule's budget is spent (customers served in ``rank_by`` order);
8. ``global_control`` / ``control`` — the customer is held out (`tierwise.playbooks.in_control`).

Rows without a reason are ``planned``; control rows keep the action they would have got, so
uplift compares like with like. Budgets and caps are decided before the control group is held
out, so the control group is drawn from exactly the customers who would have been sent to.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from tierwise.errors import ConfigError
from tierwise.playbooks._control import GLOBAL, in_control_expr
from tierwise.playbooks._model import ActionFilter, Exclusion, Playbook, PlaybookFile, Rule
from tierwise.playbooks._selectors import SegmentResolver, SnapshotVocabulary, _closest

__all__ = [
    "PLAN_COLUMNS",
    "REASONS",
    "PlanInputs",
    "attribute",
    "build_plan",
    "check_playbook",
    "plan_summary",
]

PLAN_COLUMNS = (
    "customer_id", "rule", "segment", "action", "channel", "offer", "message", "priority",
    "cost", "status", "reason", "detail", "send_at", "control",
)  # fmt: skip
"""Columns of a plan (the store adds ``as_of`` and ``playbook`` in front)."""

REASONS = (
    "exclusion", "no_channel", "do_not_contact", "opt_out", "outranked", "cap", "budget",
    "global_control", "control",
)  # fmt: skip
"""Why an action is not sent, in the order the checks run."""


def attribute(attributes: ir.StringValue, key: str) -> ir.StringValue:
    """A string value of an event's ``attributes`` JSON (ids only: no escaped quotes)."""
    return attributes.re_extract(rf'"{key}"\s*:\s*"([^"]*)"', 1).nullif("")


@dataclass(frozen=True)
class PlanInputs:
    """What a plan reads besides the snapshot (Ibis tables on the same backend).

    Attributes
    ----------
    events : ibis Table or None
        The canonical events; ``campaign_send`` events count towards caps.
    plans : ibis Table or None
        Earlier stored plans (the store's ``plans`` table); their planned rows count towards
        caps until sends of that plan have been imported.
    consent : ibis Table or None
        Opt-out and do-not-contact rows (customer_id, channel or ``all``, kind).
    send_types : sequence of str
        Event types that are sends (``features.campaign_send_types``).
    """

    events: ir.Table | None = None
    plans: ir.Table | None = None
    consent: ir.Table | None = None
    send_types: Sequence[str] = ("campaign_send",)


def check_playbook(
    playbooks: PlaybookFile,
    name: str,
    vocab: SnapshotVocabulary,
    resolver: SegmentResolver | None = None,
) -> Playbook:
    """Check that a playbook only names what the snapshot has; return it.

    Raises
    ------
    ConfigError
        Naming the place in the playbook file and the closest known name.
    """
    pb = playbooks.playbook(name)
    for (pname, _, _), sel in playbooks.selectors.items():
        if pname == name:
            sel.check(vocab, resolver)
    src = playbooks.source
    columns = vocab.columns
    for i, r in enumerate(pb.rules):
        at = f"{src}: playbooks.{name}.rules[{i}]"
        for what, col in (("action.channel_column", r.action.channel_column),
                          ("rank_by", r.rank_by)):  # fmt: skip
            if col is not None and col not in columns:
                raise ConfigError(
                    f"{at}.{what}: no column {col!r} in the snapshot{_closest(col, columns)}"
                )
    for i, e in enumerate(pb.exclusions):
        for kind, flt in (("block", e.block), ("allow", e.allow)):
            col = flt.channel_column if flt else None
            if col is not None and col not in columns:
                raise ConfigError(
                    f"{src}: playbooks.{name}.exclusions[{i}].{kind}.channel_column: no column "
                    f"{col!r} in the snapshot{_closest(col, columns)}"
                )
    return pb


def _lit(value: bool | ir.BooleanValue) -> ir.BooleanValue:
    return ibis.literal(value) if isinstance(value, bool) else value


def _and(*parts: bool | ir.BooleanValue) -> bool | ir.BooleanValue:
    exprs = [p for p in parts if not isinstance(p, bool)]
    if any(p is False for p in parts):
        return False
    return reduce(operator.and_, exprs) if exprs else True


def _matches(
    flt: ActionFilter, rule: Rule, channel: ir.StringValue | str, p: ir.Table
) -> bool | ir.BooleanValue:
    """Whether an action matches a filter: a static answer when it can be decided from the
    playbook alone, else an expression over the profile row."""
    a = rule.action
    parts: list[bool | ir.BooleanValue] = []
    if flt.offers is not None:
        parts.append(a.offer in flt.offers)
    if flt.max_cost is not None:
        parts.append(a.cost <= flt.max_cost)
    if flt.channels is not None:
        parts.append(channel in flt.channels if isinstance(channel, str)
                     else channel.isin(flt.channels).fill_null(False))  # fmt: skip
    if flt.channel_column is not None:
        col = p[flt.channel_column]
        parts.append((col == channel).fill_null(False))
    return _and(*parts)


def _blocks(e: Exclusion, rule: Rule, channel: Any, p: ir.Table) -> bool | ir.BooleanValue:
    if e.block is not None:
        return _matches(e.block, rule, channel, p)
    if e.allow is not None:
        m = _matches(e.allow, rule, channel, p)
        return (not m) if isinstance(m, bool) else ~m
    return True


def _candidates(
    p: ir.Table,
    pf: PlaybookFile,
    name: str,
    pb: Playbook,
    resolver: SegmentResolver | None,
) -> ir.Table:
    """One row per (customer, rule) whose selector holds, with the first exclusion that
    holds the customer back from the rule's action."""
    excl_when = {
        e.id: pf.selectors[(name, "exclusions", e.id)].compile(p, resolver) for e in pb.exclusions
    }
    parts = []
    for i, rule in enumerate(pb.rules):
        a = rule.action
        sel = pf.selectors[(name, "rules", rule.id)]
        if a.channel_column is not None:
            channel: Any = p[a.channel_column].cast("string")
            if a.channel is not None:
                channel = channel.fill_null(a.channel)
        else:
            channel = a.channel
        cases = []
        for e in pb.exclusions:
            blocks = _blocks(e, rule, channel, p)
            if blocks is False:
                continue
            cases.append((excl_when[e.id] & _lit(blocks), e.id))
        excluded = ibis.cases(*cases, else_=ibis.null("string")) if cases else ibis.null("string")
        rank = p[rule.rank_by].cast("float64") if rule.rank_by else ibis.null("float64")
        parts.append(
            p.filter(sel.compile(p, resolver)).select(
                customer_id=p.customer_id.cast("string"),
                rule=ibis.literal(rule.id),
                rule_order=ibis.literal(i, "int64"),
                segment=ibis.literal(sel.describe()),
                action=ibis.literal(a.id),
                channel=channel if not isinstance(channel, str) else ibis.literal(channel),
                offer=ibis.literal(a.offer),
                message=ibis.literal(a.message),
                priority=ibis.literal(rule.priority, "int64"),
                cost=ibis.literal(float(a.cost), "float64"),
                excluded=excluded,
                rank_value=rank,
            )
        )
    return reduce(lambda x, y: x.union(y), parts)


def _consent(consent: ir.Table | None) -> tuple[ir.Table, ir.Table] | None:
    if consent is None:
        return None
    c = consent.select(
        customer_id=consent.customer_id.cast("string"),
        channel=consent.channel.cast("string"),
        kind=consent.kind.cast("string"),
    )
    everywhere = (
        c.filter(c.channel == "all").group_by("customer_id").aggregate(kind_all=c.kind.min())
    )
    per_channel = (
        c.filter(c.channel != "all")
        .group_by(["customer_id", "channel"])
        .aggregate(kind_ch=c.kind.min())
    )
    return everywhere, per_channel


def _history(
    pb: Playbook,
    name: str,
    as_of: dt.date,
    send_at: dt.datetime,
    inputs: PlanInputs,
) -> ir.Table | None:
    """Per customer, the sends less than a cap's ``days`` away from ``send_at`` (``h_<cap
    id>``): sent ones (events) and planned ones of other stored plans, before or after."""
    if not pb.caps:
        return None
    longest = max(c.days for c in pb.caps)
    start = send_at - dt.timedelta(days=longest)
    end = send_at + dt.timedelta(days=longest)
    parts = []
    imported = None
    if inputs.events is not None:
        e = inputs.events
        e = e.filter(
            e.event_type.isin(list(inputs.send_types))
            & (e.occurred_at > start)
            & (e.occurred_at < end)
        )
        e = e.select(
            customer_id=e.customer_id.cast("string"),
            at=e.occurred_at,
            channel=e.channel.cast("string"),
            playbook=attribute(e.attributes, "playbook"),
            rule=attribute(e.attributes, "rule"),
            plan=attribute(e.attributes, "plan"),
        )
        parts.append(e.select("customer_id", "at", "channel", "playbook", "rule"))
        imported = e.filter(e.plan.notnull()).select("playbook", "plan").distinct()
    if inputs.plans is not None:
        q = inputs.plans
        q = q.filter(
            (q.status == "planned")
            & (q.send_at > start)
            & (q.send_at < end)
            & ~((q.as_of == ibis.literal(as_of)) & (q.playbook == name))
        )
        q = q.select(
            customer_id=q.customer_id.cast("string"), at=q.send_at, channel=q.channel,
            playbook=q.playbook, rule=q.rule, plan=q.as_of.cast("string"),
        )  # fmt: skip
        if imported is not None:
            q = q.anti_join(imported, ["playbook", "plan"])
        parts.append(q.select("customer_id", "at", "channel", "playbook", "rule"))
    if not parts:
        return None
    h = reduce(lambda x, y: x.union(y), parts)
    counts = {}
    for c in pb.caps:
        span = dt.timedelta(days=c.days)
        cond = (h.at > ibis.literal(send_at - span)) & (h.at < ibis.literal(send_at + span))
        if c.channel != "all":
            cond &= h.channel == c.channel
        if c.rule is not None:
            cond &= (h.rule == c.rule) & (h.playbook == name)
        counts[f"h_{c.id}"] = cond.fill_null(False).cast("int64").sum()
    return h.group_by("customer_id").aggregate(**counts)


def build_plan(
    profiles: ir.Table,
    playbooks: PlaybookFile,
    name: str,
    *,
    as_of: dt.date,
    send_at: dt.datetime | None = None,
    inputs: PlanInputs | None = None,
    vocab: SnapshotVocabulary | None = None,
    segment_resolver: SegmentResolver | None = None,
) -> ir.Table:
    """The plan of a playbook over a snapshot's profile table, as an Ibis expression.

    Parameters
    ----------
    profiles : ibis Table
        The snapshot (one row per customer: features and label columns).
    playbooks : PlaybookFile
        Loaded playbooks (`load_playbooks`).
    name : str
        Which playbook.
    as_of : datetime.date
        The snapshot's day (the plan's key).
    send_at : datetime.datetime, optional
        When the plan is sent; default the start of the day after ``as_of``. Each action is
        scheduled at the first moment inside its channel's send window.
    inputs : PlanInputs, optional
        Sends, earlier plans and consent lists; without them no cap or list applies.
    vocab : SnapshotVocabulary, optional
        Checked against before building (`check_playbook`); built from the table's columns
        alone when missing (labels and tags then are not checked).
    segment_resolver : callable, optional
        Resolves ``{segment: NAME}`` selectors (see `SegmentResolver`).

    Returns
    -------
    ibis Table
        The columns of :data:`PLAN_COLUMNS`, one row per candidate action.
    """
    inputs = inputs or PlanInputs()
    send_at = send_at or dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    vocab = vocab or SnapshotVocabulary(frozenset(profiles.columns))
    pb = check_playbook(playbooks, name, vocab, segment_resolver)
    c = _candidates(profiles, playbooks, name, pb, segment_resolver)

    # 1-3: exclusions, channel, consent
    reason = ibis.cases(
        (c.excluded.notnull(), "exclusion"),
        (c.channel.isnull(), "no_channel"),
        else_=ibis.null("string"),
    )
    detail = ibis.cases(
        (c.excluded.notnull(), ibis.literal("exclusion ") + c.excluded),
        else_=ibis.null("string"),
    )
    c = c.mutate(reason=reason, detail=detail)
    lists = _consent(inputs.consent)
    if lists is not None:
        everywhere, per_channel = lists
        c = c.left_join(everywhere, "customer_id").drop("customer_id_right")
        c = c.left_join(per_channel, ["customer_id", "channel"])
        c = c.drop(*[x for x in c.columns if x.endswith("_right")])
        dnc = (c.kind_all == "do_not_contact") | (c.kind_ch == "do_not_contact")
        listed = ibis.cases(
            (dnc.fill_null(False), "do_not_contact"),
            ((c.kind_all.notnull() | c.kind_ch.notnull()), "opt_out"),
            else_=ibis.null("string"),
        )
        where = ibis.cases((c.kind_all.notnull(), "all channels"), else_=c.channel)
        c = c.mutate(
            reason=c.reason.fill_null(listed),
            detail=ibis.cases(
                (c.reason.isnull() & listed.notnull(), listed + ibis.literal(" on ") + where),
                else_=c.detail,
            ),
        ).drop("kind_all", "kind_ch")

    # 4: one action per customer and channel, highest priority first
    free = c.reason.isnull()
    win = ibis.window(
        group_by=[c.customer_id, c.channel, free], order_by=[c.priority.desc(), c.rule_order]
    )
    c = c.mutate(
        _n=ibis.row_number().over(win),
        _winner=c.rule.first().over(win),
        _winner_p=c.priority.first().over(win),
    )
    outranked = c.reason.isnull() & (c._n > 0)
    c = c.mutate(
        reason=ibis.cases((outranked, "outranked"), else_=c.reason),
        detail=ibis.cases(
            (outranked, ibis.literal("outranked on ") + c.channel + ibis.literal(" by ")
             + c._winner + ibis.literal(" (priority ") + c._winner_p.cast("string")
             + ibis.literal(")")),
            else_=c.detail,
        ),
    ).drop("_n", "_winner", "_winner_p")  # fmt: skip

    # 5-6: caps
    hist = _history(pb, name, as_of, send_at, inputs)
    if hist is not None:
        c = c.left_join(hist, "customer_id").drop("customer_id_right")
        c = c.mutate(**{f"h_{cap.id}": c[f"h_{cap.id}"].fill_null(0) for cap in pb.caps})
        specific = [cap for cap in pb.caps if cap.channel != "all" or cap.rule is not None]
        overall = [cap for cap in pb.caps if cap.channel == "all" and cap.rule is None]
        cases = []
        for cap in specific:
            applies = ibis.literal(True)
            if cap.channel != "all":
                applies &= c.channel == cap.channel
            if cap.rule is not None:
                applies &= c.rule == cap.rule
            hit = c.reason.isnull() & applies & (c[f"h_{cap.id}"] + 1 > cap.max)
            cases.append((hit, cap))
        c = _cap_reasons(c, cases)
        if overall:
            free = c.reason.isnull()
            win = ibis.window(
                group_by=[c.customer_id, free], order_by=[c.priority.desc(), c.rule_order]
            )
            c = c.mutate(_k=ibis.row_number().over(win) + 1)
            c = _cap_reasons(c, [(c.reason.isnull() & (c[f"h_{cap.id}"] + c._k > cap.max), cap)
                                 for cap in overall]).drop("_k")  # fmt: skip
        c = c.drop(*[f"h_{cap.id}" for cap in pb.caps])

    # 7: budgets
    for rule in pb.rules:
        if rule.budget is None:
            continue
        mine = (c.rule == rule.id) & c.reason.isnull()
        win = ibis.window(
            group_by=[mine],
            order_by=[c.rank_value.desc(nulls_first=False), c.customer_id],
            rows=(None, 0),
        )
        spent = c.cost.sum().over(win)
        over = mine & (spent > rule.budget)
        c = c.mutate(
            reason=ibis.cases((over, "budget"), else_=c.reason),
            detail=ibis.cases(
                (over, ibis.literal(f"budget {rule.budget:g} of {rule.id} spent")),
                else_=c.detail,
            ),
        )

    # 8: control groups
    g = playbooks.global_control
    in_global = in_control_expr(c.customer_id, GLOBAL, g.salt, g.share)
    in_own = in_control_expr(c.customer_id, name, pb.control.salt, pb.control.share)
    free = c.reason.isnull()
    c = c.mutate(
        reason=ibis.cases((free & in_global, "global_control"), (free & in_own, "control"),
                          else_=c.reason),
        detail=ibis.cases(
            (free & in_global, ibis.literal(f"global control group ({g.share:.0%})")),
            (free & in_own, ibis.literal(f"control group of {name} ({pb.control.share:.0%})")),
            else_=c.detail,
        ),
        control=in_global | in_own,
    )  # fmt: skip
    status = ibis.cases(
        (c.reason.isnull(), "planned"),
        (c.reason.isin(["control", "global_control"]), "control"),
        else_="suppressed",
    )
    return c.mutate(status=status, send_at=_scheduled(c.channel, playbooks, send_at)).select(
        *PLAN_COLUMNS
    )


def _cap_reasons(c: ir.Table, cases: list[tuple[ir.BooleanValue, Any]]) -> ir.Table:
    if not cases:
        return c
    reason = ibis.cases(*[(hit, "cap") for hit, _ in cases], else_=c.reason)
    detail = ibis.cases(
        *[
            (hit, ibis.literal(f"cap {cap.id}: ") + c[f"h_{cap.id}"].cast("string")
             + ibis.literal(f" sent in {cap.days} days, max {cap.max}"))
            for hit, cap in cases
        ],
        else_=c.detail,
    )  # fmt: skip
    return c.mutate(reason=reason, detail=detail)


def _scheduled(channel: ir.StringValue, pf: PlaybookFile, send_at: dt.datetime) -> Any:
    cases = [
        (channel == name, ibis.literal(spec.scheduled(send_at), "timestamp"))
        for name, spec in pf.channels.items()
        if spec.scheduled(send_at) != send_at
    ]
    base = ibis.literal(send_at, "timestamp")
    return ibis.cases(*cases, else_=base) if cases else base


def plan_summary(plan: pa.Table) -> list[dict[str, Any]]:
    """Actions x counts: per rule and action, how many planned, suppressed (by reason) and
    control rows; sorted by priority."""
    import pandas as pd

    df = plan.select(["rule", "action", "channel", "priority", "status", "reason"]).to_pandas()
    if df.empty:
        return []
    df["channel"] = df["channel"].fillna("(none)")
    df["col"] = df["status"].where(df["status"] != "suppressed", df["reason"])
    wide = pd.crosstab([df["priority"], df["rule"], df["action"], df["channel"]], df["col"])
    order = ["planned", "control", *REASONS[:-2]]
    wide = wide.reindex(columns=[c for c in order if c in wide.columns], fill_value=0)
    wide = wide.sort_index(level=[0, 1], ascending=[False, True]).reset_index()
    return [{k: (int(v) if k not in ("rule", "action", "channel") else v)
             for k, v in row.items()} for row in wide.to_dict("records")]  # fmt: skip
