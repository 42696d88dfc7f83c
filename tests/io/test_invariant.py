"""rows_read == imported + updated + quarantined + duplicate, for any mixture of rows."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from io_testkit import ORDERS_HEADER, REF

from tierwise.io import ImportOptions, import_file
from tierwise.store import Store

ROW = st.tuples(
    st.sampled_from(["o1", "o2", "o3", "o4", "o5", "o6", ""]),
    st.sampled_from(["c1", "c2", "c3", "c9", ""]),
    st.sampled_from(["2024-03-05 10:00:00", "2024-03-06", "2024/13/45", "2030-01-01", ""]),
    st.sampled_from(["1.5", "10", "-2", "NaN", "abc", ""]),
    st.sampled_from(["paid", "refunded", "foo", ""]),
)


def _csv(rows: list[tuple[str, ...]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return ORDERS_HEADER + buf.getvalue()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stored=st.lists(ROW, max_size=6),
    batch=st.lists(ROW, min_size=0, max_size=25),
    on_conflict=st.sampled_from(["quarantine", "update"]),
    unknown=st.sampled_from(["create", "quarantine"]),
)
def test_counts_always_add_up(stored, batch, on_conflict, unknown):
    opts = {"reference_time": REF, "on_conflict": on_conflict, "unknown_customers": unknown}
    with tempfile.TemporaryDirectory() as d, Store(":memory:") as store:
        root = Path(d)
        options = ImportOptions(**opts, quarantine_dir=root / "q")
        store.con.execute("INSERT INTO customers (customer_id) VALUES ('c1'), ('c2'), ('c3')")
        (root / "first.csv").write_text(_csv(stored))
        import_file(store, "orders", root / "first.csv", options=options)
        n_before = store.count("orders")

        (root / "batch.csv").write_text(_csv(batch))
        rep = import_file(store, "orders", root / "batch.csv", options=options)
        rep.check()
        nonblank = [r for r in batch if any(r)]
        assert rep.rows_read == len(nonblank)
        assert store.count("orders") == n_before + rep.rows_imported
        assert len(rep.problems) >= rep.rows_quarantined
        if rep.rows_quarantined:
            with open(rep.quarantine_path, encoding="utf-8-sig", newline="") as fh:
                q = list(csv.DictReader(fh))
            assert len(q) == rep.rows_quarantined
            assert all(r["_reasons"] for r in q)
        else:
            assert rep.quarantine_path is None

        again = import_file(store, "orders", root / "batch.csv", options=options)
        again.check()
        assert (again.rows_imported, again.rows_updated) == (0, 0)
        assert again.rows_quarantined == rep.rows_quarantined
        assert again.rows_duplicate == rep.rows_read - rep.rows_quarantined
