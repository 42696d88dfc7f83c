"""The import plan: which source columns feed which canonical column, and the SQL that
parses and checks them in one vectorised DuckDB pass.

Error codes produced by the SQL (turned into sentences by :func:`describe`):

``empty``     a required value is empty
``format``    the text does not parse (number, whole number, timestamp)
``nan``       a number is NaN
``inf``       a number is infinite
``negative``  amount, cost or item_count below zero
``fraction``  item_count is not a whole number
``past``      a timestamp before 1900 (usually a two-digit year)
``future``    a timestamp after the reference time plus the tolerance
``vocab``     an order status outside paid/refunded/cancelled
``bool``      a yes/no value outside the vocabulary
``json``      an attributes value that is not a JSON object
``disagree``  line-item rows of one record disagree on a value
``operand``   a column used as a number in a computed column does not read as one
``float_id``  an id taken from a floating-point column has a fraction or an exponent
``mixed``     line-item rows of one order mix sales and returns
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field

from tierwise.errors import ImportValidationError
from tierwise.io.expressions import compile_expression
from tierwise.io.mapping import (
    SPECIAL_DATE_FORMATS,
    BooleanVocabulary,
    ColumnMapping,
    NumberFormat,
    Returns,
    column_kind,
)
from tierwise.io.options import ImportOptions
from tierwise.schema import ORDER_STATUSES, Entity

__all__ = ["ColPlan", "ImportPlan", "build_plan", "describe", "lit"]

ISO_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S.%n",
    "%Y-%m-%dT%H:%M:%S.%n",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
)
"""ISO 8601 shapes always accepted for timestamps (after any declared formats)."""

NON_NEGATIVE = frozenset({"amount", "cost", "item_count"})
"""Number columns that must not be negative."""

DEFAULT_EVENT_ID_COLUMNS = (
    "customer_id",
    "occurred_at",
    "event_type",
    "channel",
    "text",
    "target_customer_id",
)
"""Columns hashed into ``event_id`` when an events file has no id column."""

DEFAULT_LINK_ID_COLUMNS = ("id_type", "identifier", "customer_id", "platform")
"""Columns hashed into ``link_id`` when an identities file has no id column."""

ID_COLUMNS = frozenset(
    {"customer_id", "order_id", "event_id", "referrer_id", "target_customer_id", "identifier"}
)
"""Text columns holding ids: never taken from a number with a fraction."""

QUARANTINE_COLUMNS = frozenset({"_row", "_reasons", "_text"})
"""Bookkeeping columns of a quarantine file, ignored when it is imported again."""

_CURRENCY_LIKE = re.compile(r"^(?:[^\d\s.,+-]+\s*[+-]?[\d.,]+|[+-]?[\d.,]+\s*[^\d\s.,+-]+)$")
_OFFSET_RX = r"\d:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})$"
_SPLIT_RX = r"^(.*?)\s*(Z|[+-]\d{2}:?\d{2})$"


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


@dataclass
class ColPlan:
    """How one canonical column is filled and parsed."""

    name: str
    kind: str
    required: bool
    sources: list[tuple[str, str]] = field(default_factory=list)  # (header, input column)
    values: dict[str, str | None] = field(default_factory=dict)
    formats: list[str] = field(default_factory=list)
    number: NumberFormat | None = None
    vocab: BooleanVocabulary | None = None
    constant: str | None = None
    default: str | None = None
    constant_sql: str | None = None
    default_sql: str | None = None
    computed: str | None = None  # input column holding the computed text
    operand_error: str | None = None  # input column naming a non-numeric operand
    float_source: bool = False  # fed by a floating-point column of a typed source

    @property
    def non_negative(self) -> bool:
        return self.name in NON_NEGATIVE

    @property
    def fed(self) -> bool:
        """Whether the file feeds this column."""
        return bool(self.sources)


@dataclass
class ImportPlan:
    """Everything needed to turn a text table into canonical rows."""

    entity: Entity
    inputs: list[str]  # header of each input column c0, c1, ...
    columns: dict[str, ColPlan]
    attr_sources: list[tuple[str, str, str]]  # (json key, header, input column)
    computed_id: list[str] | None
    line_items: list[str] | None  # sum columns when rows are line items
    computed_sql: list[tuple[str, str, str | None]]  # (input name, SQL, operand-error SQL)
    identical: str  # keep or fold identical rows under a computed id
    time_tolerance: dt.timedelta
    returns: Returns | None
    item_input: str | None  # input column of returns.item
    reference: dt.datetime
    tolerance: dt.timedelta
    timezone: str | None
    mapped: dict[str, str]
    kept: list[str]
    ignored: list[str]
    notes: list[str]

    @property
    def key(self) -> str:
        return self.entity.key

    def header_of(self, col: str) -> str:
        """A readable name for a canonical column's source (for messages)."""
        cp = self.columns[col]
        return cp.sources[0][0] if cp.sources else col


