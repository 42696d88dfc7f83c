"""The demo shop: generation."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping

import numpy as np
import pyarrow as pa

from tierwise.demo.codes import (
    _AGE_BANDS,
    _AGE_P_BY_PERSONA,
    _CITIES,
    _E,
    _ETYPES,
    _EVENT_CHANNEL_P,
    _EVENT_CHANNELS,
    _FEMALE_P_BY_PERSONA,
    _MEMBER_LEVELS,
    _ORDER_CHANNELS,
    _STATUSES,
    _TEXT_MESSAGE,
    _TEXT_REVIEW,
    _W_MIN,
)
from tierwise.demo.kinds import _KINDS
from tierwise.demo.planner import _Planner
from tierwise.demo.shop import DemoShop
from tierwise.demo.text import (
    _CAMPAIGNS,
    _CATEGORIES,
    _CATEGORY_BY_PERSONA,
    _attribute_pool,
    _text_pool,
)
from tierwise.demo.vectors import (
    _id_array,
    _id_matrix,
    _rows,
    _strings,
    _take,
    _time_order,
    _uniform,
)
from tierwise.demo.vocabulary import (
    ARCHETYPES,
    BEHAVIOUR_TYPES,
    INTENTION_HALF_LIFE_DAYS,
    PERSONAS,
    TRUTH_SCHEMA,
)
from tierwise.errors import ConfigError
from tierwise.schema import CUSTOMERS, EVENTS, ORDERS


def generate_shop(
    n_customers: int = 20_000,
    *,
    seed: int = 7,
    as_of: dt.date = dt.date(2025, 12, 31),
    years: int = 3,
    mix: Mapping[str, float] | None = None,
    orders_per_customer: float | None = None,
    events_per_customer: float | None = None,
) -> DemoShop:
    """Generate a demo shop with planted ground truth.

    Parameters
    ----------
    n_customers : int
        Number of customers (at least 100).
    seed : int
        Random seed; the same arguments always give the same shop.
    as_of : datetime.date
        Last day of the data; every timestamp falls on or before it.
    years : int
        Length of the history (at least 2).
    mix : mapping of str to float, optional
        Relative weight of each archetype (names of :data:`ARCHETYPES`); missing names get
        weight 0. Defaults to :data:`ARCHETYPES`.
    orders_per_customer : float, optional
        Target average number of orders (all statuses) per customer; regular buyers
        get more orders to reach it. Default: the natural mix, about 4.
    events_per_customer : float, optional
        Target average number of events per customer, reached with extra page views.
        Default: the natural mix.

    Returns
    -------
    DemoShop
        The tables and the truth.

    Raises
    ------
    ConfigError
        On arguments out of range or an unknown archetype.
    """
    if n_customers < 100:
        raise ConfigError(f"n_customers must be at least 100, got {n_customers}")
    if years < 2:
        raise ConfigError(f"years must be at least 2, got {years}")
    mix = dict(ARCHETYPES if mix is None else mix)
    unknown = set(mix) - set(ARCHETYPES)
    if unknown:
        raise ConfigError(f"unknown archetypes in mix: {', '.join(sorted(unknown))}")
    if sum(max(0.0, float(v)) for v in mix.values()) <= 0:
        raise ConfigError("mix must give a positive weight to at least one archetype")

    rng = np.random.default_rng(seed)
    n = int(n_customers)
    plan = _Planner(n, rng, years, mix)
    paid_orders = plan.paid_orders(orders_per_customer)
    o = plan.all_orders(paid_orders)
    e = plan.events(paid_orders, o, events_per_customer)
    del paid_orders
    e = plan.calibrated_events(e, events_per_customer)
    score = np.bincount(
        e["cust"],
        _W_MIN[e["etype"]] * np.exp2(-e["age"] / INTENTION_HALF_LIFE_DAYS),
        minlength=n,
    )

    # ---- tables ---------------------------------------------------------------------------
    first_age = plan.first_age
    np.maximum.at(first_age, e["cust"], e["age"])
    np.maximum.at(first_age, o["cust"], o["age"])

    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    end_s = int((end - dt.datetime(1970, 1, 1)).total_seconds())

    def stamp(age: np.ndarray) -> np.ndarray:
        return (end_s - np.ceil(age * 86400.0).astype(np.int64)) * 1_000_000

    cids = _id_matrix("C", np.arange(1, n + 1), max(6, len(str(n))))
    persona, price_sensitive = plan.persona, plan.price_sensitive
    truth = _truth_table(plan.kinds, _strings(cids), persona, price_sensitive, score)
    customers = _customers_table(
        rng,
        cids,
        stamp(first_age),
        persona,
        price_sensitive,
        plan.referrer_of,
        np.bincount(o["cust"][o["status"] == 0], minlength=n),
    )
    o["paid_at"] = stamp(o.pop("age"))
    orders_t = _orders_table(rng, cids, o, plan.arch, persona)
    del o
    e_time = stamp(e.pop("age"))
    events_t = _events_table(rng, cids, e, e_time, persona, price_sensitive, seed)
    return DemoShop(
        customers=customers,
        orders=orders_t,
        events=events_t,
        truth=truth,
        as_of=as_of,
        seed=seed,
        params={
            "n_customers": n,
            "years": years,
            "mix": mix,
            "orders_per_customer": orders_per_customer,
            "events_per_customer": events_per_customer,
        },
    )


def _truth_table(
    kinds: np.ndarray,
    customer_ids: pa.Array,
    persona: np.ndarray,
    price_sensitive: np.ndarray,
    score: np.ndarray,
) -> pa.Table:
    """The planted labels of every customer."""
    behaviour_names = pa.array(
        [";".join(b for i, b in enumerate(BEHAVIOUR_TYPES) if bits >> i & 1) for bits in range(16)]
    )

    def col(attr: str) -> pa.Array:
        return pa.array([getattr(k, attr) for k in _KINDS], pa.string()).take(pa.array(kinds))

    return pa.Table.from_arrays(
        [
            customer_ids,
            col("archetype"),
            col("lifecycle"),
            behaviour_names.take(pa.array(np.array([k.behaviour for k in _KINDS])[kinds])),
            col("quadrant"),
            col("intention"),
            col("rfm"),
            pa.array(PERSONAS).take(pa.array(persona)),
            pa.array(price_sensitive, pa.int8()),
            pa.array(np.round(score, 4)),
        ],
        schema=TRUTH_SCHEMA,
    )


def _customers_table(
    rng: np.random.Generator,
    cids: np.ndarray,
    first_seen: np.ndarray,
    persona: np.ndarray,
    price_sensitive: np.ndarray,
    referrer_of: np.ndarray,
    n_paid: np.ndarray,
) -> pa.Table:
    """The customers table."""
    n = cids.shape[0]
    female = rng.random(n) < _FEMALE_P_BY_PERSONA[persona]
    gender = _take(pa.array(["男", "女"]), female.astype(np.int64), rng.random(n) > 0.08)
    city_w = np.array([c[2] for c in _CITIES])
    city = rng.choice(len(_CITIES), size=n, p=city_w / city_w.sum())
    city_known = rng.random(n) > 0.05
    cities = _take(pa.array([c[0] for c in _CITIES]), city, city_known)
    tiers = _take(pa.array([c[1] for c in _CITIES]), city, city_known)
    cum = np.cumsum(_AGE_P_BY_PERSONA, axis=1)[persona]
    band = (rng.random(n)[:, None] > cum).sum(axis=1).clip(max=len(_AGE_BANDS) - 1)
    age_band = _take(pa.array(_AGE_BANDS), band, rng.random(n) > 0.1)
    level = np.searchsorted([3, 6, 15], n_paid, side="right")
    member = (n_paid > 0) & (rng.random(n) > 0.2)
    member_level = _take(pa.array(_MEMBER_LEVELS), level, member)
    has_referrer = referrer_of >= 0
    referrer = _strings(_rows(cids, np.where(has_referrer, referrer_of, 0)), has_referrer)
    attr_pool, starts, sizes = _attribute_pool()
    g = persona.astype(np.int64) * 2 + price_sensitive
    idx = starts[g] + (rng.random(n) * sizes[g]).astype(np.int64)
    attributes = _take(attr_pool, idx, rng.random(n) < 0.3)
    return pa.Table.from_arrays(
        [
            _strings(cids),
            pa.array(first_seen, pa.timestamp("us")),
            gender,
            cities,
            tiers,
            age_band,
            member_level,
            referrer,
            attributes,
        ],
        schema=CUSTOMERS.arrow_schema(),
    )


_CHUNK = 2_000_000


def _orders_table(
    rng: np.random.Generator,
    cids: np.ndarray,
    o: dict[str, np.ndarray],
    arch: np.ndarray,
    persona: np.ndarray,
) -> pa.Table:
    """The orders table, in payment order."""
    cust, paid_at, amount = o["cust"], o["paid_at"], o["amount"]
    channel, status, coupon = o["channel"], o["status"], o["coupon"]
    order = _time_order(paid_at)
    m = cust.size
    width = max(8, len(str(m)))
    channel_names = pa.array(_ORDER_CHANNELS)
    status_names = pa.array(_STATUSES)
    cat_pool = pa.array([json.dumps({"品类": c}, ensure_ascii=False) for c in _CATEGORIES])
    cat_of_persona = np.array([-1 if c is None else c for c in _CATEGORY_BY_PERSONA])
    tf, barnacle = list(ARCHETYPES).index("true_friend"), list(ARCHETYPES).index("barnacle")
    schema = ORDERS.arrow_schema()
    batches = []
    for lo in range(0, max(m, 1), _CHUNK):
        idx = order[lo : lo + _CHUNK]
        k = idx.size
        c = cust[idx]
        amt = np.round(amount[idx], 2)
        margin_known = rng.random(k) < 0.88
        margin = np.round(amt * _uniform(rng, 0.2, 0.5, k), 2)
        lam = np.where(arch[c] == tf, 1.5, np.where(arch[c] == barnacle, 0.3, 0.6))
        cat_p = cat_of_persona[persona[c]]
        cat = np.where(
            (cat_p >= 0) & (rng.random(k) < 0.6), cat_p, rng.integers(0, len(_CATEGORIES), k)
        )
        batches.append(
            pa.RecordBatch.from_arrays(
                [
                    _id_array("O", np.arange(lo + 1, lo + k + 1), width),
                    _strings(_rows(cids, c)),
                    pa.array(paid_at[idx], pa.timestamp("us")),
                    pa.array(amt),
                    pa.array(margin, mask=~margin_known),
                    pa.array(np.round(amt - margin, 2), mask=~margin_known),
                    channel_names.take(pa.array(channel[idx])),
                    pa.array(coupon[idx], pa.bool_()),
                    pa.array(1 + rng.poisson(lam), pa.int64()),
                    status_names.take(pa.array(status[idx])),
                    _take(cat_pool, cat, rng.random(k) < 0.3),
                ],
                schema=schema,
            )
        )
    return pa.Table.from_batches(batches, schema=schema)


def _channel_picker() -> tuple[np.ndarray, np.ndarray]:
    """Breakpoints and channel codes to draw an event's channel from ``etype + u``."""
    edges: list[float] = []
    codes: list[int] = []
    for t, name in enumerate(_ETYPES):
        probs = _EVENT_CHANNEL_P[name]
        p = np.array(list(probs.values()))
        cum = np.cumsum(p / p.sum())
        cum[-1] = 1.0
        edges += list(t + cum)
        codes += [_EVENT_CHANNELS.index(c) for c in probs]
    return np.array(edges), np.array(codes, np.int8)


