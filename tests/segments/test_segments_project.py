"""Segments, moves and audiences on a small demo project with two snapshots, through the CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tierwise.cli import app
from tierwise.demo.run import run_demo
from tierwise.project import Project

runner = CliRunner()
AS_OF = dt.date(2025, 12, 31)
EARLIER = AS_OF - dt.timedelta(days=7)
CONTACT = {"phone": "13812341234", "name": "张三", "email": "alice@example.com",
           "nickname": "=HYPERLINK(\"http://x\")", "size": "L"}  # fmt: skip


def tw(*args: object):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "250"})


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A 400-customer demo project with snapshots on 2025-12-24 and 2025-12-31, two saved
    segments recorded by both runs, and contact details in one customer's attributes."""
    d = tmp_path_factory.mktemp("seg") / "shop"
    run_demo(d, n_customers=400, seed=3)
    with Project(d) as p:
        p.add_segment("buyers", "orders >= 2", description="bought twice")
        p.add_segment("high_intent", "intention = 'high' and segment('buyers')")
        first = p.profiles().customer_id.iloc[0]
        p.store.con.execute(
            "UPDATE customers SET attributes = ? WHERE customer_id = ?",
            [json.dumps(CONTACT, ensure_ascii=False), first],
        )
        p.run(EARLIER, all_columns=True)  # every feature, to compare history functions with
        p.run(AS_OF, all_columns=True)
    return d, first


def test_history_functions_agree_with_the_features(shop):
    d, _ = shop
    with Project(d, read_only=True) as p:
        prof = p.profiles().set_index("customer_id")
        pairs = [
            ("events('comment', since=-29d) >= 1", prof.ev_comment_30 >= 1),
            ("orders(since=-364d) >= 2", prof.orders_365 >= 2),
            ("revenue(since=-364d) > 1000", prof.monetary_365 > 1000),
            ("events(since=-89d) = 0", prof.events_90 == 0),
        ]
        for expr, expected in pairs:
            got = set(p.segment(expr).customer_id)
            assert got == set(expected[expected].index), expr
            assert 0 < len(got) < len(prof), expr


def test_segment_python_api_formats_and_counts(shop):
    d, _ = shop
    with Project(d, read_only=True) as p:
        prof = p.profiles()
        want = set(prof.customer_id[(prof.orders >= 2) & (prof.intention == "high")])
        assert set(p.segment("high_intent").customer_id) == want
        assert p.segment("high_intent", format="polars").height == len(want)
        assert p.segment("high_intent", format="arrow").num_rows == len(want)
        count = p.segment_count("high_intent", sample=3)
        assert (count.customers, count.total) == (len(want), len(prof))
        assert [r["customer_id"] for r in count.sample] == sorted(want)[:3]
        earlier = p.segment("orders >= 2", EARLIER)
        assert set(earlier.customer_id) == set(p.profiles(EARLIER).query("orders >= 2").customer_id)


def test_cli_add_list_show_count(shop):
    d, _ = shop
    result = tw("segment", "add", "fans", "has_label('behaviour', 'kol') or events('comment', "
                "since=-30d) >= 2", "--description", "talk about us", "-p", d)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "saved segment fans" in result.output and "customers as of 2025-12-31" in result.output
    listed = json.loads(tw("segment", "list", "-p", d, "--json").output)
    assert [r["segment"] for r in listed] == ["buyers", "high_intent", "fans",
                                              "dissatisfied_valuable"]  # fmt: skip
    assert [r["builtin"] for r in listed] == [False, False, False, True]
    assert listed[0]["customers"] is not None and listed[2]["customers"] is None
    shown = json.loads(tw("segment", "show", "buyers", "-p", d, "--json").output)
    assert shown["description"] == "bought twice" and len(shown["history"]) == 2
    counted = json.loads(tw("segment", "count", "orders >= 2", "-p", d, "--json").output)
    assert counted["customers"] == shown["now"]["customers"] == shown["history"][-1]["customers"]
    table = tw("segment", "count", "quadrant = 'butterfly'", "-p", d, "--sample", 2)
    assert table.exit_code == 0 and "first 2 by id" in table.output and "butterfly" in table.output
    assert tw("segment", "remove", "fans", "-p", d).exit_code == 0


