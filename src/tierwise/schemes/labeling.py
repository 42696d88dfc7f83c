"""The one engine that turns rule schemes (data) into label columns (Ibis expressions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

if TYPE_CHECKING:
    from tierwise.config import RuleScheme

__all__ = ["DEFAULT_RULE", "apply_schemes", "multi_column", "rule_column", "scheme_params"]

DEFAULT_RULE = "default"
"""Value of ``<scheme>_rule`` when no rule held and the scheme's default label was given."""


def multi_column(scheme: str) -> str:
    """Column holding every label whose rule held (multi-label schemes), joined by ``;``."""
    return f"{scheme}_all"


def rule_column(scheme: str) -> str:
    """Column naming the rule that gave the primary label (or `DEFAULT_RULE`)."""
    return f"{scheme}_rule"


def scheme_params(
    scheme: RuleScheme, name: str, learned: Mapping[str, Mapping[str, Any]] | None
) -> dict[str, Any]:
    """A scheme's params: those of the config, then those earlier steps learned for it."""
    return {**scheme.params, **((learned or {}).get(name) or {})}


def apply_schemes(
    table: ir.Table,
    schemes: Mapping[str, RuleScheme],
    learned: Mapping[str, Mapping[str, Any]] | None = None,
) -> ir.Table:
    """Add one label column per scheme (plus ``<scheme>_all`` for multi-label schemes).

    Schemes are applied in order, so a later scheme's rules may read an earlier scheme's
    label column (e.g. ``lifecycle == 'churned'``).

    Parameters
    ----------
    table : ibis Table
        Features (and scores) of each customer.
    schemes : mapping of str to RuleScheme
        The schemes, in evaluation order.
    learned : mapping, optional
        Params learned by earlier steps, per scheme (the quadrant's lines).

    Returns
    -------
    ibis Table
        ``table`` with, per scheme, the primary label ``<scheme>``, the rule that gave it
    ``<scheme>_rule`` and, for multi-label schemes, ``<scheme>_all`` (missing when no rule
    held).
    """
    for name, scheme in schemes.items():
        params = scheme_params(scheme, name, learned)
        compiled = [(lab.id, cond.compile(table, params)) for lab, cond in scheme.conditions(name)]
        default = ibis.literal(scheme.default, "string") if scheme.default else ibis.null("string")
        primary = ibis.cases(*[(cond, ibis.literal(lid)) for lid, cond in compiled], else_=default)
        rule = ibis.cases(
            *[(cond, ibis.literal(lid)) for lid, cond in compiled], else_=ibis.literal(DEFAULT_RULE)
        )
        columns: dict[str, ir.Value] = {name: primary, rule_column(name): rule}
        if scheme.mode == "multi":
            joined = ibis.literal("")
            for lid, cond in compiled:
                joined = joined + ibis.ifelse(cond, ibis.literal(f";{lid}"), ibis.literal(""))
            columns[multi_column(name)] = ibis.ifelse(
                joined == "", ibis.null("string"), joined.substr(1)
            )
        table = table.mutate(**columns)
    return table
