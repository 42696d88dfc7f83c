"""Write tables to real files: CSV (UTF-8 or GB18030/GBK), Excel .xlsx, Parquet."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tierwise.errors import TierwiseError

__all__ = ["EXCEL_MAX_ROWS", "write_table"]

EXCEL_MAX_ROWS = 1_048_575
"""Data rows an .xlsx sheet holds (one more for the header)."""


def write_table(table: pa.Table, path: str | Path, *, encoding: str = "utf-8-sig") -> Path:
    """Write ``table`` to ``path``; the suffix picks the format.

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
        For an unknown suffix, a table too long for Excel, or text the encoding cannot hold.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        pq.write_table(table, path)
    elif suffix == ".csv":
        buf = io.BytesIO()
        pacsv.write_csv(table, buf)
        text = buf.getvalue().decode("utf-8")
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError as exc:
            line = text.count("\n", 0, exc.start) + 1
            raise TierwiseError(
                f"{path}: line {line} holds {exc.object[exc.start : exc.end]!r}, which {encoding} "
                "cannot encode; use gb18030 or utf-8"
            ) from None
        except LookupError:
            raise TierwiseError(f"unknown encoding {encoding!r}") from None
        path.write_bytes(data)
    elif suffix == ".xlsx":
        if table.num_rows > EXCEL_MAX_ROWS:
            raise TierwiseError(
                f"{path}: {table.num_rows} rows do not fit an Excel sheet "
                f"({EXCEL_MAX_ROWS} at most); export .csv or .parquet"
            )
        table.to_pandas().to_excel(path, index=False, engine="openpyxl")
    else:
        raise TierwiseError(f"{path}: unknown format {suffix!r}; use .csv, .xlsx or .parquet")
    return path
