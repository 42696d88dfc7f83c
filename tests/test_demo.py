"""Tests of the seeded demo shop and of its planted ground truth."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tierwise.demo import (
    ARCHETYPES,
    BEHAVIOUR_TYPES,
    INTENTION_GRADES,
    LIFECYCLE_STAGES,
    PERSONAS,
    QUADRANTS,
    RFM_SHAPES,
    TRUTH_SCHEMA,
    generate_shop,
)
from tierwise.errors import ConfigError
from tierwise.schema import CUSTOMERS, EVENTS, ORDERS

AS_OF = dt.date(2025, 12, 31)
END = "2026-01-01 00:00:00"  # first instant after as_of


@pytest.fixture(scope="module")
def shop():
    return generate_shop(5000, seed=11, as_of=AS_OF)


@pytest.fixture(scope="module")
def con(shop):
    c = duckdb.connect()
    for name, table in shop.tables.items():
        c.register(name, table)
    c.execute(f"CREATE TEMP TABLE features AS {FEATURES_SQL}")
    return c


# The default rules, written independently of the generator.
FEATURES_SQL = f"""
WITH params AS (SELECT TIMESTAMP '{END}' AS t_end),
paid AS (
    SELECT customer_id,
           count(*) AS n_paid,
           max(paid_at) AS last_paid,
           min(paid_at) AS first_paid,
           avg(amount) AS avg_amount,
           coalesce(sum(amount) FILTER (WHERE paid_at >= t_end - INTERVAL 365 DAY), 0) AS amt365,
           avg(CASE WHEN channel = 'deal' THEN 1.0 ELSE 0.0 END) AS deal_share
    FROM orders, params WHERE status = 'paid' GROUP BY customer_id
),
ev AS (
    SELECT customer_id,
           max(occurred_at) AS last_event,
           count(*) FILTER (WHERE event_type IN ('livestream_visit', 'like', 'comment', 'share')
                            AND occurred_at >= t_end - INTERVAL 90 DAY) AS n_inter90,
           count(*) FILTER (WHERE event_type = 'share'
                            AND occurred_at >= t_end - INTERVAL 90 DAY) AS n_share90,
           count(*) FILTER (WHERE event_type IN ('review_photo', 'review_video', 'buyer_show')
                            AND occurred_at >= t_end - INTERVAL 365 DAY) AS n_creative365,
           sum(CASE event_type
                   WHEN 'comment' THEN 3 WHEN 'message' THEN 3 WHEN 'like' THEN 1
                   WHEN 'favorite' THEN 2 WHEN 'share' THEN 2.5 WHEN 'download' THEN 2
                   WHEN 'check_in' THEN 1.5 WHEN 'review' THEN 2 WHEN 'recommend' THEN 2.5
                   WHEN 'view' THEN 0.2 ELSE 0 END
               * pow(0.5, date_diff('second', occurred_at, t_end) / 86400.0 / 30.0)) AS score
    FROM events, params GROUP BY customer_id
),
brought AS (
    SELECT e.customer_id,
           count(DISTINCT e.target_customer_id) AS n_brought,
           count(DISTINCT e.target_customer_id)
               FILTER (WHERE e.occurred_at >= t_end - INTERVAL 365 DAY) AS n_brought365
    FROM events e JOIN paid t ON t.customer_id = e.target_customer_id, params
    WHERE e.event_type IN ('referral', 'share') AND t.first_paid > e.occurred_at
    GROUP BY e.customer_id
),
sends AS (
    SELECT s.customer_id,
           EXISTS (SELECT 1 FROM events r
                   WHERE r.customer_id = s.customer_id
                     AND r.event_type IN ('campaign_open', 'campaign_click')
                     AND r.occurred_at > s.occurred_at
                     AND r.occurred_at <= s.occurred_at + INTERVAL 7 DAY)
           OR EXISTS (SELECT 1 FROM orders o
                      WHERE o.customer_id = s.customer_id
                        AND o.paid_at > s.occurred_at
                        AND o.paid_at <= s.occurred_at + INTERVAL 7 DAY) AS responded
    FROM events s, params
    WHERE s.event_type = 'campaign_send' AND s.occurred_at >= t_end - INTERVAL 365 DAY
),
camp AS (
    SELECT customer_id, count(*) AS n_sends, avg(CASE WHEN responded THEN 1.0 ELSE 0.0 END)
        AS response_rate
    FROM sends GROUP BY customer_id
)
SELECT c.customer_id,
       coalesce(p.n_paid, 0) AS n_paid,
       p.avg_amount, p.amt365, p.deal_share,
       date_diff('second', p.last_paid, t_end) / 86400.0 AS recency,
       (p.last_paid IS NULL OR p.last_paid < t_end - INTERVAL 365 DAY)
           AND (e.last_event IS NULL OR e.last_event < t_end - INTERVAL 365 DAY) AS silent,
       coalesce(e.n_inter90, 0) AS n_inter90,
       coalesce(e.n_share90, 0) AS n_share90,
       coalesce(e.n_creative365, 0) AS n_creative365,
       coalesce(e.score, 0) AS score,
       coalesce(b.n_brought, 0) AS n_brought,
       coalesce(b.n_brought365, 0) AS n_brought365,
       coalesce(m.n_sends, 0) AS n_sends,
       m.response_rate
