"""The segment language: a small condition language operators write, parsed into a tree.

Grammar (keywords are case-insensitive)::

    expr       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := value [ op value | ["not"] "in" "(" value ("," value)* ")"
                          | "is" ["not"] "null" ]
    op         := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    value      := NUMBER | STRING | "true" | "false" | "null" | RELDAY | NAME | call
                | "(" expr ")"
    call       := NAME "(" [arg ("," arg)*] ")"
    arg        := [NAME "="] (value | "(" value ("," value)* ")")

``RELDAY`` is a day relative to the as-of day: ``-90d`` is 90 days before it, ``0d`` the day
itself. Strings are quoted with ``'`` or ``"`` (a quote inside is doubled). The text is only
ever tokenised and parsed here: nothing is evaluated.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tierwise.errors import TierwiseError

__all__ = [
    "And",
    "Call",
    "Compare",
    "InList",
    "IsNull",
    "Literal",
    "Name",
    "Node",
    "Not",
    "Or",
    "RelDay",
    "SegmentError",
    "Tuple",
    "names_used",
    "parse",
    "segments_used",
]


class SegmentError(TierwiseError, ValueError):
    """A segment expression is malformed or names something unknown.

    Attributes
    ----------
    text : str
        The expression.
    position : int or None
        0-based character offset of the problem in ``text``.
    suggestion : str or None
        The closest known name, when one is close.
    """

    def __init__(
        self,
        message: str,
        text: str = "",
        position: int | None = None,
        suggestion: str | None = None,
        known: Iterable[str] | None = None,
    ) -> None:
        self.text = text
        self.position = position
        self.suggestion = suggestion
        self.reason = message
        where = ""
        if text and position is not None:
            where = f"column {position + 1} of {text!r}: "
        elif text:
            where = f"{text!r}: "
        tip = f" (did you mean {suggestion}?)" if suggestion else ""
        listing = f"; known: {', '.join(known)}" if known else ""
        super().__init__(f"{where}{message}{tip}{listing}")


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``name``, if any is close."""
    hits = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return hits[0] if hits else None


# -- tree ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    """Base of every tree node; ``pos`` is the 0-based offset where it starts."""

    pos: int = field(default=0, kw_only=True, compare=False)


@dataclass(frozen=True)
class Literal(Node):
    """A number, string, boolean or null."""

    value: Any


@dataclass(frozen=True)
class RelDay(Node):
    """A day relative to the as-of day (``days`` <= 0)."""

    days: int


@dataclass(frozen=True)
class Name(Node):
    """A profile column."""

    name: str


@dataclass(frozen=True)
class Tuple(Node):
    """A parenthesised list of values (``in`` lists and list arguments)."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Call(Node):
    """A function call with positional and keyword arguments."""

    name: str
    args: tuple[Node, ...] = ()
    kwargs: tuple[tuple[str, Node], ...] = ()

    def kwarg(self, key: str) -> Node | None:
        """The keyword argument ``key``, or ``None``."""
        return dict(self.kwargs).get(key)


@dataclass(frozen=True)
class Compare(Node):
    """``left op right``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class InList(Node):
    """``value [not] in (a, b, …)``."""

    value: Node
    items: tuple[Node, ...]
    negated: bool = False


@dataclass(frozen=True)
class IsNull(Node):
    """``value is [not] null``."""

    value: Node
    negated: bool = False


@dataclass(frozen=True)
class Not(Node):
    """``not item``."""

    item: Node