def build_plan(
    ent: Entity,
    headers: list[str],
    mapping: ColumnMapping,
    options: ImportOptions,
    name: str,
    float_columns: set[str] | frozenset[str] = frozenset(),
) -> ImportPlan:
    """Match the file's headers to canonical columns.

    Raises
    ------
    ImportValidationError
        If a required column is not fed by the file, a constant or a computed id.
    """
    notes: list[str] = []
    present = set(headers)
    inputs: list[str] = []
    input_of: dict[str, str] = {}

    def use(header: str) -> str:
        if header not in input_of:
            input_of[header] = f"c{len(inputs)}"
            inputs.append(header)
        return input_of[header]

    cols = {c.name: ColPlan(c.name, column_kind(c.type), c.required) for c in ent.columns}
    mapped: dict[str, str] = {}
    ignored: list[str] = []
    attr_sources: list[tuple[str, str, str]] = []
    explicit = dict(mapping.columns)
    missing_sources: dict[str, list[str]] = {}
    for header, target in explicit.items():
        if header not in present:
            if target is not None:
                missing_sources.setdefault(target, []).append(header)
            continue
        if target is None:
            ignored.append(header)
        elif target.startswith("attributes."):
            attr_sources.append((target[len("attributes.") :], header, use(header)))
            mapped[header] = target
        else:
            cols[target].sources.append((header, use(header)))
            mapped[header] = target
    # computed columns read the cleaned text of their source columns
    computed_sql: list[tuple[str, str, str | None]] = []
    used: dict[str, str] = {}  # header -> what reads it besides a column mapping
    for target, expr in mapping.computed.items():
        refs = compile_expression(expr).columns
        absent = [h for h in refs if h not in present]
        if absent:
            raise ImportValidationError(
                f"{name}: computed {target} = {expr} needs column(s) "
                f"{', '.join(map(repr, absent))}, not in the file"
            )
        comp = compile_expression(expr, {h: use(h) for h in refs})
        for h in refs:
            used.setdefault(h, f"({target} = {expr})")
        xname = f"x{len(computed_sql)}"
        checks = [
            f"WHEN {use(h)} IS NOT NULL AND TRY_CAST({use(h)} AS DOUBLE) IS NULL "
            f"THEN {lit(h)} || chr(31) || {use(h)}"
            for h in comp.numeric
        ]
        err_sql = f"CASE {' '.join(checks)} END" if checks else None
        computed_sql.append((xname, comp.sql, err_sql))
        shown = f"{target} = {expr}"
        if target.startswith("attributes."):
            attr_sources.append((target[len("attributes.") :], shown, xname))
        else:
            cp = cols[target]
            cp.sources.append((shown, xname))
            cp.computed = xname
            cp.operand_error = f"{xname}e" if err_sql else None
    item_input = None
    returns = mapping.returns
    if returns is not None and returns.item is not None:
        if returns.item not in present:
            raise ImportValidationError(
                f"{name}: returns.item {returns.item!r} is not a column of the file"
            )
        item_input = use(returns.item)
        used.setdefault(returns.item, "returns.item")
    # headers named like a canonical column map to it unless the mapping says otherwise
    by_lower = {c.lower(): c for c in cols}
    for header in headers:
        if header in explicit:
            continue
        canon = by_lower.get(header.lower())
        if canon is None or cols[canon].sources:
            continue
        if (
            canon in mapping.constants
            or canon in mapping.computed
            or (canon == ent.key and mapping.computed_id)
        ):
            why = (
                "the constant"
                if canon in mapping.constants
                else "the computed column"
                if canon in mapping.computed
                else "computed_id"
            )
            notes.append(f"{why} for {canon} replaces the file's column {header!r}")
            ignored.append(header)
            explicit[header] = None
            continue
        cols[canon].sources.append((header, use(header)))
        mapped[header] = canon
    kept: list[str] = []
    auto_ignored: list[str] = []
    for header in headers:
        if header in explicit or header in mapped or header in used:
            continue
        if header in QUARANTINE_COLUMNS:
            auto_ignored.append(header)
        elif options.unknown_columns == "keep":
            attr_sources.append((header, header, use(header)))
            kept.append(header)
        else:
            ignored.append(header)
    if auto_ignored:
        notes.append(f"ignored quarantine bookkeeping column(s) {', '.join(auto_ignored)}")
        ignored.extend(auto_ignored)
    # a column only a computed column or the returns' item key reads is read, not ignored
    ignored = [h for h in ignored if h not in used]
    for header, reader in used.items():
        mapped.setdefault(header, reader)
    for target, hdrs in missing_sources.items():
        if target.startswith("attributes.") or not cols[target].sources:
            notes.append(f"mapped column(s) {', '.join(map(repr, hdrs))} not in the file")
    for col, table in mapping.values.items():
        cols[col].values = dict(table)
    for col, fmts in mapping.dates.items():
        cols[col].formats = list(fmts)
    for col, nf in mapping.numbers.items():
        cols[col].number = nf
    for col, vocab in mapping.booleans.items():
        cols[col].vocab = vocab
    for col, text in mapping.constants.items():
        cols[col].constant = text
    for col, text in mapping.defaults.items():
        cols[col].default = text
    for cp in cols.values():
        if cp.name in ID_COLUMNS and any(h in float_columns for h, _ in cp.sources):
            cp.float_source = True

    computed = list(mapping.computed_id) if mapping.computed_id else None
    if computed is None and ent.name == "events" and not cols["event_id"].sources:
        computed = [c for c in DEFAULT_EVENT_ID_COLUMNS if c in cols]
        notes.append("no event_id column: event_id is a content hash of " + ", ".join(computed))
    if computed is None and ent.name == "identities" and not cols["link_id"].sources:
        computed = list(DEFAULT_LINK_ID_COLUMNS)
        notes.append("no link_id column: link_id is a content hash of " + ", ".join(computed))
    missing = [
        c.name
        for c in cols.values()
        if c.required
        and not c.sources
        and c.constant is None
        and c.default is None
        and not (c.name == ent.key and computed)
    ]
    if missing:
        have = ", ".join(headers[:25]) + (", ..." if len(headers) > 25 else "")
        parts = []
        for m in missing:
            expected = missing_sources.get(m)
            parts.append(
                f"{m} (mapping expects {' or '.join(map(repr, expected))})" if expected else m
            )
        raise ImportValidationError(
            f"{name}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(parts)} for {ent.name}; file columns: {have or '(none)'}"
        )
    line_items = list(mapping.line_items.sum) if mapping.line_items is not None else None
    if returns is not None:
        need = [c for c in ("customer_id", "paid_at", "amount") if not cols[c].sources]
        if "customer_item" in returns.original and need:
            raise ImportValidationError(
                f"{name}: returns matched by customer_item need {', '.join(need)} from the file"
            )
    return ImportPlan(
        entity=ent,
        inputs=inputs,
        columns=cols,
        attr_sources=attr_sources,
        computed_id=computed,
        line_items=line_items,
        computed_sql=computed_sql,
        identical=mapping.identical(ent.name),
        time_tolerance=(
            mapping.line_items.time_tolerance if mapping.line_items else dt.timedelta(0)
        ),
        returns=returns,
        item_input=item_input,
        reference=options.now() + options.future_tolerance,
        tolerance=options.future_tolerance,
        timezone=options.timezone,
        mapped=mapped,
        kept=kept,
        ignored=ignored,
        notes=notes,
    )


