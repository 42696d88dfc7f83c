"""Computed columns: a small expression language over a file's columns, compiled to SQL.

An expression is parsed (never evaluated by Python) into a tree and compiled to one DuckDB
expression over the cleaned text of the source columns::

    Quantity * UnitPrice
    "数量" * `单价` - coalesce(Discount, 0)
    upper(strip(Country)) || '-' || substr(StockCode, 1, 3)
    if(Quantity < 0, 'return', 'sale')

Grammar, lowest precedence first::

    expr    := or
    or      := and ('or' and)*
    and     := not ('and' not)*
    not     := 'not' not | compare
    compare := concat (('=' | '!=' | '<>' | '<' | '<=' | '>' | '>=') concat)?
    concat  := sum ('||' sum)*
    sum     := product (('+' | '-') product)*
    product := unary (('*' | '/') unary)*
    unary   := '-' unary | atom
    atom    := NUMBER | 'text' | NAME | "header" | `header` | NAME '(' args ')' | '(' expr ')'

A bare name, a ``"double-quoted"`` or a ```backticked``` name is a column header (any
characters, e.g. ``"Unit Price"`` or ``单价``); ``'single quotes'`` are text. Values are
text (columns, text literals), numbers or yes/no. A column used in arithmetic or compared
with a number is read as a number; a cell that does not read as one makes the row's
computed value a problem naming the column and the text. Arithmetic results are rounded
to 9 decimals (no binary noise such as ``15.299999999999999``).

Functions: ``upper lower strip substr(text, start[, length]) replace(text, old, new)
concat(a, ...) coalesce(a, ...) if(condition, then, else) abs round(x[, digits])
starts_with(text, prefix) length``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Compiled", "ExpressionError", "compile_expression", "parse_expression"]

NUM, TEXT, BOOL = "number", "text", "yes/no"


class ExpressionError(ValueError):
    """An expression does not parse or does not type-check; ``pos`` is 0-based."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(f"position {pos + 1}: {message}")
        self.pos = pos
        self.reason = message


# -- tokens -------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<text>'(?:[^']|'')*')
  | (?P<dq>"(?:[^"]|"")*")
  | (?P<bq>`(?:[^`]|``)*`)
  | (?P<op>\|\||<=|>=|<>|!=|[-+*/()<>=,])
  | (?P<name>[^\W\d]\w*)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "true", "false"}


@dataclass(frozen=True)
class Token:
    kind: str  # num, text, col, name, op, end
    value: str
    pos: int


def tokenize(source: str) -> list[Token]:
    """Split an expression into tokens; an unknown character is an error at its position."""
    out: list[Token] = []
    pos = 0
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if m is None:
            raise ExpressionError(f"unexpected character {source[pos]!r}", pos)
        kind = m.lastgroup or ""
        text = m.group()
        if kind == "text":
            out.append(Token("text", text[1:-1].replace("''", "'"), pos))
        elif kind == "dq":
            out.append(Token("col", text[1:-1].replace('""', '"'), pos))
        elif kind == "bq":
            out.append(Token("col", text[1:-1].replace("``", "`"), pos))
        elif kind != "ws":
            out.append(Token(kind, text, pos))
        pos = m.end()
    out.append(Token("end", "", len(source)))
    return out


