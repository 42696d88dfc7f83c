"""Daily rollups: features read from them equal features read from the raw rows, they follow
imports (new days, updated rows) incrementally, and a killed run leaves them consistent."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import tierwise
from tierwise.backends import duckdb_tables
from tierwise.config import Config
from tierwise.features import customer_features, cutoff_of, referral_pairs
from tierwise.io import import_frame
from tierwise.rollups import refresh_rollups, rollup_tables
from tierwise.schema import ENTITIES
from tierwise.store import Store
from tinyshop import AS_OF, insert

START = dt.datetime(2024, 1, 1)
EVENT_TYPES = ["view", "like", "comment", "share", "referral", "review_photo", "campaign_send",
               "campaign_open", "campaign_click", "follow", "message"]  # fmt: skip
# short windows, lookback and half-life so every boundary falls inside two months of data
CONFIG = Config.default().with_overrides({"features": {
    "windows": [3, 7, 30], "response_window_days": 2, "profile_columns": "all",
    "intention": {"lookback_days": 20, "half_life_days": 5},
}})  # fmt: skip


def _when(rng: np.random.Generator, days: int, first_day: int = 0) -> dt.datetime:
    """A time in the range; one in four exactly at midnight."""
    day = START + dt.timedelta(days=int(rng.integers(first_day, days)))
    if rng.random() < 0.25:
        return day
    return day + dt.timedelta(microseconds=int(rng.integers(1, 86_400_000_000)))


def random_shop(seed: int, n: int = 40, days: int = 60, first_day: int = 0) -> dict:
    """Customers, orders and events with nulls, refunds, midnights, sends and answers."""
    rng = np.random.default_rng(seed)
    ids = [f"c{i:03d}" for i in range(n)]
    pick = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    customers = [
        {"customer_id": c, "first_seen": _when(rng, days) if rng.random() < 0.8 else None,
         "referrer_id": pick(ids) if rng.random() < 0.1 else None, "city": pick(["上海", "成都"])}
        for c in ids
    ]  # fmt: skip
    orders = []
    for i in range(n * 8):
        amount = float(np.round(rng.uniform(1, 500), 2))
        orders.append({
            "order_id": f"o{seed}-{first_day}-{i}", "customer_id": pick(ids),
            "paid_at": _when(rng, days, first_day), "amount": amount,
            "gross_margin": float(np.round(amount * 0.3, 2)) if rng.random() < 0.5 else None,
            "cost": float(np.round(amount * 0.6, 2)) if rng.random() < 0.3 else None,
            "channel": pick(["store", "deal", "livestream", "juhuasuan", None, "pop_up"]),
            "coupon_used": pick([True, False, None]), "item_count": pick([None, 1, 2, 5]),
            "status": pick(["paid", "paid", "paid", "refunded", "cancelled"]),
        })  # fmt: skip
    events = []
    for i in range(n * 40):
        etype = pick(EVENT_TYPES)
        target = pick(ids) if etype in ("referral", "share") and rng.random() < 0.5 else None
        events.append({
            "event_id": f"e{seed}-{first_day}-{i}", "customer_id": pick(ids),
            "occurred_at": _when(rng, days, first_day), "event_type": etype,
            "channel": pick(["douyin", "dianping", "taobao", "wechat_moments", None]),
            "target_customer_id": target,
        })  # fmt: skip
    return {"customers": customers, "orders": orders, "events": events}


def _table(entity: str, rows: list[dict]) -> pa.Table:
    ent = ENTITIES[entity]
    return pa.Table.from_pylist(
        [{c: r.get(c) for c in ent.column_names} for r in rows], schema=ent.arrow_schema()
    )


def assert_same_features(store: Store, as_of: dt.date, config: Config = CONFIG) -> None:
    """Every feature column from the rollups equals the one from the raw rows."""
    t = duckdb_tables(store)
    args = (t["customers"], t["orders"], t["events"], as_of, config.features)
    raw = customer_features(*args).order_by("customer_id").to_pyarrow()
    rolled = customer_features(*args, rollups=rollup_tables(store))
    rolled = rolled.order_by("customer_id").to_pyarrow()
    assert rolled.schema == raw.schema
    for col in raw.column_names:
        assert rolled[col].equals(raw[col]), f"{col} as of {as_of}"
    # the referral graph the influence step reads: the same pairs from the referrals rollup
    cutoff, cfg = cutoff_of(as_of), config.features
    pairs = [
        referral_pairs(t["customers"], t["events"], raw_feats, cutoff, cfg, rollups=r)
        .order_by("referrer", "target").to_pyarrow()
        for raw_feats in [customer_features(*args)]
        for r in (None, rollup_tables(store))
    ]  # fmt: skip
    assert pairs[0].equals(pairs[1]), f"referral pairs as of {as_of}"


def rollup_contents(store: Store) -> dict[str, list]:
    return {
        t: store.con.execute(f"SELECT * FROM rollup_{t} ORDER BY ALL").fetchall()
        for t in ("orders", "events", "sends", "referrals")
    }


def test_demo_shop_features_from_rollups_equal_raw(demo_shop):
    store = Store(":memory:")
    for entity in ENTITIES:
        insert(store, entity, getattr(demo_shop, entity).to_pylist())
    config = Config.default().with_overrides({"features": {"profile_columns": "all"}})
    assert refresh_rollups(store, config.features)["mode"] == "built"
    for as_of in (demo_shop.as_of, demo_shop.as_of - dt.timedelta(days=200)):
        assert_same_features(store, as_of, config)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_shops_features_from_rollups_equal_raw(seed):
    shop = random_shop(seed)
    store = Store(":memory:")
    for entity, rows in shop.items():
        insert(store, entity, rows)
    refresh_rollups(store, CONFIG.features)
    for day in (5, 21, 40, 59, 70):
        assert_same_features(store, (START + dt.timedelta(days=day)).date())


def test_tiny_shop_rollups(tiny_store):
    refresh_rollups(tiny_store, Config.default().features)
    config = Config.default().with_overrides({"features": {"profile_columns": "all"}})
    assert_same_features(tiny_store, AS_OF, config)
    t = duckdb_tables(tiny_store)
    f = customer_features(t["customers"], t["orders"], t["events"], AS_OF, config.features,
                          rollups=rollup_tables(tiny_store))  # fmt: skip
    loyal = f.to_pandas().set_index("customer_id").loc["loyal"]
    assert loyal.orders == 3 and loyal.refunds == 1 and loyal.campaign_responses_365 == 1


def _import_shop(store: Store, shop: dict, **options: object) -> None:
    for entity in ("customers", "orders", "events"):
        if shop[entity]:
            import_frame(store, entity, _table(entity, shop[entity]), options=options)


def _updates(shop: dict) -> list[dict]:
    """Orders of an earlier import changed: moved to another day, another customer, refunded."""
    o = [dict(r) for r in shop["orders"][:6]]
    o[0]["paid_at"] = o[0]["paid_at"] + dt.timedelta(days=3)
    o[1]["customer_id"] = "c000" if o[1]["customer_id"] != "c000" else "c001"
    o[2]["status"] = "refunded" if o[2]["status"] != "refunded" else "paid"
    o[3]["amount"] = o[3]["amount"] + 100.0
    o[4]["paid_at"] = o[4]["paid_at"] - dt.timedelta(days=20)
    o[4]["customer_id"] = "c002"
    return o


def _event_updates(shop: dict) -> list[dict]:
    """Referral events of an earlier import changed: later, another referrer, another target,
    another type, no target."""
    e = [dict(r) for r in shop["events"] if r["target_customer_id"] is not None][:5]
    e[0]["occurred_at"] = e[0]["occurred_at"] + dt.timedelta(days=9)
    e[1]["customer_id"] = "c000" if e[1]["customer_id"] != "c000" else "c001"
    e[2]["target_customer_id"] = "c003" if e[2]["target_customer_id"] != "c003" else "c004"
    e[3]["event_type"] = "like"
    e[4]["target_customer_id"] = None
    return e


def test_incremental_maintenance_follows_new_days_and_updated_rows():
    store = Store(":memory:")
    first = random_shop(4, days=40)
    _import_shop(store, first)
    assert refresh_rollups(store, CONFIG.features)["mode"] == "built"
    later = random_shop(5, days=55, first_day=40)
    _import_shop(store, {"customers": [], "orders": later["orders"], "events": later["events"]})
    import_frame(store, "orders", _table("orders", _updates(first)),
                 options={"on_conflict": "update"})  # fmt: skip
    stats = refresh_rollups(store, CONFIG.features)
    assert stats["mode"] == "updated" and stats["customer_days"] > 0 and stats["customers"] >= 2
    for day in (10, 30, 41, 54):
        assert_same_features(store, (START + dt.timedelta(days=day)).date())
    referrals = rollup_contents(store)["referrals"]
    import_frame(store, "events", _table("events", _event_updates(first)),
                 options={"on_conflict": "update"})  # fmt: skip
    assert refresh_rollups(store, CONFIG.features)["customers"] >= 2
    incremental = rollup_contents(store)
    assert incremental["referrals"] != referrals
    for day in (10, 30, 41, 54):
        assert_same_features(store, (START + dt.timedelta(days=day)).date())
    assert refresh_rollups(store, CONFIG.features)["mode"] == "current"
    store.con.execute("DELETE FROM tierwise_meta WHERE key = 'rollups'")
    assert refresh_rollups(store, CONFIG.features)["mode"] == "built"
    assert rollup_contents(store) == incremental


def test_rollups_are_stored_in_day_order_and_new_referral_types_rebuild_the_referrals():
    store = Store(":memory:")
    for entity, rows in random_shop(3).items():
        insert(store, entity, rows)
    refresh_rollups(store, CONFIG.features)
    for table in ("rollup_orders", "rollup_events"):
        days = [r[0] for r in store.con.execute(f"SELECT day FROM {table}").fetchall()]
        assert len(days) > 100 and days == sorted(days), table
    before = rollup_contents(store)
    config = CONFIG.with_overrides({"features": {"referral_types": ["referral"]}})
    assert refresh_rollups(store, config.features)["mode"] == "current"
    after = rollup_contents(store)
    assert after["events"] == before["events"] and after["referrals"] != before["referrals"]
    assert 0 < len(after["referrals"]) < len(before["referrals"])
    for day in (21, 59):
        assert_same_features(store, (START + dt.timedelta(days=day)).date(), config)


def test_rows_written_outside_the_importer_and_a_new_half_life_rebuild(tiny_store):
    cfg = Config.default().features
    refresh_rollups(tiny_store, cfg)
    late = {"event_id": "late-like", "customer_id": "fan", "event_type": "like",
            "occurred_at": dt.datetime(2024, 6, 30, 9)}  # fmt: skip
    insert(tiny_store, "events", [late])
    assert refresh_rollups(tiny_store, cfg)["mode"] == "built"
    config = Config.default().with_overrides({"features": {"intention": {"half_life_days": 9}}})
    assert refresh_rollups(tiny_store, config.features)["mode"] == "built"
    assert_same_features(tiny_store, AS_OF, config)


KILLED_RUN = """
import os, signal, sys, datetime as dt
from tierwise.project import Project
from tierwise.store import Store
original = Store._rederive_rollup
def rederive_then_die(self, *args):
    original(self, *args)
    os.kill(os.getpid(), signal.SIGKILL)  # mid-maintenance, before the commit
