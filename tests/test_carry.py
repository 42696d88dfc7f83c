"""Features carried over from an earlier run equal the features computed from every rollup
row: after new days, back-filled and updated rows, new customers, across window edges."""

from __future__ import annotations

import datetime as dt

import ibis
import pytest

from test_rollups import CONFIG, START, _import_shop, _table, _updates, random_shop
from tierwise.backends import duckdb_tables
from tierwise.carry import CarrySource, carry_refusal
from tierwise.config import Config
from tierwise.features import INTENTION_SUM, customer_features, feature_columns
from tierwise.io import import_frame
from tierwise.rollups import refresh_rollups, rollup_tables
from tierwise.satisfaction import SUMS
from tierwise.store import Store
from tinyshop import insert


def _day(n: int) -> dt.date:
    return (START + dt.timedelta(days=n)).date()


def _features(store: Store, as_of: dt.date, config: Config = CONFIG, carry=None):
    t = duckdb_tables(store)
    return customer_features(t["customers"], t["orders"], t["events"], as_of, config.features,
                             rollups=rollup_tables(store), carry=carry,
                             keep_state=True)  # fmt: skip


def _keep(store: Store, name: str, as_of: dt.date, config: Config = CONFIG) -> CarrySource:
    """Store the features as of ``as_of`` like a snapshot (the unrounded intention score
    beside them) and describe them as a source."""
    table = _features(store, as_of, config).to_pyarrow()
    store.con.register("_in", table)
    store.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _in")
    store.con.unregister("_in")
    profile = ibis.duckdb.from_connection(store.con).table(name)
    rollups = rollup_tables(store)
    return CarrySource(profile.drop(INTENTION_SUM), as_of, rollups.build, rollups.generation,
                       config.features.model_dump(mode="json"),
                       profile.select("customer_id", INTENTION_SUM))  # fmt: skip


def assert_carried_equal(store: Store, source: CarrySource, as_of: dt.date,
                         config: Config = CONFIG) -> None:  # fmt: skip
    need = set(feature_columns(config.features))
    assert carry_refusal(source, rollup_tables(store), as_of, config.features, need) is None
    full = _features(store, as_of, config).order_by("customer_id").to_pyarrow()
    carried = _features(store, as_of, config, carry=source).order_by("customer_id").to_pyarrow()
    assert carried.schema == full.schema and INTENTION_SUM in full.column_names
    for col in full.column_names:
        if col == INTENTION_SUM:  # decayed from the day before: equal up to float rounding
            assert carried[col].to_pylist() == pytest.approx(full[col].to_pylist(), abs=1e-9)
        else:
            assert carried[col].equals(full[col]), f"{col} as of {as_of}"


@pytest.mark.parametrize("seed", [4, 9])
def test_carried_features_equal_the_full_computation(seed):
    store = Store(":memory:")
    first = random_shop(seed, days=40)
    _import_shop(store, first)
    refresh_rollups(store, CONFIG.features)
    source = _keep(store, "prev", _day(35))
    # the same data: every window edge moves, nothing else
    for day in (36, 39, 66):
        assert_carried_equal(store, source, _day(day))
    later = random_shop(seed + 1, n=50, days=60, first_day=40)  # 10 new customers
    _import_shop(store, later)
    # back-filled rows before the earlier run's day, and updated rows
    back = random_shop(seed + 2, n=45, days=36, first_day=30)
    _import_shop(store, {"customers": [], "orders": back["orders"][:5],
                         "events": back["events"][:20]})  # fmt: skip
    import_frame(store, "orders", _table("orders", _updates(first)),
                 options={"on_conflict": "update"})  # fmt: skip
    stats = refresh_rollups(store, CONFIG.features)
    assert stats["mode"] == "updated" and stats["generation"] > source.generation
    for day in (36, 45, 59):
        assert_carried_equal(store, source, _day(day))
    # a run carried from a carried run
    second = _keep(store, "prev2", _day(45))
    assert_carried_equal(store, second, _day(46))