# -- tree ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    """One node of the expression tree."""

    kind: str  # num, text, bool, col, unary, binary, call
    value: str
    pos: int
    args: tuple[Node, ...] = ()


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.k = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.k]

    def take(self) -> Token:
        t = self.tokens[self.k]
        self.k += 1
        return t

    def is_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.value in ops

    def is_word(self, word: str) -> bool:
        return self.tok.kind == "name" and self.tok.value.lower() == word

    def expect(self, op: str) -> Token:
        if not self.is_op(op):
            raise ExpressionError(f"expected {op!r}, found {self._shown()}", self.tok.pos)
        return self.take()

    def _shown(self) -> str:
        return "the end" if self.tok.kind == "end" else repr(self.tok.value)

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise ExpressionError("empty expression", 0)
        node = self.or_()
        if self.tok.kind != "end":
            raise ExpressionError(f"unexpected {self._shown()}", self.tok.pos)
        return node

    def _left(self, sub, ops: tuple[str, ...], words: tuple[str, ...] = ()) -> Node:  # type: ignore[no-untyped-def]
        node = sub()
        while self.is_op(*ops) or any(self.is_word(w) for w in words):
            t = self.take()
            node = Node("binary", t.value.lower(), t.pos, (node, sub()))
        return node

    def or_(self) -> Node:
        return self._left(self.and_, (), ("or",))

    def and_(self) -> Node:
        return self._left(self.not_, (), ("and",))

    def not_(self) -> Node:
        if self.is_word("not"):
            t = self.take()
            return Node("unary", "not", t.pos, (self.not_(),))
        return self.compare()

    def compare(self) -> Node:
        node = self.concat()
        if self.is_op("=", "!=", "<>", "<", "<=", ">", ">="):
            t = self.take()
            op = "!=" if t.value == "<>" else t.value
            node = Node("binary", op, t.pos, (node, self.concat()))
            if self.is_op("=", "!=", "<>", "<", "<=", ">", ">="):
                raise ExpressionError("comparisons do not chain; use 'and'", self.tok.pos)
        return node

    def concat(self) -> Node:
        return self._left(self.sum, ("||",))

    def sum(self) -> Node:
        return self._left(self.product, ("+", "-"))

    def product(self) -> Node:
        return self._left(self.unary, ("*", "/"))

    def unary(self) -> Node:
        if self.is_op("-"):
            t = self.take()
            return Node("unary", "-", t.pos, (self.unary(),))
        if self.is_op("+"):
            self.take()
            return self.unary()
        return self.atom()

    def atom(self) -> Node:
        t = self.tok
        if t.kind == "num":
            self.take()
            return Node("num", t.value, t.pos)
        if t.kind == "text":
            self.take()
            return Node("text", t.value, t.pos)
        if t.kind == "col":
            self.take()
            if not t.value.strip():
                raise ExpressionError("empty column name", t.pos)
            return Node("col", t.value, t.pos)
        if t.kind == "name":
            self.take()
            low = t.value.lower()
            if self.is_op("("):
                self.take()
                args: list[Node] = []
                if not self.is_op(")"):
                    args.append(self.or_())
                    while self.is_op(","):
                        self.take()
                        args.append(self.or_())
                self.expect(")")
                return Node("call", low, t.pos, tuple(args))
            if low in ("true", "false"):
                return Node("bool", low, t.pos)
            if low in _KEYWORDS:
                raise ExpressionError(f"unexpected {t.value!r}", t.pos)
            return Node("col", t.value, t.pos)
        if self.is_op("("):
            self.take()
            node = self.or_()
            self.expect(")")
            return node
        raise ExpressionError(f"expected a value, found {self._shown()}", t.pos)


def parse_expression(source: str) -> Node:
    """Parse an expression into a tree.

    Raises
    ------
    ExpressionError
        With the 0-based position of the problem.
    """
    return _Parser(source).parse()


# -- compile ------------------------------------------------------------------------------
@dataclass
class Compiled:
    """An expression compiled to DuckDB SQL over the source columns.

    Attributes
    ----------
    sql : str
        The value as text (VARCHAR; NULL when empty).
    columns : list of str
        Source headers the expression reads, in order of first use.
    numeric : list of str
        Headers read as numbers (their cells must read as numbers).
    """

    source: str
    sql: str
    type: str
    columns: list[str] = field(default_factory=list)
    numeric: list[str] = field(default_factory=list)


