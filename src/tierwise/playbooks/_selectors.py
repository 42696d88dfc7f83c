"""Selectors: which customers a rule or an exclusion is about, written as data.

A selector is one of

- ``{scheme: quadrant, label: butterfly}`` (``label`` may be a list: any of them);
- ``{tag: price_sensitive}`` or ``{tag: concern/price_sensitive}`` (a precise tag);
- ``{column: intention_score, op: ">=", value: 10}`` (ops ``== != < <= > >= in not_in
  is_null not_null``);
- ``{segment: NAME}``, resolved by a `SegmentResolver` the caller supplies;
- ``{all: [...]}``, ``{any: [...]}``, ``{not: selector}``; a plain list means ``all``.

Selectors are parsed into small frozen objects, checked against a snapshot (unknown scheme,
label, tag or column: an error naming the place and the closest known name) and compiled to a
boolean Ibis expression over the profile table, so they run on every engine Ibis supports.
"""

from __future__ import annotations

import difflib
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

import ibis
import ibis.expr.types as ir

from tierwise.errors import ConfigError

__all__ = [
    "OPS",
    "All",
    "Any_",
    "ColumnTest",
    "LabelIs",
    "Not",
    "SegmentRef",
    "SegmentResolver",
    "Selector",
    "SnapshotVocabulary",
    "TagIs",
    "parse_selector",
]

SegmentResolver = Callable[[str, ir.Table], ir.BooleanValue]
"""``resolver(name, profile_table) -> boolean expression``: the seam for saved segments.

Given a segment's name and the Ibis profile table of the snapshot being planned, return a
boolean column expression over that table (true for the segment's members). Raise
`tierwise.errors.ConfigError` for an unknown name; its message is shown with the place of the
selector in the playbook file.
"""

OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_SET_OPS = ("in", "not_in")
_NULL_OPS = ("is_null", "not_null")


def _closest(name: str, known: Iterable[str]) -> str:
    hint = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.5)
    return f" (did you mean {hint[0]}?)" if hint else ""


@dataclass(frozen=True)
class SnapshotVocabulary:
    """What selectors may name: profile columns, scheme labels and precise tags.

    Parameters
    ----------
    columns : collection of str
        The profile table's columns.
    schemes : mapping of str to (collection of label ids, multi)
        Each scheme's labels (the default label included) and whether it is multi-label
        (then ``<scheme>_all`` holds every label, ';'-joined).
    tags : collection of str
        Known precise tags as ``major/minor``.
    """

    columns: frozenset[str]
    schemes: Mapping[str, tuple[frozenset[str], bool]] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()

    @classmethod
    def from_config(
        cls, config: Any, columns: Iterable[str], tags: Iterable[str] = ()
    ) -> SnapshotVocabulary:
        """Vocabulary of a project config (`tierwise.config.Config`) and a profile table."""
        schemes = {}
        for name, scheme in config.schemes.items():
            labels = {lab.id for lab in scheme.labels}
            if scheme.default:
                labels.add(scheme.default)
            schemes[name] = (frozenset(labels), scheme.mode == "multi")
        return cls(frozenset(columns), schemes, frozenset(tags))


class Selector:
    """Base class of parsed selectors."""

    where: str

    def check(self, vocab: SnapshotVocabulary, resolver: SegmentResolver | None) -> None:
        """Raise `ConfigError` naming the place when the selector names something unknown."""
        raise NotImplementedError

    def compile(self, table: ir.Table, resolver: SegmentResolver | None) -> ir.BooleanValue:
        """The selector as a boolean expression over the profile table (null is false)."""
        raise NotImplementedError

    def describe(self) -> str:
        """Short text for the reason chain, e.g. ``quadrant = butterfly``."""
        raise NotImplementedError

    def names(self) -> set[str]:
        """Profile columns the selector reads (for the plan's evidence)."""
        return set()


@dataclass(frozen=True)
class LabelIs(Selector):
    """Customers carrying a label of a scheme (any of ``labels``)."""

    scheme: str
    labels: tuple[str, ...]
    where: str = "selector"

    def check(self, vocab: SnapshotVocabulary, resolver: SegmentResolver | None) -> None:
        if self.scheme not in vocab.schemes:
            raise ConfigError(
                f"{self.where}.scheme: unknown scheme {self.scheme!r}"
                f"{_closest(self.scheme, vocab.schemes)}"
            )
        known, _ = vocab.schemes[self.scheme]
        for lab in self.labels:
            if lab not in known:
                raise ConfigError(
                    f"{self.where}.label: {self.scheme} has no label {lab!r}"
                    f"{_closest(lab, known)}; known: {', '.join(sorted(known))}"
                )
        if self.scheme not in vocab.columns:
            raise ConfigError(f"{self.where}: the snapshot has no column {self.scheme!r}")

    def compile(self, table: ir.Table, resolver: SegmentResolver | None) -> ir.BooleanValue:
        if f"{self.scheme}_all" in table.columns:
            parts = table[f"{self.scheme}_all"].split(";")
            expr = reduce(operator.or_, [parts.contains(lab) for lab in self.labels])
        else:
            expr = table[self.scheme].isin(list(self.labels))
        return expr.fill_null(False)

    def describe(self) -> str:
        return f"{self.scheme} = {'|'.join(self.labels)}"

    def names(self) -> set[str]:
        return {self.scheme}


