"""Which profile columns a project reads: what a run must compute and what it may leave out.

A run computes only the feature columns something reads (``features.profile_columns:
needed``, the default). `columns_read` collects them from

- the rule conditions of every scheme (``Condition.names()``);
- the steps: RFM scores (recency, orders, monetary total), the referral influence step (orders,
  first order, monetary total), CLV (margins), the backtest of a run (purchase days, first and
  last order, monetary total), ``main_channel``, the channel actions reach a customer
  through, and the figures the service's customer page shows;
- the project's saved segments (the columns their expressions name);
- the playbooks (``{column: ...}`` selectors, ``rank_by``, ``channel_column``);
- the flows (``when`` conditions and the columns of date triggers) and the entrance segments;
- ``features.keep_columns``, columns kept for exports and other readers outside the project.

`tierwise.features.needed_features` closes this set over what each feature is derived from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tierwise.config import Config

__all__ = [
    "STEP_COLUMNS",
    "columns_read",
    "flow_columns",
    "playbook_columns",
    "project_columns_read",
    "segment_columns",
]

STEP_COLUMNS: dict[str, set[str]] = {
    "rfm": {"recency_days", "orders", "monetary_total"},
    "influence": {"orders", "first_order_at", "monetary_total"},
    "clv": {"margin_total", "margin_orders"},
    "backtest": {"order_days", "first_order_at", "last_order_at", "monetary_total"},
    "actions": {"main_channel"},
    "dashboard": {"first_order_at", "last_order_at", "monetary_avg", "monetary_365", "events_30"},
}
"""Feature columns each step (and the backtest, the actions of plans and the service's
customer page) reads."""


def segment_columns(expressions: Iterable[str]) -> set[str]:
    """Profile columns named by segment expressions (ones that do not parse name none)."""
    from tierwise.errors import TierwiseError
    from tierwise.segments.language import names_used, parse

    out: set[str] = set()
    for text in expressions:
        try:
            out |= set(names_used(parse(text)))
        except (TierwiseError, ValueError):
            continue
    return out


def _selector_columns(selector: Any) -> set[str]:
    from tierwise.playbooks._selectors import All, Any_, ColumnTest, Not

    if isinstance(selector, ColumnTest):
        return {selector.column}
    if isinstance(selector, (All, Any_)):
        return set().union(*(_selector_columns(p) for p in selector.parts))
    if isinstance(selector, Not):
        return _selector_columns(selector.part)
    return set()


def playbook_columns(playbooks: Any) -> set[str]:
    """Profile columns a `PlaybookFile` reads: column selectors, ``rank_by``, channel columns."""
    out: set[str] = set()
    for selector in playbooks.selectors.values():
        out |= _selector_columns(selector)
    for book in playbooks.playbooks.values():
        for rule in book.rules:
            out |= {c for c in (rule.rank_by, rule.action.channel_column) if c}
        for exc in book.exclusions:
            for flt in (exc.block, exc.allow):
                if flt is not None and flt.channel_column:
                    out.add(flt.channel_column)
    return out


def columns_read(config: Config, *, extra: Iterable[str] = ()) -> set[str]:
    """Profile columns the config reads: rules, steps, ``features.keep_columns`` and ``extra``.

    Names that are not feature columns (labels, CLV columns, tags) are included as read; the
    caller keeps the feature columns among them.
    """
    read: set[str] = set(STEP_COLUMNS["rfm"]) | STEP_COLUMNS["influence"]
    read |= STEP_COLUMNS["backtest"] | STEP_COLUMNS["actions"] | STEP_COLUMNS["dashboard"]
    if config.clv.enabled:
        read |= STEP_COLUMNS["clv"]
    for name, scheme in config.schemes.items():
        for _, cond in scheme.conditions(name):
            read |= cond.names()
    read |= segment_columns(rule.when for rule in config.entrance.segments)
    read |= set(config.features.keep_columns)
    read |= set(extra)
    return read


def flow_columns(flows: Any) -> set[str]:
    """Profile columns a `FlowFile` reads: ``when`` conditions and date triggers' columns."""
    out = segment_columns(f.when for f in flows.flows.values() if f.when)
    return out | {f.trigger.column for f in flows.flows.values() if f.trigger.column}


def project_columns_read(
    directory: str | Path, segments: Mapping[str, str] | None = None
) -> set[str]:
    """Columns the project's saved segments, playbooks and flows read (files that fail to load add
    none; they say why where they are used)."""
    from tierwise.errors import TierwiseError

    out: set[str] = set()
    try:
        if segments is None:
            from tierwise.segments import SegmentBook

            segments = SegmentBook(directory).expressions()
        out |= segment_columns(segments.values())
    except TierwiseError:
        pass
    try:
        from tierwise.playbooks._run import project_playbooks

        out |= playbook_columns(project_playbooks(directory))
    except TierwiseError:
        pass
    try:
        from tierwise.flows import project_flows

        out |= flow_columns(project_flows(directory))
    except TierwiseError:
        pass
    return out