@dataclass(frozen=True)
class And(Node):
    """``a and b and …``."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or(Node):
    """``a or b or …``."""

    items: tuple[Node, ...]


# -- tokens -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Token:
    kind: str  # num, str, relday, name, kw, op, punct, end
    value: Any
    pos: int
    text: str


KEYWORDS = ("and", "or", "not", "in", "is", "null", "true", "false")
_OPS = ("<=", ">=", "!=", "<>", "==", "=", "<", ">")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "'\"":
            j, buf = i + 1, []
            while True:
                if j >= n:
                    raise SegmentError("unclosed string", text, i)
                if text[j] == ch:
                    if j + 1 < n and text[j + 1] == ch:
                        buf.append(ch)
                        j += 2
                        continue
                    break
                buf.append(text[j])
                j += 1
            out.append(_Token("str", "".join(buf), i, text[i : j + 1]))
            i = j + 1
            continue
        num = _NUMBER.match(text, i)
        if num and (ch.isdigit() or ch == "." or (ch in "+-" and num.end() > i + 1)):
            end = num.end()
            word = _WORD.match(text, end)
            if word:  # a number glued to letters: a relative day, or a typo
                raw = text[i : word.end()]
                if re.fullmatch(r"[+-]?\d+d", raw):
                    days = int(raw[:-1])
                    if days > 0:
                        raise SegmentError(
                            f"relative day {raw!r} lies after the as-of day; days count back: "
                            f"write -{days}d",
                            text, i,
                        )  # fmt: skip
                    out.append(_Token("relday", days, i, raw))
                    i = word.end()
                    continue
                raise SegmentError(
                    f"bad relative day {raw!r}: write a whole number of days like -30d", text, i
                )
            raw = text[i:end]
            value: float | int = float(raw) if re.search(r"[.eE]", raw) else int(raw)
            out.append(_Token("num", value, i, raw))
            i = end
            continue
        word = _WORD.match(text, i)
        if word:
            raw = word.group()
            low = raw.lower()
            if low in KEYWORDS:
                out.append(_Token("kw", low, i, raw))
            else:
                out.append(_Token("name", raw, i, raw))
            i = word.end()
            continue
        op = next((o for o in _OPS if text.startswith(o, i)), None)
        if op:
            out.append(_Token("op", {"==": "=", "<>": "!="}.get(op, op), i, op))
            i += len(op)
            continue
        if ch in "(),":
            out.append(_Token("punct", ch, i, ch))
            i += 1
            continue
        hint = {"&": "and", "|": "or", "!": "not"}.get(ch)
        raise SegmentError(f"unexpected character {ch!r}", text, i, hint)
    out.append(_Token("end", None, n, ""))
    return out


# -- parser -------------------------------------------------------------------------------
class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    @property
    def tok(self) -> _Token:
        return self.toks[self.i]

    def take(self) -> _Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "kw" and self.tok.value in words

    def is_punct(self, ch: str) -> bool:
        return self.tok.kind == "punct" and self.tok.value == ch

    def fail(self, message: str, tok: _Token | None = None, hint: str | None = None) -> None:
        tok = tok or self.tok
        raise SegmentError(message, self.text, tok.pos, hint)

    def expect(self, ch: str) -> _Token:
        if not self.is_punct(ch):
            got = "the end" if self.tok.kind == "end" else repr(self.tok.text)
            self.fail(f"expected {ch!r}, found {got}")
        return self.take()

    def parse(self) -> Node:
        if self.tok.kind == "end":
            self.fail("empty expression")
        node = self.or_()
        if self.tok.kind != "end":
            tok = self.tok
            hint = None
            if tok.kind == "name" and tok.value.lower() in ("andd", "adn", "nad", "orr", "ro"):
                hint = "and" if "a" in tok.value.lower() else "or"
            self.fail(f"unexpected {tok.text!r}; join conditions with and / or", tok, hint)
        return node

    def or_(self) -> Node:
        start = self.tok.pos
        items = [self.and_()]
        while self.is_kw("or"):
            self.take()
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items), pos=start)

    def and_(self) -> Node:
        start = self.tok.pos
        items = [self.not_()]
        while self.is_kw("and"):
            self.take()
            items.append(self.not_())
        return items[0] if len(items) == 1 else And(tuple(items), pos=start)

    def not_(self) -> Node:
        if self.is_kw("not"):
            tok = self.take()
            return Not(self.not_(), pos=tok.pos)
        return self.comparison()

    def comparison(self) -> Node:
        left = self.value()
        tok = self.tok
        if tok.kind == "op":
            self.take()
            if self.is_kw("null"):
                word = "is not null" if tok.value == "!=" else "is null"
                self.fail(f"a comparison with null is never true; write {word}", hint=word)
            return Compare(tok.value, left, self.value(), pos=left.pos)
        if self.is_kw("is"):
            self.take()
            negated = False
            if self.is_kw("not"):
                self.take()
                negated = True
            if not self.is_kw("null"):
                self.fail("expected null after is")
            self.take()
            return IsNull(left, negated, pos=left.pos)
        if self.is_kw("not") and self.toks[self.i + 1].kind == "kw" and \
                self.toks[self.i + 1].value == "in":  # fmt: skip
            self.take()
            self.take()
            return InList(left, self.list_(), True, pos=left.pos)
        if self.is_kw("in"):
            self.take()
            return InList(left, self.list_(), False, pos=left.pos)
        return left

    def list_(self) -> tuple[Node, ...]:
        self.expect("(")
        items = [self.value()]
        while self.is_punct(","):
            self.take()
            items.append(self.value())
        self.expect(")")
        return tuple(items)

    def value(self) -> Node:
        tok = self.tok
        if tok.kind == "num" or tok.kind == "str":
            self.take()
            return Literal(tok.value, pos=tok.pos)
        if tok.kind == "relday":
            self.take()
            return RelDay(tok.value, pos=tok.pos)
        if tok.kind == "kw" and tok.value in ("true", "false", "null"):
            self.take()
            return Literal({"true": True, "false": False, "null": None}[tok.value], pos=tok.pos)
        if tok.kind == "name":
            self.take()
            if self.is_punct("("):
                return self.call(tok)
            return Name(tok.value, pos=tok.pos)
        if self.is_punct("("):
            self.take()
            inner = self.or_()
            self.expect(")")
            return inner
        if tok.kind == "end":
            self.fail("the expression ends too early; a value is missing")
        if tok.kind == "op":
            self.fail(f"a value is missing before {tok.text!r}")
        self.fail(f"unexpected {tok.text!r}; expected a value")
        raise AssertionError  # unreachable

    def call(self, name_tok: _Token) -> Call:
        self.expect("(")
        args: list[Node] = []
        kwargs: list[tuple[str, Node]] = []
        if not self.is_punct(")"):
            while True:
                nxt = self.toks[self.i + 1]
                if self.tok.kind == "name" and nxt.kind == "op" and nxt.value == "=" \
                        and nxt.text == "=":  # fmt: skip
                    key = self.take()
                    self.take()
                    if any(k == key.value for k, _ in kwargs):
                        self.fail(f"argument {key.value!r} given twice", key)
                    kwargs.append((key.value, self.arg_value()))
                else:
                    if kwargs:
                        self.fail("a positional argument cannot follow name=value arguments")
                    args.append(self.arg_value())
                if not self.is_punct(","):
                    break
                self.take()
        self.expect(")")
        return Call(name_tok.value, tuple(args), tuple(kwargs), pos=name_tok.pos)

    def arg_value(self) -> Node:
        if self.is_punct("("):
            start = self.take()
            items = [self.value()]
            while self.is_punct(","):
                self.take()
                items.append(self.value())
            self.expect(")")
            return Tuple(tuple(items), pos=start.pos)
        return self.value()


def parse(text: str) -> Node:
    """Parse a segment expression into its tree.

    Raises
    ------
    SegmentError
        With the column of the problem and, where one is close, a suggestion.
    """
    if not isinstance(text, str):
        raise SegmentError(f"a segment expression is text, not {type(text).__name__}")
    return _Parser(text).parse()


def _walk(node: Node) -> Iterable[Node]:
    yield node
    children: Iterable[Node] = ()
    match node:
        case Or(items=items) | And(items=items) | Tuple(items=items):
            children = items
        case Not(item=item):
            children = (item,)
        case Compare(left=left, right=right):
            children = (left, right)
        case InList(value=value, items=items):
            children = (value, *items)
        case IsNull(value=value):
            children = (value,)
        case Call(args=args, kwargs=kwargs):
            children = (*args, *(v for _, v in kwargs))
    for child in children:
        yield from _walk(child)


def names_used(node: Node) -> list[str]:
    """Profile columns the expression reads directly, in order of first use."""
    seen: dict[str, None] = {}
    for sub in _walk(node):
        if isinstance(sub, Name):
            seen.setdefault(sub.name, None)
        elif isinstance(sub, Call) and sub.name in ("has_label", "previous", "moved") and sub.args:
            first = sub.args[0]
            if isinstance(first, Literal) and isinstance(first.value, str):
                seen.setdefault(first.value, None)
        elif isinstance(sub, Call) and sub.name == "has_tag":
            seen.setdefault("tags", None)
    return list(seen)


def segments_used(node: Node) -> list[str]:
    """Saved segments the expression refers to with ``segment('name')``."""
    out = []
    for sub in _walk(node):
        if isinstance(sub, Call) and sub.name == "segment" and sub.args:
            first = sub.args[0]
            if isinstance(first, Literal) and isinstance(first.value, str):
                out.append(first.value)
    return out
