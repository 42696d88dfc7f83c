"""Column mappings: how a merchant's file maps onto a canonical table.

A mapping is usually a YAML file::

    entity: orders
    columns:                 # source header -> canonical column
      订单编号: order_id
      订单付款时间: paid_at
      订单创建时间: paid_at   # second source: used where the first is empty
      买家留言: attributes.note
      收货人姓名: ~           # ignore this column
    values:
      status: {交易成功: paid, 交易关闭: cancelled}
    dates:
      paid_at: ["%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M"]
    numbers:
      amount: {thousands: ",", currency: ["¥", "￥"]}
    booleans:
      coupon_used: {true: [用了], false: [没用], other: true}
    constants:
      channel: taobao
    defaults:
      item_count: "1"
    computed:                # columns computed from the file's columns
      amount: Quantity * UnitPrice
    computed_id: [customer_id, paid_at, amount]
    identical_rows: keep     # identical rows under a computed id: keep apart or fold
    line_items:
      sum: [item_count]
      time_tolerance: 5min
    returns:
      id_prefix: C
      original: [id, customer_item]
      item: StockCode

Every plain YAML scalar is read as text (``yes``, ``0.00`` and ``true`` stay strings), so
vocabularies never change meaning behind the user's back.
"""

from __future__ import annotations

import datetime as dt
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tierwise.errors import ConfigError
from tierwise.io.expressions import ExpressionError, compile_expression
from tierwise.schema import Entity
from tierwise.schema import entity as get_entity

__all__ = [
    "BooleanVocabulary",
    "ColumnMapping",
    "LineItems",
    "MappingError",
    "NumberFormat",
    "Returns",
    "column_kind",
    "load_mapping",
    "shipped_mappings",
]

SPECIAL_DATE_FORMATS = ("excel_serial", "epoch_s", "epoch_ms")
"""Date formats that are not strftime patterns: Excel serial days, Unix seconds/milliseconds."""

_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|min|m|h|d|day|days)?\s*$")
_SPAN_UNITS = {
    None: 1.0, "s": 1.0, "sec": 1.0, "ms": 0.001, "min": 60.0, "m": 60.0,
    "h": 3600.0, "d": 86400.0, "day": 86400.0, "days": 86400.0,
}  # fmt: skip


def parse_span(value: Any) -> dt.timedelta:
    """``5min``, ``90s``, ``2h``, ``1d`` or a number of seconds as a timedelta."""
    if isinstance(value, dt.timedelta):
        return value
    m = _SPAN.match(str(value))
    if m is None:
        raise ValueError(f"{value!r} is not a duration like 90s, 5min, 2h or 1d")
    return dt.timedelta(seconds=float(m.group(1)) * _SPAN_UNITS[m.group(2)])


BUILTIN_TRUE = ("true", "t", "yes", "y", "1", "是", "有", "对")
"""Words read as true by default (compared case-insensitively)."""
BUILTIN_FALSE = ("false", "f", "no", "n", "0", "否", "无", "没有")
"""Words read as false by default (compared case-insensitively)."""


class MappingError(ConfigError):
    """A mapping file is invalid; the message names the file, the key and why."""


