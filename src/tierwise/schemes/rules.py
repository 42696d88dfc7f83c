"""The rule language: conditions written as data, compiled to engine-neutral Ibis expressions.

A condition is a small expression over feature columns and scheme params, e.g.
``"orders >= 2 and recency_days <= churn_days"``. It is parsed with Python's ``ast`` into a
whitelisted tree (no attribute access, no calls beyond the functions below), so a config file
can never run code. A comparison with a missing value is false.
"""

from __future__ import annotations

import ast
import difflib
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, reduce
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis.common.annotations import SignatureValidationError
from ibis.common.exceptions import IbisTypeError

from tierwise.errors import ConfigError

__all__ = ["FUNCTIONS", "Condition"]

_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_ARITH: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def _coalesce(*args: Any) -> Any:
    return ibis.coalesce(*args)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "coalesce": _coalesce,
    "is_null": lambda x: x.isnull(),
    "not_null": lambda x: x.notnull(),
    "abs": lambda x: x.abs(),
    "least": lambda *xs: ibis.least(*xs),
    "greatest": lambda *xs: ibis.greatest(*xs),
}
"""Functions a condition may call."""


@dataclass(frozen=True)
class Condition:
    """A parsed condition.

    Parameters
    ----------
    text : str
        The condition as written in the config.
    where : str
        Where it was written (e.g. ``schemes.lifecycle.labels[2].when``), for error messages.
    """

    text: str
    where: str = "condition"

    @cached_property
    def tree(self) -> ast.expr:
        """The validated syntax tree."""
        source = " ".join(self.text.split())
        try:
            node = ast.parse(source, mode="eval").body
        except SyntaxError as exc:
            raise ConfigError(f"{self.where}: cannot parse {self.text!r}: {exc.msg}") from None
        self._check(node)
        return node

    def _check(self, node: ast.AST) -> None:
        allowed = (
            ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.Compare,
            ast.BinOp, ast.Name, ast.Constant, ast.Call, ast.Load, ast.Tuple, ast.List,
            ast.In, ast.NotIn, *_COMPARE, *_ARITH,
        )  # fmt: skip
        for sub in ast.walk(node):
            if not isinstance(sub, allowed):
                raise ConfigError(
                    f"{self.where}: {type(sub).__name__} is not allowed in a rule ({self.text!r})"
                )
            if isinstance(sub, ast.Call):
                if not isinstance(sub.func, ast.Name) or sub.func.id not in FUNCTIONS:
                    raise ConfigError(
                        f"{self.where}: unknown function in {self.text!r}; "
                        f"allowed: {', '.join(FUNCTIONS)}"
                    )

    def names(self) -> set[str]:
        """Every name the condition reads (features and params), functions excluded."""
        called = {id(n.func) for n in ast.walk(self.tree) if isinstance(n, ast.Call)}
        return {
            n.id
            for n in ast.walk(self.tree)
            if isinstance(n, ast.Name) and id(n) not in called and n.id not in ("true", "false")
        }

    def validate(self, columns: Iterable[str], params: Mapping[str, Any]) -> None:
        """Raise `ConfigError` naming any name that is neither a column nor a param."""
        known = set(columns) | set(params)
        for name in sorted(self.names() - known):
            hint = difflib.get_close_matches(name, known, n=1)
            tip = f" (did you mean {hint[0]}?)" if hint else ""
            raise ConfigError(f"{self.where}: unknown name {name!r} in {self.text!r}{tip}")

    def compile(self, table: ir.Table, params: Mapping[str, Any]) -> ir.BooleanValue:
        """The condition as a boolean Ibis expression over ``table``; missing values are false."""
        self.validate(table.columns, params)
        try:
            expr = _Compiler(table, params, self).visit(self.tree)
        except (IbisTypeError, TypeError, SignatureValidationError) as exc:
            texts = {n: params[n] for n in sorted(self.names()) if isinstance(params.get(n), str)}
            hint = "".join(
                f"; param {n} is the text {v!r}" + (", write it without quotes" if
                                                   _is_number(v) else "")
                for n, v in texts.items()
            )  # fmt: skip
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"{self.where}: {self.text!r} mixes incompatible types ({detail}){hint}"
            ) from None
        if not isinstance(expr, ir.BooleanValue):
            raise ConfigError(f"{self.where}: {self.text!r} is not a true/false condition")
        return expr.fill_null(False)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _Compiler:
    def __init__(self, table: ir.Table, params: Mapping[str, Any], cond: Condition) -> None:
        self.table = table
        self.params = params
        self.cond = cond

    def visit(self, node: ast.AST) -> Any:
        match node:
            case ast.BoolOp(op=ast.And(), values=values):
                return reduce(operator.and_, [self._bool(v) for v in values])
            case ast.BoolOp(op=ast.Or(), values=values):
                return reduce(operator.or_, [self._bool(v) for v in values])
            case ast.UnaryOp(op=ast.Not(), operand=operand):
                return ~self._bool(operand)
            case ast.UnaryOp(op=ast.USub(), operand=operand):
                return -self.visit(operand)
            case ast.BinOp(left=left, op=op, right=right):
                return _ARITH[type(op)](self.visit(left), self.visit(right))
            case ast.Compare(left=left, ops=ops, comparators=comparators):
                parts = []
                lhs = self.visit(left)
                for op, comp in zip(ops, comparators, strict=True):
                    if isinstance(op, ast.In | ast.NotIn):
                        values = [self._literal(e) for e in getattr(comp, "elts", [comp])]
                        part = lhs.isin(values)
                        parts.append(~part if isinstance(op, ast.NotIn) else part)
                        lhs = None
                        continue
                    rhs = self.visit(comp)
                    parts.append(_COMPARE[type(op)](lhs, rhs))
                    lhs = rhs
                return reduce(operator.and_, parts)
            case ast.Call(func=ast.Name(id=fname), args=args):
                return FUNCTIONS[fname](*[self.visit(a) for a in args])
            case ast.Name(id="true"):
                return ibis.literal(True)
            case ast.Name(id="false"):
                return ibis.literal(False)
            case ast.Name(id=name) if name in self.params:
                value = self.params[name]
                # a param not learned (no buyer had CLV figures) compares as missing: false
                return ibis.null("float64") if value is None else ibis.literal(value)
            case ast.Name(id=name):
                return self.table[name]
            case ast.Constant(value=value):
                return ibis.literal(value)
        raise ConfigError(f"{self.cond.where}: cannot compile {ast.unparse(node)!r}")

    def _bool(self, node: ast.AST) -> ir.BooleanValue:
        value = self.visit(node)
        if not isinstance(value, ir.BooleanValue):
            raise ConfigError(
                f"{self.cond.where}: {ast.unparse(node)!r} is not a true/false condition"
            )
        return value.fill_null(False)

    def _literal(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name) and node.id in self.params:
            return self.params[node.id]
        raise ConfigError(
            f"{self.cond.where}: 'in' needs literal values, got {ast.unparse(node)!r}"
        )
