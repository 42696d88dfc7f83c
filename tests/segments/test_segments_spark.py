"""The same segment expressions select the same customers on PySpark (local mode)."""

from __future__ import annotations

import pytest
from handmade import KNOWN
from test_compiler import make_context, members

from tierwise.backends import spark_session

pytestmark = pytest.mark.spark

PARITY = [
    "orders >= 3 or orders = 1 and city_tier = '1'",
    "last_order_at < -90d",
    "has_label('behaviour', 'kol')",
    "has_tag('concern/quality') or has_tag('parent')",
    "events(type='comment', channel='weibo', since=-30d) >= 1",
    "revenue() = 0",
    "moved('intention', from='low', to='medium')",
    "segment('big') and not segment('kols')",
]


@pytest.fixture(scope="module")
def spark_ctx():
    import ibis

    session = spark_session("local[2]")
    session.sparkContext.setLogLevel("ERROR")

    def register(name, table):  # temporary views: nothing is written to disk
        session.createDataFrame(table.to_pandas()).createOrReplaceTempView(name)

    return make_context(ibis.pyspark.connect(session), register=register)


@pytest.mark.parametrize("expr", PARITY)
def test_same_members_on_spark(spark_ctx, expr):
    assert members(spark_ctx, expr) == KNOWN[expr]
