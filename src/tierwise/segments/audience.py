"""Audiences: a segment's members written to a file for a campaign tool, with a manifest.

The file is CSV (UTF-8 with BOM, or GB18030/GBK), XLSX or Parquet, written by
`tierwise.export.write_table` (formula-safe cells, complete or absent). Personal data is
masked unless explicitly unmasked; every export, masked or not, is logged in the store's
``audience_exports`` table (who, when, which file and content hash, which segment).
Beside the file, ``<file>.manifest.json`` says what it holds.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from tierwise import __version__
from tierwise.config import Config
from tierwise.export import write_table
from tierwise.schema import CUSTOMERS
from tierwise.segments.evaluate import (
    ResolvedSegment,
    resolve_segment,
    segment_members,
    store_context,
)
from tierwise.segments.language import SegmentError, closest, names_used
from tierwise.segments.pii import mask_table
from tierwise.segments.saved import SegmentBook
from tierwise.store import Store

__all__ = ["DEFAULT_COLUMNS", "AudienceExport", "export_audience", "manifest_path"]

DEFAULT_COLUMNS = ("customer_id", "lifecycle", "value_tier", "intention", "quadrant")
"""Columns of an audience file when none are chosen (those in the profiles), followed by
the columns the segment's expression reads."""


@dataclass(frozen=True)
class AudienceExport:
    """What an audience export wrote (the manifest's content)."""

    file: str
    manifest: str
    segment: str | None
    definition: str
    description: str
    as_of: str
    customers: int
    columns: list[str]
    masked_columns: list[str]
    pii_unmasked: bool
    format: str
    encoding: str | None
    sha256: str
    created_at: str
    created_by: str
    tierwise_version: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-friendly)."""
        return asdict(self)


def manifest_path(path: str | Path) -> Path:
    """Where the manifest of an audience file goes: ``<file>.manifest.json`` beside it."""
    path = Path(path)
    return path.with_name(path.name + ".manifest.json")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _choose_columns(
    segment: ResolvedSegment, wanted: list[str] | None, profile_cols: list[str]
) -> tuple[list[str], list[str]]:
    """(profile columns, customer-table columns) to export, ``customer_id`` first."""
    customer_cols = [c for c in CUSTOMERS.column_names if c not in profile_cols]
    if wanted is None:
        wanted = [c for c in DEFAULT_COLUMNS if c in profile_cols]
        wanted += [c for c in names_used(segment.tree) if c in profile_cols and c not in wanted]
    wanted = [c.strip() for c in wanted if c.strip()]
    known = profile_cols + customer_cols
    for col in wanted:
        if col in known or (col.startswith("attributes.") and len(col) > len("attributes.")):
            continue
        raise SegmentError(
            f"no column {col!r} to export (profile columns, {', '.join(customer_cols)} "
            "or attributes.KEY)", suggestion=closest(col, known),
        )  # fmt: skip
    if len(set(wanted)) != len(wanted):
        dup = sorted({c for c in wanted if wanted.count(c) > 1})
        raise SegmentError(f"column(s) chosen twice: {', '.join(dup)}")
    ordered = ["customer_id"] + [c for c in wanted if c != "customer_id"]
    return ordered, [c for c in ordered if c not in profile_cols]


def _with_customer_columns(
    store: Store, table: pa.Table, order: list[str], extra: list[str]
) -> pa.Table:
    if not extra:
        return table.select(order)
    base = sorted({c.split(".", 1)[0] if c.startswith("attributes.") else c for c in extra})
    looked_up = store.customer_columns(table.select(["customer_id"]), base)
    columns = {name: table[name] for name in table.column_names}
    for col in extra:
        if col.startswith("attributes."):
            key = col.split(".", 1)[1]
            values = []
            for raw in looked_up["attributes"].to_pylist():
                try:
                    data = json.loads(raw) if raw else {}
                except ValueError:
                    data = {}
                item = data.get(key) if isinstance(data, dict) else None
                values.append(None if item is None else str(item))
            columns[col] = pa.array(values, pa.string())
        else:
            columns[col] = looked_up[col]
    return pa.table({name: columns[name] for name in order})


def export_audience(
    store: Store,
    config: Config,
    directory: str | Path,
    spec: str,
    path: str | Path,
    *,
    columns: list[str] | None = None,
    as_of: dt.date | None = None,
    encoding: str = "utf-8-sig",
    unmask_pii: bool = False,
) -> AudienceExport:
    """Write a segment's members to ``path`` with a manifest beside it, and log the export.

    Parameters
    ----------
    store : Store
        Opened with write access (the export is logged in it).
    config : Config
        Schemes (for labels) and ``audience.pii_columns``.
    directory : path
        The project folder (saved segments, lexicons).
    spec : str
        A saved segment's name or an expression.
    path : path
        ``.csv``, ``.xlsx`` or ``.parquet``; its folder must exist.
    columns : list of str, optional
        Profile columns, customer columns (``attributes``) or ``attributes.KEY``;
        `DEFAULT_COLUMNS` and the columns the expression reads by default.
    as_of : datetime.date, optional
        The snapshot (newest by default).
    encoding : str
        CSV encoding: ``utf-8-sig`` (default), ``utf-8``, ``gb18030`` or ``gbk``.
    unmask_pii : bool
        Write personal data as it is (logged as such).

    Raises
    ------
    SegmentError
        For a bad expression, unknown segment or column; nothing is written.
    """
    if store.read_only:
        raise SegmentError("an audience export is logged in the store: open it with write access")
    path = Path(path)
    book = SegmentBook(directory)
    segment = resolve_segment(spec, book)
    ctx = store_context(store, config, as_of, segments=book.expressions(), base_dir=directory)
    order, extra = _choose_columns(segment, columns, list(ctx.profiles.columns))
    profile_part = [c for c in order if c not in extra]
    table = segment_members(segment, ctx, profile_part).to_pyarrow()
    table = _with_customer_columns(store, table, order, extra)
    masked: list[str] = []
    if not unmask_pii:
        table, masked = mask_table(table, config.audience.pii_columns)
    written = write_table(table, path, encoding=encoding)
    manifest = manifest_path(written)
    who = getpass.getuser()
    suffix = written.suffix.lower().lstrip(".")
    result = AudienceExport(
        file=str(written.resolve()),
        manifest=str(manifest.resolve()),
        segment=segment.name,
        definition=segment.expr,
        description=segment.description,
        as_of=ctx.as_of.isoformat(),
        customers=table.num_rows,
        columns=table.column_names,
        masked_columns=masked,
        pii_unmasked=unmask_pii,
        format=suffix,
        encoding=encoding if suffix == "csv" else None,
        sha256=_sha256(written),
        created_at=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        created_by=who,
        tierwise_version=__version__,
    )
    tmp = manifest.with_name(f".{manifest.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n", "utf-8")
        os.replace(tmp, manifest)
        store.log_audience_export({
            "exported_by": who, "host": socket.gethostname(), "file": result.file,
            "sha256": result.sha256, "segment": segment.name, "definition": segment.expr,
            "as_of": ctx.as_of, "customers": result.customers,
            "columns": ",".join(result.columns), "pii_unmasked": unmask_pii,
            "masked_columns": ",".join(masked),
        })  # fmt: skip
    except BaseException:
        written.unlink(missing_ok=True)
        manifest.unlink(missing_ok=True)
        raise
    finally:
        tmp.unlink(missing_ok=True)
    return result