def test_default_config_carried_on_the_demo_shop(demo_shop):
    """The default windows (up to 365 days) on the demo: its last week comes in later."""
    store = Store(":memory:")
    week = dt.datetime.combine(demo_shop.as_of - dt.timedelta(days=6), dt.time())
    for entity in ("customers", "orders", "events"):
        rows = getattr(demo_shop, entity).to_pylist()
        col = {"orders": "paid_at", "events": "occurred_at"}.get(entity)
        insert(store, entity, [r for r in rows if col is None or r[col] < week])
    config = Config.default()
    refresh_rollups(store, config.features)
    source = _keep(store, "prev", demo_shop.as_of - dt.timedelta(days=7), config)
    for entity, col in (("orders", "paid_at"), ("events", "occurred_at")):
        rows = getattr(demo_shop, entity).to_pylist()
        import_frame(store, entity, _table(entity, [r for r in rows if r[col] >= week]))
    refresh_rollups(store, config.features)
    for back in (5, 0):
        assert_carried_equal(store, source, demo_shop.as_of - dt.timedelta(days=back), config)


def test_why_features_are_not_carried():
    store = Store(":memory:")
    _import_shop(store, random_shop(3, days=40))
    refresh_rollups(store, CONFIG.features)
    source = _keep(store, "prev", _day(30))
    rollups = rollup_tables(store)
    need = set(feature_columns(CONFIG.features))

    def why(src=source, as_of=None, config=CONFIG) -> str | None:
        return carry_refusal(src, rollups, as_of or _day(31), config.features, need)

    assert why() is None
    assert "days before" in why(as_of=_day(30)) and "days before" in why(as_of=_day(29))
    assert "carry_days: 31" in why(as_of=_day(62))
    other = CONFIG.with_overrides({"features": {"windows": [3, 7, 14]}})
    assert "another features block" in why(config=other)
    keep = CONFIG.with_overrides({"features": {"carry_days": 5, "keep_columns": ["orders"]}})
    assert why(config=keep) is None
    slim = CarrySource(source.profile.select("customer_id", "orders"), source.as_of,
                       source.build, source.generation, source.features)  # fmt: skip
    assert "lacks" in why(src=slim)
    # a rebuild (rows written outside the importer) ends every carry
    store.con.execute("DELETE FROM tierwise_meta WHERE key = 'rollups'")
    refresh_rollups(store, CONFIG.features)
    assert "built anew" in carry_refusal(source, rollup_tables(store), _day(31),
                                         CONFIG.features, need)  # fmt: skip


def _labels(store: Store, as_of: dt.date):
    return store.read_labels(as_of, evidence=False)