Store._rederive_rollup = rederive_then_die
Project(sys.argv[1]).run(as_of=dt.date.fromisoformat(sys.argv[2]))
"""


def test_a_run_killed_during_maintenance_leaves_snapshot_and_rollups_consistent(tmp_path):
    p = tierwise.Project.init(tmp_path / "shop")
    (tmp_path / "shop" / "tierwise.yaml").write_text(
        "clv: {enabled: false}\ntags: {enabled: false}\nfeatures: {rollups: true}\n",
        encoding="utf-8",
    )
    p = tierwise.Project(tmp_path / "shop")
    first = random_shop(6, days=40)
    _import_shop(p.store, first)
    day1 = (START + dt.timedelta(days=39)).date()
    p.run(as_of=day1)
    before = rollup_contents(p.store)
    profiles = p.store.read_profiles(day1)
    later = random_shop(7, days=50, first_day=40)
    _import_shop(p.store, {"customers": [], "orders": later["orders"], "events": later["events"]})
    p.close()
    day2 = (START + dt.timedelta(days=49)).date()
    env = {**os.environ, "PYTHONPATH": str(Path(tierwise.__file__).parents[1])}
    done = subprocess.run([sys.executable, "-c", KILLED_RUN, str(tmp_path / "shop"), str(day2)],
                          env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr
    p = tierwise.Project(tmp_path / "shop")
    assert p.snapshots() == [day1]
    assert p.store.read_profiles(day1).equals(profiles)
    assert rollup_contents(p.store) == before
    p.run(as_of=day2)
    assert p.snapshots() == [day1, day2]
    assert_same_features(p.store, day2, p.config)
    p.close()


def _clv_frame(table) -> pa.Table:
    return table.order_by("customer_id").to_pyarrow()


@pytest.mark.parametrize("seed", [1, 2])
def test_clv_inputs_from_the_rollup_equal_raw(seed, demo_shop):
    from tierwise.steps.clv import clv_inputs, clv_inputs_from_rollup

    store = Store(":memory:")
    shop = random_shop(seed) if seed == 1 else {e: getattr(demo_shop, e).to_pylist()
                                                for e in ENTITIES}  # fmt: skip
    for entity, rows in shop.items():
        insert(store, entity, rows)
    refresh_rollups(store, CONFIG.features)
    t = duckdb_tables(store)
    days = [10, 40, 59] if seed == 1 else [-400, 0]
    base = START.date() if seed == 1 else demo_shop.as_of
    for day in days:
        as_of = base + dt.timedelta(days=day)
        raw = _clv_frame(clv_inputs(t["orders"], as_of))
        rolled = _clv_frame(clv_inputs_from_rollup(rollup_tables(store).orders, as_of))
        assert raw.num_rows > 0 and raw.column_names == rolled.column_names
        assert raw["customer_id"].equals(rolled["customer_id"])
        for col in raw.column_names[1:]:
            np.testing.assert_allclose(
                raw[col].to_numpy(zero_copy_only=False).astype(float),
                rolled[col].to_numpy(zero_copy_only=False).astype(float),
                rtol=1e-12, atol=1e-9, equal_nan=True, err_msg=col,
            )  # fmt: skip


def test_imports_that_only_add_rows_extend_the_sends_rollup_like_a_rebuild():
    store = Store(":memory:")
    first = random_shop(6, days=40)
    _import_shop(store, first)
    refresh_rollups(store, CONFIG.features)
    # a later day, and late rows inside earlier days: new sends, answers before old answers
    for seed, first_day, days in ((7, 40, 41), (8, 10, 41), (9, 0, 30)):
        more = random_shop(seed, n=40, days=days, first_day=first_day)
        _import_shop(store, {"customers": [], "orders": more["orders"][:40],
                             "events": more["events"][:200]})  # fmt: skip
        stats = refresh_rollups(store, CONFIG.features)
        assert stats["mode"] == "updated" and stats["sends_customers"] > 0
        incremental = rollup_contents(store)
        assert any(r[3] is not None for r in incremental["sends"])
        store.con.execute("DELETE FROM tierwise_meta WHERE key = 'rollups'")
        assert refresh_rollups(store, CONFIG.features)["mode"] == "built"
        assert rollup_contents(store) == incremental
        assert_same_features(store, (START + dt.timedelta(days=40)).date())


def test_rollups_built_in_parts_of_the_customers_equal_one_build(monkeypatch):
    import tierwise.store as store_module

    shop = random_shop(4)
    contents = []
    for part_rows in (store_module.ROLLUP_PART_ROWS, 50):  # events: 1,600 rows in 32 parts
        monkeypatch.setattr(store_module, "ROLLUP_PART_ROWS", part_rows)
        store = Store(":memory:")
        for entity, rows in shop.items():
            insert(store, entity, rows)
        assert refresh_rollups(store, CONFIG.features)["mode"] == "built"
        contents.append(rollup_contents(store))
    assert contents[0] == contents[1] and len(contents[0]["events"]) > 1000


def test_clv_inputs_equal_a_reference_computed_day_by_day_in_pandas():
    """Purchase days, gaps and repeat margins from one window over the rollup's rows (several
    channels a day) against each buyer's sorted purchase days taken apart in pandas."""
    import pandas as pd

    from tierwise.steps.clv import clv_inputs_from_rollup

    shop = random_shop(5, n=12, days=15)
    # a second order the same day in another channel, with and without a margin
    shop["orders"] += [
        dict(r, order_id=f"{r['order_id']}b", channel="deal" if r["channel"] != "deal" else "store",
             gross_margin=None if i % 2 else r["gross_margin"], cost=None)
        for i, r in enumerate(shop["orders"][:40])
    ]  # fmt: skip
    store = Store(":memory:")
    for entity, rows in shop.items():
        insert(store, entity, rows)
    refresh_rollups(store, CONFIG.features)
    as_of = (START + dt.timedelta(days=12)).date()
    got = clv_inputs_from_rollup(rollup_tables(store).orders, as_of).to_pandas()
    got = got.set_index("customer_id").sort_index()
    o = pd.DataFrame(shop["orders"])
    o = o[(o.status == "paid") & (o.paid_at < pd.Timestamp(as_of + dt.timedelta(days=1)))]
    o["day"] = o.paid_at.dt.normalize()
    o["margin"] = o.gross_margin.fillna(o.amount - o.cost)
    days = o.groupby(["customer_id", "day"]).agg(
        margins=("margin", "count"), margin=("margin", "sum")
    )
    rolled = store.one(f"SELECT count(*) FROM rollup_orders WHERE paid > 0 AND day <= '{as_of}'")
    assert rolled[0] >= len(days) + 10  # several channels on some of the days
    rows = []
    for cid, d in days.reset_index().groupby("customer_id"):
        gaps = d.day.diff().dt.days.dropna().to_numpy()
        later = d.iloc[1:]
        rows.append({
            "customer_id": cid, "purchase_days": len(d), "gap_n": len(gaps),
            "gap_mean": gaps.mean() if len(gaps) else np.nan,
            "gap_std": gaps.std(ddof=1) if len(gaps) > 1 else np.nan,
            "repeat_margin_days": int((later.margins > 0).sum()),
            "repeat_margin": later.margin[later.margins > 0].sum(min_count=1),
            "recency_days": (d.day.iloc[-1] - d.day.iloc[0]).days,
        })  # fmt: skip
    want = pd.DataFrame(rows).set_index("customer_id").sort_index()
    assert list(got.index) == list(want.index)
    assert (want.gap_n >= 2).sum() >= 10
    for col in want.columns:
        np.testing.assert_allclose(got[col].astype(float), want[col].astype(float), rtol=1e-12,
                                   atol=1e-9, err_msg=col)  # fmt: skip