_FUNCS: dict[str, tuple[int, int | None]] = {
    "upper": (1, 1),
    "lower": (1, 1),
    "strip": (1, 1),
    "trim": (1, 1),
    "length": (1, 1),
    "substr": (2, 3),
    "replace": (3, 3),
    "concat": (1, None),
    "coalesce": (1, None),
    "if": (3, 3),
    "abs": (1, 1),
    "round": (1, 2),
    "starts_with": (2, 2),
}


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class _Compiler:
    def __init__(self, column_sql: dict[str, str] | None) -> None:
        self.column_sql = column_sql
        self.columns: list[str] = []
        self.numeric: list[str] = []

    def col(self, name: str) -> str:
        if name not in self.columns:
            self.columns.append(name)
        if self.column_sql is None:
            return '"' + name.replace('"', '""') + '"'
        return self.column_sql[name]

    def as_num(self, node: Node) -> str:
        sql, t = self.emit(node)
        if t == NUM:
            return sql
        if node.kind == "col":
            if node.value not in self.numeric:
                self.numeric.append(node.value)
            return f"TRY_CAST({sql} AS DOUBLE)"
        raise ExpressionError(f"expected a number, found {t}", node.pos)

    def as_text(self, node: Node) -> str:
        sql, t = self.emit(node)
        if t == TEXT:
            return sql
        if t == NUM:
            return f"CAST(round({sql}, 9) AS VARCHAR)"
        return f"CASE WHEN {sql} THEN 'true' WHEN NOT {sql} THEN 'false' END"

    def as_bool(self, node: Node) -> str:
        sql, t = self.emit(node)
        if t != BOOL:
            raise ExpressionError(f"expected a condition (yes/no), found {t}", node.pos)
        return sql

    def emit(self, n: Node) -> tuple[str, str]:
        if n.kind == "num":
            return f"CAST({n.value} AS DOUBLE)", NUM
        if n.kind == "text":
            return _lit(n.value), TEXT
        if n.kind == "bool":
            return n.value, BOOL
        if n.kind == "col":
            return self.col(n.value), TEXT
        if n.kind == "unary":
            if n.value == "-":
                return f"(-{self.as_num(n.args[0])})", NUM
            return f"(NOT {self.as_bool(n.args[0])})", BOOL
        if n.kind == "binary":
            return self.binary(n)
        return self.call(n)

    def binary(self, n: Node) -> tuple[str, str]:
        a, b = n.args
        op = n.value
        if op in ("+", "-", "*", "/"):
            x, y = self.as_num(a), self.as_num(b)
            if op == "/":
                return f"({x} / nullif({y}, 0))", NUM
            return f"({x} {op} {y})", NUM
        if op == "||":
            return f"({self.as_text(a)} || {self.as_text(b)})", TEXT
        if op in ("and", "or"):
            return f"({self.as_bool(a)} {op.upper()} {self.as_bool(b)})", BOOL
        # comparison: numbers when either side is a number, else text
        ta, tb = self._type(a), self._type(b)
        if NUM in (ta, tb):
            x, y = self.as_num(a), self.as_num(b)
        elif BOOL in (ta, tb):
            x, y = self.as_bool(a), self.as_bool(b)
        else:
            x, y = self.as_text(a), self.as_text(b)
        return f"({x} {op} {y})", BOOL

    def _type(self, n: Node) -> str:
        probe = _Compiler(None)
        return probe.emit(n)[1]

    def call(self, n: Node) -> tuple[str, str]:
        name = n.value
        if name not in _FUNCS:
            known = ", ".join(sorted(_FUNCS))
            raise ExpressionError(f"unknown function {name!r} (known: {known})", n.pos)
        lo, hi = _FUNCS[name]
        k = len(n.args)
        if k < lo or (hi is not None and k > hi):
            want = f"{lo}" if lo == hi else f"{lo} to {hi}" if hi else f"at least {lo}"
            raise ExpressionError(f"{name}() takes {want} argument(s), got {k}", n.pos)
        a = n.args
        if name in ("upper", "lower"):
            return f"{name}({self.as_text(a[0])})", TEXT
        if name in ("strip", "trim"):
            return f"trim({self.as_text(a[0])})", TEXT
        if name == "length":
            return f"CAST(length({self.as_text(a[0])}) AS DOUBLE)", NUM
        if name == "substr":
            args = [self.as_text(a[0]), f"CAST({self.as_num(a[1])} AS BIGINT)"]
            if k == 3:
                args.append(f"CAST({self.as_num(a[2])} AS BIGINT)")
            return f"substr({', '.join(args)})", TEXT
        if name == "replace":
            return f"replace({', '.join(self.as_text(x) for x in a)})", TEXT
        if name == "concat":
            return f"concat({', '.join(self.as_text(x) for x in a)})", TEXT
        if name == "starts_with":
            return f"starts_with({self.as_text(a[0])}, {self.as_text(a[1])})", BOOL
        if name == "abs":
            return f"abs({self.as_num(a[0])})", NUM
        if name == "round":
            digits = f"CAST({self.as_num(a[1])} AS INTEGER)" if k == 2 else "0"
            return f"round({self.as_num(a[0])}, {digits})", NUM
        if name == "coalesce":
            return self._same_type("coalesce", a)
        cond = self.as_bool(a[0])
        t = self._common_type(a[1:])
        then, other = self._pair(a[1], a[2], t)
        return f"(CASE WHEN {cond} THEN {then} ELSE {other} END)", t

    def _common_type(self, args: tuple[Node, ...]) -> str:
        """Numbers when every argument is a number or a column; yes/no when all are; else text."""
        types = [self._type(x) for x in args]
        if set(types) == {BOOL}:
            return BOOL
        pairs = zip(args, types, strict=True)
        if NUM in types and all(t == NUM or x.kind == "col" for x, t in pairs):
            return NUM
        return TEXT

    def _same_type(self, func: str, args: tuple[Node, ...]) -> tuple[str, str]:
        t = self._common_type(args)
        conv = {NUM: self.as_num, BOOL: self.as_bool, TEXT: self.as_text}[t]
        return f"{func}({', '.join(conv(x) for x in args)})", t

    def _pair(self, a: Node, b: Node, t: str) -> tuple[str, str]:
        if t == NUM:
            return self.as_num(a), self.as_num(b)
        if t == BOOL:
            return self.as_bool(a), self.as_bool(b)
        return self.as_text(a), self.as_text(b)


def compile_expression(source: str, column_sql: dict[str, str] | None = None) -> Compiled:
    """Parse and compile an expression.

    Parameters
    ----------
    source : str
        The expression.
    column_sql : dict, optional
        Header -> SQL of its cleaned text. ``None`` quotes headers as identifiers (used to
        check an expression before a file is seen).

    Raises
    ------
    ExpressionError
        Parse and type errors, with the position.
    KeyError
        A header missing from ``column_sql``.
    """
    tree = parse_expression(source)
    comp = _Compiler(column_sql)
    sql = comp.as_text(tree)
    return Compiled(source, sql, comp._type(tree), comp.columns, comp.numeric)