def test_a_daily_run_carries_over_from_the_snapshot_before(tmp_path):
    import tierwise

    home = tmp_path / "shop"
    tierwise.Project.init(home).close()
    settings = "clv: {enabled: false}\ntags: {enabled: false}\nsatisfaction: {lookback_days: 4}\n"
    (home / "tierwise.yaml").write_text(settings, encoding="utf-8")
    p = tierwise.Project(home)
    first = random_shop(6, days=40)
    _import_shop(p.store, first)
    p.run(as_of=_day(39))
    assert p.store.snapshot_meta(_day(39))["features"]["carried_from"] is None
    # the unrounded intention score is kept beside the snapshot, not in its profile
    kept = p.store.carried_table_name(_day(39), "features")
    assert p.store.arrow(f'SELECT * FROM "{kept}" LIMIT 0').column_names == [
        "customer_id", INTENTION_SUM]  # fmt: skip
    assert INTENTION_SUM not in p.store.profile_columns(_day(39))
    # and so are the sums the satisfaction scores come from
    kept = p.store.carried_table_name(_day(39), "satisfaction")
    assert p.store.arrow(f'SELECT * FROM "{kept}" LIMIT 0').column_names == [
        "customer_id", *SUMS]  # fmt: skip
    _import_shop(p.store, random_shop(7, n=45, days=50, first_day=40))
    import_frame(p.store, "orders", _table("orders", _updates(first)),
                 options={"on_conflict": "update"})  # fmt: skip
    run = p.run(as_of=_day(45))
    assert run.features["carried_from"] == _day(39).isoformat()
    assert any(n.startswith("satisfaction:") and "carried over" in n for n in run.notes)
    carried = p.store.read_profiles(_day(45))
    labels = _labels(p.store, _day(45))
    p.close()
    (home / "tierwise.yaml").write_text(settings + "features: {carry_days: 0}\n", encoding="utf-8")
    p = tierwise.Project(home)
    run = p.run(as_of=_day(45))
    assert run.features["carried_from"] is None and "why_not" not in run.features
    full = p.store.read_profiles(_day(45))
    assert carried.column_names == full.column_names
    for col in full.column_names:
        assert carried[col].equals(full[col]), col
    assert _labels(p.store, _day(45)).equals(labels)
    # a snapshot replaced by a run from the raw rows keeps no state for the next run
    kept = p.store.carried_table_name(_day(45), "features")
    assert p.store.has_table(kept)
    p.close()
    (home / "tierwise.yaml").write_text(settings + "features: {rollups: false}\n", "utf-8")
    p = tierwise.Project(home)
    p.run(as_of=_day(45))
    assert not p.store.has_table(kept) and p.store.has_table(
        p.store.carried_table_name(_day(39), "features"))  # fmt: skip
    assert p.store.read_profiles(_day(45)).equals(full)
    p.close()


def test_the_demo_shop_run_a_week_later_equals_a_run_without_carrying(tmp_path, demo_shop):
    """Ratings, texts, refunds and complaints of the demo, its planted entrances: satisfaction
    and entrances are carried over too, also from a run that carried them over itself."""
    import tierwise

    home = tmp_path / "demo"
    tierwise.Project.init(home).close()
    settings = "clv: {enabled: false}\ntags: {enabled: false}\nsatisfaction: {lookback_days: 30}\n"
    (home / "tierwise.yaml").write_text(settings, encoding="utf-8")
    p = tierwise.Project(home)
    week = dt.datetime.combine(demo_shop.as_of - dt.timedelta(days=6), dt.time())
    cols = {"orders": "paid_at", "events": "occurred_at"}
    import_frame(p.store, "customers", demo_shop.customers)
    for entity, col in cols.items():
        rows = getattr(demo_shop, entity).to_pylist()
        import_frame(p.store, entity, _table(entity, [r for r in rows if r[col] < week]))
    p.run(as_of=demo_shop.as_of - dt.timedelta(days=7))
    for entity, col in cols.items():
        rows = getattr(demo_shop, entity).to_pylist()
        import_frame(p.store, entity, _table(entity, [r for r in rows if r[col] >= week]))
    # three days on, then the rest of the week from what that run carried over and kept
    middle = demo_shop.as_of - dt.timedelta(days=3)
    p.run(as_of=middle)
    run = p.run(as_of=demo_shop.as_of)
    assert run.features["carried_from"] == middle.isoformat()
    scored = [n for n in run.notes if n.startswith("satisfaction:")]
    assert scored and "carried over" in scored[0]
    entered = [n for n in run.notes if n.startswith("entrance:")]
    assert entered and "carried over" in entered[0]
    carried, labels = p.store.read_profiles(demo_shop.as_of), _labels(p.store, demo_shop.as_of)
    p.close()
    (home / "tierwise.yaml").write_text(settings + "features: {carry_days: 0}\n", "utf-8")
    p = tierwise.Project(home)
    p.run(as_of=demo_shop.as_of)
    full = p.store.read_profiles(demo_shop.as_of)
    assert carried.column_names == full.column_names
    for col in full.column_names:
        assert carried[col].equals(full[col]), col
    assert _labels(p.store, demo_shop.as_of).equals(labels)
    p.close()
