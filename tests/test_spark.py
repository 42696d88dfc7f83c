"""The same feature and label definitions on PySpark (local mode) give the DuckDB profiles."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from tierwise.backends import duckdb_tables, spark_session, spark_tables
from tierwise.config import Config
from tierwise.pipeline import compute_profiles
from tierwise.store import Store
from tinyshop import AS_OF, event, insert, make_tiny_store, ts

pytestmark = pytest.mark.spark


@pytest.fixture(scope="session")
def spark():
    session = spark_session("local[2]")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def assert_same_profiles(a: pa.Table, b: pa.Table) -> None:
    assert a.column_names == b.column_names
    assert a.num_rows == b.num_rows
    for col in a.column_names:
        x = a.column(col).to_pylist()
        y = b.column(col).to_pylist()
        if pa.types.is_floating(a.schema.field(col).type):
            np.testing.assert_allclose(
                np.array(x, dtype=float), np.array(y, dtype=float), rtol=1e-12, err_msg=col
            )
        else:
            assert x == y, col


def both(store: Store, spark, as_of, config) -> tuple:
    t = duckdb_tables(store)
    duck = compute_profiles(t["customers"], t["orders"], t["events"], as_of, config)
    s = spark_tables(spark, store=store)
    spk = compute_profiles(s["customers"], s["orders"], s["events"], as_of, config)
    return duck, spk


def test_tiny_shop_is_identical_on_spark(tiny_store, spark):
    duck, spk = both(tiny_store, spark, AS_OF, Config.default())
    assert spk.rfm.edges_ == duck.rfm.edges_
    assert_same_profiles(duck.profiles, spk.profiles)


def test_demo_shop_is_identical_on_spark(demo_store, spark):
    store, as_of = demo_store
    duck, spk = both(store, spark, as_of, Config.default())
    assert duck.profiles.num_rows > 1000
    assert spk.rfm.edges_ == duck.rfm.edges_
    assert_same_profiles(duck.profiles, spk.profiles)


def test_entrance_values_are_stripped_alike_on_spark(spark):
    """Python's white space (tabs, U+0085, U+2028, ideographic spaces) is stripped from a
    source's values in the engine alike on both; a blank one is no touch."""
    store = make_tiny_store()
    insert(store, "customers", [{"customer_id": c, "first_seen": ts("2024-03-01")}
                                for c in ("v", "w")])  # fmt: skip
    insert(store, "events", [
        event("v1", "v", "2024-04-01 10:00", "livestream_visit", channel="\u00a0\u2028"),
        event("v2", "v", "2024-04-05 10:00", "livestream_visit", channel="\x85room_a\u3000"),
        event("v3", "v", "2024-04-09 10:00", "livestream_visit", channel="room_c"),
        event("w1", "w", "2024-04-02 10:00", "livestream_visit", channel="\troom_b\n"),
        event("w2", "w", "2024-04-03 10:00", "livestream_visit", channel="room b"),
    ])  # fmt: skip
    source = {"kind": "livestream", "table": "events", "event_types": ["livestream_visit"],
              "field": "channel", "values": ["room_a", "room_b", "room b"]}  # fmt: skip
    config = Config.default().with_overrides({"entrance": {"sources": [source]}})
    duck, spk = both(store, spark, AS_OF, config)
    assert_same_profiles(duck.profiles, spk.profiles)
    p = duck.profiles.to_pandas().set_index("customer_id")
    assert p.loc["v", "entrance_channel"] == p.loc["v", "latest_channel"] == "livestream:room_a"
    assert (p.loc["w", "entrance_channel"], p.loc["w", "latest_channel"]) == (
        "livestream:room_b",
        "livestream:room b",
    )
