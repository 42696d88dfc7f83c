"""Exports to real files: CSV in UTF-8 (BOM) and GB18030/GBK, Excel, Parquet."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tierwise.errors import TierwiseError
from tierwise.export import write_table

T = pa.table(
    {
        "customer_id": ["张三", "li"],
        "lifecycle": ["high_value", "new"],
        "monetary_total": [3300.5, 88.0],
        "last_order_at": [dt.datetime(2024, 6, 29, 12), None],
    }
)


def test_csv_utf8_with_bom_by_default(tmp_path):
    data = write_table(T, tmp_path / "p.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and "张三".encode() in data


def test_csv_gb18030(tmp_path):
    data = write_table(T, tmp_path / "p.csv", encoding="gb18030").read_bytes()
    assert data.decode("gb18030").splitlines()[1].startswith('"张三"')


def test_gbk_says_which_line_it_cannot_encode(tmp_path):
    emoji = pa.table({"text": ["好", "赞👍"]})
    with pytest.raises(TierwiseError, match=r"line 3 holds '👍', which gbk cannot encode"):
        write_table(emoji, tmp_path / "p.csv", encoding="gbk")


def test_xlsx_and_parquet_round_trip(tmp_path):
    wb = openpyxl.load_workbook(write_table(T, tmp_path / "p.xlsx"))
    rows = list(wb.active.values)
    assert rows[0] == ("customer_id", "lifecycle", "monetary_total", "last_order_at")
    assert rows[1][:3] == ("张三", "high_value", 3300.5)
    assert pq.read_table(write_table(T, tmp_path / "p.parquet")).equals(T)


def test_unknown_suffix(tmp_path):
    with pytest.raises(TierwiseError, match=r"unknown format '\.txt'"):
        write_table(T, tmp_path / "p.txt")


# -- formula injection (OWASP CSV injection) -------------------------------------------------
EVIL = [
    '=HYPERLINK("http://evil","click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    "cmd|' /C calc'!A0",
    "plain",
    "'quoted",
]
EVIL_TABLE = pa.table({"customer_id": [f"C{i}" for i in range(len(EVIL))], "text": EVIL,
                       "amount": [-1.5] * len(EVIL)})  # fmt: skip


def test_csv_cells_never_start_with_a_formula_trigger(tmp_path):
    import csv

    from tierwise.export import FORMULA_TRIGGERS, restore_cell

    path = write_table(EVIL_TABLE, tmp_path / "p.csv")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    texts = [r[1] for r in rows[1:]]
    assert not [t for t in texts if t[:1] in FORMULA_TRIGGERS]
    assert texts[0] == "'" + EVIL[0]
    assert [restore_cell(t) for t in texts] == EVIL  # the value stays recoverable
    assert [r[2] for r in rows[1:]] == ["-1.5"] * len(EVIL)  # numbers are numbers


def test_gb18030_csv_is_neutralised_too(tmp_path):
    path = write_table(EVIL_TABLE, tmp_path / "p.csv", encoding="gb18030")
    assert '\n"C0","\'=HYPERLINK' in path.read_bytes().decode("gb18030")


def test_xlsx_holds_no_formula_and_keeps_the_value(tmp_path):
    import zipfile

    path = write_table(EVIL_TABLE, tmp_path / "p.xlsx")
    with zipfile.ZipFile(path) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        xml = "".join(z.read(n).decode() for n in sheets)
    assert "<f>" not in xml and "<f " not in xml
    wb = openpyxl.load_workbook(path)
    cells = [c.value for c in wb.active["B"][1:]]
    types = {c.data_type for c in wb.active["B"][1:]}
    assert cells[:4] == EVIL[:4] and types == {"s"}
    assert [c.value for c in wb.active["C"][1:]] == [-1.5] * len(EVIL)


def test_export_into_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(TierwiseError, match="does not exist"):
        write_table(T, tmp_path / "nope" / "p.csv")
    assert not (tmp_path / "nope").exists()


def test_quarantine_file_is_neutralised(tmp_path):
    import csv

    from tierwise.store import Store

    src = tmp_path / "orders.csv"
    src.write_text(
        "order_id,customer_id,paid_at,amount,status\n"
        '=HYPERLINK("http://evil"),C1,2025-01-01,abc,paid\n',
        encoding="utf-8",
    )
    from tierwise.io import ImportOptions, import_file

    with Store(tmp_path / "s.duckdb") as store:
        rep = import_file(store, "orders", src,
                          options=ImportOptions(quarantine_dir=tmp_path / "q"))  # fmt: skip
    assert rep.rows_quarantined == 1
    with open(rep.quarantine_path, encoding="utf-8-sig", newline="") as fh:
        row = next(iter(csv.DictReader(fh)))
    assert row["order_id"] == '\'=HYPERLINK("http://evil")'


def test_large_string_columns_are_neutralised(tmp_path):
    big = pa.table({"text": pa.array(["=1+1", "ok"], pa.large_string())})
    lines = write_table(big, tmp_path / "p.csv").read_text("utf-8-sig").splitlines()
    assert lines[1:] == ['"\'=1+1"', '"ok"']