# -- SQL ----------------------------------------------------------------------------------
def clean_expr(col: str, unwrap: bool) -> str:
    """Empty text -> NULL; optionally strip an Excel text guard ``="..."``."""
    if unwrap:
        col = (
            f"CASE WHEN starts_with({col}, '=\"') AND ends_with({col}, '\"') "
            f"AND length({col}) >= 3 "
            f"THEN trim({col}[3:-2]) ELSE {col} END"
        )
    return f"nullif({col}, '')"


def text_expr(cp: ColPlan) -> str:
    """The column's text: first non-empty source."""
    if not cp.sources:
        return "NULL::VARCHAR"
    if len(cp.sources) == 1:
        return cp.sources[0][1]
    return "coalesce(" + ", ".join(c for _, c in cp.sources) + ")"


def mapped_expr(cp: ColPlan) -> str:
    """The column's text after value mapping."""
    t = text_expr(cp)
    if not cp.values:
        return t
    whens = " ".join(
        f"WHEN {lit(k)} THEN {'NULL' if v is None else lit(v)}" for k, v in cp.values.items()
    )
    return f"CASE {t} {whens} ELSE {t} END"


def _number_text(cp: ColPlan, m: str) -> str:
    nf = cp.number
    if nf is None:
        return m
    x = m
    for cur in nf.currency:
        x = f"replace({x}, {lit(cur)}, '')"
    if nf.currency:
        x = f"trim({x})"
    if nf.thousands:
        x = f"replace({x}, {lit(nf.thousands)}, '')"
    if nf.decimal != ".":
        x = f"replace({x}, {lit(nf.decimal)}, '.')"
    return x


def _fmt_list(cp: ColPlan) -> str:
    fmts = [f for f in dict.fromkeys([*cp.formats, *ISO_FORMATS]) if f not in SPECIAL_DATE_FORMATS]
    return "[" + ", ".join(lit(f) for f in fmts) + "]"


