"""All or nothing: a failure or a kill mid-import leaves the store as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from io_testkit import ORDERS_HEADER, snapshot, write

import tierwise.io.importer as importer
from tierwise.io import import_file
from tierwise.store import Store


def _big(tmp_path, n: int, name: str = "big.csv"):
    lines = [f"o{i},c{i % 97},2024-03-05 10:00:00,{i % 500}.5,paid\n" for i in range(n)]
    lines.append("bad,c1,2024-03-05,-1,paid\n")
    return write(tmp_path / name, ORDERS_HEADER + "".join(lines))


def test_failure_after_rows_are_written_rolls_everything_back(tmp_path, store, opts, monkeypatch):
    import_file(
        store,
        "orders",
        write(tmp_path / "first.csv", ORDERS_HEADER + "x0,c0,2024-03-01,1,paid\n"),
        options=opts,
    )
    before = snapshot(store)
    calls = []

    def boom(*args, **kwargs):
        calls.append(store.con.execute("SELECT count(*) FROM orders").fetchall()[0][0])
        raise RuntimeError("disk full")

    monkeypatch.setattr(importer, "_log_import", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        import_file(store, "orders", _big(tmp_path, 2000), options=opts)
    assert calls == [2001]  # the rows were in, inside the transaction
    assert snapshot(store) == before
    qdir = tmp_path / "quarantine"
    assert not qdir.exists() or not any(qdir.iterdir())
    monkeypatch.undo()
    rep = import_file(store, "orders", tmp_path / "big.csv", options=opts)
    assert (rep.rows_imported, rep.rows_quarantined) == (2000, 1)


def test_killed_import_leaves_store_unchanged(tmp_path, opts):
    db = tmp_path / "shop.duckdb"
    with Store(db) as s:
        import_file(
            s,
            "orders",
            write(tmp_path / "first.csv", ORDERS_HEADER + "x0,c0,2024-03-01,1,paid\n"),
            options=opts,
        )
        before = snapshot(s)
    big = _big(tmp_path, 20000)
    script = textwrap.dedent(f"""
        import sys, time
        import tierwise.io.importer as importer
        from tierwise.io import import_file
        from tierwise.store import Store

        def stall(*args, **kwargs):
            print("written", flush=True)
            time.sleep(60)

        importer._log_import = stall
        import_file(Store({str(db)!r}), "orders", {str(big)!r},
                    options={{"reference_time": "2024-06-01T12:00:00"}})
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout.readline().strip() == "written"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    with Store(db) as s:
        assert snapshot(s) == before
        assert s.count("orders") == 1
