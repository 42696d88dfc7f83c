"""The catalogue of bad input found by an independent trial, one case each.

Every case builds a small file, imports it and checks the defect stays fixed; the counting
invariant (read = imported + updated + quarantined + duplicate) is checked for every report.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from io_testkit import ORDERS_HEADER, REF, rows, snapshot, write
from typer.testing import CliRunner

from tierwise.cli import app
from tierwise.errors import ImportValidationError
from tierwise.io import ImportOptions, ImportRejected, import_file, import_frame
from tierwise.project import Project

CASES: dict[str, Callable] = {}


def case(fn: Callable) -> Callable:
    CASES[fn.__name__] = fn
    return fn


def _opts(tmp_path: Path, **kw) -> ImportOptions:
    return ImportOptions(reference_time=REF, quarantine_dir=tmp_path / "q", **kw)


BAD_ONLY = ORDERS_HEADER + "o1,,2024-03-05,1,paid\no2,c2,yesterday,1,paid\n"
HALF_BAD = ORDERS_HEADER + "o1,c1,2024-03-05,1,paid\no2,c2,yesterday,1,paid\n"


@case
def all_rows_quarantined_is_nothing_imported(tmp_path, store):
    rep = import_file(store, "orders", write(tmp_path / "o.csv", BAD_ONLY), options=_opts(tmp_path))
    assert rep.nothing_imported and not rep.ok
    return rep


@case
def max_quarantined_rejects_and_writes_nothing(tmp_path, store):
    before = snapshot(store)
    f = write(tmp_path / "o.csv", HALF_BAD)
    with pytest.raises(ImportRejected, match=r"1 of 2 rows \(50\.0%\) quarantined") as exc:
        import_file(store, "orders", f, options=_opts(tmp_path, max_quarantined=0.05))
    assert snapshot(store) == before  # no order, no customer, no log entry
    rep = exc.value.report
    assert rep.rejected and rep.import_id is None and rep.customers_created == 0
    # the quarantine file is written so the reasons can be read
    assert "paid_at: 'yesterday'" in Path(rep.quarantine_path).read_text("utf-8-sig")
    assert not list((tmp_path / "q").glob(".*.tmp"))
    return rep


@case
def max_quarantined_not_reached_imports(tmp_path, store):
    f = write(tmp_path / "o.csv", HALF_BAD)
    rep = import_file(store, "orders", f, options=_opts(tmp_path, max_quarantined=0.5))
    assert (rep.rows_imported, rep.rows_quarantined, rep.rejected) == (1, 1, False)
    return rep


@case
def stale_temporary_quarantine_files_are_swept(tmp_path, store):
    q = tmp_path / "q"
    q.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = q / f".orders-20240101T000000Z-o.csv.{int(dead.stdout)}.tmp"
    legacy = q / ".orders-20240101T000000Z-old.csv.tmp"  # left by an older version
    running = q / f".orders-20240101T000000Z-busy.csv.{os.getppid()}.tmp"
    other = q / ".notes.txt.tmp"
    for p in (stale, legacy, running, other):
        p.write_text("x")
    rep = import_file(store, "orders", write(tmp_path / "o.csv", HALF_BAD), options=_opts(tmp_path))
    assert not stale.exists() and not legacy.exists()
    assert running.exists() and other.exists()
    assert "removed 2 temporary quarantine file(s) left by an interrupted import" in rep.notes
    return rep


@case
def mis_decoded_text_is_flagged(tmp_path, store):
    text = ORDERS_HEADER + "A1,张三,2024-03-05,10,paid\nA2,李四,2024-03-06,5,paid\n"
    f = write(tmp_path / "gbk.csv", text, encoding="gbk")
    rep = import_file(store, "orders", f, options=_opts(tmp_path, encoding="latin-1"))
    assert rep.encoding == "latin-1"
    assert len(rep.warnings) == 1
    assert "looks mis-decoded: read as latin-1, but the bytes are valid gb18030" in rep.warnings[0]
    assert "--encoding gb18030" in rep.warnings[0]
    # the right encoding: no warning, the customers are 张三 and 李四
    good = import_file(store, "orders", f, options=_opts(tmp_path, on_conflict="update"))
    assert (good.encoding, good.warnings, good.rows_updated) == ("gb18030", [], 2)
    assert rows(store, "SELECT customer_id FROM orders ORDER BY 1") == [("张三",), ("李四",)]
    # mis-decoded headers that no longer match say why in the error
    zh = write(tmp_path / "zh.csv", "订单号,买家\nA1,张三\n", encoding="gbk")
    with pytest.raises(ImportValidationError, match=r"missing required.*looks mis-decoded"):
        import_file(store, "orders", zh, options=_opts(tmp_path, encoding="cp1252"))
    return rep


@case
def float_ids_from_parquet_are_kept_as_written(tmp_path, store):
    t = pa.table({"order_id": pa.array([1.0, 2.0, 3.0]),
                  "customer_id": pa.array([17850.0, 13047.5, 123456789012.0]),
                  "paid_at": ["2024-03-05"] * 3, "amount": [1.0, 2.5, 3.0],
                  "status": ["paid"] * 3})  # fmt: skip
    pq.write_table(t, tmp_path / "o.parquet")
    rep = import_file(store, "orders", tmp_path / "o.parquet", options=_opts(tmp_path))
    assert rows(store, "SELECT order_id, customer_id FROM orders ORDER BY 1") == [
        ("1", "17850"),
        ("3", "123456789012"),
    ]
    (p,) = rep.problems
    assert (p.row, p.column, p.value) == (2, "customer_id", "13047.5")
    assert "never rounded" in p.reason
    return rep


@case
def integer_ids_from_parquet_excel_and_frames(tmp_path, store):
    pq.write_table(pa.table({"customer_id": pa.array([17850, 13047], pa.int64())}),
                   tmp_path / "c.parquet")  # fmt: skip
    rep = import_file(store, "customers", tmp_path / "c.parquet", options=_opts(tmp_path))
    wb = openpyxl.Workbook()
    wb.active.append(["customer_id"])
    wb.active.append([12583])
    wb.active.append([12583.0])
    wb.save(tmp_path / "c.xlsx")
    import_file(store, "customers", tmp_path / "c.xlsx", options=_opts(tmp_path))
    frame = pd.DataFrame({"customer_id": [14527.0, float("nan")]})  # pandas: NaN makes floats
    import_frame(store, "customers", frame, options=_opts(tmp_path))
    got = [r[0] for r in rows(store, "SELECT customer_id FROM customers ORDER BY 1")]
    assert got == ["12583", "13047", "14527", "17850"]
    return rep


@case
def whitespace_separated_files(tmp_path, store):
    text = (
        " customer_id  date number_of_cds  dollar_value\r\n 00001 19970101  1   11.77\r\n"
        " 00002 19970112  1   12.00\r\n\r\n 00002 19970112  5   77.00\r\n 00003 1997 2\r\n"
    )
    f = write(tmp_path / "cdnow.txt", text)
    sniffed = import_file(store, "orders", f, mapping="cdnow_master", options=_opts(tmp_path))
    assert (sniffed.rows_read, sniffed.rows_imported, sniffed.rows_quarantined) == (4, 3, 1)
    assert [p.row for p in sniffed.problems] == [6]
    assert sniffed.problems[0].reason == "row has 3 fields, the header has 4"
    store.con.execute("DELETE FROM orders")
    told = import_file(store, "orders", f, mapping="cdnow_master",
                       options=_opts(tmp_path, delimiter="whitespace"))  # fmt: skip
    assert told.rows_imported == 3
    assert rows(store, "SELECT customer_id, amount FROM orders ORDER BY _row") == [
        ("00001", 11.77),
        ("00002", 12.0),
        ("00002", 77.0),
    ]
    return sniffed


@case
def excel_serial_and_epoch_dates(tmp_path, store):
    f = write(tmp_path / "o.csv", "order_id,customer_id,paid_at,amount,status\n"
              "o1,c1,45356.5,1,paid\no2,c1,1709640000,1,paid\no3,c1,1709640000123,1,paid\n"
              "o4,c1,2024-03-05 12:00,1,paid\no5,c1,soon,1,paid\n")  # fmt: skip
    mapping = {"dates": {"paid_at": ["excel_serial", "epoch_ms", "epoch_s"]}}
    rep = import_file(store, "orders", f, mapping=mapping, options=_opts(tmp_path))
    # 45356.5 is 2024-03-05 noon in Excel; 1709640000 s after 1970 UTC is 2024-03-05 12:00
    # (epoch_ms first: 1709640000 ms is 1970-01-20, before epoch_s is tried)
    assert rows(store, "SELECT order_id, paid_at FROM orders ORDER BY 1") == [
        ("o1", dt.datetime(2024, 3, 5, 12)),
        ("o2", dt.datetime(1970, 1, 20, 18, 54)),
        ("o3", dt.datetime(2024, 3, 5, 12, 0, 0, 123000)),
        ("o4", dt.datetime(2024, 3, 5, 12)),
    ]
    assert rep.problems[0].reason == (
        "paid_at: 'soon' does not match excel_serial or epoch_ms or epoch_s or ISO 8601"
    )
    return rep


@case
def dry_run_writes_nothing(tmp_path, store):
    before = snapshot(store)
    rep = import_file(store, "orders", write(tmp_path / "o.csv", HALF_BAD),
                      options=_opts(tmp_path, dry_run=True))  # fmt: skip
    assert (rep.rows_imported, rep.rows_quarantined, rep.dry_run) == (1, 1, True)
    assert snapshot(store) == before and not (tmp_path / "q").exists()
    return rep


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name, tmp_path, store):
    rep = CASES[name](tmp_path, store)
    rep.check()


# -- the command line -----------------------------------------------------------------------
@pytest.fixture
def project(tmp_path):
    Project.init(tmp_path / "shop").close()
    return tmp_path / "shop"


def _cli(*args: str):
    return CliRunner().invoke(app, [*args], catch_exceptions=False)


def test_cli_exit_codes(tmp_path, project):
    bad = write(tmp_path / "bad.csv", BAD_ONLY)
    res = _cli("import", "orders", str(bad), "-p", str(project))
    assert res.exit_code == 1
    assert "every row was quarantined, nothing imported" in res.output
    half = write(tmp_path / "half.csv", HALF_BAD)
    res = _cli("import", "orders", str(half), "-p", str(project), "--max-quarantined", "0.05")
    assert res.exit_code == 1
    assert "above max_quarantined 5.0%; nothing was written" in res.output
    with Project(project) as p:
        assert p.store.count("orders") == 0
    res = _cli("import", "orders", str(half), "-p", str(project), "--dry-run", "--json")
    assert res.exit_code == 0
    assert '"dry_run": true' in res.output
    res = _cli("import", "orders", str(half), "-p", str(project))
    assert res.exit_code == 0
    assert "1 imported" in res.output and "encoding: utf-8" in res.output


def test_cli_warns_about_mis_decoding(tmp_path, project):
    text = "order_id,customer_id,paid_at,amount,status\nA1,张三,2024-03-05,10,paid\n"
    f = write(tmp_path / "gbk.csv", text, encoding="gbk")
    res = _cli("import", "orders", str(f), "-p", str(project), "--encoding", "latin-1")
    assert res.exit_code == 0
    assert "warning:" in res.output and "mis-decoded" in res.output


def test_cli_shipped_mappings(tmp_path, project, monkeypatch):
    res = _cli("mappings", "list", "--json")
    assert res.exit_code == 0
    names = {m["name"] for m in __import__("json").loads(res.output)}
    assert {"cdnow_master", "online_retail", "taobao_orders"} <= names
    res = _cli("mappings", "show", "online_retail")
    assert res.exit_code == 0 and "amount: Quantity * UnitPrice" in res.output
    res = _cli("mappings", "show", "nope")
    assert res.exit_code == 1 and "neither a file nor a shipped mapping" in res.output
    # --mapping NAME works from any folder
    retail = Path(__file__).resolve().parents[1] / "data" / "online_retail_sample.csv"
    monkeypatch.chdir(tmp_path)
    res = _cli("import", "orders", str(retail), "-p", str(project), "--mapping", "online_retail")
    assert res.exit_code == 0, res.output
    assert "28 imported" in res.output
    assert "ignored: Description\n" in res.output  # UnitPrice and StockCode are read


def test_cli_says_which_columns_went_where(tmp_path, project):
    f = write(tmp_path / "o.csv", "单号,customer_id,paid_at,amount,status,备注\n"
              "o1,c1,2024-03-05,1,paid,gift\n")  # fmt: skip
    m = write(tmp_path / "m.yaml", "entity: orders\ncolumns:\n  单号: order_id\n")
    args = ["import", "orders", str(f), "-p", str(project), "--mapping", str(m)]
    res = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert "  mapped: 单号 -> order_id" in lines  # columns named as their target not repeated
    assert "  kept in attributes: 备注" in lines
    res = CliRunner().invoke(app, ["--lang", "zh", *args], env={"COLUMNS": "200"})
    assert "  存入 attributes: 备注" in res.output.splitlines()


def test_cli_delimiter_and_sheet(tmp_path, project):
    f = write(tmp_path / "o.txt", "order_id customer_id paid_at amount status\n"
              "o1 c1 2024-03-05 1 paid\n")  # fmt: skip
    res = _cli("import", "orders", str(f), "-p", str(project), "--delimiter", "whitespace")
    assert res.exit_code == 0 and "1 imported" in res.output
    wb = openpyxl.Workbook()
    wb.active.title = "notes"
    ws = wb.create_sheet("orders")
    ws.append(["order_id", "customer_id", "paid_at", "amount", "status"])
    ws.append(["o2", "c1", "2024-03-06", 2, "paid"])
    wb.save(tmp_path / "o.xlsx")
    res = _cli("import", "orders", str(tmp_path / "o.xlsx"), "-p", str(project), "--sheet", "1")
    assert res.exit_code == 0 and "1 imported" in res.output
    res = _cli("import", "orders", str(f), "-p", str(project), "--delimiter", ";;")
    assert res.exit_code == 1 and "not a single separator character" in res.output