EXCEL_MAX_SERIAL = 2958465
"""Excel's serial day of 9999-12-31."""


def _special_date(fmt: str, m: str, timezone: str | None) -> str:
    """SQL reading Excel serial days or Unix epoch seconds/milliseconds."""
    x = f"TRY_CAST({m} AS DOUBLE)"
    if fmt == "excel_serial":
        us = f"CAST(round({x} * 86400000) * 1000 AS BIGINT)"
        return (
            f"CASE WHEN {x} >= 1 AND {x} <= {EXCEL_MAX_SERIAL} "
            f"THEN TIMESTAMP '1899-12-30' + to_microseconds({us}) END"
        )
    scale = 1_000_000 if fmt == "epoch_s" else 1_000
    ts = f"make_timestamp(CAST(round({x} * {scale}) AS BIGINT))"
    if timezone:
        ts = f"timezone({lit(timezone)}, timezone('UTC', {ts}))"
    return f"CASE WHEN isfinite({x}) AND abs({x} * {scale}) < 2.5e17 THEN {ts} END"


ISO_SHAPE = r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?"
"""The ISO 8601 shapes of :data:`ISO_FORMATS`, read by DuckDB's fast cast first."""


def _iso_fast(m: str) -> str:
    """ISO text read by a cast (ten times faster than ``try_strptime`` with a list)."""
    return f"CASE WHEN regexp_full_match({m}, {lit(ISO_SHAPE)}) THEN TRY_CAST({m} AS TIMESTAMP) END"


def _timestamp_d(cp: ColPlan, m: str, timezone: str | None) -> str:
    parts = []
    declared = [f for f in cp.formats if f not in ISO_FORMATS]
    if any(f in SPECIAL_DATE_FORMATS for f in declared):
        for f in declared:
            if f in SPECIAL_DATE_FORMATS:
                parts.append(_special_date(f, m, timezone))
            else:
                parts.append(f"try_strptime({m}, {lit(f)})")
    elif declared:
        parts.append(f"try_strptime({m}, [{', '.join(map(lit, declared))}])")
    parts.append(_iso_fast(m))
    parts.append(f"try_strptime({m}, {_fmt_list(cp)})")
    return f"coalesce({', '.join(parts)})"


def stage_d(cp: ColPlan, m: str, timezone: str | None = None) -> str | None:
    """First parse step: raw typed value (may be NaN, negative, ...)."""
    if cp.kind in ("float", "int"):
        n = _number_text(cp, m)
        return f"CASE WHEN contains({n}, '_') THEN NULL ELSE TRY_CAST({n} AS DOUBLE) END"
    if cp.kind == "timestamp":
        return _timestamp_d(cp, m, timezone)
    if cp.kind == "bool":
        vocab = cp.vocab or BooleanVocabulary()
        true, false = vocab.words()
        other = "NULL" if vocab.other is None else ("true" if vocab.other else "false")
        return (
            f"CASE WHEN lower({m}) IN ({', '.join(map(lit, true))}) THEN true "
            f"WHEN lower({m}) IN ({', '.join(map(lit, false))}) THEN false "
            f"WHEN {m} IS NOT NULL THEN {other} END"
        )
    return None


