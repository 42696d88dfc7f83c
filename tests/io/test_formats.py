"""Reading CSV (encodings, delimiters, row numbers), Excel, Parquet and JSON Lines."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from io_testkit import ORDERS_HEADER, REF, rows, write

from tierwise.errors import ImportValidationError
from tierwise.io import import_file
from tierwise.io.readers import read_file

CHINESE = (
    "customer_id,first_seen,gender,city,member_level\n"
    "c1,2024-01-02 10:00:00,女,杭州,黄金会员\n"
    "c2,2024-01-03 11:00:00,男,上海市浦东新区,普通会员\n"
    "c3,2024-01-04 12:00:00,女,北京,钻石会员\n"
)


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("gbk", "gb18030"),
        ("gb18030", "gb18030"),
        ("utf-16", "utf-16"),
    ],
)
def test_encodings_are_detected(tmp_path, store, opts, encoding, expected):
    f = write(tmp_path / "members.csv", CHINESE, encoding)
    rep = import_file(store, "customers", f, options=opts)
    assert rep.encoding == expected
    assert rep.rows_imported == 3
    assert rows(store, "SELECT city FROM customers ORDER BY customer_id") == [
        ("杭州",),
        ("上海市浦东新区",),
        ("北京",),
    ]
    assert rows(store, "SELECT gender FROM customers WHERE customer_id = 'c2'") == [("男",)]


@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [
        ("id,text\n1,给孩子买的，价格不贵\n2,物流很快\n3,\n", "gb18030", "gb18030"),
        (
            "編號,客戶,城市,備註\n1,陳大文,台北市,請盡快發貨謝謝\n2,林小美,高雄市,包裝要漂亮一點\n",
            "big5",
            "big5",
        ),
        (
            "번호,고객,도시,메모\n1,김철수,서울,빨리 보내주세요 감사합니다\n"
            "2,이영희,부산,포장 예쁘게\n",
            "cp949",
            "cp949",
        ),
    ],
)
def test_short_cjk_samples(tmp_path, text, encoding, expected):
    f = write(tmp_path / "t.csv", text, encoding)
    raw = read_file(f)
    assert raw.encoding == expected
    assert raw.table.column(1).to_pylist()[0] == text.splitlines()[1].split(",")[1]


def test_gb18030_four_byte_characters(tmp_path, store, opts):
    text = CHINESE.replace("c3,", "阿𠮷,")  # U+20BB7 is not in GBK
    f = write(tmp_path / "members.csv", text, "gb18030")
    with pytest.raises(UnicodeEncodeError):
        text.encode("gbk")
    rep = import_file(store, "customers", f, options=opts)
    assert rep.encoding == "gb18030"
    assert ("阿𠮷",) in rows(store, "SELECT customer_id FROM customers")


def test_header_bom_is_not_part_of_the_first_column(tmp_path, store, opts):
    f = write(tmp_path / "m.csv", "\ufeff" + CHINESE, "utf-8")
    rep = import_file(store, "customers", f, options=opts)
    assert rep.columns_mapped["customer_id"] == "customer_id"
    assert rep.rows_imported == 3


def test_wrong_encoding_names_file_offset_line_and_option(tmp_path, store, opts):
    f = write(tmp_path / "gbk.csv", CHINESE, "gbk")
    with pytest.raises(ImportValidationError) as exc:
        import_file(store, "customers", f, options=opts.model_copy(update={"encoding": "utf-8"}))
    msg = str(exc.value)
    assert "gbk.csv" in msg and "utf-8" in msg
    # 女 (c5 ae) is valid UTF-8 by accident; 杭 (ba bc) is the first undecodable byte
    offset = CHINESE.encode("gbk").index("杭".encode("gbk"))
    assert f"at byte {offset} (line 2, bytes ba bc" in msg
    assert "--encoding" in msg and "\n" not in msg
    assert store.count("customers") == 0


def test_encoding_override(tmp_path, store, opts):
    # latin-1 bytes that happen to decode as something else when guessed
    text = "customer_id,city\nc1,Zürich\nc2,Genève\n"
    f = write(tmp_path / "eu.csv", text, "latin-1")
    rep = import_file(
        store, "customers", f, options=opts.model_copy(update={"encoding": "latin-1"})
    )
    assert rep.encoding == "latin-1"
    assert rows(store, "SELECT city FROM customers ORDER BY 1") == [("Genève",), ("Zürich",)]


def test_undecodable_bytes_give_one_line_error(tmp_path, store, opts):
    f = tmp_path / "junk.csv"
    f.write_bytes("customer_id,city\nc1,杭州\n".encode("gb18030") + b"c2,\x81\x20\n")
    with pytest.raises(ImportValidationError) as exc:
        import_file(store, "customers", f, options=opts.model_copy(update={"encoding": "gb18030"}))
    assert str(exc.value) == (
        "junk.csv: cannot decode as gb18030 at byte 28 (line 3, bytes 81 20 0a); "
        "pass --encoding, e.g. --encoding utf-8"
    )


@pytest.mark.parametrize(
    ("sep", "suffix"), [("\t", ".tsv"), (";", ".csv"), ("|", ".txt"), ("\t", ".csv")]
)
def test_delimiters(tmp_path, store, opts, sep, suffix):
    text = ORDERS_HEADER + "o1,c1,2024-03-05 14:22:10,12.50,paid\n"
    f = write(tmp_path / f"o{suffix}", text.replace(",", sep))
    rep = import_file(store, "orders", f, options=opts)
    assert rep.rows_imported == 1


def test_delimiter_override(tmp_path, store, opts):
    # a header with more commas than semicolons, but the file is ;-separated
    text = (
        "order_id;customer_id;paid_at;amount;status;note,with,commas\no1;c1;2024-03-05;1.5;paid;a\n"
    )
    f = write(tmp_path / "o.csv", text)
    rep = import_file(store, "orders", f, options=opts.model_copy(update={"delimiter": ";"}))
    assert rep.rows_imported == 1
    assert rep.columns_kept == ["note,with,commas"]


def test_row_numbers_with_quoted_newlines_and_blank_lines(tmp_path, store, opts):
    text = (
        "order_id,customer_id,paid_at,amount,status,note\r\n"
        'o1,c1,2024-03-05,1,paid,"two\r\nlines"\r\n'
        "\r\n"
        "o2,c1,2024-03-05,-1,paid,x\r\n"
        ",,,,,\r\n"
        "o3,c1,2024-03-05,oops,paid,y\r\n\r\n"
    )
    f = write(tmp_path / "o.csv", text)
    rep = import_file(store, "orders", f, options=opts)
    assert rep.rows_read == 3
    assert [(p.row, p.column) for p in rep.problems] == [(5, "amount"), (7, "amount")]
    assert any("empty row" in n for n in rep.notes)
    assert rows(store, "SELECT attributes FROM orders") == [('{"note":"two\\r\\nlines"}',)]


def test_blank_lines_before_the_header(tmp_path, store, opts):
    f = write(tmp_path / "o.csv", "\r\n\r\n" + ORDERS_HEADER + "o1,c1,2024-03-05,x,paid\n")
    rep = import_file(store, "orders", f, options=opts)
    assert [p.row for p in rep.problems] == [4]


def test_ragged_rows_are_quarantined_with_their_text(tmp_path, store, opts):
    text = ORDERS_HEADER + "o1,c1,2024-03-05,1,paid\no2,c1,2024-03-05\no3,c1,2024-03-05,1,paid,,\n"
    f = write(tmp_path / "o.csv", text)
    rep = import_file(store, "orders", f, options=opts)
    assert (rep.rows_imported, rep.rows_quarantined) == (2, 1)
    assert rep.problems[0].row == 3
    assert rep.problems[0].reason == "row has 3 fields, the header has 5"
    q = Path(rep.quarantine_path).read_text(encoding="utf-8-sig")
    assert "_text" in q.splitlines()[0] and "o2,c1,2024-03-05" in q


def test_excel_text_guard_and_whitespace_are_stripped(tmp_path, store, opts):
    text = (
        ORDERS_HEADER + '="3791234567890123451", c1 ,\t2024-03-05 14:22:10\t, 12.50 ,paid\u3000\n'
    )
    f = write(tmp_path / "o.csv", text)
    rep = import_file(store, "orders", f, options=opts)
    assert rep.rows_imported == 1
    assert rows(store, "SELECT order_id, customer_id, amount, status FROM orders") == [
        ("3791234567890123451", "c1", 12.5, "paid")
    ]


def test_xlsx(tmp_path, store, opts):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "说明"
    ws["A1"] = "export notes"
    ws2 = wb.create_sheet("订单")
    ws2.append([])  # a blank first row
    ws2.append(
        ["order_id", "customer_id", "paid_at", "amount", "status", "item_count", "coupon_used"]
    )
    ws2.append([3791234567890123, "c1", dt.datetime(2024, 3, 5, 14, 22, 10), 12.5, "paid", 2, True])
    ws2.append(["o2", "c2", "2024-03-06 10:00:00", 99, "refunded", 1.0, False])
    ws2.append([None] * 7)
    ws2.append(["o3", "c3", dt.datetime(2024, 3, 7), -1, "paid", 2.5, "maybe"])
    f = tmp_path / "orders.xlsx"
    wb.save(f)
    rep = import_file(store, "orders", f, options=opts.model_copy(update={"sheet": "订单"}))
    assert rep.format == "xlsx"
    assert (rep.rows_read, rep.rows_imported, rep.rows_quarantined) == (3, 2, 1)
    assert {p.row for p in rep.problems} == {6}
    reasons = sorted(p.reason for p in rep.problems)
    assert reasons == [
        "amount: '-1' is negative",
        "coupon_used: 'maybe' is not a yes/no value (true/t/yes/y/1 or false/f/no/n/0; "
        "add booleans.coupon_used to the mapping)",
        "item_count: '2.5' is not a whole number",
    ]
    assert rows(
        store, "SELECT order_id, paid_at, amount, item_count, coupon_used FROM orders ORDER BY 1"
    ) == [
        ("3791234567890123", dt.datetime(2024, 3, 5, 14, 22, 10), 12.5, 2, True),
        ("o2", dt.datetime(2024, 3, 6, 10), 99.0, 1, False),
    ]
    rep = import_file(store, "orders", f, options=opts.model_copy(update={"sheet": 1}))
    assert rep.rows_duplicate == 2
    with pytest.raises(ImportValidationError, match="no sheet 'Sheet9'; sheets: 说明, 订单"):
        import_file(store, "orders", f, options=opts.model_copy(update={"sheet": "Sheet9"}))


def test_parquet_typed_columns(tmp_path, store, opts):
    t = pa.table(
        {
            "order_id": ["o1", "o2", "o3"],
            "customer_id": ["c1", "c2", "c3"],
            "paid_at": pa.array(
                [dt.datetime(2024, 3, 5, 6, 22, 10)] * 3, pa.timestamp("ns", tz="UTC")
            ),
            "amount": [12.5, float("nan"), 3.0],
            "item_count": pa.array([1, 2, None], pa.int32()),
            "status": pa.array(["paid", "paid", "cancelled"]).dictionary_encode(),
        }
    )
    f = tmp_path / "o.parquet"
    pq.write_table(t, f)
    rep = import_file(
        store, "orders", f, options=opts.model_copy(update={"timezone": "Asia/Shanghai"})
    )
    assert (rep.rows_imported, rep.rows_quarantined) == (2, 1)
    assert (
        rep.problems[0].row == 2 and rep.problems[0].reason == "amount: 'nan' is NaN (not a number)"
    )
    assert rows(store, "SELECT paid_at, item_count FROM orders ORDER BY order_id") == [
        (dt.datetime(2024, 3, 5, 14, 22, 10), 1),
        (dt.datetime(2024, 3, 5, 14, 22, 10), None),
    ]


def test_jsonl(tmp_path, store, opts):
    lines = [
        {
            "customer_id": "c1",
            "occurred_at": "2024-03-05T20:01:15",
            "event_type": "like",
            "meta": {"video": "v1"},
            "score": 1.5,
            "flag": True,
        },
        "not json",
        [1, 2],
        {"customer_id": "c2", "occurred_at": "2024-03-06 20:01:15", "event_type": "share"},
    ]
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n\n"
    f = write(tmp_path / "e.jsonl", text)
    rep = import_file(store, "events", f, options=opts)
    assert (rep.rows_read, rep.rows_imported, rep.rows_quarantined) == (4, 2, 2)
    assert [(p.row, p.reason[:24]) for p in rep.problems] == [
        (2, "line is not valid JSON ("),
        (3, "line is not a JSON objec"),
    ]
    attrs = rows(store, "SELECT attributes FROM events WHERE customer_id = 'c1'")[0][0]
    assert json.loads(attrs) == {"meta": '{"video": "v1"}', "score": "1.5", "flag": "true"}


def test_json_array_and_gzip(tmp_path, store, opts):
    data = [{"customer_id": "c1", "city": "杭州"}, {"customer_id": "c2", "city": "上海"}]
    f = tmp_path / "m.json.gz"
    f.write_bytes(gzip.compress(json.dumps(data, ensure_ascii=False).encode()))
    rep = import_file(store, "customers", f, options=opts)
    assert (rep.format, rep.rows_imported) == ("json", 2)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("o.csv", b"", "o.csv: file is empty (no header row)"),
        ("o.csv", b"\xef\xbb\xbf\r\n\r\n", "o.csv: file is empty (no header row)"),
        ("o.xls", b"\xd0\xcf\x11\xe0", "old Excel .xls files are not supported"),
        ("o.dat", b"x", "unsupported file type '.dat'"),
        ("o.xlsx", b"not a zip", "not a readable .xlsx workbook"),
        ("o.parquet", b"nope", "not a readable Parquet file"),
    ],
)
def test_unreadable_files(tmp_path, store, opts, name, content, message):
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(
        ImportValidationError,
        match=message.replace(".", r"\.").replace("(", r"\(").replace(")", r"\)"),
    ):
        import_file(store, "orders", f, options=opts)


def test_missing_file(tmp_path, store):
    with pytest.raises(ImportValidationError, match=r"nope\.csv: file not found"):
        import_file(store, "orders", tmp_path / "nope.csv")


def test_header_only_file_is_a_report_with_zero_rows(tmp_path, store, opts):
    f = write(tmp_path / "o.csv", ORDERS_HEADER)
    rep = import_file(store, "orders", f, options=opts)
    assert (rep.rows_read, rep.rows_imported, rep.quarantine_path) == (0, 0, None)
    assert "no data rows" in rep.notes
    assert store.count("orders") == 0
    assert rows(store, "SELECT rows_read FROM imports") == [(0,)]


def test_header_only_file_still_needs_required_columns(tmp_path, store, opts):
    f = write(tmp_path / "o.csv", "order_id,customer_id\n")
    with pytest.raises(
        ImportValidationError, match="missing required columns paid_at, amount, status"
    ):
        import_file(store, "orders", f, options=opts)


def test_duplicate_and_empty_headers(tmp_path, store, opts):
    text = "customer_id,city,city,,\nc1,a,b,,\n"
    f = write(tmp_path / "m.csv", text)
    rep = import_file(store, "customers", f, options=opts)
    assert rep.columns_kept == ["city_2"]
    assert any("renamed 'city_2'" in n for n in rep.notes)
    assert any("empty column" in n for n in rep.notes)


def test_ref_constant_is_used(opts):
    assert opts.now() == REF


def test_xlsx_long_numbers_are_written_in_full_with_a_note(tmp_path, store, opts):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["customer_id", "member_level"])
    ws.append([3.791234567890123e18, 2.0])
    f = tmp_path / "m.xlsx"
    wb.save(f)
    rep = import_file(store, "customers", f, options=opts)
    assert rows(store, "SELECT customer_id, member_level FROM customers") == [
        (str(int(3.791234567890123e18)), "2")
    ]
    assert any("'customer_id' holds numbers of more than 15 digits" in n for n in rep.notes)
