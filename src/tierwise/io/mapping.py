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
    computed_id: [customer_id, paid_at, amount]
    line_items:
      sum: [item_count]

Every plain YAML scalar is read as text (``yes``, ``0.00`` and ``true`` stay strings), so
vocabularies never change meaning behind the user's back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tierwise.errors import ConfigError
from tierwise.schema import Entity
from tierwise.schema import entity as get_entity

__all__ = [
    "BooleanVocabulary",
    "ColumnMapping",
    "LineItems",
    "MappingError",
    "NumberFormat",
    "column_kind",
    "load_mapping",
]

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
    value, and rows must not disagree on it.
    """

    sum: list[str] = Field(default_factory=list)


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
    computed_id : list of str, optional
        Canonical columns whose content hash is the entity key (for files without ids).
    line_items : LineItems, optional
        Combine rows sharing the key into one record.
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
    computed_id: list[str] | None = None
    line_items: LineItems | None = None
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
            raise MappingError(f"mapping {p}: file not found") from None
        except UnicodeDecodeError as exc:
            raise MappingError(
                f"mapping {p}: not UTF-8 text ({exc.reason} at byte {exc.start})"
            ) from None
        try:
            data = yaml.load(text, Loader=_TextLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise MappingError(f"mapping {p}: invalid YAML{where}: {problem}") from None
        if data is None:
            raise MappingError(f"mapping {p}: file is empty")
        return cls.from_dict(data, source=str(p))

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
                if "%" not in f:
                    raise fail(f"dates.{col}", f"{f!r} is not a strftime pattern (e.g. %Y-%m-%d)")
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
        if self.line_items is not None:
            if self.computed_id is not None:
                raise fail("line_items", "needs the key column from the file, not computed_id")
            for col in self.line_items.sum:
                need("line_items.sum", col, ("float", "int"))
        return ent


def load_mapping(mapping: ColumnMapping | str | Path | dict | None) -> ColumnMapping:
    """Return a :class:`ColumnMapping` from an object, a YAML path, a dict or ``None``."""
    if mapping is None:
        return ColumnMapping()
    if isinstance(mapping, ColumnMapping):
        return mapping
    if isinstance(mapping, dict):
        return ColumnMapping.from_dict(mapping)
    if isinstance(mapping, str | Path):
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