FROM customers c CROSS JOIN params
LEFT JOIN paid p USING (customer_id)
LEFT JOIN ev e USING (customer_id)
LEFT JOIN brought b USING (customer_id)
LEFT JOIN camp m USING (customer_id)
"""

LIFECYCLE_SQL = """
SELECT customer_id, CASE
    WHEN silent THEN 'long_silent'
    WHEN n_paid >= 1 AND recency > 180 THEN 'churned'
    WHEN (n_paid >= 2 AND amt365 >= 3000) OR n_brought >= 1 OR n_share90 >= 5 THEN 'high_value'
    WHEN n_paid >= 2 THEN 'repeat'
    WHEN n_paid = 1 THEN 'new'
    ELSE 'potential' END AS rule
FROM features
"""

BEHAVIOUR_SQL = """
SELECT customer_id, concat_ws(';',
    CASE WHEN n_paid >= 2 AND deal_share >= 0.6 AND n_sends >= 3 AND response_rate <= 0.10
         THEN 'self_directed' END,
    CASE WHEN n_inter90 >= 12 THEN 'active' END,
    CASE WHEN n_creative365 >= 2 THEN 'creator' END,
    CASE WHEN n_brought365 >= 2 THEN 'kol' END) AS rule
FROM features
"""

INTENTION_SQL = """
SELECT customer_id, CASE
    WHEN silent THEN 'long_silent'
    WHEN score >= 10 THEN 'high'
    WHEN score >= 3 THEN 'medium'
    ELSE 'low' END AS rule
FROM features
"""

QUADRANT_SQL = """
SELECT customer_id, CASE
    WHEN n_paid = 0 THEN ''
    WHEN recency <= 180 AND n_paid >= 6 AND avg_amount >= 800 THEN 'true_friend'
    WHEN recency <= 180 AND n_paid >= 6 AND avg_amount <= 80 THEN 'barnacle'
    WHEN recency <= 180 AND n_paid BETWEEN 2 AND 3 AND avg_amount >= 800 THEN 'butterfly'
    ELSE 'stranger' END AS rule