def stage_v(
    plan_ref: dt.datetime, timezone: str | None, cp: ColPlan, m: str, d: str
) -> tuple[str, str]:
    """Second parse step: (value expression, error-code expression)."""
    if cp.kind in ("float", "int"):
        neg = f"WHEN {d} < 0 THEN 'negative' " if cp.non_negative else ""
        err = (
            f"CASE WHEN {m} IS NULL THEN NULL WHEN {d} IS NULL THEN 'format' "
            f"WHEN isnan({d}) THEN 'nan' WHEN isinf({d}) THEN 'inf' {neg}"
        )
        if cp.kind == "int":
            err += (
                f"WHEN {d} <> trunc({d}) THEN 'fraction' "
                f"WHEN TRY_CAST({d} AS BIGINT) IS NULL THEN 'format' "
            )
        err += "END"
        good = f"isfinite({d})" + (f" AND {d} >= 0" if cp.non_negative else "")
        if cp.kind == "int":
            good += f" AND {d} = trunc({d})"
            return f"CASE WHEN {good} THEN TRY_CAST({d} AS BIGINT) END", err
        return f"CASE WHEN {good} THEN {d} END", err
    if cp.kind == "timestamp":
        fmts = _fmt_list(cp)
        wall = f"try_strptime(regexp_extract({m}, {lit(_SPLIT_RX)}, 1), {fmts})"
        off = f"regexp_extract({m}, {lit(_SPLIT_RX)}, 2)"
        if timezone:
            minutes = (
                f"(CASE WHEN {off} = 'Z' THEN 0 ELSE "
                f"(CASE WHEN starts_with({off}, '-') THEN -1 ELSE 1 END) * "
                f"(CAST(substr({off}, 2, 2) AS INTEGER) * 60 "
                f"+ CAST(right({off}, 2) AS INTEGER)) END)"
            )
            shifted = f"timezone({lit(timezone)}, timezone('UTC', {wall} - to_minutes({minutes})))"
        else:
            shifted = wall
        ts = (
            f"(CASE WHEN {d} IS NOT NULL THEN {d} "
            f"WHEN regexp_matches({m}, {lit(_OFFSET_RX)}) THEN {shifted} END)"
        )
        ref = lit(plan_ref.isoformat(sep=" "))
        err = (
            f"CASE WHEN {m} IS NULL THEN NULL WHEN {ts} IS NULL THEN 'format' "
            f"WHEN {ts} < TIMESTAMP '1900-01-01' THEN 'past' "
            f"WHEN {ts} > CAST({ref} AS TIMESTAMP) THEN 'future' END"
        )
        return ts, err
    if cp.kind == "bool":
        return d, f"CASE WHEN {m} IS NOT NULL AND {d} IS NULL THEN 'bool' END"
    if cp.name == "attributes":
        ok = f"CASE WHEN json_valid({m}) THEN json_type({m}) = 'OBJECT' ELSE false END"
        return (
            f"CASE WHEN {ok} THEN {m} END",
            f"CASE WHEN {m} IS NOT NULL AND NOT ({ok}) THEN 'json' END",
        )
    if cp.name == "status":
        allowed = ", ".join(map(lit, ORDER_STATUSES))
        return (
            f"CASE WHEN {m} IN ({allowed}) THEN {m} END",
            f"CASE WHEN {m} IS NOT NULL AND {m} NOT IN ({allowed}) THEN 'vocab' END",
        )
    if cp.float_source:
        return m, f"CASE WHEN regexp_matches({m}, '[.eE]') THEN 'float_id' END"
    return m, "NULL"


SQL_TYPES = {
    "string": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "float": "DOUBLE",
    "int": "BIGINT",
    "bool": "BOOLEAN",
}


def typed_literal(kind: str, value: object) -> str:
    """A typed SQL literal for a parsed constant or default."""
    if value is None:
        return f"NULL::{SQL_TYPES[kind]}"
    if kind == "timestamp":
        return f"TIMESTAMP {lit(value.isoformat(sep=' '))}"  # type: ignore[attr-defined]
    if kind == "bool":
        return "true" if value else "false"
    if kind == "float":
        return f"CAST({lit(repr(float(value)))} AS DOUBLE)"  # type: ignore[arg-type]
    if kind == "int":
        return f"CAST({int(value)} AS BIGINT)"  # type: ignore[call-overload]
    return lit(str(value))


