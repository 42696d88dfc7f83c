"""A run computes only the columns the project reads, from the rollups, and its profiles equal
those of a full recompute from the raw rows on every column it keeps."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

import tierwise
from tierwise.columns_read import columns_read, playbook_columns, segment_columns
from tierwise.config import Config
from tierwise.features import feature_columns, needed_features
from tierwise.playbooks import load_playbooks
from tierwise.schema import ENTITIES
from tinyshop import insert


def test_rules_steps_and_keep_columns_are_read():
    config = Config.default()
    read = columns_read(config)
    assert {"ev_share_90", "recency_days", "margin_total", "order_days", "main_channel"} <= read
    needed = needed_features(config)
    assert "ev_view_7" not in needed and "last_order_at" in needed  # recency derives from it
    kept = config.with_overrides({"features": {"keep_columns": ["ev_view_7"]}})
    assert "ev_view_7" in needed_features(kept)
    assert "ev_like_30" in needed_features(config, extra=["ev_like_30", "lifecycle"])


def test_segment_and_playbook_columns():
    assert segment_columns(["ev_view_7 > 2 and has_label('lifecycle', 'active')", "((("]) == {
        "ev_view_7", "lifecycle"}  # fmt: skip
    pf = load_playbooks(data={
        "channels": {"sms": {}}, "offers": {"o": {}},
        "playbooks": {"p": {"rules": [{
            "id": "r", "when": {"all": [{"column": "ev_like_30", "op": ">=", "value": 1},
                                        {"not": {"column": "deal_share", "op": ">", "value": 0}}]},
            "rank_by": "monetary_365",
            "action": {"id": "a", "channel": "sms", "offer": "o", "message": "hi"},
        }]}},
    })  # fmt: skip
    assert {"ev_like_30", "deal_share", "monetary_365"} <= playbook_columns(pf)


def _project(tmp_path, shop, yaml: str) -> tierwise.Project:
    d = tmp_path / "shop"
    tierwise.Project.init(d)
    (d / "tierwise.yaml").write_text(yaml, encoding="utf-8")
    p = tierwise.Project(d)
    for entity in ENTITIES:
        insert(p.store, entity, getattr(shop, entity).to_pylist())
    return p


def _equal(a: pa.Array, b: pa.Array) -> bool:
    if pa.types.is_floating(a.type):
        import numpy as np

        x = a.to_numpy(zero_copy_only=False).astype(float)
        y = b.to_numpy(zero_copy_only=False).astype(float)
        return bool(np.allclose(x, y, rtol=1e-9, atol=1e-9, equal_nan=True))
    return a.equals(b)


def test_pruned_rollup_run_equals_the_full_recompute(tmp_path, demo_shop):
    """The default run (pruned, from rollups) and a full run from the raw rows agree on every
    profile column the default run holds, labels, CLV and tags included."""
    p = _project(tmp_path, demo_shop, "run: {fit: refit}\n")
    p.segment_book().put("viewers", "ev_view_7 >= 1")
    as_of = demo_shop.as_of
    run = p.run(as_of=as_of)
    # computed into the store and named as the snapshot's table, not copied through memory
    assert run.profile_data.table == p.store.profile_table_name(as_of)
    fast = run.profiles
    assert fast.equals(p.store.read_profiles(as_of))
    assert p.store.rollup_state() is not None  # rollups are on by default
    assert "ev_view_7" in fast.column_names  # read by a saved segment
    assert "ev_like_7" not in fast.column_names
    full_cfg = p.config.with_overrides({"features": {"profile_columns": "all", "rollups": False}})
    from tierwise.backends import duckdb_tables
    from tierwise.pipeline import compute_profiles

    t = duckdb_tables(p.store)
    full = compute_profiles(t["customers"], t["orders"], t["events"], as_of, full_cfg,
                            base_dir=p.directory).profiles  # fmt: skip
    assert set(fast.column_names) < set(full.column_names)
    assert fast.column("customer_id").equals(full.column("customer_id"))
    differ = [
        c
        for c in fast.column_names
        if not _equal(fast.column(c).combine_chunks(), full.column(c).combine_chunks())
    ]
    assert differ == []
    prof = p.show(fast.column("customer_id")[0].as_py(), as_of, absent=True)
    assert "ev_like_7" in prof.absent and "ev_view_7" not in prof.absent
    assert "absent" in prof.to_dict()
    every = p.run(as_of=as_of, all_columns=True).profiles
    assert set(feature_columns(p.config.features)) <= set(every.column_names)
    assert p.absent_columns(as_of) == []
    p.close()


def test_backtest_reads_what_it_needs(tmp_path, demo_shop):
    p = _project(tmp_path, demo_shop,
                 "clv: {enabled: false}\ntags: {enabled: false}\n")  # fmt: skip
    cut = demo_shop.as_of - dt.timedelta(days=90)
    bt = p.backtest(cut)
    assert len(bt.contradictions) >= 0 and bt is not None
    p.close()
