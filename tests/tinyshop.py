"""A tiny hand-made shop whose features are worked out by hand, and helpers to write rows."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from tierwise.schema import ENTITIES
from tierwise.store import Store

AS_OF = dt.date(2024, 6, 30)


def insert(store: Store, entity: str, rows: list[dict]) -> None:
    """Write canonical rows straight into a store (tests of what comes after import)."""
    ent = ENTITIES[entity]
    table = pa.Table.from_pylist(
        [{c: r.get(c) for c in ent.column_names} for r in rows], schema=ent.arrow_schema()
    )
    store.con.register("_rows", table)
    cols = ", ".join(f'"{c}"' for c in ent.column_names)
    store.con.execute(f'INSERT INTO "{entity}" ({cols}) SELECT {cols} FROM _rows')
    store.con.unregister("_rows")


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def order(oid: str, cid: str, when: str, amount: float, **kw: object) -> dict:
    return {
        "order_id": oid,
        "customer_id": cid,
        "paid_at": ts(when),
        "amount": amount,
        "status": kw.pop("status", "paid"),
        **kw,
    }


def event(eid: str, cid: str, when: str, etype: str, **kw: object) -> dict:
    return {"event_id": eid, "customer_id": cid, "occurred_at": ts(when), "event_type": etype, **kw}


def make_tiny_store() -> Store:
    """Seven customers, one per situation, as of 2024-06-30.

    - loyal: 3 paid orders (1 deal, coupon on one), 1 refund, margins known on two.
    - fresh: 1 order 10 days ago.
    - lapsed: 2 orders, the last 200 days ago, a like 100 days ago.
    - sleeper: 1 order 500 days ago, nothing since.
    - fan: no order; 6 shares in the last 90 days, brought `fresh` (who then bought).
    - lurker: no order, one follow 20 days ago.
    - future: an order and an event after the as-of day only.
    """
    s = Store(":memory:")
    insert(
        s,
        "customers",
        [
            {"customer_id": c, "first_seen": ts("2022-01-01")}
            for c in ("loyal", "lapsed", "sleeper", "fan", "lurker", "future")
        ]
        + [{"customer_id": "fresh", "first_seen": ts("2024-06-01"), "referrer_id": "fan"}],
    )
    insert(
        s,
        "orders",
        [
            order("o1", "loyal", "2024-01-10 09:00", 1200.0, channel="deal", gross_margin=300.0),
            order(
                "o2",
                "loyal",
                "2024-05-01 20:00",
                1500.0,
                channel="store",
                coupon_used=True,
                gross_margin=450.0,
            ),
            order("o3", "loyal", "2024-06-29 12:00", 600.0, channel="livestream", cost=400.0),
            order("o4", "loyal", "2024-06-01 12:00", 99.0, status="refunded"),
            order("o5", "fresh", "2024-06-20 08:00", 88.0, channel="store"),
            order("o6", "lapsed", "2023-09-01 10:00", 50.0),
            order("o7", "lapsed", "2023-12-13 10:00", 70.0),
            order("o8", "sleeper", "2023-02-16 10:00", 30.0),
            order("o9", "future", "2024-07-02 10:00", 500.0),
        ],
    )
    insert(
        s,
        "events",
        [
            *[
                event(f"s{i}", "fan", f"2024-06-{10 + i:02d} 10:00", "share", channel="weibo")
                for i in range(6)
            ],
            event("r1", "fan", "2024-06-15 10:00", "referral", target_customer_id="fresh"),
            event("l1", "lapsed", "2024-03-22 10:00", "like"),
            event("f1", "lurker", "2024-06-10 10:00", "follow"),
            event("c1", "loyal", "2024-06-01 10:00", "campaign_send"),
            event("c2", "loyal", "2024-06-03 10:00", "campaign_click"),
            event("c3", "loyal", "2024-06-20 10:00", "campaign_send"),
            event("x1", "future", "2024-07-05 10:00", "like"),
        ],
    )
    return s