@dataclass(frozen=True)
class TagIs(Selector):
    """Customers carrying a precise tag (``minor`` or ``major/minor``)."""

    tag: str
    where: str = "selector"

    def check(self, vocab: SnapshotVocabulary, resolver: SegmentResolver | None) -> None:
        if "tags" not in vocab.columns:
            raise ConfigError(f"{self.where}: the snapshot has no tags column (tags disabled?)")
        if not vocab.tags:
            return
        if "/" in self.tag:
            ok = self.tag in vocab.tags
        else:
            ok = any(t.split("/", 1)[1] == self.tag for t in vocab.tags)
        if not ok:
            minors = {t.split("/", 1)[1] for t in vocab.tags}
            raise ConfigError(
                f"{self.where}.tag: unknown tag {self.tag!r}"
                f"{_closest(self.tag, minors | set(vocab.tags))}"
            )

    def compile(self, table: ir.Table, resolver: SegmentResolver | None) -> ir.BooleanValue:
        text = ibis.literal(";") + table["tags"].fill_null("") + ibis.literal(";")
        needle = f";{self.tag};" if "/" in self.tag else f"/{self.tag};"
        return text.contains(needle)

    def describe(self) -> str:
        return f"tag {self.tag}"

    def names(self) -> set[str]:
        return {"tags"}