def _events_table(
    rng: np.random.Generator,
    cids: np.ndarray,
    e: dict[str, np.ndarray],
    occurred_at: np.ndarray,
    persona: np.ndarray,
    price_sensitive: np.ndarray,
    seed: int,
) -> pa.Table:
    """The events table, in time order, with channels and texts."""
    order = _time_order(occurred_at)
    m = order.size
    edges, channel_codes = _channel_picker()
    text_pool, size = _text_pool(seed)
    review_types = np.array([_E[t] for t in _TEXT_REVIEW])
    message_types = np.array([_E[t] for t in _TEXT_MESSAGE])
    campaign_types = np.array([_E[t] for t in ("campaign_send", "campaign_open", "campaign_click")])
    camp_pool = pa.array([json.dumps({"campaign": c}, ensure_ascii=False) for c in _CAMPAIGNS])
    type_names = pa.array(_ETYPES)
    channel_names = pa.array(_EVENT_CHANNELS)
    width = max(9, len(str(m)))
    schema = EVENTS.arrow_schema()
    batches = []
    for lo in range(0, max(m, 1), _CHUNK):
        idx = order[lo : lo + _CHUNK]
        k = idx.size
        c, et, tg = e["cust"][idx], e["etype"][idx], e["target"][idx]
        channel = channel_codes[np.searchsorted(edges, et + rng.random(k), side="right")]
        is_message = np.isin(et, message_types)
        has_text = (np.isin(et, review_types) | is_message) & (rng.random(k) < 0.9)
        group = is_message * 10 + persona[c].astype(np.int64) * 2 + price_sensitive[c]
        text_idx = group * size + (rng.random(k) * size).astype(np.int64)
        has_target = tg >= 0
        batches.append(
            pa.RecordBatch.from_arrays(
                [
                    _id_array("E", np.arange(lo + 1, lo + k + 1), width),
                    _strings(_rows(cids, c)),
                    pa.array(occurred_at[idx], pa.timestamp("us")),
                    type_names.take(pa.array(et)),
                    channel_names.take(pa.array(channel)),
                    _take(text_pool, text_idx, has_text),
                    _strings(_rows(cids, np.where(has_target, tg, 0)), has_target),
                    _take(
                        camp_pool, rng.integers(0, len(_CAMPAIGNS), k), np.isin(et, campaign_types)
                    ),
                ],
                schema=schema,
            )
        )
    return pa.Table.from_batches(batches, schema=schema)
