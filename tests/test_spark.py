"""The same feature and label definitions on PySpark (local mode) give the DuckDB profiles."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from tierwise.backends import duckdb_tables, spark_session, spark_tables
from tierwise.config import Config
from tierwise.pipeline import compute_profiles
from tierwise.store import Store
from tinyshop import AS_OF

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
