"""The command line, end to end on a small demo shop (Typer's CliRunner)."""

from __future__ import annotations

import json

import openpyxl
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tierwise.cli import app
from tierwise.project import Project

runner = CliRunner()


def tw(*args: str):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "250"})


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli") / "shop"
    result = tw("demo", d, "--customers", 400, "--seed", 3)
    assert result.exit_code == 0, result.output
    return d, result.output


def test_demo_imports_runs_and_summarises(shop):
    d, output = shop
    assert "customers: 400 read, 400 imported" in output
    assert "snapshot" not in output or "demo shop as of 2025-12-31" in output
    assert "High-value" in output and "planted truth recovered" in output
    assert (d / "tierwise.yaml").exists() and (d / "tierwise.duckdb").exists()


def test_chinese_output_and_80_columns(shop):
    d, _ = shop
    result = runner.invoke(app, ["--lang", "zh", "run", "-p", str(d)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "快照" in result.output and "高价值客户" in result.output
    assert "High-value" not in result.output
    assert all(len(line) <= 80 for line in result.output.splitlines())
    import os
    import subprocess
    import sys

    help_zh = subprocess.run(
        [sys.executable, "-c", "from tierwise.cli import main; main()", "--lang", "zh", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80"},
        check=True,
    ).stdout  # help text is chosen when the command starts
    assert "客户分层运营" in help_zh and "seed" not in help_zh.lower()
    assert "seed 0" not in runner.invoke(app, ["intention", "--help"]).output


def test_show_prints_labels_with_rule_and_figures(shop):
    d, _ = shop
    with Project(d) as p:
        cid = p.profiles().query("lifecycle == 'churned'").customer_id.iloc[0]
    result = tw("show", cid, "-p", d)
    assert result.exit_code == 0, result.output
    assert "lifecycle: churned  流失客户 / Churned (primary)" in result.output
    assert "rule:    orders >= 1 and recency_days > churn_days" in result.output
    data = json.loads(tw("show", cid, "-p", d, "--json").output)
    lab = next(x for x in data["labels"] if x["scheme"] == "lifecycle" and x["is_primary"])
    assert lab["evidence"]["figures"]["recency_days"] > lab["evidence"]["params"]["churn_days"]


def test_exports(shop, tmp_path):
    d, _ = shop
    for name in ("p.csv", "p.xlsx", "p.parquet"):
        result = tw("export", "profiles", tmp_path / name, "-p", d)
        assert result.exit_code == 0, result.output
    assert pq.read_table(tmp_path / "p.parquet").num_rows == 400
    assert (tmp_path / "p.csv").read_bytes().startswith(b'\xef\xbb\xbf"customer_id"')
    assert openpyxl.load_workbook(tmp_path / "p.xlsx").active.max_row == 401
    assert tw("export", "labels", tmp_path / "l.parquet", "-p", d).exit_code == 0
    labels = pq.read_table(tmp_path / "l.parquet")
    assert {"rule", "evidence", "label_zh"} <= set(labels.column_names)


def test_run_as_of_keeps_snapshots_side_by_side(shop):
    d, _ = shop
    assert tw("run", "-p", d, "--as-of", "2025-06-30").exit_code == 0
    result = tw("snapshots", "-p", d)
    assert result.output.split() == ["2025-06-30", "2025-12-31"]
    with Project(d) as p:
        early = p.profiles(pl_date := __import__("datetime").date(2025, 6, 30), format="polars")
        assert isinstance(early, pl.DataFrame) and early.height <= 400
        assert isinstance(p.profiles(format="arrow"), pa.Table)
        assert pl_date in p.snapshots()


def test_intention_risers(shop, tmp_path):
    d, _ = shop
    result = tw(
        "intention", "risers", "-p", d, "--since", "2025-12-01", "--out", tmp_path / "r.csv"
    )
    assert result.exit_code == 0, result.output
    risers = pl.read_csv(tmp_path / "r.csv")
    assert risers.height > 0 and set(risers["grade"].unique()) <= {"high", "medium"}


def test_a_later_run_can_reuse_the_rfm_edges(shop):
    d, _ = shop
    with Project(d) as p:
        edges = p.fitted_rfm().edges_
        run = p.run(p.snapshots()[-1], rfm=p.fitted_rfm())
        assert run.rfm.edges_ == edges


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run", "-p", "{tmp}"), "is not a tierwise project"),
        (("show", "nobody", "-p", "{shop}"), "no customer 'nobody'"),
        (("run", "-p", "{shop}", "--as-of", "31/12/2025"), "is not a date like 2025-12-31"),
        (("export", "things", "x.csv", "-p", "{shop}"), "export takes profiles or labels"),
        (("init", "{shop}"), "already holds a tierwise project"),
    ],
)
def test_failures_exit_non_zero_with_one_line(shop, tmp_path, args, message):
    d, _ = shop
    result = tw(*[a.format(tmp=tmp_path, shop=d) for a in args])
    assert result.exit_code == 1
    assert message in result.output
    assert result.output.strip().startswith("error:")


def test_tags_text_reads_a_gb18030_file(tmp_path):
    f = tmp_path / "comments.csv"
    f.write_bytes("id,text\n1,给孩子买的，价格不贵\n2,物流很快\n3,\n".encode("gb18030"))
    result = tw("tags", "text", f, "--out", tmp_path / "hits.csv")
    assert result.exit_code == 0, result.output
    assert "price_sensitive" in result.output and "宝妈/家长" in result.output
    hits = pl.read_csv(tmp_path / "hits.csv")
    assert hits.filter(pl.col("minor") == "logistics")["row"].to_list() == [3]  # header is row 1
    assert "no column 'body'" in tw("tags", "text", f, "--column", "body").output


def test_tags_by_segment(shop):
    d, _ = shop
    result = tw("tags", "segments", "-p", d, "--by", "rfm_group", "--top", 1)
    assert result.exit_code == 0, result.output
    assert "champions" in result.output and "concern/" in result.output
    assert "no column 'nope'" in tw("tags", "segments", "-p", d, "--by", "nope").output


def test_label_rows_and_their_evidence_are_views_over_the_stored_profile(shop):
    """A snapshot's label rows are a view over its stored profile, and so are they with their
    evidence; snapshots of store layout 1 (rows in the labels table, with or without the
    evidence in them) read as they were."""
    d, _ = shop
    with Project(d) as p:
        store, as_of = p.store, p.store.latest_snapshot()
        assert store.schema_version == 2
        assert store.one("SELECT count(*) FROM labels")[0] == 0
        keys = ["customer_id", "scheme", "label", "label_zh", "label_en", "is_primary", "rule"]
        order = " ORDER BY customer_id, scheme, is_primary DESC, label"
        label_view, evidence_view = store.label_view_name(as_of), store.evidence_view_name(as_of)
        stored = store.arrow(f'SELECT * FROM "{label_view}"{order}')
        assert stored.num_rows > 400 and stored["evidence"].null_count == stored.num_rows
        read = store.read_labels(as_of)
        assert read.select(keys).equals(stored.select(keys))
        assert read["evidence"].null_count == 0
        assert store.read_labels(as_of, evidence=False).select(keys).equals(read.select(keys))
        cid = read["customer_id"][0].as_py()
        mine = [r for r in read.to_pylist() if r["customer_id"] == cid]
        assert sorted(r["evidence"] for r in store.customer_labels(as_of, cid)) == sorted(
            r["evidence"] for r in mine
        )
        samples = {(r["scheme"], r["label"]): json.loads(r["evidence"])
                   for r in store.label_evidence_samples(as_of).to_pylist()}  # fmt: skip
        assert set(samples["lifecycle", "churned"]["figures"]) == {"orders", "recency_days"}
        assert len(samples) == len({(r["scheme"], r["label"]) for r in mine} | set(samples))
        summary, values = store.label_summary(as_of), store.value_by_label(as_of)
        primary = [r for r in stored.to_pylist() if r["is_primary"] and r["scheme"] == "lifecycle"]
        counted = {r["label"]: r["customers"] for r in summary.to_pylist()
                   if r["scheme"] == "lifecycle"}  # fmt: skip
        assert sum(counted.values()) == len(primary) > 0

        def view_sql(view: str) -> str:
            sql = store.one("SELECT sql FROM duckdb_views() WHERE view_name = ?", [view])[0]
            return sql.split(" AS ", 1)[1].rstrip(";")

        # layout 1: the rows in the labels table, the evidence in a view
        store.con.execute(f"INSERT INTO labels SELECT ?::DATE, * FROM ({view_sql(label_view)})",
                          [as_of])  # fmt: skip
        store.con.execute(f'DROP VIEW "{label_view}"')
        assert store.read_labels(as_of).equals(read)
        assert store.label_summary(as_of).equals(summary)
        again = store.value_by_label(as_of)  # sums of floats: equal up to their order
        assert again.column_names == values.column_names
        for name in values.column_names:
            if pa.types.is_floating(values.schema.field(name).type):
                assert again[name].to_pylist() == pytest.approx(values[name].to_pylist())
            else:
                assert again[name].equals(values[name])
        # earlier still: the evidence in the rows, no view
        query = view_sql(evidence_view)
        store.con.execute(f'DROP VIEW "{evidence_view}"')
        store.con.execute("DELETE FROM labels WHERE as_of = ?", [as_of])
        store.con.execute(f"INSERT INTO labels SELECT ?::DATE, * FROM ({query})", [as_of])
        assert store.read_labels(as_of).equals(read)
        assert store.customer_labels(as_of, cid) == [
            {k: r[k] for k in ("scheme", "label", "label_zh", "label_en", "is_primary", "rule",
                               "evidence")}
            for r in sorted(mine, key=lambda r: (r["scheme"], not r["is_primary"], r["label"]))
        ]  # fmt: skip


def test_numbers_in_a_column_read_alike():
    from tierwise.cli._common import human

    assert [human(n, "customers") for n in (999, 4690, 10620)] == ["999", "4,690", "10,620"]
    assert [human(x, "clv") for x in (12.345, 4690.4)] == ["12.35", "4,690"]
    assert human(123456, "customer_id") == "123456"
    assert human(0.123, "share") == "12.3%"
