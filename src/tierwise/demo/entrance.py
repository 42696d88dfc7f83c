"""Planted entrance channels, sign-up answers and distributors for the demo shop, with truth.

`plant_entrance` adds to a generated `DemoShop`, without touching any column a feature reads:

- each customer's entrance — a channel live-code (``qr_code``), a UTM parameter (``utm_source``),
  an offline store (``store``) or a livestream room (``livestream_room``) — in the customers'
  ``attributes`` (customers who were referred keep their referrer as the entrance). The
  channel depends on the planted archetype: loyal archetypes come more often through store
  live-codes and stores, butterflies and strangers through ads, so the entrance report has
  something true to find;
- sign-up answers under the keys the default entrance segments read (``baby_age`` from the
  child's age answer, ``purpose``, ``skin_type``);
- a distributor for every order of the ``distributor`` channel: 70 % name it in the order's
  attributes (``distributor_id``), the others follow a ``distributor_link`` event of the
  buyer, 1-10 days before, naming it (a type no feature counts).

The truth is in ``extras``: ``entrance_truth`` (customer, planted channel and kind) and
``distributor_truth`` (order, distributor, how it is named).
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tierwise.demo import DemoShop
from tierwise.schema import EVENTS

__all__ = ["ENTRANCES", "plant_entrance"]

ENTRANCES: dict[str, tuple[str, str]] = {
    "qr_code:门店海报活码": ("qr_code", "门店海报活码"),
    "qr_code:包裹卡活码": ("qr_code", "包裹卡活码"),
    "utm:douyin_ad": ("utm_source", "douyin_ad"),
    "utm:xhs_note": ("utm_source", "xhs_note"),
    "offline_store:西湖店": ("store", "西湖店"),
    "livestream:周四宝妈专场": ("livestream_room", "周四宝妈专场"),
}
"""Planted channels (``KIND:VALUE``) -> (attributes key, value)."""

_LOYAL = ("true_friend", "barnacle")
_FICKLE = ("butterfly", "stranger", "deal_hunter")
# Probability of each entrance (in ENTRANCES order) and of none, by archetype group.
_P = {
    "loyal": [0.30, 0.25, 0.05, 0.05, 0.20, 0.05, 0.10],
    "fickle": [0.05, 0.05, 0.35, 0.25, 0.03, 0.12, 0.15],
    "other": [0.12, 0.10, 0.15, 0.15, 0.08, 0.15, 0.25],
}


def _merge(raw: str | None, extra: dict[str, str]) -> str | None:
    form = json.loads(raw) if raw else {}
    form.update(extra)
    return json.dumps(form, ensure_ascii=False) if form else None


def plant_entrance(shop: DemoShop, *, seed: int = 0, n_distributors: int = 40) -> DemoShop:
    """The shop with entrance channels, sign-up answers and distributors planted.

    Parameters
    ----------
    shop : DemoShop
        A generated shop (`tierwise.demo.generate_shop`).
    seed : int
        Seed of the planting (the shop keeps its own).
    n_distributors : int
        How many customers act as distributors (the KOLs and creators first).

    Returns
    -------
    DemoShop
        A copy with new customers/orders/events tables and ``entrance_truth`` and
        ``distributor_truth`` in ``extras``; the three tables keep their canonical schemas.
    """
    rng = np.random.default_rng(seed)
    cust = shop.customers
    ids = cust["customer_id"].to_pylist()
    arch = dict(zip(shop.truth["customer_id"].to_pylist(), shop.truth["archetype"].to_pylist(),
                    strict=True))  # fmt: skip
    referred = cust["referrer_id"].is_valid().to_numpy(zero_copy_only=False)
    keys = list(ENTRANCES)
    attrs, planted, kinds = [], [], []
    for i, (cid, raw) in enumerate(zip(ids, cust["attributes"].to_pylist(), strict=True)):
        group = "loyal" if arch[cid] in _LOYAL else "fickle" if arch[cid] in _FICKLE else "other"
        pick = rng.choice(len(keys) + 1, p=_P[group])
        extra: dict[str, str] = {}
        if referred[i]:
            planted.append(None)
            kinds.append("referral")
        elif pick < len(keys):
            key, value = ENTRANCES[keys[pick]]
            extra[key] = value
            planted.append(keys[pick])
            kinds.append(keys[pick].split(":")[0])
        else:
            planted.append(None)
            kinds.append(None)
        form = json.loads(raw) if raw else {}
        if "孩子年龄" in form:
            extra["baby_age"] = form["孩子年龄"]
        if form and rng.random() < 0.15:
            extra["purpose"] = "送礼"
        elif form:
            extra["purpose"] = "自用"
        if form and rng.random() < 0.1:
            extra["skin_type"] = str(rng.choice(["干性", "油性", "混合", "敏感肌"]))
        attrs.append(_merge(raw, extra))
    customers = cust.set_column(
        cust.schema.get_field_index("attributes"), cust.schema.field("attributes"),
        pa.array(attrs, pa.string()),
    )  # fmt: skip
    entrance_truth = pa.table({"customer_id": ids, "planted_channel": planted,
                               "planted_kind": kinds})  # fmt: skip

    # distributors: the KOLs and creators first, then anyone, in a fixed order
    behaviour = shop.truth["behaviour_types"].to_pylist()
    ranked = sorted(
        range(len(ids)),
        key=lambda i: (
            0 if "kol" in behaviour[i] else 1 if "creator" in behaviour[i] else 2,
            ids[i],
        ),
    )
    pool = [shop.truth["customer_id"][i].as_py() for i in ranked[:n_distributors]]
    orders = shop.orders
    is_dist = pc.equal(orders["channel"], "distributor").to_numpy(zero_copy_only=False)
    is_dist &= orders["channel"].is_valid().to_numpy(zero_copy_only=False)
    o_attrs = orders["attributes"].to_pylist()
    o_ids = orders["order_id"].to_pylist()
    o_cust = orders["customer_id"].to_pylist()
    o_paid = orders["paid_at"].to_pylist()
    truth_rows, new_events = [], []
    for j in np.flatnonzero(is_dist):
        dist = pool[int(rng.integers(len(pool)))]
        if dist == o_cust[j]:
            continue
        if rng.random() < 0.7:
            o_attrs[j] = _merge(o_attrs[j], {"distributor_id": dist})
            truth_rows.append((o_ids[j], dist, "order"))
        else:
            at = o_paid[j] - np.timedelta64(int(rng.integers(86_400, 10 * 86_400)), "s")
            new_events.append({
                "event_id": f"DL{o_ids[j]}", "customer_id": o_cust[j], "occurred_at": at,
                "event_type": "distributor_link", "channel": "wechat_moments",
                "attributes": json.dumps({"distributor_id": dist}),
            })  # fmt: skip
            truth_rows.append((o_ids[j], dist, "link"))
    orders = orders.set_column(
        orders.schema.get_field_index("attributes"), orders.schema.field("attributes"),
        pa.array(o_attrs, pa.string()),
    )  # fmt: skip
    links = pa.Table.from_pylist(
        [{c: e.get(c) for c in EVENTS.column_names} for e in new_events],
        schema=EVENTS.arrow_schema(),
    )
    events = pa.concat_tables([shop.events, links]).sort_by(
        [("occurred_at", "ascending"), ("event_id", "ascending")]
    )
    distributor_truth = pa.table({
        "order_id": [r[0] for r in truth_rows], "distributor_id": [r[1] for r in truth_rows],
        "named_by": [r[2] for r in truth_rows],
    })  # fmt: skip
    extras = {**shop.extras, "entrance_truth": entrance_truth,
              "distributor_truth": distributor_truth}  # fmt: skip
    return dataclasses.replace(shop, customers=customers, orders=orders, events=events,
                               extras=extras)  # fmt: skip