def test_bad_segments_are_refused_and_nothing_is_saved(shop):
    d, _ = shop
    before = (d / "segments.yaml").read_text("utf-8")
    cases = [
        (("segment", "add", "x", "ordrs > 2"), "did you mean orders?"),
        (("segment", "add", "x", "quadrant = 'butterfy'"), "did you mean butterfly?"),
        (("segment", "add", "x", "orders > 2 and last_order_at < -30days"), "bad relative day"),
        (("segment", "add", "x", "(orders > 2"), "expected ')'"),
        (("segment", "add", "x", "segment('buyer')"), "did you mean buyers?"),
        (("segment", "add", "buyers", "segment('high_intent')"), "cycle: buyers -> high_intent"),
        (("segment", "add", "bad name", "orders > 1"), "segment name 'bad name'"),
        (("segment", "remove", "buyers"), "is used by high_intent"),
        (("segment", "show", "nope"), "no saved segment 'nope'"),
        (("segment", "count", "moved('intention', to='high', since=-30d)"), "no snapshot at"),
    ]
    for args, words in cases:
        result = tw(*args, "-p", d)
        assert result.exit_code == 1, (args, result.output)
        assert words in result.output, (args, result.output)
    assert (d / "segments.yaml").read_text("utf-8") == before


def test_runs_record_entries_and_exits(shop):
    d, _ = shop
    with Project(d, read_only=True) as p:
        old = set(p.segment("high_intent", EARLIER).customer_id)
        new = set(p.segment("high_intent", AS_OF).customer_id)
        changes = p.segment_changes("high_intent").to_dict("records")
    assert [c["as_of"] for c in changes] == [EARLIER, AS_OF]
    assert changes[1]["entered"] == len(new - old) and changes[1]["exited"] == len(old - new)
    assert changes[1]["customers"] == len(new) and pd.isna(changes[0]["entered"])
    assert new != old
    listed = json.loads(tw("segment", "changes", "high_intent", "-p", d, "--customers",
                           "--json").output)  # fmt: skip
    assert {r["customer_id"] for r in listed if r["change"] == "entered"} == new - old
    assert {r["customer_id"] for r in listed if r["change"] == "exited"} == old - new


def test_moves_match_a_crosstab_of_the_two_snapshots(shop):
    d, _ = shop
    with Project(d, read_only=True) as p:
        a = p.profiles(EARLIER).set_index("customer_id").intention
        b = p.profiles(AS_OF).set_index("customer_id").intention
        orders = p.store.read("orders").to_pandas()
    both = pd.DataFrame({"from_label": a, "to_label": b})
    both["from_label"] = both.from_label.where(both.index.isin(a.index), "(new)")
    paid = orders[(orders.status == "paid") & (orders.paid_at >= "2025-12-25")
                  & (orders.paid_at < "2026-01-01")]  # fmt: skip
    both["revenue"] = paid.groupby("customer_id").amount.sum().reindex(both.index).fillna(0)
    expected = both.groupby(["from_label", "to_label"]).agg(
        customers=("revenue", "size"), revenue=("revenue", "sum")
    )
    data = json.loads(tw("moves", "intention", "--from", EARLIER, "--to", AS_OF, "-p", d,
                         "--json").output)  # fmt: skip
    got = pd.DataFrame(data).set_index(["from_label", "to_label"])
    assert got.customers.to_dict() == expected.customers.to_dict()
    assert got.revenue.round(2).to_dict() == expected.revenue.round(2).to_dict()
    assert got.groupby(level=0).share.sum().round(2).eq(1.0).all()
    low = data[[r["from_label"] for r in data].index("low")]
    assert (low["from_zh"], low["from_en"]) == ("低意向", "Low (the silent majority)") or \
        low["from_zh"].startswith("低")  # fmt: skip
    grid = tw("moves", "intention", "--from", EARLIER, "--to", AS_OF, "-p", d, "--matrix",
              "--lang", "zh")  # fmt: skip
    assert grid.exit_code == 0 and "from \\ to" in grid.output


def test_moves_refuse_a_missing_snapshot_or_scheme(shop):
    d, _ = shop
    missing = tw("moves", "intention", "--from", "2025-12-01", "--to", AS_OF, "-p", d)
    assert missing.exit_code == 1 and "no snapshot as of 2025-12-01" in missing.output
    typo = tw("moves", "intension", "--from", EARLIER, "--to", AS_OF, "-p", d)
    assert typo.exit_code == 1 and "did you mean intention?" in typo.output


