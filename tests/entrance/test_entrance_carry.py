"""Entrance columns carried over on a daily run equal those read from every row: after
back-filled touches, orders and customers changed in place and new customers; and read for
everyone when who a changed row named before cannot be known."""

from __future__ import annotations

import datetime as dt
import json
import re

import pyarrow as pa
import pytest

import tierwise
from tierwise.entrance import ENTRANCE_COLUMNS
from tierwise.io import import_frame
from tierwise.schema import ENTITIES

D1, D2, D3 = dt.date(2024, 3, 10), dt.date(2024, 3, 11), dt.date(2024, 3, 12)
SETTINGS = "clv: {enabled: false}\ntags: {enabled: false}\nsatisfaction: {enabled: false}\n"
COLUMNS = ["customer_id", *ENTRANCE_COLUMNS, "signup_purpose", "signup_skin_type"]


def _at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2024, 3, 1, hour) + dt.timedelta(days=day - 1)


def _table(entity: str, rows: list[dict]) -> pa.Table:
    ent = ENTITIES[entity]
    rows = [{**r, "attributes": json.dumps(r["attributes"]) if "attributes" in r else None}
            for r in rows]  # fmt: skip
    return pa.Table.from_pylist(
        [{c: r.get(c) for c in ent.column_names} for r in rows], schema=ent.arrow_schema()
    )


def _customer(cid: str, day: int, **extra) -> dict:
    return {"customer_id": cid, "first_seen": _at(day, 9), **extra}


def _order(oid: str, cid: str, day: int, status: str = "paid", **extra) -> dict:
    return {"order_id": oid, "customer_id": cid, "paid_at": _at(day), "amount": 100.0,
            "status": status, **extra}  # fmt: skip


def _event(eid: str, cid: str, day: int, etype: str, **extra) -> dict:
    return {"event_id": eid, "customer_id": cid, "occurred_at": _at(day), "event_type": etype,
            **extra}  # fmt: skip


ORDER_O2 = {"attributes": {"distributor_id": "d2"}}


@pytest.fixture
def project(tmp_path):
    home = tmp_path / "shop"
    tierwise.Project.init(home).close()
    (home / "tierwise.yaml").write_text(SETTINGS, encoding="utf-8")
    p = tierwise.Project(home)
    import_frame(p.store, "customers", _table("customers", [
        _customer("a", 1, attributes={"qr_code": "store_a", "purpose": "gift"}),
        _customer("b", 1), _customer("c", 1, referrer_id="a"),
        _customer("d", 2, attributes={"utm_source": "xhs"}), _customer("e", 2),
    ]))  # fmt: skip
    import_frame(p.store, "orders", _table("orders", [
        _order("o1", "a", 1, attributes={"distributor_id": "d1"}),
        _order("o2", "b", 5, **ORDER_O2),
        _order("o3", "e", 11, attributes={"distributor_id": "d3"}),  # the next day's
    ]))  # fmt: skip
    import_frame(p.store, "events", _table("events", [
        _event("v1", "a", 2, "referral", target_customer_id="b"),
        _event("v2", "d", 3, "livestream_visit", channel="live_1"),
        _event("v3", "c", 11, "livestream_visit", channel="live_2"),  # the next day's
        _event("v4", "a", 4, "view"),
    ]))  # fmt: skip
    p.run(as_of=D1)
    yield p
    p.close()


def _entrance_note(run) -> str:
    return next(n for n in run.notes if n.startswith("entrance:"))


def _assert_equal_to_reading_everything(p, as_of: dt.date) -> None:
    carried = p.store.read_profiles(as_of).select(COLUMNS)
    home = p.directory
    p.close()
    # every row read from the events themselves, not from the rollups
    (home / "tierwise.yaml").write_text(SETTINGS + "features: {rollups: false}\n", "utf-8")
    with tierwise.Project(home) as full_run:
        run = full_run.run(as_of=as_of)
        assert run.features["carried_from"] is None and run.features["rollups"] is None
        full = full_run.store.read_profiles(as_of).select(COLUMNS)
    (home / "tierwise.yaml").write_text(SETTINGS, encoding="utf-8")
    assert carried.sort_by("customer_id").equals(full.sort_by("customer_id"))
    with tierwise.Project(home) as again:  # the snapshot a later day carries over from
        again.run(as_of=as_of)


def test_new_changed_and_back_filled_touches_are_read_again(project):
    p = project
    import_frame(p.store, "events", _table("events", [
        _event("v5", "a", 1, "referral", target_customer_id="e"),  # back-filled
    ]))  # fmt: skip
    refunded = _order("o2", "b", 5, "refunded", **ORDER_O2)
    import_frame(p.store, "orders", _table("orders", [refunded]),
                 options={"on_conflict": "update"})  # fmt: skip
    import_frame(p.store, "customers", _table("customers", [
        _customer("d", 2, attributes={"utm_source": "xhs", "skin_type": "dry"}),
        _customer("f", 11, attributes={"qr_code": "store_f"}),
    ]), options={"on_conflict": "update"})  # fmt: skip
    run = p.run(as_of=D2)
    assert run.features["carried_from"] == D1.isoformat()
    note = _entrance_note(run)
    # b: its order refunded; c: a livestream that day; d: changed sign-up; e: back-filled
    # referral and an order that day; f: new; a: its history changed (the referral it sent)
    # in a run with rows changed in place
    assert re.match(r"entrance: 6 customers' entrances read again", note), note
    got = {r["customer_id"]: r for r in p.store.read_profiles(D2).select(COLUMNS).to_pylist()}
    assert (
        got["e"]["entrance_channel"] == "referral" and got["e"]["latest_channel"] == "distributor"
    )
    assert got["b"]["entrance_channel"] == "referral" and got["b"]["latest_channel"] == "referral"
    assert got["c"]["latest_channel"] == "livestream:live_2"
    assert (
        got["d"]["signup_skin_type"] == "dry" and got["f"]["entrance_channel"] == "qr_code:store_f"
    )
    _assert_equal_to_reading_everything(p, D2)


def test_an_event_changed_in_place_is_read_for_everyone(project):
    p = project
    import_frame(p.store, "events", _table("events", [
        _event("v1", "a", 2, "referral", target_customer_id="c"),  # b no longer referred
    ]), options={"on_conflict": "update"})  # fmt: skip
    run = p.run(as_of=D2)
    assert run.features["carried_from"] == D1.isoformat()
    assert _entrance_note(run) == (
        f"entrance: read for everyone (an import since {D1} changed events rows in place, "
        "and a source reads them for another customer than their own)"
    )
    got = {r["customer_id"]: r for r in p.store.read_profiles(D2).select(COLUMNS).to_pylist()}
    assert got["b"]["entrance_channel"] == "distributor"
    _assert_equal_to_reading_everything(p, D2)


def test_customers_written_outside_the_importer_are_read_for_everyone(project):
    p = project
    p.store.con.execute(
        "INSERT INTO customers (customer_id, first_seen, attributes) "
        """VALUES ('g', '2024-03-11 08:00', '{"store": "west"}')"""
    )
    run = p.run(as_of=D2)
    assert _entrance_note(run).startswith("entrance: read for everyone (customers rows were")
    _assert_equal_to_reading_everything(p, D2)
    with tierwise.Project(p.directory) as again:
        # the next day is carried over again
        run = again.run(as_of=D3)
        assert "carried over from the snapshot as of 2024-03-11" in _entrance_note(run)