def parse_select(plan: ImportPlan, src: str, *, grouped: bool) -> str:
    """SQL turning relation ``src`` (``_i``, ``_row``, cleaned inputs) into parsed values.

    The output has ``_i``, ``_row``, ``v_<col>`` for fed columns, ``k<j>`` for attribute
    sources and ``_err`` (``col:code|col:code`` or NULL). When ``grouped`` (line items), an
    empty key is an error here and ``p_<col>`` says which source fed a multi-source column.
    """
    fed = [cp for cp in plan.columns.values() if cp.fed]
    m_cols = [f"{mapped_expr(cp)} AS {ident('m_' + cp.name)}" for cp in fed]
    k_cols = [f"{c} AS k{j}" for j, (_, _, c) in enumerate(plan.attr_sources)]
    x_cols = [f"{cp.operand_error} AS {ident('e_' + cp.name)}" for cp in fed if cp.operand_error]
    d_cols = []
    for cp in fed:
        d = stage_d(cp, ident("m_" + cp.name), plan.timezone)
        if d is not None:
            d_cols.append(f"{d} AS {ident('d_' + cp.name)}")
    ret = plan.returns
    r_cols = []
    if ret is not None:
        r_cols = [f"{return_expr(plan)} AS _ret", f"{origin_expr(plan)} AS _orig"]
        x_cols.append(f"{plan.item_input or 'NULL::VARCHAR'} AS _item")
    v_cols, errs = [], []
    for cp in fed:
        m = ident("m_" + cp.name)
        d = ident("d_" + cp.name)
        if ret is not None and cp.kind in ("float", "int") and cp.non_negative:
            d = f"(CASE WHEN _ret THEN abs({d}) ELSE {d} END)"
        v, e = stage_v(plan.reference, plan.timezone, cp, m, d)
        if ret is not None and cp.name == "status":
            # a return row is stored as a cancelled order, whatever its status text
            v = f"CASE WHEN _ret THEN 'cancelled' ELSE {v} END"
            e = f"CASE WHEN _ret THEN NULL ELSE ({e}) END"
        v_cols.append(f"{v} AS {ident('v_' + cp.name)}")
        if e != "NULL":
            errs.append(f"CASE WHEN ({e}) IS NOT NULL THEN {lit(cp.name + ':')} || ({e}) END")
        if cp.operand_error:
            e_col = ident("e_" + cp.name)
            errs.append(f"CASE WHEN {e_col} IS NOT NULL THEN {lit(cp.name + ':operand')} END")
    prio = []
    if grouped:
        k = ident("m_" + plan.key)
        errs.append(f"CASE WHEN {k} IS NULL THEN {lit(plan.key + ':empty')} END")
        for cp in fed:
            if len(cp.sources) > 1:
                whens = " ".join(
                    f"WHEN {c} IS NOT NULL THEN {n}" for n, (_, c) in enumerate(cp.sources)
                )
                prio.append(f"CASE {whens} END AS {ident('p_' + cp.name)}")
    err = f"nullif(concat_ws('|', {', '.join(errs)}), '')" if errs else "NULL::VARCHAR"
    ks = "".join(f", k{j}" for j in range(len(plan.attr_sources)))
    head = m_cols + k_cols + x_cols + prio
    rs = ", _ret, _orig, _item" if ret is not None else ""
    return (
        f"WITH _m AS (SELECT _i, _row, {', '.join(head) or 'NULL AS _none'} "
        f"FROM {src}), "
        f"_d AS (SELECT *{''.join(', ' + c for c in d_cols)} FROM _m), "
        f"_r AS (SELECT *{''.join(', ' + c for c in r_cols)} FROM _d) "
        f"SELECT _i, _row{''.join(', ' + c for c in v_cols)}{ks}"
        f"{''.join(', ' + ident('p_' + cp.name) for cp in fed if grouped and len(cp.sources) > 1)}"
        f"{rs}, {err} AS _err FROM _r"
    )


def return_expr(plan: ImportPlan) -> str:
    """SQL (over the ``m_``/``d_`` columns) telling whether a row is a cancellation/return."""
    ret = plan.returns
    assert ret is not None
    conds = []
    if ret.id_prefix:
        conds.append(
            f"coalesce(starts_with({ident('m_' + plan.key)}, {lit(ret.id_prefix)}), false)"
        )
    if ret.negative and plan.columns["amount"].fed:
        conds.append(f"coalesce({ident('d_amount')} < 0, false)")
    if ret.statuses and plan.columns["status"].fed:
        conds.append(
            f"coalesce({ident('m_status')} IN ({', '.join(map(lit, ret.statuses))}), false)"
        )
    return "(" + (" OR ".join(conds) or "false") + ")"


def origin_expr(plan: ImportPlan) -> str:
    """SQL giving the original order id a return names (its id without the prefix)."""
    ret = plan.returns
    assert ret is not None
    if not ret.id_prefix or "id" not in ret.original:
        return "NULL::VARCHAR"
    k = ident("m_" + plan.key)
    n = len(ret.id_prefix)
    return (
        f"CASE WHEN starts_with({k}, {lit(ret.id_prefix)}) AND length({k}) > {n} "
        f"THEN substr({k}, {n + 1}) END"
    )


