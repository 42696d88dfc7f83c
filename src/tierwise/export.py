"""Write tables to real files: CSV (UTF-8 or GB18030/GBK), Excel .xlsx, Parquet.

Every text cell that a spreadsheet would read as a formula (OWASP "CSV injection": a cell
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is neutralised: in CSV it
gets a leading apostrophe, which spreadsheets hide and read as "this is text"
(`restore_cell` takes it off again); in XLSX every text cell is written as a string cell,
never as a formula, so the value stays exactly as it was. Parquet is for machines and is
written as is.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tierwise.errors import TierwiseError

__all__ = [
    "EXCEL_MAX_ROWS",
    "FORMULA_TRIGGERS",
    "neutralise_formulas",
    "restore_cell",
    "restore_formulas",
    "safe_cell",
    "write_table",
]

EXCEL_MAX_ROWS = 1_048_575
"""Data rows an .xlsx sheet holds (one more for the header)."""

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""

_TRIGGER_PATTERN = "^[=+\\-@\t\r]"
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def safe_cell(value: str) -> str:
    """A text cell that no spreadsheet reads as a formula: ``'`` before a trigger character."""
    return "'" + value if value[:1] in FORMULA_TRIGGERS else value


def restore_cell(value: str) -> str:
    """The value `safe_cell` was given: drop the apostrophe it put before a trigger."""
    if value[:1] == "'" and value[1:2] in FORMULA_TRIGGERS and value[1:2]:
        return value[1:]
    return value


def neutralise_formulas(table: pa.Table) -> pa.Table:
    """Apply `safe_cell` to every text column of ``table`` (other columns are left alone)."""
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            hit = pc.match_substring_regex(column, _TRIGGER_PATTERN)
            quote = pa.scalar("'", column.type)
            joined = pc.binary_join_element_wise(quote, column, pa.scalar("", column.type))
            column = pc.if_else(hit, joined, column)
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def restore_formulas(table: pa.Table) -> tuple[pa.Table, int]:
    """Undo `neutralise_formulas` on every text column; also say how many cells changed."""
    columns, changed = [], 0
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            hit = pc.match_substring_regex(column, "^'[=+\\-@\t\r]")
            changed += pc.sum(hit).as_py() or 0
            column = pc.if_else(hit, pc.utf8_slice_codeunits(column, 1), column)
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names), changed


def _check_folder(path: Path) -> None:
    folder = path.parent
    if not folder.is_dir():
        raise TierwiseError(
            f"{path}: folder {folder} does not exist; create it first (nothing was written)"
        )


def _replace_atomically(path: Path, write: object) -> None:
    """Write to a temporary file beside ``path`` and move it into place when complete."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)  # type: ignore[operator]
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _csv_bytes(table: pa.Table, path: Path, encoding: str) -> bytes:
    buf = io.BytesIO()
    pacsv.write_csv(neutralise_formulas(table), buf)
    text = buf.getvalue().decode("utf-8")
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        raise TierwiseError(
            f"{path}: line {line} holds {exc.object[exc.start : exc.end]!r}, which {encoding} "
            "cannot encode; use gb18030 or utf-8"
        ) from None
    except LookupError:
        raise TierwiseError(f"unknown encoding {encoding!r}") from None


def _xlsx_value(value: object) -> object:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value


def _write_xlsx(table: pa.Table, path: Path, target: Path) -> None:
    """Write an .xlsx whose text cells are string cells, never formulas."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    names = table.column_names
    ws.append(names)
    line = 1
    for batch in table.to_batches(max_chunksize=10_000):
        for row in batch.to_pylist():
            line += 1
            cells = []
            for name in names:
                value = _xlsx_value(row[name])
                if isinstance(value, str):
                    bad = _XML_ILLEGAL.search(value)
                    if bad:
                        raise TierwiseError(
                            f"{target}: row {line}, column {name!r} holds the control "
                            f"character {bad.group()!r}, which .xlsx cannot store; "
                            "export .csv or .parquet"
                        )
                    cell = WriteOnlyCell(ws, value=value)
                    cell.data_type = "s"  # a string cell, even for "=…"
                    cells.append(cell)
                else:
                    cells.append(value)
            ws.append(cells)
    wb.save(path)


def write_table(table: pa.Table, path: str | Path, *, encoding: str = "utf-8-sig") -> Path:
    """Write ``table`` to ``path``; the suffix picks the format.

    The folder must exist. The file appears complete or not at all (written beside it, then
    moved into place). Text cells are neutralised against formula injection in CSV and XLSX.

    Parameters
    ----------
    table : pyarrow.Table
        What to write.
    path : str or Path
        ``.csv``, ``.xlsx`` or ``.parquet``.
    encoding : str
        CSV text encoding: ``utf-8-sig`` (UTF-8 with BOM, opens cleanly in Excel), ``utf-8``,
        ``gb18030`` or ``gbk``.

    Raises
    ------
    TierwiseError
        For a missing folder, an unknown suffix, a table too long for Excel, or text the
        encoding cannot hold.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv", ".xlsx"):
        raise TierwiseError(f"{path}: unknown format {suffix!r}; use .csv, .xlsx or .parquet")
    _check_folder(path)
    if suffix == ".parquet":
        _replace_atomically(path, lambda tmp: pq.write_table(table, tmp))
    elif suffix == ".csv":
        data = _csv_bytes(table, path, encoding)
        _replace_atomically(path, lambda tmp: tmp.write_bytes(data))
    else:
        if table.num_rows > EXCEL_MAX_ROWS:
            raise TierwiseError(
                f"{path}: {table.num_rows} rows do not fit an Excel sheet "
                f"({EXCEL_MAX_ROWS} at most); export .csv or .parquet"
            )
        _replace_atomically(path, lambda tmp: _write_xlsx(table, tmp, path))
    return path