FROM features
"""


def agreement(con, rule_sql: str, column: str) -> float:
    return con.execute(
        f"SELECT avg(CASE WHEN r.rule = t.{column} THEN 1.0 ELSE 0.0 END) "
        f"FROM ({rule_sql}) r JOIN truth t USING (customer_id)"
    ).fetchone()[0]


def test_deterministic_for_a_seed():
    a = generate_shop(1000, seed=3)
    b = generate_shop(1000, seed=3)
    c = generate_shop(1000, seed=4)
    for name in ("customers", "orders", "events", "truth"):
        assert a.tables[name].equals(b.tables[name]), name
    assert not a.events.equals(c.events)


def test_canonical_columns_and_types(shop):
    for name, ent in (("customers", CUSTOMERS), ("orders", ORDERS), ("events", EVENTS)):
        assert shop.tables[name].schema.equals(ent.arrow_schema()), name
        for col in ent.required:
            assert shop.tables[name].column(col).null_count == 0, (name, col)
    assert shop.truth.schema.equals(TRUTH_SCHEMA)


def test_nothing_after_as_of(shop):
    end = pa.scalar(dt.datetime(2026, 1, 1), pa.timestamp("us"))
    for name, col in (
        ("customers", "first_seen"),
        ("orders", "paid_at"),
        ("events", "occurred_at"),
    ):
        assert pc.less(pc.max(shop.tables[name].column(col)), end).as_py(), name


def test_first_seen_precedes_activity(con):
    late = con.execute(
        """
        SELECT count(*) FROM customers c JOIN (
            SELECT customer_id, min(t) AS t FROM (
                SELECT customer_id, paid_at AS t FROM orders
                UNION ALL SELECT customer_id, occurred_at FROM events) GROUP BY 1
        ) a USING (customer_id) WHERE c.first_seen > a.t
        """
    ).fetchone()[0]
    assert late == 0


def test_every_archetype_present(shop):
    assert set(shop.truth.column("archetype").to_pylist()) == set(ARCHETYPES)
    default = generate_shop(20_000, seed=7)
    counts = default.truth.group_by("archetype").aggregate([("customer_id", "count")])
    assert counts.num_rows == len(ARCHETYPES)


def test_truth_vocabularies(shop):
    t = shop.truth
    assert set(t.column("lifecycle_stage").to_pylist()) == set(LIFECYCLE_STAGES)
    assert set(t.column("quadrant").to_pylist()) == set(QUADRANTS)
    assert set(t.column("intention_grade").to_pylist()) == set(INTENTION_GRADES)
    assert set(t.column("rfm_shape").to_pylist()) <= set(RFM_SHAPES)
    assert set(t.column("persona").to_pylist()) == set(PERSONAS)
    assert set(t.column("price_sensitive").to_pylist()) == {0, 1}
    seen: set[str] = set()
    for value in set(t.column("behaviour_types").to_pylist()):
        parts = [p for p in value.split(";") if p]
        assert set(parts) <= set(BEHAVIOUR_TYPES)
        seen |= set(parts)
    assert seen == set(BEHAVIOUR_TYPES)
    assert "" in set(t.column("behaviour_types").to_pylist())


def test_keys_unique_and_consistent(con):
    for table, key in (
        ("customers", "customer_id"),
        ("orders", "order_id"),
        ("events", "event_id"),
        ("truth", "customer_id"),
    ):
        n, d = con.execute(f"SELECT count(*), count(DISTINCT {key}) FROM {table}").fetchone()
        assert n == d, table
    orphans = con.execute(
        """
        SELECT (SELECT count(*) FROM orders WHERE customer_id NOT IN
                    (SELECT customer_id FROM customers))
             + (SELECT count(*) FROM events WHERE customer_id NOT IN
                    (SELECT customer_id FROM customers))
             + (SELECT count(*) FROM truth WHERE customer_id NOT IN
                    (SELECT customer_id FROM customers))
        """
    ).fetchone()[0]
    assert orphans == 0


def test_referral_integrity(con):
    n_ref, bad_referrer, bad_order, no_event = con.execute(
        """
        WITH fp AS (SELECT customer_id, min(paid_at) AS first_paid
                    FROM orders WHERE status = 'paid' GROUP BY 1),
        r AS (
            SELECT c.customer_id, c.referrer_id, fp.first_paid,
                   (SELECT max(e.occurred_at) FROM events e
                     WHERE e.customer_id = c.referrer_id
                       AND e.target_customer_id = c.customer_id
                       AND e.event_type IN ('referral', 'share')) AS referred_at
            FROM customers c LEFT JOIN fp USING (customer_id)
            WHERE c.referrer_id IS NOT NULL)
        SELECT count(*),
               count(*) FILTER (WHERE referrer_id NOT IN (SELECT customer_id FROM customers)),
               count(*) FILTER (WHERE first_paid IS NULL OR first_paid <= referred_at
                                OR first_paid > referred_at + INTERVAL 14 DAY),
               count(*) FILTER (WHERE referred_at IS NULL)
        FROM r
        """
    ).fetchone()
    assert n_ref > 0
    assert (bad_referrer, bad_order, no_event) == (0, 0, 0)
    # every target of a referral or share is a known customer
    dangling = con.execute(
        "SELECT count(*) FROM events WHERE target_customer_id IS NOT NULL AND "
        "target_customer_id NOT IN (SELECT customer_id FROM customers)"
    ).fetchone()[0]
    assert dangling == 0


def test_lifecycle_agrees_with_rules(con):
    assert agreement(con, LIFECYCLE_SQL, "lifecycle_stage") >= 0.99


def test_behaviour_types_agree_with_rules(con):
    assert agreement(con, BEHAVIOUR_SQL, "behaviour_types") >= 0.99


def test_intention_grade_agrees_with_rules(con):
    assert agreement(con, INTENTION_SQL, "intention_grade") >= 0.99


def test_quadrant_agrees_with_order_shapes(con):
    assert agreement(con, QUADRANT_SQL, "quadrant") >= 0.99


def test_margins_from_thresholds(con):
    """Planted customers sit clearly away from each threshold."""
    row = con.execute(
        """
        SELECT
          count(*) FILTER (WHERE n_inter90 BETWEEN 6 AND 19),
          count(*) FILTER (WHERE n_share90 BETWEEN 3 AND 6),
          count(*) FILTER (WHERE NOT silent AND (score BETWEEN 2.1 AND 4.1
                                                 OR score BETWEEN 7.0 AND 13.9)),
          count(*) FILTER (WHERE n_paid >= 1 AND recency BETWEEN 150 AND 210),
          count(*) FILTER (WHERE n_paid >= 2 AND recency <= 180 AND amt365 BETWEEN 2100 AND 3900)
        FROM features
        """
    ).fetchone()
    assert row == (0, 0, 0, 0, 0)
    row = con.execute(
        """
        SELECT
          count(*) FILTER (WHERE n_paid >= 2 AND deal_share > 0.3 AND deal_share < 0.8),
          count(*) FILTER (WHERE n_sends >= 3 AND response_rate > 0 AND response_rate < 0.3),
          count(*) FILTER (WHERE n_brought365 BETWEEN 1 AND 2 OR n_brought <> n_brought365),
          count(*) FILTER (WHERE n_creative365 BETWEEN 1 AND 2)
        FROM features
        """
    ).fetchone()
    assert row == (0, 0, 0, 0)


def test_silence_margins(con):
    """Last activity is either within 330 days or more than 400 days ago, and nobody but
    the long-silent relies on campaign sends alone to count as alive."""
    row = con.execute(
        f"""
        WITH own AS (
            SELECT customer_id, max(occurred_at) AS t FROM events
            WHERE event_type NOT IN ('campaign_send') GROUP BY 1
            UNION ALL
            SELECT customer_id, max(paid_at) FROM orders WHERE status = 'paid' GROUP BY 1),
        last AS (
            SELECT customer_id,
                   date_diff('second', max(t), TIMESTAMP '{END}') / 86400.0 AS days
            FROM own GROUP BY 1)
        SELECT count(*) FILTER (WHERE days BETWEEN 330 AND 400),
               count(*) FILTER (WHERE (days < 365) <> (t.lifecycle_stage <> 'long_silent'))
        FROM last JOIN truth t USING (customer_id)
        """
    ).fetchone()
    assert row == (0, 0)


def test_texts_carry_persona_and_price_signal(con):
    rows = dict(
        con.execute(
            """
            SELECT t.persona, avg(CASE WHEN e.text SIMILAR TO '.*(孩子|宝宝|娃|宝妈|寶).*'
                                  THEN 1.0 ELSE 0.0 END)
            FROM events e JOIN truth t USING (customer_id)
            WHERE e.text IS NOT NULL GROUP BY 1
            """
        ).fetchall()
    )
    assert rows["mother"] > 0.3
    assert rows["none"] == 0.0


def test_write_parquet_and_csv(tmp_path):
    small = generate_shop(300, seed=1)
    for fmt in ("parquet", "csv"):
        paths = small.write(tmp_path / fmt, format=fmt)
        assert set(paths) == {"customers", "orders", "events", "truth"}
        for name, path in paths.items():
            assert path.exists()
            table = pq.read_table(path) if fmt == "parquet" else pacsv.read_csv(path)
            assert table.num_rows == small.tables[name].num_rows
    text = (tmp_path / "csv" / "truth.csv").read_text(encoding="utf-8")
    assert "lifecycle_stage" in text.splitlines()[0]
    events_csv = pacsv.read_csv(tmp_path / "csv" / "events.csv")
    assert pa.types.is_timestamp(events_csv.schema.field("occurred_at").type)
    assert (
        pc.equal(
            events_csv.column("occurred_at").cast(pa.timestamp("us")), small.events["occurred_at"]
        ).to_pylist()
        == [True] * small.events.num_rows
    )
    with pytest.raises(ConfigError):
        small.write(tmp_path, format="xlsx")


def test_volume_parameters():
    base = generate_shop(2000, seed=5)
    big = generate_shop(2000, seed=5, orders_per_customer=20, events_per_customer=50)
    per_order = big.orders.num_rows / 2000
    per_event = big.events.num_rows / 2000
    assert 17 <= per_order <= 23
    assert 45 <= per_event <= 55
    assert big.truth.column("lifecycle_stage").equals(base.truth.column("lifecycle_stage"))


def test_scaled_shop_keeps_its_truth():
    big = generate_shop(2000, seed=9, orders_per_customer=20, events_per_customer=50)
    c = duckdb.connect()
    for name, table in big.tables.items():
        c.register(name, table)
    c.execute(f"CREATE TEMP TABLE features AS {FEATURES_SQL}")
    assert agreement(c, LIFECYCLE_SQL, "lifecycle_stage") >= 0.99
    assert agreement(c, BEHAVIOUR_SQL, "behaviour_types") >= 0.99
    assert agreement(c, INTENTION_SQL, "intention_grade") >= 0.99


@pytest.mark.parametrize(
    "kwargs",
    [{"n_customers": 10}, {"years": 1}, {"mix": {"unicorn": 1.0}}, {"mix": {"barnacle": 0}}],
)
def test_bad_arguments(kwargs):
    with pytest.raises(ConfigError):
        generate_shop(**{"n_customers": 500, **kwargs})
