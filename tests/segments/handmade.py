"""A hand-made profile, two earlier snapshots, events and orders whose segments are known.

As of 2024-06-30. c1 is a butterfly KOL who comments a lot and moved intention low→medium;
c2 a creator (KOL too) who bought once long ago; c3 is new and has done nothing; c4 a true
friend whose last order was 91 days ago and whose intention rose medium→high.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

AS_OF = dt.date(2024, 6, 30)
PREVIOUS = dt.date(2024, 6, 23)
OLDER = dt.date(2024, 6, 1)


def ts(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


PROFILES = pa.Table.from_pylist(
    [
        {"customer_id": "c1", "orders": 5, "last_order_at": ts("2024-06-25 10:00"),
         "monetary_total": 900.0, "quadrant": "butterfly", "behaviour": "kol",
         "behaviour_all": "kol;creator", "tags": "concern/price_sensitive;persona/parent",
         "intention": "medium", "city_tier": "1", "vip": True},
        {"customer_id": "c2", "orders": 1, "last_order_at": ts("2024-01-10 09:00"),
         "monetary_total": 50.0, "quadrant": "stranger", "behaviour": "creator",
         "behaviour_all": "creator;kol", "tags": None, "intention": "low", "city_tier": None,
         "vip": None},
        {"customer_id": "c3", "orders": 0, "last_order_at": None, "monetary_total": 0.0,
         "quadrant": None, "behaviour": None, "behaviour_all": None, "tags": None,
         "intention": "low", "city_tier": None, "vip": False},
        {"customer_id": "c4", "orders": 3, "last_order_at": ts("2024-03-31 20:00"),
         "monetary_total": 3000.0, "quadrant": "true_friend", "behaviour": "active",
         "behaviour_all": "active", "tags": "concern/quality", "intention": "high",
         "city_tier": "2", "vip": None},
    ],
    schema=pa.schema([
        ("customer_id", pa.string()), ("orders", pa.int64()), ("last_order_at", pa.timestamp("us")),
        ("monetary_total", pa.float64()), ("quadrant", pa.string()), ("behaviour", pa.string()),
        ("behaviour_all", pa.string()), ("tags", pa.string()), ("intention", pa.string()),
        ("city_tier", pa.string()), ("vip", pa.bool_()),
    ]),
)  # fmt: skip

SNAPSHOTS = {
    PREVIOUS: pa.table({
        "customer_id": ["c1", "c2", "c4"],
        "intention": ["low", "low", "medium"],
        "quadrant": ["barnacle", "stranger", "true_friend"],
    }),
    OLDER: pa.table({
        "customer_id": ["c1", "c2", "c4"],
        "intention": ["medium", "low", "medium"],
        "quadrant": ["butterfly", "stranger", "true_friend"],
    }),
}  # fmt: skip

EVENTS = pa.Table.from_pylist(
    [
        {"event_id": "e1", "customer_id": "c1", "occurred_at": ts("2024-06-29 12:00"),
         "event_type": "comment", "channel": "douyin"},
        {"event_id": "e2", "customer_id": "c1", "occurred_at": ts("2024-06-10 12:00"),
         "event_type": "comment", "channel": "douyin"},
        {"event_id": "e3", "customer_id": "c1", "occurred_at": ts("2024-05-31 00:00"),
         "event_type": "comment", "channel": "weibo"},
        {"event_id": "e4", "customer_id": "c1", "occurred_at": ts("2024-06-30 23:59"),
         "event_type": "like", "channel": "douyin"},
        {"event_id": "e5", "customer_id": "c1", "occurred_at": ts("2024-07-01 08:00"),
         "event_type": "comment", "channel": "douyin"},
        {"event_id": "e6", "customer_id": "c2", "occurred_at": ts("2024-06-15 12:00"),
         "event_type": "comment", "channel": "weibo"},
        {"event_id": "e7", "customer_id": "c2", "occurred_at": ts("2024-05-30 23:59"),
         "event_type": "comment", "channel": "weibo"},
        {"event_id": "e8", "customer_id": "c4", "occurred_at": ts("2024-06-20 12:00"),
         "event_type": "view", "channel": "store"},
    ],
    schema=pa.schema([
        ("event_id", pa.string()), ("customer_id", pa.string()),
        ("occurred_at", pa.timestamp("us")), ("event_type", pa.string()), ("channel", pa.string()),
    ]),
)  # fmt: skip

ORDERS = pa.Table.from_pylist(
    [
        {"order_id": "o1", "customer_id": "c1", "paid_at": ts("2024-06-01 10:00"),
         "amount": 100.0, "channel": "livestream", "status": "paid"},
        {"order_id": "o2", "customer_id": "c1", "paid_at": ts("2024-06-25 10:00"),
         "amount": 300.0, "channel": "store", "status": "paid"},
        {"order_id": "o3", "customer_id": "c1", "paid_at": ts("2024-06-26 10:00"),
         "amount": 999.0, "channel": "store", "status": "refunded"},
        {"order_id": "o4", "customer_id": "c2", "paid_at": ts("2024-01-10 09:00"),
         "amount": 50.0, "channel": "livestream", "status": "paid"},
        {"order_id": "o5", "customer_id": "c4", "paid_at": ts("2024-03-31 20:00"),
         "amount": 3000.0, "channel": "store", "status": "paid"},
        {"order_id": "o6", "customer_id": "c4", "paid_at": ts("2024-07-02 10:00"),
         "amount": 10.0, "channel": "livestream", "status": "paid"},
    ],
    schema=pa.schema([
        ("order_id", pa.string()), ("customer_id", pa.string()), ("paid_at", pa.timestamp("us")),
        ("amount", pa.float64()), ("channel", pa.string()), ("status", pa.string()),
    ]),
)  # fmt: skip

KNOWN: dict[str, set[str]] = {
    "events('comment', since=-30d) >= 3": {"c1"},
    "events('comment', since=-30d) < 1": {"c3", "c4"},
    "events(type='comment', channel='douyin', since=-30d) >= 2": {"c1"},
    "events(type='comment', channel='weibo', since=-30d) >= 1": {"c1", "c2"},
    "events(since=0d) >= 1": {"c1"},
    "events('comment') >= 2": {"c1", "c2"},
    "events(type=('view', 'like'), until=-1d) = 1": {"c4"},
    "orders(channel='livestream', since=-60d) >= 1": {"c1"},
    "revenue(since=-90d) > 350": {"c1"},
    "revenue(since=-91d) >= 3000": {"c4"},
    "revenue() = 0": {"c3"},
    "0 = revenue()": {"c3"},
    "last_order_at < -90d": {"c2", "c4"},
    "last_order_at >= '2024-06-01'": {"c1"},
    "not (last_order_at < -90d)": {"c1", "c3"},
    "quadrant = 'butterfly'": {"c1"},
    "quadrant = '蝴蝶'": {"c1"},
    "quadrant != 'butterfly'": {"c2", "c4"},
    "quadrant is null": {"c3"},
    "quadrant in ('butterfly', 'true_friend')": {"c1", "c4"},
    "quadrant not in ('butterfly')": {"c2", "c4"},
    "has_label('behaviour', 'kol')": {"c1", "c2"},
    "has_tag('price_sensitive')": {"c1"},
    "has_tag('concern/quality') or has_tag('parent')": {"c1", "c4"},
    "vip": {"c1"},
    "not vip": {"c2", "c3", "c4"},
    "vip = false": {"c3"},
    "moved('intention', from='low', to='medium')": {"c1"},
    "moved('intention', to='high')": {"c4"},
    "moved('intention', from='medium', since=-29d)": {"c4"},
    "moved('intention', from=('medium', 'low'), since=-7d)": {"c4"},
    "moved('intention', from='low', to='medium', since=-29d)": set(),
    "previous('quadrant') = 'barnacle'": {"c1"},
    "previous('quadrant') is null": {"c3"},
    "previous('intention', since=-29d) = 'medium'": {"c1", "c4"},
    "segment('big')": {"c1", "c4"},
    "segment('big') and not segment('kols')": {"c4"},
    "orders >= 3 or orders = 1 and city_tier = '1'": {"c1", "c4"},
    "(orders >= 3 or orders = 1) and city_tier = '1'": {"c1"},
}
"""Expressions with the customers they must select, worked out by hand from the rows."""

SAVED = {"big": "monetary_total >= 900", "kols": "has_label('behaviour', 'kol')"}
