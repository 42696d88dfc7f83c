"""Read files and data frames into a table of text, with human row numbers.

Everything is read as text first; typed sources (Parquet, Excel cells, data frames) are
written out as text explicitly (numbers as shortest round-trip text, timestamps as ISO
8601), so that every value goes through the same parse rules.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from tierwise.errors import ImportValidationError

__all__ = ["FORMATS", "RawData", "decode", "frame_to_raw", "read_file"]

FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
"""File suffix -> format (a trailing ``.gz`` is decompressed first)."""

_GB_FAMILY = {"gb2312", "gbk", "gb18030", "hz", "cp936", "euc_cn"}
_GB_SLACK = 0.05
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_DELIMITERS = (",", "\t", ";", "|")


@dataclass
class RawData:
    """A source read as text.

    Attributes
    ----------
    name : str
        Display name (file name, or the frame's source name).
    format : str
        csv, tsv, xlsx, parquet, jsonl or frame.
    table : pyarrow.Table
        One string column per source column, headers made unique.
    rows : numpy.ndarray
        Human row number of each table row (see :class:`~tierwise.io.Problem`).
    read_problems : dict
        Table row index -> reason, for rows that could not be read properly.
    record_text : dict
        Table row index -> the record's text as read, for rows in ``read_problems``.
    """

    name: str
    format: str
    table: pa.Table
    rows: np.ndarray
    path: str | None = None
    encoding: str | None = None
    sha256: str | None = None
    read_problems: dict[int, str] = field(default_factory=dict)
    record_text: dict[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    float_columns: set[str] = field(default_factory=set)
    """Headers of columns that were typed as floating-point numbers in the source."""


def _fail(name: str, why: str) -> ImportValidationError:
    return ImportValidationError(f"{name}: {why}")


# -- encodings ----------------------------------------------------------------------------
def _decode_error(
    name: str, data: bytes, enc: str, exc: UnicodeDecodeError, detected: bool
) -> ImportValidationError:
    line = data.count(b"\n", 0, exc.start) + 1
    how = "detected encoding " if detected else ""
    bad = data[exc.start : exc.start + 4].hex(" ")
    hint = (
        "--encoding gb18030"
        if enc.replace("_", "-").lower() in ("utf-8", "utf-8-sig")
        else "--encoding utf-8"
    )
    return _fail(
        name,
        f"cannot decode as {how}{enc} at byte {exc.start} (line {line}, bytes {bad}); "
        f"pass --encoding, e.g. {hint}",
    )


def decode(name: str, data: bytes, encoding: str | None) -> tuple[bytes, str]:
    """Decode text bytes and return them as UTF-8 (no BOM) with the encoding used.

    Parameters
    ----------
    name : str
        File name for error messages.
    data : bytes
        The raw file content.
    encoding : str, optional
        Python codec name; ``None`` detects (BOM, strict UTF-8, then charset detection
        around the first non-UTF-8 byte; the GB2312/GBK family is read as GB18030).

    Raises
    ------
    ImportValidationError
        If the bytes do not decode; the message gives the byte offset and line.
    """
    if encoding is not None:
        enc = codecs.lookup(encoding).name
        if enc == "utf-8":
            body = data[3:] if data.startswith(codecs.BOM_UTF8) else data
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _decode_error(name, body, encoding, exc, False) from None
            return body, encoding
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise _decode_error(name, data, encoding, exc, False) from None
        return text.lstrip("\ufeff").encode("utf-8"), encoding
    for bom, enc in _BOMS:
        if data.startswith(bom):
            if enc == "utf-8-sig":
                body = data[len(bom) :]
                try:
                    body.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise _decode_error(name, body, "utf-8", exc, True) from None
                return body, enc
            try:
                return data.decode(enc).lstrip("\ufeff").encode("utf-8"), enc
            except UnicodeDecodeError as exc:
                raise _decode_error(name, data, enc, exc, True) from None
    if _valid_utf8(data):
        return data, "utf-8"
    try:
        data.decode("utf-8")
        return data, "utf-8"
    except UnicodeDecodeError as exc:
        first_bad = exc
    candidates = [c for c in (_detect(data, first_bad.start), "gb18030") if c]
    for enc in dict.fromkeys(candidates):
        try:
            return data.decode(enc).encode("utf-8"), enc
        except UnicodeDecodeError as exc:
            last = (enc, exc)
    enc, exc = last
    raise _decode_error(name, data, candidates[0], exc, True)


_SINGLE_BYTE_PROBE = 1 << 20
_LATIN_SUPPLEMENT = range(0x80, 0x250)


def mojibake_warning(name: str, data: bytes, encoding: str) -> str | None:
    """A warning when text read as ``encoding`` looks mis-decoded, else ``None``.

    Text is suspicious when most of its non-ASCII characters are accented Latin letters and
    symbols (``Ã``, ``¶©µ¥``) while the same bytes are valid UTF-8 or GB18030 that reads as
    Chinese, Japanese or Korean text — the classic result of reading such a file as
    latin-1 / cp1252.
    """
    enc = _norm(encoding) or encoding
    if enc in ("utf-8", "gb18030", "gbk", "gb2312", "utf-16", "utf-32", "big5", "shift_jis"):
        return None
    sample = data[:_SINGLE_BYTE_PROBE]
    cut = sample.rfind(b"\n")
    if 0 < cut < len(sample) - 1 and len(data) > len(sample):
        sample = sample[:cut]
    high = [ch for ch in sample.decode(encoding, errors="replace") if ord(ch) >= 0x80]
    if len(high) < 4:
        return None
    latin = sum(ord(ch) in _LATIN_SUPPLEMENT for ch in high) / len(high)
    if latin < 0.8:
        return None
    for alt in ("utf-8", "gb18030"):
        try:
            text = sample.decode(alt)
        except UnicodeDecodeError:
            continue
        wide = [ch for ch in text if ord(ch) >= 0x80]
        cjk = sum(0x2E80 <= ord(ch) <= 0x9FFF or 0xAC00 <= ord(ch) <= 0xD7AF for ch in wide)
        if wide and cjk / len(wide) >= 0.5:
            example = next((w for w in text.split() if any(ord(c) >= 0x2E80 for c in w)), "")
            shown = example[:12]
            wrong = shown.encode(alt).decode(encoding, errors="replace") if shown else ""
            return (
                f"{name}: text looks mis-decoded: read as {encoding}, but the bytes are valid "
                f"{alt} (e.g. {wrong!r} would be {shown!r}); pass --encoding {alt} "
                "or leave the encoding to detection"
            )
    return None


def _valid_utf8(data: bytes) -> bool:
    """Whether bytes are valid UTF-8 (Arrow's validation: no Python string is built)."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    arr = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        arr.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _detect(data: bytes, offset: int) -> str | None:
    """Guess the encoding from a sample around the first non-UTF-8 byte."""
    from charset_normalizer import from_bytes

    start = max(0, offset - 32_768)
    if start:
        nl = data.find(b"\n", start, offset)
        start = nl + 1 if nl >= 0 else offset
    end = min(len(data), offset + 98_304)
    if end < len(data):
        nl = data.rfind(b"\n", offset, end)
        end = nl + 1 if nl >= 0 else end
    matches = list(from_bytes(data[start:end]))
    if not matches:
        return None
    best = matches[0]
    # Chinese shops' files: on short samples GB18030 often ties with cp949/big5; prefer it
    # unless another encoding reads clearly better (Korean text read as GB18030 does not)
    for m in matches:
        if _norm(m.encoding) in _GB_FAMILY and m.chaos <= best.chaos + _GB_SLACK:
            return "gb18030"
    enc = _norm(best.encoding)
    if enc is None or enc in ("ascii", "utf-8"):
        return None
    return enc


def _norm(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


# -- headers ------------------------------------------------------------------------------
def _clean_headers(names: list[str], notes: list[str]) -> list[str]:
    """Strip headers, name empty ones ``column_<n>`` and make duplicates unique."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for j, raw in enumerate(names):
        name = str(raw).strip().lstrip("\ufeff").strip() if raw is not None else ""
        if not name:
            name = f"column_{j + 1}"
        if name in seen:
            seen[name] += 1
            new = f"{name}_{seen[name]}"
            while new in seen:
                seen[name] += 1
                new = f"{name}_{seen[name]}"
            notes.append(f"header {name!r} appears more than once; column {j + 1} renamed {new!r}")
            name = new
        seen.setdefault(name, 1)
        out.append(name)
    return out


def _drop_empty_unnamed(raw: RawData, original: list[Any]) -> None:
    """Drop columns without a header whose cells are all empty (trailing separators)."""
    keep = []
    for j, name in enumerate(raw.table.column_names):
        hdr = original[j] if j < len(original) else None
        unnamed = hdr is None or not str(hdr).strip()
        if unnamed and raw.table.num_rows:
            col = pc.utf8_trim_whitespace(raw.table.column(j))
            if pc.max(pc.utf8_length(col)).as_py() in (None, 0):
                continue
        elif unnamed:
            continue
        keep.append(name)
    if len(keep) < raw.table.num_columns:
        raw.notes.append(
            f"dropped {raw.table.num_columns - len(keep)} empty column(s) without a header"
        )
        raw.table = raw.table.select(keep)


# -- CSV ----------------------------------------------------------------------------------
def _sniff_delimiter(head: str) -> str:
    """The separator of a text file: the one of ``, \\t ; |`` found the same number of
    times on the first lines (most frequent wins), else ``whitespace`` when the header has
    none of them and most lines split on runs of blanks into as many fields as the header,
    else the most frequent in the header.
    """
    lines = [ln for ln in head.splitlines()[:21] if ln.strip()]
    if len(head) >= 1 << 16 and len(lines) > 1:
        lines = lines[:-1]  # the last line of the sample may be cut
    header = lines[0] if lines else ""
    counts = {d: header.count(d) for d in _DELIMITERS}
    steady = [
        d for d in _DELIMITERS if counts[d] and all(ln.count(d) == counts[d] for ln in lines[1:])
    ]
    if steady:
        return max(steady, key=lambda d: counts[d])
    width = len(header.split())
    same = sum(len(ln.split()) == width for ln in lines)
    if width > 1 and not any(counts.values()) and same >= 0.8 * len(lines):
        return "whitespace"
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_whitespace(name: str, utf8: bytes, skipped: int, enc: str, fmt: str) -> RawData:
    """Columns separated by runs of spaces/tabs, no quoting (e.g. the CDNOW files)."""
    text = utf8.decode("utf-8")
    lines = pa.array(text.split("\n"), pa.string())
    trimmed = pc.utf8_trim_whitespace(lines)
    fields = pc.utf8_split_whitespace(trimmed)
    widths = pc.list_value_length(fields).to_numpy(zero_copy_only=False).copy()
    widths[pc.equal(pc.utf8_length(trimmed), 0).to_numpy(zero_copy_only=False)] = 0
    notes: list[str] = ["columns separated by whitespace"]
    header = fields[0].as_py()
    names = _clean_headers(header, notes)
    ncol = len(names)
    line_no = np.arange(1, len(widths) + 1, dtype=np.int64) + skipped
    data_idx = np.flatnonzero(widths[1:] > 0) + 1  # blank lines are skipped
    if len(data_idx) < len(widths) - 1:
        notes.append(f"skipped {len(widths) - 1 - len(data_idx)} blank line(s)")
    w = widths[data_idx]
    good = w == ncol
    rows_fields = fields.take(pa.array(data_idx))
    if good.all():
        flat = pc.list_flatten(rows_fields).to_numpy(zero_copy_only=False)
        grid = flat.reshape(len(data_idx), ncol) if ncol else flat.reshape(0, 0)
        cols = {n: pa.array(grid[:, j], pa.string()) for j, n in enumerate(names)}
        problems: dict[int, str] = {}
        texts: dict[int, str] = {}
    else:
        values = rows_fields.to_pylist()
        grid_cols: list[list[str | None]] = [[] for _ in range(ncol)]
        problems, texts = {}, {}
        raw_lines = lines.take(pa.array(data_idx)).to_pylist()
        for i, rec in enumerate(values):
            if len(rec) != ncol:
                problems[i] = f"row has {len(rec)} fields, the header has {ncol}"
                texts[i] = raw_lines[i].strip()
                rec = (rec + [""] * ncol)[:ncol]
            for j in range(ncol):
                grid_cols[j].append(rec[j])
        cols = {n: pa.array(c, pa.string()) for n, c in zip(names, grid_cols, strict=True)}
    table = pa.table(cols)
    return RawData(
        name,
        fmt,
        table,
        line_no[data_idx],
        encoding=enc,
        read_problems=problems,
        record_text=texts,
        notes=notes,
    )


def _read_csv(
    name: str, data: bytes, encoding: str | None, delimiter: str | None, fmt: str
) -> RawData:
    utf8, enc = decode(name, data, encoding)
    utf8 = utf8.rstrip(b"\r\n")
    if not utf8.strip():
        raise _fail(name, "file is empty (no header row)")
    body = utf8.lstrip(b"\r\n")
    skipped = utf8.count(b"\n", 0, len(utf8) - len(body))  # blank lines before the header
    utf8 = body
    head = utf8[: 1 << 16].decode("utf-8", errors="ignore")
    sniffed = delimiter is None
    if delimiter is None:
        delimiter = "\t" if fmt == "tsv" else _sniff_delimiter(head)
    if delimiter == "whitespace":
        raw = _read_whitespace(name, utf8, skipped, enc, fmt)
        if sniffed:
            raw.notes[0] += " (sniffed; pass --delimiter to choose another)"
        return raw
    rdr = csv.reader(io.StringIO(head, newline=""), delimiter=delimiter)
    header = next(rdr)
    header_lines = rdr.line_num
    notes: list[str] = []
    names = _clean_headers(header, notes)
    ncol = len(names)
    table = None
    if header_lines == 1:
        table = _csv_fast(utf8, ncol, delimiter)
    if table is not None:
        lines = utf8.count(b"\n") + 1
        if lines != header_lines + table.num_rows:
            table = None  # blank lines or quoted line breaks: count rows exactly below
    problems: dict[int, str] = {}
    texts: dict[int, str] = {}
    if table is not None:
        rows = np.arange(table.num_rows, dtype=np.int64) + header_lines + 1
        table = table.rename_columns(names)
    else:
        table, rows, problems, texts = _csv_python(
            name, utf8.decode("utf-8"), names, delimiter, notes
        )
    rows += skipped
    raw = RawData(
        name, fmt, table, rows, encoding=enc, read_problems=problems, record_text=texts, notes=notes
    )
    _drop_empty_unnamed(raw, header)
    return raw


def _csv_fast(utf8: bytes, ncol: int, delimiter: str) -> pa.Table | None:
    """Parse with Arrow; ``None`` when a row has the wrong number of fields."""
    ragged: list[int | None] = []

    def on_invalid(row: Any) -> str:
        ragged.append(row.number)
        return "skip"

    cols = [f"c{j}" for j in range(ncol)]
    try:
        table = pcsv.read_csv(
            pa.BufferReader(utf8),
            read_options=pcsv.ReadOptions(column_names=cols, skip_rows=1, block_size=1 << 24),
            parse_options=pcsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pcsv.ConvertOptions(
                column_types={c: pa.string() for c in cols},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    return None if ragged else table


def _csv_python(
    name: str, text: str, names: list[str], delimiter: str, notes: list[str]
) -> tuple[pa.Table, np.ndarray, dict[int, str], dict[int, str]]:
    """Exact CSV reader: line numbers with blank lines and quoted line breaks, ragged rows."""
    ncol = len(names)
    old_limit = csv.field_size_limit()
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        rdr = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        next(rdr)
        cols: list[list[str]] = [[] for _ in range(ncol)]
        rows: list[int] = []
        problems: dict[int, str] = {}
        texts: dict[int, str] = {}
        trimmed = 0
        prev = rdr.line_num
        for rec in rdr:
            start, prev = prev + 1, rdr.line_num
            if not rec:
                continue
            if len(rec) != ncol:
                if len(rec) > ncol and not any(v.strip() for v in rec[ncol:]):
                    rec = rec[:ncol]
                    trimmed += 1
                else:
                    i = len(rows)
                    problems[i] = f"row has {len(rec)} fields, the header has {ncol}"
                    texts[i] = delimiter.join(rec)
                    rec = (rec + [""] * ncol)[:ncol]
            for j in range(ncol):
                cols[j].append(rec[j])
            rows.append(start)
    except csv.Error as exc:
        raise _fail(name, f"CSV is malformed near line {prev + 1}: {exc}") from None
    finally:
        csv.field_size_limit(old_limit)
    if trimmed:
        notes.append(f"{trimmed} row(s) had empty trailing fields beyond the header; dropped them")
    table = pa.table({n: pa.array(c, pa.string()) for n, c in zip(names, cols, strict=True)})
    return table, np.asarray(rows, dtype=np.int64), problems, texts


# -- Excel --------------------------------------------------------------------------------
def _cell_text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isfinite(v) and v.is_integer():
            return str(int(v))
        return repr(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False, default=str)
    return str(v)


def _read_xlsx(name: str, data: bytes, sheet: str | int | None) -> RawData:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise _fail(name, f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    try:
        sheets = wb.sheetnames
        if sheet is None:
            ws = wb.worksheets[0]
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(sheets):
                raise _fail(name, f"no sheet {sheet} (0-based); sheets: {', '.join(sheets)}")
            ws = wb.worksheets[sheet]
        else:
            if sheet not in sheets:
                raise _fail(name, f"no sheet {sheet!r}; sheets: {', '.join(sheets)}")
            ws = wb[sheet]
        it = ws.iter_rows(min_row=1, values_only=True)
        rownum = 0
        header: list[Any] | None = None
        for values in it:
            rownum += 1
            if any(v is not None and str(v).strip() for v in values):
                header = list(values)
                break
        if header is None:
            raise _fail(name, f"sheet {ws.title!r} is empty (no header row)")
        while header and (header[-1] is None or not str(header[-1]).strip()):
            header.pop()
        notes: list[str] = []
        names = _clean_headers([_cell_text(h) for h in header], notes)
        ncol = len(names)
        cols: list[list[str | None]] = [[] for _ in range(ncol)]
        rows: list[int] = []
        problems: dict[int, str] = {}
        texts: dict[int, str] = {}
        rounded: set[int] = set()
        fractional: set[int] = set()
        for values in it:
            rownum += 1
            for j, v in enumerate(values):
                if isinstance(v, float) and j < ncol:
                    if abs(v) >= 2**53:
                        rounded.add(j)
                    elif not v.is_integer():
                        fractional.add(j)
            cells = [_cell_text(v) for v in values]
            if not any(c is not None and c.strip() for c in cells):
                continue
            if len(cells) > ncol:
                extra = [c for c in cells[ncol:] if c is not None and c.strip()]
                if extra:
                    problems[len(rows)] = (
                        f"row has values beyond the last header (column {ncol + 1} on)"
                    )
                    texts[len(rows)] = "\t".join(c or "" for c in cells)
                cells = cells[:ncol]
            cells += [None] * (ncol - len(cells))
            for j in range(ncol):
                cols[j].append(cells[j])
            rows.append(rownum)
    finally:
        wb.close()
    table = pa.table({n: pa.array(c, pa.string()) for n, c in zip(names, cols, strict=True)})
    raw = RawData(
        name,
        "xlsx",
        table,
        np.asarray(rows, dtype=np.int64),
        read_problems=problems,
        record_text=texts,
        notes=notes,
    )
    raw.notes.append(f"sheet {ws.title!r}")
    raw.float_columns = {names[j] for j in fractional}
    for j in sorted(rounded):
        raw.notes.append(
            f"column {names[j]!r} holds numbers of more than 15 digits, which Excel rounds; "
            "format such ids as text in the workbook"
        )
    _drop_empty_unnamed(raw, [_cell_text(h) for h in header])
    return raw


# -- JSON Lines ---------------------------------------------------------------------------
def _json_text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    return json.dumps(v, ensure_ascii=False)


def _read_jsonl(name: str, data: bytes, encoding: str | None) -> RawData:
    utf8, enc = decode(name, data, encoding)
    text = utf8.decode("utf-8")
    if not text.strip():
        raise _fail(name, "file is empty")
    records: list[dict[str, Any] | None] = []
    rows: list[int] = []
    problems: dict[int, str] = {}
    texts: dict[int, str] = {}
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _fail(
                name, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
        for k, item in enumerate(items):
            if not isinstance(item, dict):
                problems[len(rows)] = "record is not a JSON object"
                texts[len(rows)] = json.dumps(item, ensure_ascii=False)
                item = None
            records.append(item)
            rows.append(k + 1)
        fmt = "json"
    else:
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                problems[len(rows)] = f"line is not valid JSON ({exc.msg} at column {exc.colno})"
                texts[len(rows)] = line
                item = None
            else:
                if not isinstance(item, dict):
                    problems[len(rows)] = "line is not a JSON object"
                    texts[len(rows)] = line
                    item = None
            records.append(item)
            rows.append(lineno)
        fmt = "jsonl"
    keys: dict[str, None] = {}
    for r in records:
        if r:
            keys.update(dict.fromkeys(r))
    notes: list[str] = []
    names = _clean_headers(list(keys), notes)
    cols = {
        n: pa.array([_json_text(r.get(k)) if r else None for r in records], pa.string())
        for n, k in zip(names, keys, strict=True)
    }
    table = (
        pa.table(cols)
        if cols
        else pa.table({"_empty": pa.nulls(len(records), pa.string())}).drop(["_empty"])
    )
    return RawData(
        name,
        fmt,
        table,
        np.asarray(rows, dtype=np.int64),
        encoding=enc,
        read_problems=problems,
        record_text=texts,
        notes=notes,
    )


# -- typed Arrow -> text ------------------------------------------------------------------
def _arrow_col_text(name: str, col: pa.ChunkedArray, timezone: str | None) -> pa.ChunkedArray:
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return col.cast(pa.string())
    if pa.types.is_null(t):
        return pa.chunked_array([pa.nulls(len(col), pa.string())])
    if pa.types.is_timestamp(t):
        if t.tz is not None:
            if timezone:
                col = col.cast(pa.timestamp(t.unit, timezone))
            col = pc.local_timestamp(col)
        if t.unit == "ns":
            col = pc.cast(col, pa.timestamp("us"), safe=False)
        return col.cast(pa.string())
    if pa.types.is_floating(t):
        return _float_text(col)
    if (
        pa.types.is_boolean(t)
        or pa.types.is_integer(t)
        or pa.types.is_decimal(t)
        or pa.types.is_date(t)
        or pa.types.is_time(t)
    ):
        return col.cast(pa.string())
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        try:
            return col.cast(pa.string())
        except pa.ArrowInvalid:
            raise ImportValidationError(
                f"column {name!r} holds binary data, not UTF-8 text"
            ) from None
    values = [
        None if v is None else json.dumps(v, ensure_ascii=False, default=str)
        for v in col.to_pylist()
    ]
    return pa.chunked_array([pa.array(values, pa.string())])


def _float_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Floats as text: whole numbers without a fraction or exponent (``17850``, not
    ``17850.0`` or ``1.7850e+04``), others as shortest round-trip text."""
    col = col.cast(pa.float64())
    text = col.cast(pa.string())
    whole = pc.and_(pc.is_finite(col), pc.equal(pc.trunc(col), col))
    whole = pc.and_(whole, pc.less(pc.abs(col), 2.0**63))
    if not pc.any(whole).as_py():
        return text
    as_int = pc.cast(pc.if_else(whole, col, 0.0), pa.int64(), safe=False).cast(pa.string())
    return pc.if_else(whole, as_int, text)


def arrow_to_text(
    table: pa.Table, timezone: str | None, notes: list[str], floats: set[str] | None = None
) -> pa.Table:
    """Write every column of a typed Arrow table as text (``floats`` collects the headers
    of floating-point columns)."""
    names = _clean_headers([str(n) for n in table.column_names], notes)
    cols = [_arrow_col_text(n, table.column(j), timezone) for j, n in enumerate(names)]
    if floats is not None:
        for j, n in enumerate(names):
            t = table.schema.field(j).type
            if pa.types.is_dictionary(t):
                t = t.value_type
            if pa.types.is_floating(t):
                floats.add(n)
    return pa.table(cols, names=names) if cols else pa.table({})


def _pandas_to_arrow(df: Any) -> pa.Table:
    import pandas as pd

    arrays, names = [], []
    for j in range(df.shape[1]):
        s = df.iloc[:, j]
        try:
            arr = pa.array(s, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            arr = pa.array([None if _is_missing(v, pd) else str(v) for v in s], pa.string())
        arrays.append(arr)
        names.append(str(df.columns[j]))
    return pa.Table.from_arrays(arrays, names=names) if arrays else pa.table({})


def _is_missing(v: Any, pd: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def frame_to_raw(data: Any, source: str, timezone: str | None) -> RawData:
    """Turn a pandas / polars DataFrame or a pyarrow Table into text."""
    mod = type(data).__module__.split(".")[0]
    if isinstance(data, pa.Table):
        table = data
    elif isinstance(data, pa.RecordBatch):
        table = pa.Table.from_batches([data])
    elif mod == "polars":
        if hasattr(data, "collect") and not hasattr(data, "to_arrow"):
            data = data.collect()
        table = data.to_arrow()
    elif mod == "pandas":
        table = _pandas_to_arrow(data)
    else:
        raise ImportValidationError(
            f"{source}: expected a pandas or polars DataFrame or a pyarrow Table, "
            f"got {type(data).__name__}"
        )
    notes: list[str] = []
    floats: set[str] = set()
    text = arrow_to_text(table, timezone, notes, floats)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, text.schema) as w:
        w.write_table(text)
    sha = hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()
    rows = np.arange(1, text.num_rows + 1, dtype=np.int64)
    return RawData(source, "frame", text, rows, sha256=sha, notes=notes, float_columns=floats)


# -- dispatch -----------------------------------------------------------------------------
def _check_mojibake(raw: RawData, data: bytes) -> None:
    if raw.encoding and raw.encoding not in ("utf-8", "utf-8-sig"):
        warning = mojibake_warning(raw.name, data, raw.encoding)
        if warning:
            raw.warnings.append(warning)


def read_file(
    path: str | Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | int | None = None,
    timezone: str | None = None,
) -> RawData:
    """Read a CSV/TSV, Excel, Parquet or JSON Lines file as text.

    Raises
    ------
    ImportValidationError
        If the file is missing, of an unknown type, empty or unreadable.
    """
    p = Path(path)
    name = p.name
    if not p.is_file():
        raise _fail(str(p), "file not found")
    data = p.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    suffix = p.suffix.lower()
    if suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise _fail(name, f"not a readable gzip file ({exc})") from None
        suffix = Path(p.stem).suffix.lower()
    if suffix == ".xls":
        raise _fail(name, "old Excel .xls files are not supported; save the sheet as .xlsx or .csv")
    fmt = FORMATS.get(suffix)
    if fmt is None:
        raise _fail(
            name,
            f"unsupported file type {suffix or '(no suffix)'!r}; expected "
            + ", ".join(sorted(set(FORMATS))),
        )
    if fmt in ("csv", "tsv"):
        raw = _read_csv(name, data, encoding, delimiter, fmt)
        _check_mojibake(raw, data)
    elif fmt == "xlsx":
        raw = _read_xlsx(name, data, sheet)
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(io.BytesIO(data))
        except (pa.ArrowInvalid, OSError) as exc:
            raise _fail(name, f"not a readable Parquet file ({exc})") from None
        notes: list[str] = []
        floats: set[str] = set()
        text = arrow_to_text(table, timezone, notes, floats)
        raw = RawData(
            name,
            "parquet",
            text,
            np.arange(1, text.num_rows + 1, dtype=np.int64),
            notes=notes,
            float_columns=floats,
        )
    else:
        raw = _read_jsonl(name, data, encoding)
        _check_mojibake(raw, data)
    raw.path = str(p)
    raw.sha256 = sha
    return raw
