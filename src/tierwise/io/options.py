"""Import options, validated on construction."""

from __future__ import annotations

import codecs
import datetime as dt
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tierwise.errors import ConfigError

__all__ = ["ImportOptions"]


class ImportOptions(BaseModel):
    """How to read and store one file.

    Parameters
    ----------
    encoding : str, optional
        Text encoding of CSV/TSV files (any Python codec name, e.g. ``gb18030``).
        ``None`` detects it (BOM, UTF-8, then charset detection).
    delimiter : str, optional
        CSV field separator, or ``whitespace`` for columns separated by runs of spaces/tabs
        (no quoting, e.g. CDNOW); ``None`` sniffs it from the first lines.
    sheet : str or int, optional
        Excel sheet name or 0-based index; the first sheet by default.
    unknown_columns : {"keep", "ignore"}
        Columns the mapping does not place: ``keep`` stores them in ``attributes`` as JSON.
    unknown_customers : {"create", "quarantine"}
        Orders/events whose customer is not stored: create a bare customer (first_seen =
        earliest order/event time) or quarantine the rows.
    on_conflict : {"quarantine", "update"}
        A key already stored with different values: quarantine the row, or replace the
        stored row (e.g. an order refunded since the last export).
    reference_time : datetime, optional
        "Now" for the future-timestamp check (shop-local, naive); the current local time by
        default. An aware datetime is converted to ``timezone`` (or the machine's zone).
    future_tolerance : timedelta
        Timestamps later than ``reference_time + future_tolerance`` are quarantined. One day
        by default, because shop-local times can run ahead of the importing machine's clock.
    timezone : str, optional
        IANA zone of the shop. Timestamps carrying an offset (``+0800``, ``Z``) are converted
        to it; by default the wall-clock time as written is kept and the offset dropped.
    quarantine_dir : Path, optional
        Where quarantine files go; ``<store dir>/quarantine`` by default.
    dry_run : bool
        Validate and classify everything, report, but write nothing (no rows, no log entry,
        no quarantine file).
    max_quarantined : float, optional
        Largest share of rows (0 to 1) that may be quarantined; above it the import fails
        with :class:`~tierwise.io.ImportRejected` and writes no rows (the quarantine
        file is still written, so the reasons can be read).
    progress : callable, optional
        ``progress(step, done, total)`` called as the import advances (for progress bars).
    clear_identifier_types : list of str
        Identities only: id types among phone and email stored in clear instead of as a
        salted hash (the merchant's opt-in; ``identity.clear_types`` of the config).

    Raises
    ------
    ConfigError
        One line naming the option and why, when a value is invalid.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | int | None = None
    unknown_columns: Literal["keep", "ignore"] = "keep"
    unknown_customers: Literal["create", "quarantine"] = "create"
    on_conflict: Literal["quarantine", "update"] = "quarantine"
    reference_time: dt.datetime | None = None
    future_tolerance: dt.timedelta = dt.timedelta(days=1)
    timezone: str | None = None
    quarantine_dir: Path | None = None
    dry_run: bool = False
    max_quarantined: float | None = None
    progress: Callable[[str, int, int], None] | None = Field(default=None, exclude=True)
    clear_identifier_types: tuple[str, ...] = ()

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"]) or "options"
            msg = "unknown option" if err["type"] == "extra_forbidden" else err["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, ") :]
            raise ConfigError(f"import option {key}: {msg}") from None

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            codecs.lookup(v)
        except LookupError:
            raise ValueError(
                f"unknown encoding {v!r} (e.g. utf-8, utf-8-sig, gb18030, gbk)"
            ) from None
        return v

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, v: str | None) -> str | None:
        if v is not None:
            v = {"\\t": "\t", "tab": "\t", "space": " ", "whitespace": "whitespace"}.get(v, v)
            if v != "whitespace" and (len(v) != 1 or v in '\r\n"'):
                raise ValueError(
                    f"{v!r} is not a single separator character (or tab, space, whitespace)"
                )
        return v

    @field_validator("max_quarantined")
    @classmethod
    def _share(cls, v: float | None) -> float | None:
        if v is not None and not 0.0 <= v <= 1.0:
            raise ValueError(f"{v} is not a share of rows between 0 and 1 (e.g. 0.05)")
        return v

    @field_validator("future_tolerance")
    @classmethod
    def _non_negative(cls, v: dt.timedelta) -> dt.timedelta:
        if v < dt.timedelta(0):
            raise ValueError("must not be negative")
        return v

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                zoneinfo.ZoneInfo(v)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {v!r} (e.g. Asia/Shanghai)") from None
        return v

    @classmethod
    def coerce(cls, options: ImportOptions | dict[str, Any] | None) -> ImportOptions:
        """Return options from an object, a dict of option values or ``None``."""
        if options is None:
            return cls()
        if isinstance(options, cls):
            return options
        if isinstance(options, dict):
            return cls(**options)
        raise ConfigError(
            f"import options: expected ImportOptions or dict, got {type(options).__name__}"
        )

    def now(self) -> dt.datetime:
        """The naive, shop-local reference time for the future check."""
        ref = self.reference_time
        if ref is None:
            if self.timezone:
                return dt.datetime.now(zoneinfo.ZoneInfo(self.timezone)).replace(tzinfo=None)
            return dt.datetime.now()
        if ref.tzinfo is not None:
            zone = zoneinfo.ZoneInfo(self.timezone) if self.timezone else None
            ref = ref.astimezone(zone).replace(tzinfo=None)
        return ref