def _typed(store: Store, types: list[str]) -> list[tuple]:
    """The events of ``types`` as the rollup keeps them, and as the events table has them."""
    from tierwise.rollups import typed_events

    table = typed_events(duckdb_tables(store)["events"], types)
    assert table is not None
    kept = sorted(table.to_pyarrow().to_pylist(), key=lambda r: r["event_id"])
    sql = "SELECT * FROM events WHERE event_type IN (SELECT unnest(?::VARCHAR[]))"
    events = sorted(store.arrow(sql, [types]).to_pylist(), key=lambda r: r["event_id"])
    assert kept == events
    return kept


def test_typed_events_follow_the_imports_and_rebuild_when_rows_change_in_place():
    from tierwise.rollups import typed_events

    store = Store(":memory:")
    first = random_shop(6, days=40)
    _import_shop(store, first)
    refresh_rollups(store, CONFIG.features)
    assert len(_typed(store, ["referral", "share"])) > 100
    # a marker row: kept while imports only add rows, gone when the table is built anew
    store.con.execute(
        "INSERT INTO rollup_typed_events (event_id, customer_id, event_type) "
        "VALUES ('marker', 'c000', 'referral')"
    )
    later = random_shop(7, days=55, first_day=40)
    _import_shop(store, {"customers": [], "orders": [], "events": later["events"]})
    events = duckdb_tables(store)["events"]
    # imports the rollups have not taken in yet: the caller reads the events
    assert typed_events(events, ["referral", "share"]) is None
    refresh_rollups(store, CONFIG.features)
    added = typed_events(events, ["share", "referral"]).to_pyarrow()
    ids = set(added["event_id"].to_pylist())
    assert "marker" in ids and {r["event_id"] for r in later["events"]
                                if r["event_type"] == "referral"} <= ids  # fmt: skip
    import_frame(store, "events", _table("events", _event_updates(first)),
                 options={"on_conflict": "update"})  # fmt: skip
    refresh_rollups(store, CONFIG.features)
    rebuilt = _typed(store, ["referral", "share"])
    assert "marker" not in {r["event_id"] for r in rebuilt}
    # other event types: built anew with them; so after the events gain a column
    assert {r["event_type"] for r in _typed(store, ["like"])} == {"like"}
    store.con.execute("ALTER TABLE events ADD COLUMN note VARCHAR DEFAULT 'n'")
    assert {r["note"] for r in _typed(store, ["like"])} == {"n"}


def test_entrance_touches_from_typed_events_equal_those_from_every_event():
    from tierwise.entrance import entrance_touches

    store = Store(":memory:")
    shop = random_shop(8, days=50)
    for r in shop["events"][::7]:
        r["event_type"] = "livestream_visit"
    for r in shop["events"][::11]:
        r["channel"] = "  douyin\u3000"  # stripped before the first and newest are picked
    _import_shop(store, shop)
    refresh_rollups(store, CONFIG.features)
    cfg = Config.default().entrance
    t = duckdb_tables(store)
    only = t["customers"].filter(t["customers"].customer_id.isin(["c001", "c002", "c017"]))
    for who in (None, only.select("customer_id")):
        cutoff = cutoff_of(dt.date(2024, 2, 10))
        rolled = entrance_touches(t, cutoff, cfg, who, rollups=True)
        raw = entrance_touches(t, cutoff, cfg, who)
        assert len(rolled) > (10 if who is None else 3)
        key = ["customer_id", "rank", "row"]
        assert rolled.sort_values(key).reset_index(drop=True).equals(
            raw.sort_values(key).reset_index(drop=True))  # fmt: skip
    assert store.has_table("rollup_typed_events")
