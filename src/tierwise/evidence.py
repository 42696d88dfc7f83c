"""Evidence for every label: which rule gave it, on which figures, with which params.

The labels of a snapshot are written as a long table (one row per customer and label) next to
the profile table, and their evidence is a view over the profile table: this module builds
the query that derives both from the profile.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tierwise.config import Config
from tierwise.schemes.labeling import DEFAULT_RULE, multi_column, rule_column, scheme_params
from tierwise.schemes.rfm import RFM_COLUMNS, RFMBinner

__all__ = ["LABEL_COLUMNS", "labels_query"]

LABEL_COLUMNS = (
    "customer_id", "scheme", "label", "label_zh", "label_en", "is_primary", "rule", "evidence",
)  # fmt: skip


def _q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _json_literal(data: Mapping[str, Any]) -> str:
    return f"{_q(json.dumps(data, ensure_ascii=False, sort_keys=True))}::JSON"


def _evidence(figures: list[str], params: Mapping[str, Any]) -> str:
    pairs = ", ".join(f"{_q(n)}, {_ident(n)}" for n in sorted(figures))
    figs = f"json_object({pairs})" if pairs else "json_object()"
    return f"json_object('figures', {figs}, 'params', {_json_literal(params)})::VARCHAR"


def labels_query(
    profile_table: str,
    config: Config,
    rfm: RFMBinner | None,
    learned: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    evidence: bool = True,
) -> str:
    """A DuckDB query giving one row per customer and label with its evidence.

    Columns are `LABEL_COLUMNS`. ``evidence`` is JSON: ``{"figures": {feature: value},
    "params": {param: value}}`` (missing when ``evidence`` is false); ``rule`` is the
    condition as written in the config; ``learned`` params (the quadrant's lines, and how
    each was chosen) join the config's.
    """
    proof = _evidence if evidence else (lambda figures, params: "NULL::VARCHAR")
    src = _ident(profile_table)
    parts: list[tuple[str, list[str]]] = []  # (condition, values of the label row)
    for name, scheme in config.schemes.items():
        all_params = scheme_params(scheme, name, learned)
        col, rule_col = _ident(name), _ident(rule_column(name))
        all_names: set[str] = set()
        for lab, cond in scheme.conditions(name):
            names = cond.names()
            all_names |= names
            figures = [n for n in names if n not in all_params]
            params = {n: all_params[n] for n in names if n in all_params}
            params |= {k: v for k, v in all_params.items() if k.endswith("_method")}
            if scheme.mode == "multi":
                held = (
                    f"list_contains(string_split({_ident(multi_column(name))}, ';'), {_q(lab.id)})"
                )
            else:
                held = f"{rule_col} = {_q(lab.id)}"
            parts.append((held, [
                _q(name), _q(lab.id), _q(lab.zh), _q(lab.en), f"{col} = {_q(lab.id)}",
                _q(" ".join(lab.when.split())), proof(figures, params),
            ]))  # fmt: skip
        if scheme.default is not None:
            zh, en = scheme.display(scheme.default)
            figures = [n for n in all_names if n not in all_params]
            params = {n: all_params[n] for n in all_names if n in all_params}
            parts.append((f"{rule_col} = {_q(DEFAULT_RULE)}", [
                _q(name), col, _q(zh), _q(en), "true", "'no rule held: default label'",
                proof(figures, params),
            ]))  # fmt: skip
    if rfm is not None:
        figures = [*RFM_COLUMNS.values(), *RFM_COLUMNS]
        params = {f"edges_{c}": e for c, e in rfm.edges_.items()}
        parts.append(("r IS NOT NULL", [
            "'rfm'", "'R' || r || 'F' || f || 'M' || m", "'RFM ' || rfm_code",
            "'RFM ' || rfm_code", "true", "'score = 1 + edges exceeded (recency: reversed)'",
            proof(figures, params),
        ]))  # fmt: skip
    # One scan of the profile: each customer's labels come out together, in the profile's
    # order, so that the rows of one customer sit in one block of the labels table.
    keys = LABEL_COLUMNS[1:]
    rows = []
    for held, values in parts:
        row = ", ".join(f"{_q(k)}: {v}" for k, v in zip(keys, values, strict=True))
        rows.append(f"CASE WHEN {held} THEN {{{row}}} END")
    fields = ", ".join(f"l.{k}" for k in keys)
    return (
        f"SELECT customer_id, {fields} FROM (SELECT customer_id, "
        f"unnest(list_filter([{', '.join(rows)}], lambda x: x IS NOT NULL)) AS l FROM {src})"
    )
