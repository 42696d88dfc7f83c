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


# SQL of the label rows no rule of the config writes: a scheme's default, a customer's RFM code
_DEFAULT_RULE_TEXT = "'no rule held: default label'"
_RFM_LABEL = "'R' || r || 'F' || f || 'M' || m"
_RFM_NAME = "'RFM ' || rfm_code"
_RFM_RULE = "'score = 1 + edges exceeded (recency: reversed)'"


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
    if not evidence:
        return _label_rows_query(profile_table, config, rfm)
    proof = _evidence
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
                _q(name), col, _q(zh), _q(en), "true", _DEFAULT_RULE_TEXT, proof(figures, params),
            ]))  # fmt: skip
    if rfm is not None:
        figures = [*RFM_COLUMNS.values(), *RFM_COLUMNS]
        params = {f"edges_{c}": e for c, e in rfm.edges_.items()}
        parts.append(("r IS NOT NULL", [
            "'rfm'", _RFM_LABEL, _RFM_NAME, _RFM_NAME, "true", _RFM_RULE, proof(figures, params),
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


def _label_rows_query(profile_table: str, config: Config, rfm: RFMBinner | None) -> str:
    """`labels_query` without the evidence: per customer one entry per scheme (one per held
    label of a multi-label scheme), whose names and rule text are looked up by a join."""
    names: list[str] = []  # (scheme, label, zh, en, rule) rows of the lookup
    entries: list[str] = []  # list expressions of entries, concatenated per customer

    def entry(scheme: str, key: str, label: str, zh: str, en: str, primary: str, rule: str,
              fixed: bool) -> str:  # fmt: skip
        return (f"{{'scheme': {_q(scheme)}, 'key': {key}, 'label': {label}, 'label_zh': {zh}, "
                f"'label_en': {en}, 'is_primary': {primary}, 'rule': {rule}, "
                f"'fixed': {str(fixed).lower()}}}")  # fmt: skip

    none = "NULL::VARCHAR"
    for name, scheme in config.schemes.items():
        col, rule_col = _ident(name), _ident(rule_column(name))
        for lab, _ in scheme.conditions(name):
            names.append(", ".join(_q(v) for v in (
                name, lab.id, lab.zh, lab.en, " ".join(lab.when.split()))))  # fmt: skip
        default = "NULL"
        if scheme.default is not None:
            zh, en = scheme.display(scheme.default)
            default = entry(name, none, col, _q(zh), _q(en), "true", _DEFAULT_RULE_TEXT, True)
        if scheme.mode == "multi":
            held = entry(name, "x", none, none, none, f"{col} = x", none, False)
            entries.append(
                f"list_transform(list_distinct(string_split({_ident(multi_column(name))}, ';')),"
                f" lambda x: {held})"
            )
            entries.append(f"[CASE WHEN {rule_col} = {_q(DEFAULT_RULE)} THEN {default} END]")
        else:
            held = entry(name, rule_col, none, none, none, f"{col} = {rule_col}", none, False)
            entries.append(
                f"[CASE WHEN {rule_col} = {_q(DEFAULT_RULE)} THEN {default} ELSE {held} END]"
            )
    if rfm is not None:
        rfm_row = entry("rfm", none, _RFM_LABEL, _RFM_NAME, _RFM_NAME, "true", _RFM_RULE, True)
        entries.append(f"[CASE WHEN r IS NOT NULL THEN {rfm_row} END]")
    if not entries:
        return ("SELECT NULL::VARCHAR AS customer_id, " + ", ".join(
            f"NULL::{'BOOLEAN' if k == 'is_primary' else 'VARCHAR'} AS {k}"
            for k in LABEL_COLUMNS[1:]) + " LIMIT 0")  # fmt: skip
    lookup = ", ".join(f"({row})" for row in names) or "(NULL, NULL, NULL, NULL, NULL)"
    every = entries[0] if len(entries) == 1 else f"flatten([{', '.join(entries)}])"
    return f"""SELECT e.customer_id, e.l.scheme AS scheme,
       CASE WHEN e.l.fixed THEN e.l.label ELSE e.l.key END AS label,
       CASE WHEN e.l.fixed THEN e.l.label_zh ELSE n.zh END AS label_zh,
       CASE WHEN e.l.fixed THEN e.l.label_en ELSE n.en END AS label_en,
       e.l.is_primary AS is_primary,
       CASE WHEN e.l.fixed THEN e.l.rule ELSE n.rule END AS rule,
       NULL::VARCHAR AS evidence
FROM (SELECT customer_id, unnest(list_filter({every}, lambda x: x IS NOT NULL)) AS l
      FROM {_ident(profile_table)}) AS e
LEFT JOIN (VALUES {lookup}) AS n(scheme, key, zh, en, rule)
  ON e.l.scheme = n.scheme AND e.l.key = n.key
WHERE e.l.fixed OR n.key IS NOT NULL"""