def test_audience_export_masks_personal_data_and_writes_a_manifest(shop, tmp_path):
    d, first = shop
    path = tmp_path / "aud.csv"
    cols = "customer_id,attributes,attributes.phone,attributes.name,attributes.nickname,orders"
    result = tw("audience", "export", "orders >= 0", path, "--columns", cols, "-p", d)
    assert result.exit_code == 0, result.output
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str).set_index("customer_id")
    row = frame.loc[first]
    assert row["attributes.phone"] == "138****1234" and row["attributes.name"] == "张*"
    attrs = json.loads(row["attributes"])
    assert attrs["email"] == "a***@example.com" and attrs["phone"] == "138****1234"
    assert attrs["size"] == "L" and attrs["nickname"].startswith("=")  # not personal by name
    assert row["attributes.nickname"].startswith("'=")  # formula neutralised
    assert "13812341234" not in raw.decode("utf-8-sig")
    manifest = json.loads((tmp_path / "aud.csv.manifest.json").read_text("utf-8"))
    assert manifest["sha256"] == hashlib.sha256(raw).hexdigest()
    assert manifest["customers"] == len(frame) == 400 and manifest["as_of"] == "2025-12-31"
    assert manifest["pii_unmasked"] is False and "attributes.phone" in manifest["masked_columns"]
    assert manifest["columns"] == cols.split(",") and manifest["definition"] == "orders >= 0"


def test_unmasking_is_explicit_and_logged(shop, tmp_path):
    d, first = shop
    path = tmp_path / "vip.xlsx"
    result = tw("segment", "export", "buyers", path, "--columns", "customer_id,attributes.phone",
                "--unmask-pii", "-p", d)  # fmt: skip
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(path).active
    values = {r[0]: r[1] for r in sheet.iter_rows(min_row=2, values_only=True)}
    with Project(d, read_only=True) as p:
        buyers = set(p.segment("buyers").customer_id)
        log = p.store.audience_exports().to_pylist()
    assert set(values) == buyers
    if first in buyers:
        assert values[first] == "13812341234"
    entry = next(e for e in log if e["file"] == str(path.resolve()))
    assert entry["pii_unmasked"] is True and entry["segment"] == "buyers"
    assert entry["customers"] == len(buyers) and entry["exported_by"]
    shown = json.loads(tw("audience", "log", "-p", d, "--json").output)
    assert any(e["file"] == str(path.resolve()) and e["pii_unmasked"] for e in shown)


def test_audience_formats_and_encodings(shop, tmp_path):
    d, _ = shop
    gb = tmp_path / "a.csv"
    assert tw("audience", "export", "high_intent", gb, "--encoding", "gb18030", "-p", d,
              "--columns", "customer_id,lifecycle_rule,intention").exit_code == 0  # fmt: skip
    assert not gb.read_bytes().startswith(b"\xef\xbb\xbf")
    gb.read_bytes().decode("gb18030")
    pq_path = tmp_path / "a.parquet"
    assert tw("audience", "export", "high_intent", pq_path, "-p", d).exit_code == 0
    table = pq.read_table(pq_path)
    assert table.column_names[:4] == ["customer_id", "lifecycle", "value_tier", "intention"]
    assert set(table["intention"].to_pylist()) == {"high"}


def test_bad_exports_write_nothing(shop, tmp_path):
    d, _ = shop
    with Project(d, read_only=True) as p:
        logged = p.store.audience_exports().num_rows
    cases = [
        (("high_intent", tmp_path / "a.csv", "--columns", "customer_id,ordrs"), "mean orders?"),
        (("ordrs > 1", tmp_path / "b.csv"), "did you mean orders?"),
        (("high_intent", tmp_path / "c.txt"), "unknown format"),
        (("high_intent", tmp_path / "nope" / "d.csv"), "does not exist"),
    ]  # fmt: skip
    for args, words in cases:
        result = tw("audience", "export", *args, "-p", d)
        assert result.exit_code == 1 and words in result.output, result.output
    assert list(tmp_path.iterdir()) == []
    with Project(d, read_only=True) as p:
        assert p.store.audience_exports().num_rows == logged
