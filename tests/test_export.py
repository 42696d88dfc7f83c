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