@dataclass(frozen=True)
class ColumnTest(Selector):
    """A comparison of a profile column with a value."""

    column: str
    op: str
    value: Any = None
    where: str = "selector"

    def check(self, vocab: SnapshotVocabulary, resolver: SegmentResolver | None) -> None:
        if self.column not in vocab.columns:
            raise ConfigError(
                f"{self.where}.column: no column {self.column!r} in the snapshot"
                f"{_closest(self.column, vocab.columns)}"
            )

    def compile(self, table: ir.Table, resolver: SegmentResolver | None) -> ir.BooleanValue:
        col = table[self.column]
        if self.op == "is_null":
            return col.isnull()
        if self.op == "not_null":
            return col.notnull()
        try:
            if self.op in _SET_OPS:
                expr = col.isin(list(self.value))
                expr = ~expr if self.op == "not_in" else expr
            else:
                expr = OPS[self.op](col, ibis.literal(self.value))
        except (TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(
                f"{self.where}: cannot compare {self.column} ({col.type()}) with "
                f"{self.value!r}: {exc}"
            ) from None
        return expr.fill_null(False)

    def describe(self) -> str:
        if self.op in _NULL_OPS:
            return f"{self.column} {self.op.replace('_', ' ')}"
        return f"{self.column} {self.op} {self.value}"

    def names(self) -> set[str]:
        return {self.column}


@dataclass(frozen=True)
class SegmentRef(Selector):
    """A saved segment, resolved by the configured `SegmentResolver`."""

    name: str
    where: str = "selector"

    def _need(self, resolver: SegmentResolver | None) -> SegmentResolver:
        if resolver is None:
            raise ConfigError(
                f"{self.where}.segment: {self.name!r} names a saved segment, but no segment "
                "resolver is configured; select by scheme/label, tag or column instead, or "
                "pass segment_resolver="
            )
        return resolver

    def check(self, vocab: SnapshotVocabulary, resolver: SegmentResolver | None) -> None:
        self._need(resolver)

    def compile(self, table: ir.Table, resolver: SegmentResolver | None) -> ir.BooleanValue:
        try:
            expr = self._need(resolver)(self.name, table)
        except ConfigError as exc:
            raise ConfigError(f"{self.where}.segment: {exc}") from None
        if not isinstance(expr, ir.BooleanValue):
            raise ConfigError(f"{self.where}.segment: {self.name!r} is not a true/false segment")
        return expr.fill_null(False)

    def describe(self) -> str:
        return f"segment {self.name}"


@dataclass(frozen=True)
class All(Selector):
    """Every part holds."""

    parts: tuple[Selector, ...]
    where: str = "selector"

    def check(self, vocab: SnapshotVocabulary, resolver: SegmentResolver | None) -> None:
        for p in self.parts:
            p.check(vocab, resolver)

    def compile(self, table: ir.Table, resolver: SegmentResolver | None) -> ir.BooleanValue:
        return reduce(operator.and_, [p.compile(table, resolver) for p in self.parts])

    def describe(self) -> str:
        return " and ".join(_wrap(p) for p in self.parts)

    def names(self) -> set[str]:
        return set().union(*(p.names() for p in self.parts))


@dataclass(frozen=True)
class Any_(Selector):
    """At least one part holds."""

    parts: tuple[Selector, ...]
    where: str = "selector"

    check = All.check
    names = All.names

    def compile(self, table: ir.Table, resolver: SegmentResolver | None) -> ir.BooleanValue:
        return reduce(operator.or_, [p.compile(table, resolver) for p in self.parts])

    def describe(self) -> str:
        return " or ".join(_wrap(p) for p in self.parts)


@dataclass(frozen=True)
class Not(Selector):
    """The part does not hold."""

    part: Selector
    where: str = "selector"

    def check(self, vocab: SnapshotVocabulary, resolver: SegmentResolver | None) -> None:
        self.part.check(vocab, resolver)

    def compile(self, table: ir.Table, resolver: SegmentResolver | None) -> ir.BooleanValue:
        return ~self.part.compile(table, resolver)

    def describe(self) -> str:
        return f"not {_wrap(self.part)}"

    def names(self) -> set[str]:
        return self.part.names()


def _wrap(sel: Selector) -> str:
    text = sel.describe()
    return f"({text})" if isinstance(sel, All | Any_) and len(sel.parts) > 1 else text


_KEYS = {
    "scheme": ("scheme", "label"),
    "tag": ("tag",),
    "column": ("column", "op", "value"),
    "segment": ("segment",),
    "all": ("all",),
    "any": ("any",),
    "not": ("not",),
}


def parse_selector(data: Any, where: str = "selector") -> Selector:
    """Parse a selector written as data; errors name ``where``.

    Raises
    ------
    ConfigError
        On an unknown key, a missing part or a malformed value.
    """
    if isinstance(data, list):
        return _many(All, data, where)
    if not isinstance(data, dict) or not data:
        raise ConfigError(
            f"{where}: a selector is a mapping such as {{scheme: quadrant, label: butterfly}}, "
            f"{{tag: price_sensitive}}, {{column: orders, op: '>=', value: 2}}, "
            f"{{segment: NAME}} or {{all|any: [...]}} / {{not: ...}}; got {data!r}"
        )
    kind = next((k for k in _KEYS if k in data), None)
    if kind is None:
        key = next(iter(data))
        raise ConfigError(f"{where}: unknown selector key {key!r}{_closest(key, _KEYS)}")
    extra = set(data) - set(_KEYS[kind])
    if extra:
        key = sorted(extra)[0]
        raise ConfigError(
            f"{where}: unexpected key {key!r} in a {kind} selector{_closest(key, _KEYS[kind])}"
        )
    if kind == "scheme":
        labels = data.get("label")
        if labels is None:
            raise ConfigError(f"{where}: a scheme selector needs a label")
        labels = labels if isinstance(labels, list) else [labels]
        if not labels or not all(isinstance(x, str) for x in labels):
            raise ConfigError(f"{where}.label: give a label id or a list of them")
        return LabelIs(str(data["scheme"]), tuple(labels), where)
    if kind == "tag":
        if not isinstance(data["tag"], str) or not data["tag"]:
            raise ConfigError(f"{where}.tag: give a tag such as price_sensitive")
        return TagIs(data["tag"], where)
    if kind == "column":
        op = data.get("op", "==")
        if op not in OPS and op not in _SET_OPS and op not in _NULL_OPS:
            known = [*OPS, *_SET_OPS, *_NULL_OPS]
            raise ConfigError(f"{where}.op: unknown operator {op!r}; use one of {' '.join(known)}")
        if op in _SET_OPS and not isinstance(data.get("value"), list):
            raise ConfigError(f"{where}.value: {op} needs a list of values")
        if op not in _NULL_OPS and "value" not in data:
            raise ConfigError(f"{where}: a column selector with op {op!r} needs a value")
        return ColumnTest(str(data["column"]), op, data.get("value"), where)
    if kind == "segment":
        return SegmentRef(str(data["segment"]), where)
    if kind == "not":
        return Not(parse_selector(data["not"], f"{where}.not"), where)
    cls = All if kind == "all" else Any_
    return _many(cls, data[kind], f"{where}.{kind}")


def _many(cls: type, items: Any, where: str) -> Selector:
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{where}: give a non-empty list of selectors")
    parts = tuple(parse_selector(x, f"{where}[{i}]") for i, x in enumerate(items))
    return parts[0] if len(parts) == 1 else cls(parts, where)
