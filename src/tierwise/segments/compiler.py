"""Compile a segment tree into one boolean Ibis expression over a profile table.

The result runs wherever the tables live (DuckDB by default, Spark with the same
definitions). History functions become ``customer_id IN (subquery)`` filters over the
canonical events and orders tables or an earlier snapshot, so the expression stays a plain
predicate of the profile table: ``profiles.filter(segment_filter(expr, context))``.

A comparison with a missing value is false (as in the scheme rules), so ``not (x > 3)``
holds for a customer without ``x``; write ``x is null`` to ask for missing values.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

import ibis
import ibis.expr.types as ir

from tierwise.segments.language import (
    And,
    Call,
    Compare,
    InList,
    IsNull,
    Literal,
    Name,
    Node,
    Not,
    Or,
    RelDay,
    SegmentError,
    Tuple,
    closest,
    parse,
)

__all__ = ["FUNCTIONS", "SegmentContext", "segment_filter"]

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_FLIP = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

FUNCTIONS: dict[str, str] = {
    "has_label": "has_label('behaviour', 'kol'): primary label, or one of a multi-label scheme",
    "has_tag": "has_tag('price_sensitive') or has_tag('concern/price_sensitive')",
    "events": "events('comment', channel='douyin', since=-30d, until=0d) >= 3",
    "orders": "orders(channel='livestream', since=-60d) >= 1 (paid orders)",
    "revenue": "revenue(channel='store', since=-90d) > 500 (paid amount)",
    "previous": "previous('quadrant') = 'butterfly' (previous snapshot; since=-30d for older)",
    "moved": "moved('intention', from='low', to='medium', since=-7d)",
    "segment": "segment('vip_churn_risk'): a saved segment",
}
"""Functions of the language, each with an example."""

_KWARGS = {
    "has_label": set(),
    "has_tag": set(),
    "events": {"type", "channel", "since", "until"},
    "orders": {"channel", "since", "until"},
    "revenue": {"channel", "since", "until"},
    "previous": {"since"},
    "moved": {"from", "to", "since"},
    "segment": set(),
}
_POSITIONAL = {
    "has_label": 2, "has_tag": 1, "events": 1, "orders": 0, "revenue": 0,
    "previous": 1, "moved": 1, "segment": 1,
}  # fmt: skip


@dataclass
class SegmentContext:
    """What a segment expression is evaluated against.

    Parameters
    ----------
    profiles : ibis Table
        One row per customer (a snapshot's profile table); the result filters it.
    as_of : datetime.date
        The snapshot's day: relative days (``-30d``) count back from it and history
        functions see nothing after it.
    events, orders : ibis Table, optional
        The canonical tables, for ``events()``, ``orders()`` and ``revenue()``.
    snapshot : callable, optional
        Given a stored snapshot's day, its profile table (same backend as ``profiles``), for
        ``previous()`` and ``moved()``.
    snapshot_days : sequence of datetime.date
        Days of the stored snapshots.
    schemes : mapping
        ``{scheme: {label_id: (zh, en)}}``: label comparisons are checked against it and zh/en
        names are read as ids.
    segments : mapping
        ``{name: expression}`` of saved segments, for ``segment('name')``.
    known_tags : callable, optional
        Returns the known tags, to check ``has_tag`` (called only when it is used): a
        collection of ``major/minor`` names whose ``in`` also accepts a bare minor id.
    """

    profiles: ir.Table
    as_of: dt.date
    events: ir.Table | None = None
    orders: ir.Table | None = None
    snapshot: Callable[[dt.date], ir.Table] | None = None
    snapshot_days: Sequence[dt.date] = ()
    schemes: Mapping[str, Mapping[str, tuple[str, str]]] = field(default_factory=dict)
    segments: Mapping[str, str] = field(default_factory=dict)
    known_tags: Callable[[], Collection[str]] | None = None

    def day(self, rel: int) -> dt.date:
        """The day ``rel`` days from the as-of day."""
        return self.as_of + dt.timedelta(days=rel)


def segment_filter(
    expr: str | Node, context: SegmentContext, *, name: str | None = None
) -> ir.BooleanValue:
    """The segment as a boolean Ibis expression over ``context.profiles``.

    Parameters
    ----------
    expr : str or Node
        The expression (parsed here) or its tree.
    context : SegmentContext
        Tables, day and names to resolve it against.
    name : str, optional
        The saved segment this expression defines (so a reference back to it is a cycle).

    Raises
    ------
    SegmentError
        For a malformed expression, an unknown column, label, tag, function or segment
        (with the closest known name), a cycle between segments, or a missing snapshot.

    Examples
    --------
    >>> pred = segment_filter("orders >= 2 and quadrant = 'butterfly'", ctx)  # doctest: +SKIP
    >>> ctx.profiles.filter(pred).count().execute()                          # doctest: +SKIP
    """
    text = expr if isinstance(expr, str) else ""
    tree = parse(expr) if isinstance(expr, str) else expr
    return _Compiler(context, text, (name,) if name else ()).condition(tree)


# -- values the compiler passes around ---------------------------------------------------
@dataclass(frozen=True)
class _Column:
    expr: ir.Value
    name: str
    scheme: str | None  # the column holds a scheme's primary label


@dataclass(frozen=True)
class _Aggregate:
    """A per-customer count or sum over the canonical tables (0 for none)."""

    table: ir.Table  # customer_id, value
    label: str


@dataclass(frozen=True)
class _Previous:
    """A column of an earlier snapshot."""

    table: ir.Table
    name: str
    scheme: str | None
    label: str


class _Compiler:
    def __init__(self, ctx: SegmentContext, text: str, stack: tuple[str, ...]) -> None:
        self.ctx = ctx
        self.text = text
        self.stack = stack
        self.p = ctx.profiles
        self.schema = ctx.profiles.schema()

    def fail(
        self,
        message: str,
        node: Node | None = None,
        hint: str | None = None,
        known: Iterable[str] | None = None,
    ) -> None:
        raise SegmentError(message, self.text, node.pos if node else None, hint, known)

    # -- conditions -------------------------------------------------------------------
    def condition(self, node: Node) -> ir.BooleanValue:
        return self._cond(node).fill_null(False)

    def _cond(self, node: Node) -> ir.BooleanValue:
        match node:
            case Or(items=items):
                return reduce(operator.or_, [self.condition(i) for i in items])
            case And(items=items):
                return reduce(operator.and_, [self.condition(i) for i in items])
            case Not(item=item):
                return ~self.condition(item)
            case Compare():
                return self.compare(node)
            case InList():
                return self.in_list(node)
            case IsNull():
                return self.is_null(node)
            case Literal(value=bool() as value):
                return ibis.literal(value)
            case Call(name=name) if name in ("has_label", "has_tag", "moved", "segment"):
                return getattr(self, f"fn_{name}")(node)
            case Name():
                col = self.column(node)
                if col.expr.type().is_boolean():
                    return col.expr
                self.fail(
                    f"{node.name} is not a true/false condition; compare it, "
                    f"e.g. {node.name} > 0", node,
                )  # fmt: skip
        shown = self.text[node.pos :].split(" ")[0] if self.text else type(node).__name__
        self.fail(f"{shown!r} is not a true/false condition; compare it with a value", node)
        raise AssertionError  # unreachable

    # -- values -----------------------------------------------------------------------
    def value(self, node: Node) -> Any:
        match node:
            case Name():
                return self.column(node)
            case Literal() | RelDay():
                return node
            case Call(name=name) if name in ("events", "orders", "revenue", "previous"):
                return getattr(self, f"fn_{name}")(node)
            case Call(name=name) if name in FUNCTIONS:
                self.fail(f"{name}(…) is a condition, not a value to compare", node)
            case Call(name=name):
                self.fail(f"unknown function {name!r}", node, closest(name, FUNCTIONS))
            case Tuple():
                self.fail("a list of values only goes after in", node)
        self.fail("a condition cannot be compared with a value here", node)
        raise AssertionError  # unreachable

    def column(self, node: Name) -> _Column:
        name = node.name
        if name not in self.schema:
            self.fail(f"unknown column {name!r}", node, closest(name, self.schema.names))
        return _Column(self.p[name], name, name if name in self.ctx.schemes else None)

    def literal(self, node: Node, target: Any) -> Any:
        """A literal as an Ibis value fit to compare with ``target`` (a column or previous)."""
        dtype = target.expr.type() if isinstance(target, _Column) else \
            target.table[target.name].type()  # fmt: skip
        if isinstance(node, RelDay):
            if not (dtype.is_timestamp() or dtype.is_date()):
                self.fail(f"{target.name} is not a date; a relative day like -30d compares "
                          "with date columns such as last_order_at", node)  # fmt: skip
            return ibis.date(self.ctx.day(node.days))
        if not isinstance(node, Literal):
            self.fail("expected a value (number, 'text', true/false, -30d)", node)
        value = node.value
        if dtype.is_timestamp() or dtype.is_date():
            if not isinstance(value, str):
                self.fail(f"{target.name} is a date; compare it with -30d or '2025-01-01'", node)
            return ibis.date(self.date_text(value, node))
        if dtype.is_boolean():
            if not isinstance(value, bool):
                self.fail(f"{target.name} is true/false; compare it with true or false", node)
            return ibis.literal(value)
        if dtype.is_numeric():
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.fail(f"{target.name} is a number; compare it with a number, "
                          f"not {_show(value)}", node)  # fmt: skip
            return ibis.literal(value)
        if dtype.is_string():
            if not isinstance(value, str):
                self.fail(f"{target.name} holds text; quote the value: '{value}'", node)
            if target.scheme is not None:
                value = self.label_id(target.scheme, value, node)
            return ibis.literal(value)
        self.fail(f"{target.name} ({dtype}) cannot be compared in a segment", node)
        raise AssertionError  # unreachable

    @staticmethod
    def side(expr: Any) -> ir.Value:
        """The column side of a comparison: timestamps compare by their day."""
        return expr.date() if expr.type().is_timestamp() else expr

    def date_text(self, value: str, node: Node) -> dt.date:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a day like '2025-01-01' (or write -30d)", node)
            raise AssertionError from None  # unreachable

    def label_id(self, scheme: str, value: str, node: Node) -> str:
        labels = self.ctx.schemes.get(scheme, {})
        if not labels or value in labels:
            return value
        for label, names in labels.items():
            if value in names:
                return label
        known = list(labels)
        self.fail(f"{scheme} has no label {value!r}", node, closest(value, known), known)
        raise AssertionError  # unreachable

    # -- comparisons ------------------------------------------------------------------
    def compare(self, node: Compare) -> ir.BooleanValue:
        op = node.op
        left, right = self.value(node.left), self.value(node.right)
        if isinstance(left, Literal | RelDay) and not isinstance(right, Literal | RelDay):
            left, right, op = right, left, _FLIP[op]
            lnode, rnode = node.right, node.left
        else:
            lnode, rnode = node.left, node.right
        if isinstance(left, Literal | RelDay):
            self.fail("compare a column or function with a value, not two values", node)
        if isinstance(left, _Aggregate):
            return self.compare_aggregate(left, op, right, rnode)
        if isinstance(right, _Aggregate):
            self.fail(f"compare {right.label} with a number", rnode)
        if isinstance(left, _Previous):
            if not isinstance(right, Literal | RelDay):
                self.fail(f"compare {left.label} with a value", rnode)
            lit = self.literal(rnode, left)
            col = self.side(left.table[left.name])
            return self.in_previous(left, _OPS[op](col, lit))
        if isinstance(right, _Previous):
            self.fail(f"compare {right.label} with a value, not with a column", rnode)
        if isinstance(right, _Column):
            lt, rt = left.expr.type(), right.expr.type()
            same = any(
                getattr(lt, kind)() and getattr(rt, kind)()
                for kind in ("is_numeric", "is_string", "is_temporal", "is_boolean")
            )
            if not same:
                self.fail(f"{left.name} ({lt}) and {right.name} ({rt}) cannot be compared", node)
            return _OPS[op](self.side(left.expr), self.side(right.expr))
        del lnode
        return _OPS[op](self.side(left.expr), self.literal(rnode, left))

    def compare_aggregate(
        self, agg: _Aggregate, op: str, right: Any, rnode: Node
    ) -> ir.BooleanValue:
        if not isinstance(right, Literal) or isinstance(right.value, bool) or \
                not isinstance(right.value, int | float):  # fmt: skip
            self.fail(f"compare {agg.label} with a number", rnode)
        k = right.value
        holds = _OPS[op](agg.table.value, k)
        if _OPS[op](0, k):  # customers without any row hold too
            failing = agg.table.filter(~holds).customer_id
            return ~self.p.customer_id.isin(failing)
        return self.p.customer_id.isin(agg.table.filter(holds).customer_id)

    def in_previous(self, prev: _Previous, cond: ir.BooleanValue) -> ir.BooleanValue:
        return self.p.customer_id.isin(prev.table.filter(cond.fill_null(False)).customer_id)

    def in_list(self, node: InList) -> ir.BooleanValue:
        target = self.value(node.value)
        if isinstance(target, Literal | RelDay | _Aggregate):
            self.fail("in needs a column or previous(…) on its left", node.value)
        values = [self.literal(item, target) for item in node.items]
        if isinstance(target, _Previous):
            hit = self.in_previous(target, self.side(target.table[target.name]).isin(values))
            return ~hit if node.negated else hit
        expr = self.side(target.expr)
        return expr.notin(values) if node.negated else expr.isin(values)

    def is_null(self, node: IsNull) -> ir.BooleanValue:
        target = self.value(node.value)
        if isinstance(target, _Previous):
            known = self.in_previous(target, target.table[target.name].notnull())
            return known if node.negated else ~known
        if not isinstance(target, _Column):
            self.fail("is null needs a column or previous(…) on its left", node.value)
        return target.expr.notnull() if node.negated else target.expr.isnull()

    # -- functions --------------------------------------------------------------------
    def args(self, call: Call) -> tuple[list[Node], dict[str, Node]]:
        allowed = _KWARGS[call.name]
        for key, val in call.kwargs:
            if key not in allowed:
                options = ", ".join(sorted(allowed)) or "none"
                self.fail(f"{call.name}() takes no argument {key!r} (it takes: {options})",
                          val, closest(key, allowed))  # fmt: skip
        if len(call.args) > _POSITIONAL[call.name]:
            self.fail(f"{call.name}() takes at most {_POSITIONAL[call.name]} positional "
                      f"argument(s); e.g. {FUNCTIONS[call.name]}", call)  # fmt: skip
        return list(call.args), dict(call.kwargs)

    def text_arg(self, call: Call, node: Node | None, what: str) -> str:
        if node is None:
            self.fail(f"{call.name}() needs {what}; e.g. {FUNCTIONS[call.name]}", call)
        if not isinstance(node, Literal) or not isinstance(node.value, str):
            self.fail(f"{what} of {call.name}() is quoted text", node)
        return node.value

    def texts_arg(self, call: Call, node: Node | None, what: str) -> list[str] | None:
        if node is None:
            return None
        items = node.items if isinstance(node, Tuple) else (node,)
        return [self.text_arg(call, item, what) for item in items]

    def day_arg(self, call: Call, node: Node | None) -> dt.date | None:
        if node is None:
            return None
        if isinstance(node, RelDay):
            return self.ctx.day(node.days)
        if isinstance(node, Literal) and isinstance(node.value, str):
            return self.date_text(node.value, node)
        self.fail(f"a day in {call.name}() is written -30d or '2025-01-01'", node)
        raise AssertionError  # unreachable

    def scheme_arg(self, call: Call, node: Node | None) -> str:
        scheme = self.text_arg(call, node, "a scheme")
        if scheme not in self.ctx.schemes:
            self.fail(f"unknown scheme {scheme!r}", node, closest(scheme, self.ctx.schemes))
        if scheme not in self.schema:
            self.fail(f"the profiles have no column {scheme!r}", node)
        return scheme

    def fn_has_label(self, call: Call) -> ir.BooleanValue:
        args, _ = self.args(call)
        if len(args) != 2:
            self.fail(f"has_label() needs a scheme and a label; e.g. {FUNCTIONS['has_label']}",
                      call)  # fmt: skip
        scheme = self.scheme_arg(call, args[0])
        label = self.label_id(scheme, self.text_arg(call, args[1], "a label"), args[1])
        primary = self.p[scheme] == label
        every = f"{scheme}_all"
        if every in self.schema:
            return primary.fill_null(False) | _in_list_text(self.p[every], label)
        return primary

    def fn_has_tag(self, call: Call) -> ir.BooleanValue:
        args, _ = self.args(call)
        tag = self.text_arg(call, args[0] if args else None, "a tag")
        if "tags" not in self.schema:
            self.fail("the profiles have no tags column (tags are off in the config)", call)
        if self.ctx.known_tags is not None:
            known = self.ctx.known_tags()
            if tag not in known and not any(k.split("/", 1)[-1] == tag for k in known):
                names = sorted({n for k in known for n in (k, k.split("/", 1)[-1])})
                self.fail(f"unknown tag {tag!r}", args[0], closest(tag, names))
        if "/" in tag:
            return _in_list_text(self.p.tags, tag)
        padded = ibis.literal(";") + self.p.tags + ibis.literal(";")
        return padded.contains(f"/{tag};")

    def window(self, call: Call, kwargs: dict[str, Node], time: ir.TimestampValue) -> Any:
        since = self.day_arg(call, kwargs.get("since"))
        until = self.day_arg(call, kwargs.get("until")) or self.ctx.as_of
        until = min(until, self.ctx.as_of)
        cond = time < ibis.timestamp(dt.datetime.combine(until + dt.timedelta(1), dt.time()))
        if since is not None:
            if since > until:
                self.fail(f"{call.name}(): since {since} is after until {until}", call)
            cond &= time >= ibis.timestamp(dt.datetime.combine(since, dt.time()))
        return cond

    def fn_events(self, call: Call) -> _Aggregate:
        args, kwargs = self.args(call)
        if self.ctx.events is None:
            self.fail("events() needs the events table, which this context lacks", call)
        if args and "type" in kwargs:
            self.fail("events(): give the type once (first argument or type=)", call)
        e = self.ctx.events
        cond = self.window(call, kwargs, e.occurred_at)
        types = self.texts_arg(call, args[0] if args else kwargs.get("type"), "an event type")
        if types is not None:
            cond &= e.event_type.isin(types)
        channels = self.texts_arg(call, kwargs.get("channel"), "a channel")
        if channels is not None:
            cond &= e.channel.isin(channels)
        hit = e.filter(cond)
        table = hit.group_by("customer_id").aggregate(value=hit.count())
        return _Aggregate(table, "events(…)")

    def _paid(self, call: Call) -> ir.Table:
        _, kwargs = self.args(call)
        if self.ctx.orders is None:
            self.fail(f"{call.name}() needs the orders table, which this context lacks", call)
        o = self.ctx.orders
        cond = self.window(call, kwargs, o.paid_at) & (o.status == "paid")
        channels = self.texts_arg(call, kwargs.get("channel"), "a channel")
        if channels is not None:
            cond &= o.channel.isin(channels)
        return o.filter(cond)

    def fn_orders(self, call: Call) -> _Aggregate:
        hit = self._paid(call)
        return _Aggregate(hit.group_by("customer_id").aggregate(value=hit.count()), "orders(…)")

    def fn_revenue(self, call: Call) -> _Aggregate:
        hit = self._paid(call)
        table = hit.group_by("customer_id").aggregate(value=hit.amount.sum())
        return _Aggregate(table, "revenue(…)")

    def snapshot_before(self, call: Call, node: Node | None) -> tuple[dt.date, ir.Table]:
        if self.ctx.snapshot is None:
            self.fail(f"{call.name}() needs the stored snapshots, which this context lacks", call)
        days = sorted(self.ctx.snapshot_days)
        limit = self.day_arg(call, node)
        if limit is None:
            earlier = [d for d in days if d < self.ctx.as_of]
            what = f"before {self.ctx.as_of}"
        else:
            earlier = [d for d in days if d <= limit]
            what = f"at or before {limit}"
        if not earlier:
            have = ", ".join(map(str, days)) or "none"
            self.fail(f"{call.name}(): no snapshot {what} (snapshots: {have}); run "
                      "`tierwise run --as-of DAY` for an earlier day", call)  # fmt: skip
        return earlier[-1], self.ctx.snapshot(earlier[-1])

    def fn_previous(self, call: Call) -> _Previous:
        args, kwargs = self.args(call)
        name = self.text_arg(call, args[0] if args else None, "a column")
        day, table = self.snapshot_before(call, kwargs.get("since"))
        cols = table.schema().names
        if name not in cols:
            self.fail(f"the snapshot of {day} has no column {name!r}", args[0],
                      closest(name, cols))  # fmt: skip
        scheme = name if name in self.ctx.schemes else None
        return _Previous(table, name, scheme, f"previous({name!r})")

    def fn_moved(self, call: Call) -> ir.BooleanValue:
        args, kwargs = self.args(call)
        scheme = self.scheme_arg(call, args[0] if args else None)
        old = self.texts_arg(call, kwargs.get("from"), "a label")
        new = self.texts_arg(call, kwargs.get("to"), "a label")
        if old is None and new is None:
            self.fail("moved() needs from= or to= (or both)", call)
        old = [self.label_id(scheme, v, kwargs["from"]) for v in old] if old else None
        new = [self.label_id(scheme, v, kwargs["to"]) for v in new] if new else None
        _, table = self.snapshot_before(call, kwargs.get("since"))
        if scheme not in table.schema():
            self.fail(f"the earlier snapshot has no column {scheme!r}", call)
        before, now = table[scheme], self.p[scheme]
        if old is not None:
            was = before.isin(old)
        else:
            was = before.isnull() | before.notin(new)
        if new is not None:
            is_now = now.isin(new)
        else:
            is_now = now.isnull() | now.notin(old)
        return is_now.fill_null(False) & self.p.customer_id.isin(
            table.filter(was.fill_null(False)).customer_id
        )

    def fn_segment(self, call: Call) -> ir.BooleanValue:
        args, _ = self.args(call)
        name = self.text_arg(call, args[0] if args else None, "a segment name")
        if name not in self.ctx.segments:
            known = sorted(self.ctx.segments)
            listing = ", ".join(known) if known else "none saved yet"
            self.fail(f"unknown segment {name!r} (saved: {listing})", args[0],
                      closest(name, known))  # fmt: skip
        if name in self.stack:
            cycle = " -> ".join((*self.stack[self.stack.index(name) :], name))
            self.fail(f"segments refer to each other in a cycle: {cycle}", call)
        text = self.ctx.segments[name]
        inner = _Compiler(self.ctx, text, (*self.stack, name))
        try:
            return inner.condition(parse(text))
        except SegmentError as exc:
            if exc.reason.startswith("segments refer to each other"):
                raise
            raise SegmentError(f"segment {name!r} is broken: {exc}", self.text, call.pos) \
                from None  # fmt: skip


def _in_list_text(column: ir.StringValue, item: str) -> ir.BooleanValue:
    """Whether a ';'-joined text column holds ``item``."""
    padded = ibis.literal(";") + column + ibis.literal(";")
    return padded.contains(f";{item};")


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