def aggregate_select(plan: ImportPlan, src: str) -> str:
    """SQL combining line-item rows (relation ``src`` from :func:`parse_select`) by key.

    Each column takes its first non-empty value; for a column fed by several headers, only
    values from the best header present in the record count (e.g. ``Paid at`` before
    ``Created at``). Rows must not disagree on those values.
    """
    key = ident("v_" + plan.key)
    sums = set(plan.line_items or [])
    parts = [f"{key}", "min(_i) AS _i", "arg_min(_row, _i) AS _row", "count(*) AS _n"]
    errs = []
    windows = []
    for cp in plan.columns.values():
        if not cp.fed or cp.name == plan.key:
            continue
        v = ident("v_" + cp.name)
        if cp.name in sums:
            agg = f"sum({v})::BIGINT" if cp.kind == "int" else f"round(sum({v}), 9)"
            parts.append(f"{agg} AS {v}")
            continue
        cond = f"{v} IS NOT NULL"
        if len(cp.sources) > 1:
            p, mp = ident("p_" + cp.name), ident("mp_" + cp.name)
            windows.append(f"min({p}) OVER (PARTITION BY {key}) AS {mp}")
            cond += f" AND {p} = {mp}"
        if cp.kind == "timestamp" and plan.time_tolerance:
            us = int(plan.time_tolerance.total_seconds() * 1_000_000)
            lo, hi = f"min({v}) FILTER (WHERE {cond})", f"max({v}) FILTER (WHERE {cond})"
            parts.append(f"{lo} AS {v}")
            parts.append(f"coalesce({hi} > {lo}, false) AS {ident('_spread_' + cp.name)}")
            errs.append(
                f"CASE WHEN {hi} - {lo} > to_microseconds({us}) "
                f"THEN {lit(cp.name + ':disagree')} END"
            )
            continue
        parts.append(f"arg_min({v}, _i) FILTER (WHERE {cond}) AS {v}")
        errs.append(
            f"CASE WHEN count(DISTINCT {v}) FILTER (WHERE {cond}) > 1 "
            f"THEN {lit(cp.name + ':disagree')} END"
        )
    for j in range(len(plan.attr_sources)):
        parts.append(f"arg_min(k{j}, _i) FILTER (WHERE k{j} IS NOT NULL) AS k{j}")
    if plan.returns is not None:
        parts += ["bool_or(_ret) AS _ret", "arg_min(_orig, _i) AS _orig"]
        errs.append(
            f"CASE WHEN bool_or(_ret) AND NOT bool_and(_ret) THEN {lit(plan.key + ':mixed')} END"
        )
    err = f"nullif(concat_ws('|', {', '.join(errs)}), '')" if errs else "NULL::VARCHAR"
    parts.append(f"{err} AS _err")
    if windows:
        src = f"(SELECT *, {', '.join(windows)} FROM {src})"
    return f"SELECT {', '.join(parts)} FROM {src} WHERE {key} IS NOT NULL GROUP BY {key}"


def carried_columns(plan: ImportPlan, grouped: bool) -> list[str]:
    """Bookkeeping columns carried from the parsed rows/records into the records."""
    extra = []
    if plan.returns is not None:
        extra += ["_ret", "_orig"]
    if grouped and plan.time_tolerance:
        extra += [
            "_spread_" + cp.name
            for cp in plan.columns.values()
            if cp.kind == "timestamp" and cp.fed and cp.name not in (plan.line_items or [])
        ]
    return extra


def finish_select(plan: ImportPlan, src: str, *, grouped: bool) -> str:
    """SQL filling constants/defaults, the computed id, attributes JSON and required checks.

    Output: ``_i``, ``_row``, ``_n``, the canonical columns, ``_err``, then the carried
    bookkeeping columns (:func:`carried_columns`) and ``_ord`` (the ordinal of a row among
    identical rows under a computed id).
    """
    final: list[str] = []
    for cp in plan.columns.values():
        if cp.name == "attributes":
            continue
        if cp.constant_sql is not None:
            expr = cp.constant_sql
        elif cp.fed:
            expr = ident("v_" + cp.name)
            if cp.default_sql is not None:
                expr = f"coalesce({expr}, {cp.default_sql})"
        elif cp.default_sql is not None:
            expr = cp.default_sql
        else:
            expr = f"NULL::{SQL_TYPES[cp.kind]}"
        final.append(f"{expr} AS {ident(cp.name)}")
    pieces = []
    for j, (akey, _, _) in enumerate(plan.attr_sources):
        pieces.append(
            f"CASE WHEN k{j} IS NOT NULL "
            f"THEN {lit(json.dumps(akey, ensure_ascii=False) + ':')} || to_json(k{j}) END"
        )
    extras = (
        f"nullif('{{' || concat_ws(',', {', '.join(pieces)}) || '}}', '{{}}')" if pieces else None
    )
    src_attr = ident("v_attributes") if plan.columns["attributes"].fed else None
    if extras and src_attr:
        attr = (
            f"CASE WHEN {src_attr} IS NULL THEN {extras} WHEN {extras} IS NULL THEN {src_attr} "
            f"ELSE CAST(json_merge_patch({src_attr}, {extras}) AS VARCHAR) END"
        )
    else:
        attr = extras or src_attr or "NULL::VARCHAR"
    final.append(f"{attr} AS attributes")
    n = "_n" if grouped else "1 AS _n"
    carried = "".join(", " + ident(c) for c in carried_columns(plan, grouped))
    c1 = f"SELECT _i, _row, {n}, _err{carried}, {', '.join(final)} FROM {src}"
    out = []
    ordinal = "0 AS _ord"
    for cp in plan.columns.values():
        c = ident(cp.name)
        if cp.name == plan.key and plan.computed_id:
            parts = []
            for h in plan.computed_id:
                kind = plan.columns[h].kind
                x = ident(h)
                if kind == "timestamp":
                    x = f"strftime({x}, '%Y-%m-%d %H:%M:%S.%f')"
                elif kind != "string":
                    x = f"CAST({x} AS VARCHAR)"
                parts.append(f"coalesce({x}, '')")
            content = f"concat_ws(chr(31), {', '.join(parts)})"
            if plan.identical == "keep":
                # identical rows stay apart: the n-th copy (in file order) hashes "#n" too
                ordinal = f"row_number() OVER (PARTITION BY {content} ORDER BY _i) - 1 AS _ord"
                content = (
                    f"CASE WHEN _ord = 0 THEN {content} "
                    f"ELSE {content} || chr(31) || '#' || CAST(_ord AS VARCHAR) END"
                )
            c = f"substr(sha256({content}), 1, 32)"
        out.append(f"{c} AS {ident(cp.name)}")
    req = [
        f"CASE WHEN {ident(cp.name)} IS NULL THEN {lit(cp.name + ':empty')} END"
        for cp in plan.columns.values()
        if cp.required and not (cp.name == plan.key and plan.computed_id)
    ]
    err = f"nullif(concat_ws('|', _err, {', '.join(req)}), '')" if req else "_err"
    return (
        f"WITH _c0 AS ({c1}), _c AS (SELECT *, {ordinal} FROM _c0) "
        f"SELECT _i, _row, _n, {', '.join(out)}, {err} AS _err{carried}, _ord FROM _c"
    )