def column_kind(t: pa.DataType) -> str:
    """The parse kind of a canonical column type: string, timestamp, float, int or bool."""
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_boolean(t):
        return "bool"
    return "string"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NumberFormat(_Model):
    """How numbers are written in one column.

    Parameters
    ----------
    thousands : str, optional
        Thousands separator to remove, e.g. ``","`` for ``1,234.50``.
    decimal : str
        Decimal mark, ``"."`` by default (``","`` for ``1.234,50``).
    currency : list of str
        Currency symbols or words to strip, e.g. ``["¥", "￥", "元"]``.
    """

    thousands: str | None = None
    decimal: str = "."
    currency: list[str] = Field(default_factory=list)

    @field_validator("currency", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class BooleanVocabulary(_Model):
    """Extra words for a yes/no column, on top of the built-in ones.

    Parameters
    ----------
    true, false : list of str
        Words meaning true / false (case-insensitive). A word listed here overrides the
        built-in meaning.
    other : bool, optional
        Value for any other non-empty text (e.g. ``true`` for a discount-code column where
        any code means a coupon was used). Unset: other text is a problem.
    """

    true: list[str] = Field(default_factory=list)
    false: list[str] = Field(default_factory=list)
    other: bool | None = None

    @field_validator("true", "false", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    def words(self) -> tuple[list[str], list[str]]:
        """Lower-cased true and false words, built-in ones included."""
        t = [w.strip().lower() for w in self.true]
        f = [w.strip().lower() for w in self.false]
        true = [w for w in BUILTIN_TRUE if w not in f] + [w for w in t if w not in BUILTIN_TRUE]
        false = [w for w in BUILTIN_FALSE if w not in t] + [w for w in f if w not in BUILTIN_FALSE]
        return true, false


class LineItems(_Model):
    """Rows sharing the entity key are line items of one record (e.g. Shopify orders).

    Columns listed in ``sum`` are added up; every other column takes the first non-empty
    value, and rows must not disagree on it. Timestamps of one record may differ by up to
    ``time_tolerance`` (e.g. ``5min``): the record takes the earliest.
    """

    sum: list[str] = Field(default_factory=list)
    time_tolerance: dt.timedelta = dt.timedelta(0)

    @field_validator("time_tolerance", mode="before")
    @classmethod
    def _span(cls, v: Any) -> Any:
        return parse_span(v)


class Returns(_Model):
    """How cancellations and returns are recognised and matched to their original order.

    Parameters
    ----------
    id_prefix : str, optional
        An order id starting with this marks a cancellation/return (``C`` in UCI Online
        Retail); the rest of the id may be the original order's id.
    negative : bool
        A negative amount marks a return (true by default).
    statuses : list of str
        Status texts (after value mapping) that mark a return row, e.g. ``[退款]``.
    original : list of {"id", "customer_item"}
        How to find the original order, tried in order: ``id`` = the same id without the
        prefix; ``customer_item`` = the latest earlier order line of the same customer with
        the same ``item``.
    item : str, optional
        Source header of the item code (e.g. ``StockCode``), for ``customer_item``.
    full : {"refunded", "cancelled"}
        Status of an original order refunded in full.
    """

    id_prefix: str | None = None
    negative: bool = True
    statuses: list[str] = Field(default_factory=list)
    original: list[Literal["id", "customer_item"]] = Field(default_factory=lambda: ["id"])
    item: str | None = None
    full: Literal["refunded", "cancelled"] = "refunded"

    @field_validator("statuses", "original", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class ColumnMapping(_Model):
    """A validated column mapping (see the module docstring for the YAML layout).

    Parameters
    ----------
    entity : str, optional
        customers, orders or events; checked against the import when given.
    columns : dict
        Source header -> canonical column, ``attributes.<key>``, ``attributes`` (a JSON
        object column) or ``None`` (ignore). Several headers may map to one column: the
        first non-empty value in mapping order wins.
    values : dict
        Canonical column -> {source text: canonical text}; unmapped text passes through.
        Map a text to ``~`` to treat it as empty.
    dates : dict
        Timestamp column -> strftime patterns tried in order; ISO 8601 is always accepted.
    numbers : dict
        Number column -> :class:`NumberFormat`.
    booleans : dict
        Yes/no column -> :class:`BooleanVocabulary`.
    constants : dict
        Canonical column -> text used for every row.
    defaults : dict
        Canonical column -> text used where the value is empty.
    computed : dict
        Canonical column (or ``attributes.<key>``) -> expression over the file's columns
        (see :mod:`tierwise.io.expressions`), e.g. ``amount: Quantity * UnitPrice``.
    computed_id : list of str, optional
        Canonical columns whose content hash is the entity key (for files without ids).
    identical_rows : {"keep", "fold"}, optional
        Under a computed id, rows identical in every hashed column: ``keep`` them apart (an
        ordinal in file order joins the hash; orders by default) or ``fold`` them into one
        (a duplicate; events by default).
    line_items : LineItems, optional
        Combine rows sharing the key into one record.
    returns : Returns, optional
        Recognise cancellations/returns and net them against their original order.
    source : str, optional
        Where the mapping was loaded from (used in error messages).
    """

    entity: str | None = None
    columns: dict[str, str | None] = Field(default_factory=dict)
    values: dict[str, dict[str, str | None]] = Field(default_factory=dict)
    dates: dict[str, list[str]] = Field(default_factory=dict)
    numbers: dict[str, NumberFormat] = Field(default_factory=dict)
    booleans: dict[str, BooleanVocabulary] = Field(default_factory=dict)
    constants: dict[str, str] = Field(default_factory=dict)
    defaults: dict[str, str] = Field(default_factory=dict)
    computed: dict[str, str] = Field(default_factory=dict)
    computed_id: list[str] | None = None
    identical_rows: Literal["keep", "fold"] | None = None
    line_items: LineItems | None = None
    returns: Returns | None = None
    source: str | None = None

    @field_validator("dates", mode="before")
    @classmethod
    def _dates_one_or_many(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: [f] if isinstance(f, str) else f for k, f in v.items()}
        return v

    @field_validator("computed_id", mode="before")
    @classmethod
    def _id_one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str | None = None) -> ColumnMapping:
        """Build and validate a mapping from a plain dict.

        Raises
        ------
        MappingError
            With the source, the offending key and why.
        """
        where = f"mapping {source}" if source else "mapping"
        if not isinstance(data, dict):
            raise MappingError(f"{where}: expected a YAML mapping at the top level")
        try:
            m = cls.model_validate({**data, "source": source})
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            raise MappingError(f"{where}: {key}: {msg}") from None
        if m.entity is not None:
            m.check(m.entity)
        return m

    @classmethod
    def from_yaml(cls, path: str | Path) -> ColumnMapping:
        """Load and validate a YAML mapping file.

        Raises
        ------
        MappingError
            If the file is missing, is not valid YAML or does not describe a valid mapping.
        """
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            shipped = ", ".join(shipped_mappings()) or "none"
            raise MappingError(
                f"mapping {p}: file not found (shipped mappings: {shipped})"
            ) from None
        except UnicodeDecodeError as exc:
            raise MappingError(
                f"mapping {p}: not UTF-8 text ({exc.reason} at byte {exc.start})"
            ) from None
        return cls.from_text(text, source=str(p))

    @classmethod
    def from_text(cls, text: str, *, source: str | None = None) -> ColumnMapping:
        """Load and validate a mapping from YAML text (see :meth:`from_yaml`)."""
        p = source or "(text)"
        try:
            data = yaml.load(text, Loader=_TextLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise MappingError(f"mapping {p}: invalid YAML{where}: {problem}") from None
        if data is None:
            raise MappingError(f"mapping {p}: file is empty")
        return cls.from_dict(data, source=p)

    # -- checks against an entity ---------------------------------------------------------
    def check(self, entity_name: str) -> Entity:
        """Check the mapping against a canonical entity.

        Returns
        -------
        Entity
            The canonical entity.

        Raises
        ------
        MappingError
            If any key names an unknown column, a column of the wrong kind, or the
            settings contradict each other.
        """
        where = f"mapping {self.source}" if self.source else "mapping"

        def fail(key: str, why: str) -> MappingError:
            return MappingError(f"{where}: {key}: {why}")

        try:
            ent = get_entity(entity_name)
        except ValueError as exc:
            raise fail("entity", str(exc)) from None
        if self.entity is not None and self.entity != ent.name:
            raise fail("entity", f"this mapping is for {self.entity}, not {ent.name}")
        names = ent.column_names
        listing = ", ".join(names)
        kinds = {c.name: column_kind(c.type) for c in ent.columns}

        def need(key: str, col: str, allowed: tuple[str, ...] | None = None) -> None:
            if col not in names:
                raise fail(key, f"{col!r} is not a column of {ent.name} ({listing})")
            if allowed is not None and kinds[col] not in allowed:
                raise fail(key, f"{col} is a {kinds[col]} column, expected {' or '.join(allowed)}")

        attr_keys: dict[str, str] = {}
        mapped: set[str] = set()
        for src, target in self.columns.items():
            key = f"columns.{src}"
            if not str(src).strip():
                raise fail(key, "empty source header")
            if target is None:
                continue
            if target.startswith("attributes."):
                akey = target[len("attributes.") :]
                if not akey:
                    raise fail(key, "attributes.<key> needs a key")
                if akey in attr_keys:
                    raise fail(
                        key, f"attributes key {akey!r} is already filled from {attr_keys[akey]!r}"
                    )
                attr_keys[akey] = src
                continue
            need(key, target)
            mapped.add(target)
        for col, table in self.values.items():
            need(f"values.{col}", col)
            if col == "attributes":
                raise fail(f"values.{col}", "value mappings do not apply to attributes")
            for k in table:
                if k is None or not str(k).strip():
                    raise fail(f"values.{col}", "empty source value (use defaults for empty cells)")
        for col, fmts in self.dates.items():
            need(f"dates.{col}", col, ("timestamp",))
            if not fmts:
                raise fail(f"dates.{col}", "list at least one strftime pattern")
            for f in fmts:
                if f in SPECIAL_DATE_FORMATS:
                    continue
                if "%" not in f:
                    raise fail(
                        f"dates.{col}",
                        f"{f!r} is not a strftime pattern (e.g. %Y-%m-%d) nor one of "
                        + ", ".join(SPECIAL_DATE_FORMATS),
                    )
                if "%z" in f or "%Z" in f:
                    raise fail(
                        f"dates.{col}",
                        f"{f!r}: drop %z/%Z, a trailing offset like +0800 is handled automatically",
                    )
        _check_formats(self.dates, fail)
        for col, nf in self.numbers.items():
            need(f"numbers.{col}", col, ("float", "int"))
            if len(nf.decimal) != 1:
                raise fail(f"numbers.{col}.decimal", "must be one character")
            if nf.thousands is not None and (not nf.thousands or nf.thousands == nf.decimal):
                raise fail(f"numbers.{col}.thousands", "must be non-empty and differ from decimal")
            for c in nf.currency:
                if not c.strip() or any(ch.isdigit() for ch in c):
                    raise fail(f"numbers.{col}.currency", f"{c!r} is not a currency symbol")
        for col, vocab in self.booleans.items():
            need(f"booleans.{col}", col, ("bool",))
            both = {w.strip().lower() for w in vocab.true} & {
                w.strip().lower() for w in vocab.false
            }
            if both:
                raise fail(
                    f"booleans.{col}", f"{sorted(both)[0]!r} is listed as both true and false"
                )
        for kind in ("constants", "defaults"):
            for col in getattr(self, kind):
                need(f"{kind}.{col}", col)
                if col == ent.key:
                    raise fail(
                        f"{kind}.{col}", f"the key {ent.key} cannot be a constant or default"
                    )
                if col == "attributes":
                    raise fail(f"{kind}.{col}", "use columns: {header: attributes.<key>} instead")
        for col in self.constants:
            if col in mapped:
                raise fail(f"constants.{col}", "column is also mapped from the file under columns")
            if col in self.defaults:
                raise fail(f"constants.{col}", "column also has a default")
        if self.computed_id is not None:
            if not self.computed_id:
                raise fail("computed_id", "list the columns to hash")
            for col in self.computed_id:
                need("computed_id", col)
                if col in (ent.key, "attributes"):
                    raise fail("computed_id", f"{col} cannot be part of the content hash")
            if ent.key in mapped:
                raise fail("computed_id", f"{ent.key} is also mapped from the file under columns")
        for target, expr in self.computed.items():
            key = f"computed.{target}"
            if target.startswith("attributes."):
                if not target[len("attributes.") :]:
                    raise fail(key, "attributes.<key> needs a key")
            else:
                need(key, target)
                if target == "attributes":
                    raise fail(key, "compute attributes.<key> instead")
                if target in mapped:
                    raise fail(key, "column is also mapped from the file under columns")
                if target in self.constants:
                    raise fail(key, "column also has a constant")
                if target == ent.key and self.computed_id is not None:
                    raise fail(key, f"{ent.key} is also computed_id")
            try:
                compile_expression(str(expr))
            except ExpressionError as exc:
                raise fail(key, f"{exc} in {str(expr)!r}") from None
        if self.identical_rows is not None and self.computed_id is None:
            raise fail("identical_rows", "applies to computed_id only")
        if self.line_items is not None:
            if self.computed_id is not None:
                raise fail("line_items", "needs the key column from the file, not computed_id")
            for col in self.line_items.sum:
                need("line_items.sum", col, ("float", "int"))
            if self.line_items.time_tolerance < dt.timedelta(0):
                raise fail("line_items.time_tolerance", "must not be negative")
        if self.returns is not None:
            r = self.returns
            if ent.name != "orders":
                raise fail("returns", "applies to orders only")
            if self.computed_id is not None:
                raise fail("returns", "needs the order id from the file, not computed_id")
            if r.id_prefix is not None and not r.id_prefix.strip():
                raise fail("returns.id_prefix", "must not be empty")
            if not (r.id_prefix or r.negative or r.statuses):
                raise fail(
                    "returns", "say how a return is recognised (id_prefix, negative, statuses)"
                )
            if not r.original:
                raise fail("returns.original", "list id and/or customer_item")
            if "id" in r.original and not r.id_prefix:
                raise fail("returns.original", "id needs returns.id_prefix")
            if "customer_item" in r.original and not r.item:
                raise fail("returns.item", "customer_item needs the item column (e.g. StockCode)")
        return ent

    def identical(self, entity_name: str) -> str:
        """``keep`` or ``fold``: what identical rows under a computed id become."""
        if self.identical_rows is not None:
            return self.identical_rows
        return "keep" if entity_name == "orders" else "fold"


def shipped_mappings() -> dict[str, Any]:
    """Name -> resource of every mapping shipped with the package (``tierwise/mappings``)."""
    root = resources.files("tierwise") / "mappings"
    found = {}
    for item in root.iterdir():
        if item.name.endswith(".yaml") and item.is_file():
            found[item.name[: -len(".yaml")]] = item
    return dict(sorted(found.items()))


def shipped_mapping_text(name: str) -> str:
    """The YAML text of a shipped mapping.

    Raises
    ------
    MappingError
        If no mapping of that name ships with the package.
    """
    shipped = shipped_mappings()
    if name not in shipped:
        raise MappingError(
            f"mapping {name!r}: neither a file nor a shipped mapping "
            f"(shipped: {', '.join(shipped) or 'none'})"
        )
    return shipped[name].read_text(encoding="utf-8")


def load_mapping(mapping: ColumnMapping | str | Path | dict | None) -> ColumnMapping:
    """Return a :class:`ColumnMapping` from an object, a YAML path, a shipped mapping's name
    (e.g. ``"taobao_orders"``, see :func:`shipped_mappings`), a dict or ``None``.

    An existing file wins over a shipped mapping of the same name.
    """
    if mapping is None:
        return ColumnMapping()
    if isinstance(mapping, ColumnMapping):
        return mapping
    if isinstance(mapping, dict):
        return ColumnMapping.from_dict(mapping)
    if isinstance(mapping, str | Path):
        p = Path(mapping)
        name = str(mapping)
        if not p.exists() and "/" not in name and "\\" not in name:
            stem = name[: -len(".yaml")] if name.endswith(".yaml") else name
            if stem in shipped_mappings():
                return ColumnMapping.from_text(shipped_mapping_text(stem), source=stem)
        return ColumnMapping.from_yaml(mapping)
    raise MappingError(
        f"mapping: expected a ColumnMapping or a YAML path, got {type(mapping).__name__}"
    )


def _check_formats(dates: dict[str, list[str]], fail: Any) -> None:
    """Reject strftime patterns DuckDB cannot use."""
    if not dates:
        return
    import duckdb

    con = duckdb.connect()
    try:
        for col, fmts in dates.items():
            for f in fmts:
                if f in SPECIAL_DATE_FORMATS:
                    continue
                try:
                    con.execute("SELECT try_strptime('2024-01-01', ?)", [f]).fetchall()
                except duckdb.Error as exc:
                    why = str(exc).splitlines()[0]
                    raise fail(f"dates.{col}", f"{f!r} is not a valid pattern: {why}") from None
    finally:
        con.close()


# -- YAML: every plain scalar is text, duplicate keys are errors --------------------------
class _TextLoader(yaml.SafeLoader):
    """SafeLoader that keeps ``yes``/``0.00``/``true`` as text and rejects duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen[key] = 1
        return super().construct_mapping(node, deep=deep)


_TextLoader.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag in ("tag:yaml.org,2002:null", "tag:yaml.org,2002:merge")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
