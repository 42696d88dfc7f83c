"""Date and churn triggers on a hand-made shop: birthdays (yearly, 29 February), N days after
the first order, churn events filtered by channel, and a playbook action without a webhook."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tierwise.project import Project
from tinyshop import event, insert, order, ts

BIRTHDAYS = {
    "ann": "1990-06-15",  # in (06-01, 06-30]: fires
    "bob": "1985-06-01",  # on the previous snapshot's day: already past
    "cat": "1992-02-29",  # 29 February: not in June
    "dan": "1988-07-01",  # after the snapshot
}

FLOWS = """\
flows:
  birthday:
    trigger: {kind: date, attribute: birthday, yearly: true}
    action: {rule: true_friend_care}
  first_order_14d:
    trigger: {kind: date, column: first_order_at, after_days: 14}
    action: {webhook: "http://127.0.0.1:9/h"}
  wecom_removed:
    trigger: {kind: churn_signal, channels: [wecom]}
    action: {webhook: "http://127.0.0.1:9/h"}
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    p = Project.init(tmp_path_factory.mktemp("handmade") / "shop")
    insert(p.store, "customers", [
        {"customer_id": c, "first_seen": ts("2022-01-01"),
         "attributes": json.dumps({"birthday": b})} for c, b in BIRTHDAYS.items()
    ] + [{"customer_id": "eve", "first_seen": ts("2022-01-01")}])  # fmt: skip
    insert(p.store, "orders", [
        order("o1", "ann", "2024-05-20 10:00", 100.0),  # +14 d = 06-03: fires
        order("o2", "bob", "2024-05-10 10:00", 80.0),  # +14 d = 05-24: before
        order("o3", "cat", "2024-06-20 10:00", 50.0),  # +14 d = 07-04: after
        order("o4", "dan", "2023-01-01 10:00", 30.0),
    ])  # fmt: skip
    insert(p.store, "events", [
        event("e1", "ann", "2024-06-10 09:00", "contact_removed", channel="wecom"),
        event("e2", "bob", "2024-06-11 09:00", "unfollow", channel="wechat_official"),
        event("e3", "eve", "2024-05-30 09:00", "contact_removed", channel="wecom"),  # before
        event("e4", "dan", "2024-06-29 23:59", "contact_removed", channel="wecom"),
    ])  # fmt: skip
    p.run(dt.date(2024, 6, 1))
    (p.directory / "flows.yaml").write_text(FLOWS, encoding="utf-8")
    p.run(dt.date(2024, 6, 30))
    rows = p.store.arrow("SELECT * FROM flow_outbox").to_pylist()
    p.close()
    return rows


def fired(rows, flow):
    return {r["customer_id"] for r in rows if r["flow"] == flow}


def test_birthdays(shop):
    assert fired(shop, "birthday") == {"ann"}
    row = next(r for r in shop if r["flow"] == "birthday")
    assert row["status"] in ("recorded", "control") and row["url"] is None
    assert json.loads(row["detail"])["due"] == "2024-06-15"


def test_days_after_first_order(shop):
    assert fired(shop, "first_order_14d") == {"ann"}


def test_churn_events_on_one_channel(shop):
    assert fired(shop, "wecom_removed") == {"ann", "dan"}
    refs = {json.loads(r["payload"])["trigger"]["event_type"] for r in shop
            if r["flow"] == "wecom_removed"}  # fmt: skip
    assert refs == {"contact_removed"}


def test_a_bad_flow_file_keeps_the_snapshot_and_says_what_to_do(tmp_path):
    from tierwise.errors import TierwiseError

    p = Project.init(tmp_path / "shop")
    insert(p.store, "customers", [{"customer_id": "ann", "first_seen": ts("2022-01-01")}])
    insert(p.store, "orders", [order("o1", "ann", "2024-05-20 10:00", 100.0)])
    (p.directory / "flows.yaml").write_text(FLOWS.replace("kind: date", "kind: dates"), "utf-8")
    with pytest.raises(TierwiseError) as exc:
        p.run(dt.date(2024, 6, 1))
    assert str(exc.value).startswith("the snapshot as of 2024-06-01 is stored, but its flows "
                                     "were not evaluated: ")  # fmt: skip
    assert "flows.yaml:3:21: flows.birthday.trigger.kind" in str(exc.value)
    assert "tierwise flows enqueue --as-of 2024-06-01" in str(exc.value)
    assert p.snapshots() == [dt.date(2024, 6, 1)]
    p.close()