def literal_select(plan: ImportPlan, cp: ColPlan, text: str) -> str:
    """SQL parsing one constant/default text with the column's rules."""
    m = lit(text)
    d = stage_d(cp, m, plan.timezone) or m
    v, e = stage_v(plan.reference, plan.timezone, cp, m, f"({d})")
    return f"SELECT {v} AS v, {e} AS e"


# -- messages -----------------------------------------------------------------------------
def _q(value: str | None, limit: int = 60) -> str:
    if value is None:
        return "''"
    v = value if len(value) <= limit else value[: limit - 1] + "…"
    return f"'{v}'"


def _span(td: dt.timedelta) -> str:
    """``1 day``, ``2 days 3 h``, ``90 s``."""
    secs = int(td.total_seconds())
    days, rest = divmod(secs, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, rest = divmod(rest, 60)
    parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    if rest:
        parts.append(f"{rest} s")
    return " ".join(parts) or "0 s"


def describe(plan: ImportPlan, col: str, code: str, text: str | None, mapped: str | None) -> str:
    """The sentence for an error code (see the module docstring)."""
    cp = plan.columns.get(col)
    shown = _q(text)
    if mapped is not None and text is not None and mapped != text:
        shown += f" (mapped to {_q(mapped)})"
    kind = cp.kind if cp else "string"
    if code == "empty":
        return f"{col} is empty"
    if code == "format":
        if kind == "timestamp":
            fmts = " or ".join([*(cp.formats if cp else []), "ISO 8601"]) if cp else "ISO 8601"
            return f"{col}: {shown} does not match {fmts}"
        if kind in ("float", "int"):
            hint = ""
            v = mapped or text or ""
            if "," in v and not (cp and cp.number and cp.number.thousands):
                hint = f" (declare numbers.{col}.thousands in the mapping)"
            elif _CURRENCY_LIKE.match(v) and not (cp and cp.number and cp.number.currency):
                hint = f" (declare numbers.{col}.currency in the mapping)"
            what = "a whole number" if kind == "int" else "a number"
            return f"{col}: {shown} is not {what}{hint}"
        return f"{col}: {shown} cannot be read"
    if code == "nan":
        return f"{col}: {shown} is NaN (not a number)"
    if code == "inf":
        return f"{col}: {shown} is not a finite number"
    if code == "negative":
        return f"{col}: {shown} is negative"
    if code == "fraction":
        return f"{col}: {shown} is not a whole number"
    if code == "past":
        return f"{col}: {shown} is before 1900 (two-digit year?)"
    if code == "future":
        now = plan.reference - plan.tolerance
        return f"{col}: {shown} is after the import time {now:%Y-%m-%d %H:%M:%S}" + (
            f" (+ {_span(plan.tolerance)} tolerance)" if plan.tolerance else ""
        )
    if code == "vocab":
        return f"{col}: {shown} is not one of {', '.join(ORDER_STATUSES)} (add a value mapping)"
    if code == "bool":
        true, false = (cp.vocab or BooleanVocabulary()).words() if cp else ([], [])
        return (
            f"{col}: {shown} is not a yes/no value ({'/'.join(true[:5])} or "
            f"{'/'.join(false[:5])}; add booleans.{col} to the mapping)"
        )
    if code == "json":
        return f"{col}: {shown} is not a JSON object"
    if code == "float_id":
        return (
            f"{col}: {shown} comes from a column of decimal numbers and is not a whole number; "
            "ids are kept exactly as written, never rounded (store ids as text in the source)"
        )
    if code == "mixed":
        return f"{col}: the rows of {shown} mix sales and returns"
    return f"{col}: {shown} is invalid ({code})"
