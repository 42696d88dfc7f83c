"""The demo shop: generation."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from tierwise.demo.accumulators import _Events, _Orders
from tierwise.demo.codes import _E, _INTERACTIONS, _OC, _W_MAX, _W_MIN
from tierwise.demo.kinds import _ACTIVE, _CREATOR, _KINDS, _KOL, _PERSONA_P, _PRICE_SENSITIVE
from tierwise.demo.vectors import (
    _group_cumsum,
    _largest_remainder,
    _pick,
    _spread,
    _uniform,
    _within,
)
from tierwise.demo.vocabulary import (
    _HIGH_MIN,
    _LOW_MAX,
    _MEDIUM_MAX,
    _MEDIUM_MIN,
    ARCHETYPES,
    INTENTION_GRADES,
    INTENTION_HALF_LIFE_DAYS,
    PERSONAS,
)
from tierwise.errors import ConfigError


def _assign_kinds(rng: np.random.Generator, n: int, mix: Mapping[str, float]) -> np.ndarray:
    """Kind code of every customer, in shuffled order."""
    names = list(ARCHETYPES)
    weights = np.array([float(mix.get(a, 0.0)) for a in names])
    per_arch = _largest_remainder(n, weights, minimum=1)
    codes: list[np.ndarray] = []
    for a, count in zip(names, per_arch, strict=True):
        ks = [i for i, k in enumerate(_KINDS) if k.archetype == a]
        split = _largest_remainder(int(count), np.array([_KINDS[i].share for i in ks]))
        codes += [np.full(c, i, np.int16) for i, c in zip(ks, split, strict=True)]
    kinds = np.concatenate(codes)
    return kinds[rng.permutation(n)]


def _regular_plan(
    rng: np.random.Generator, m: int, horizon: float, large: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order count, interval and last-order age of regular buyers."""
    if large:
        p = _uniform(rng, 15.0, 45.0, m)
        last = _uniform(rng, 1.0, 45.0, m)
        n = 6 + rng.poisson(5.0, m)
    else:
        p = _uniform(rng, 14.0, 60.0, m)
        last = _uniform(rng, 1.0, 60.0, m)
        n = 6 + rng.poisson(6.0, m)
    n_max = np.floor((horizon - 5.0 - last) / (1.2 * p)).astype(np.int64) + 1
    return np.maximum(np.minimum(n, n_max), 6), p, last


class _Planner:
    """Per-customer plan of a shop: archetype variant, persona, first sight, orders, events.

    Ages are in days before the end of ``as_of``; every method draws from ``rng`` in a fixed
    order, so a seed fixes the shop.
    """

    def __init__(self, n: int, rng: np.random.Generator, years: int, mix: Mapping[str, float]):
        self.rng, self.n, self.horizon = rng, n, 365.0 * years
        kinds = _assign_kinds(rng, n, mix)
        self.kinds = kinds
        self.arch = np.array([list(ARCHETYPES).index(k.archetype) for k in _KINDS])[kinds]
        self.shape_of = np.array([k.shape for k in _KINDS])[kinds]
        self.intent = np.array([INTENTION_GRADES.index(k.intention) for k in _KINDS])[kinds]
        self.behaviour = np.array([k.behaviour for k in _KINDS])[kinds]
        self.long_silent = self.arch == list(ARCHETYPES).index("long_silent")
        self.persona = rng.choice(len(PERSONAS), size=n, p=_PERSONA_P).astype(np.int8)
        ps_rate = np.array([_PRICE_SENSITIVE[a] for a in ARCHETYPES])[self.arch]
        ps_rate = np.where(self.persona == 2, np.minimum(ps_rate + 0.2, 0.95), ps_rate)
        self.price_sensitive = (rng.random(n) < ps_rate).astype(np.int8)
        self.first_age = np.zeros(n)  # planned first sight, later the earliest activity
        self.referrer_of = np.full(n, -1, np.int64)
        self.ev = _Events()

    def members(self, *shapes: str) -> np.ndarray:
        """Customers whose order shape is one of ``shapes``."""
        return np.flatnonzero(np.isin(self.shape_of, shapes))

    def paid_orders(self, orders_per_customer: float | None) -> tuple[np.ndarray, ...]:
        """Paid orders by shape: customer, age, amount, channel (-1: to draw).

        Deal hunters' campaign sends are planted here too (they share the 14-day grid).
        """
        rng, n, horizon = self.rng, self.n, self.horizon
        arch, shape_of, first_age = self.arch, self.shape_of, self.first_age
        orders = _Orders()
        # ---- order shapes -----------------------------------------------------------------
        reg_small = self.members("small")
        reg_large = self.members("large")
        plan_small = _regular_plan(rng, reg_small.size, horizon, large=False)
        plan_large = _regular_plan(rng, reg_large.size, horizon, large=True)

        deal = self.members("deal")
        deal_n = rng.integers(3, 6, deal.size)
        few = self.members("few_large")
        few_n = rng.integers(2, 4, few.size)
        lapsed = self.members("lapsed")
        lapsed_n = rng.integers(2, 6, lapsed.size)
        old = self.members("old")
        old_n = rng.integers(1, 4, old.size)
        single = self.members("single_recent", "single_old")

        fixed = deal_n.sum() + few_n.sum() + lapsed_n.sum() + old_n.sum() + single.size
        scalable = plan_small[0].sum() + plan_large[0].sum()
        scale = 1.0
        if orders_per_customer is not None and scalable > 0:
            wanted = orders_per_customer * n / 1.065  # refunds and cancellations come on top
            scale = max(0.1, (wanted - fixed) / scalable)

        def place_regular(idx: np.ndarray, plan, large: bool) -> None:
            cnt, p, last = plan
            tenure = p * (cnt - 1)
            cnt = np.maximum(np.rint(cnt * scale).astype(np.int64), 6)
            p = tenure / (cnt - 1)
            rep = np.repeat(np.arange(idx.size), cnt)
            k = _within(cnt)
            age = last[rep] + p[rep] * k + _uniform(rng, -0.2, 0.2, rep.size) * p[rep]
            age = np.minimum(np.abs(age - 0.3) + 0.3, horizon - 1.0)  # reflect at 0.3 days
            cust = idx[rep]
            if large:
                amount = _uniform(rng, 850.0, 2200.0, rep.size)
                in_year = age < 360.0
                s365 = np.bincount(rep, amount * in_year, minlength=idx.size)
                boost = np.where(s365 < 4000.0, 4000.0 / np.maximum(s365, 1.0), 1.0)
                amount = np.where(in_year, amount * boost[rep], amount)
            else:
                n365 = np.bincount(rep, age < 370.0, minlength=idx.size)
                cap = np.minimum(80.0, 2000.0 / np.maximum(n365, 1))[rep]
                lo = np.minimum(12.0, 0.6 * cap)
                amount = _uniform(rng, lo, cap, rep.size)
            orders.add(cust, age, amount)
            oldest = np.zeros(idx.size)
            np.maximum.at(oldest, rep, age)
            first_age[idx] = np.minimum(oldest + _uniform(rng, 1.0, 60.0, idx.size), horizon)

        place_regular(reg_small, plan_small, large=False)
        place_regular(reg_large, plan_large, large=True)

        # Deal hunters: orders and campaign sends on a 14-day grid so that no order, open or
        # click falls within 7 days after any send (see docs/demo.md).
        n_blocks = int((horizon - 15.0) // 14.0)
        rep = np.repeat(np.arange(deal.size), deal_n)
        k = _within(deal_n)
        block = np.where(k == 0, rng.integers(0, 10, rep.size), rng.integers(0, n_blocks, rep.size))
        age = 14.0 * block + _uniform(rng, 10.0, 13.0, rep.size)
        channel = np.full(rep.size, _OC["deal"], np.int8)
        channel[(k == 1) & (deal_n[rep] >= 5)] = _OC["store"]
        orders.add(deal[rep], age, _uniform(rng, 20.0, 150.0, rep.size), channel)
        oldest = np.zeros(deal.size)
        np.maximum.at(oldest, rep, age)
        sends_n = rng.integers(4, 11, deal.size)
        srep = np.repeat(np.arange(deal.size), sends_n)
        s_block = rng.integers(0, 23, srep.size)
        s_age = 14.0 * s_block + _uniform(rng, 8.0, 9.0, srep.size)
        self.ev.add(deal[srep], s_age, _E["campaign_send"], optional=False)
        np.maximum.at(oldest, srep, s_age)
        first_age[deal] = np.minimum(oldest + _uniform(rng, 1.0, 60.0, deal.size), horizon)

        # Butterflies: two or three large, irregular, recent orders.
        rep = np.repeat(np.arange(few.size), few_n)
        k = _within(few_n)
        age = np.where(
            k == 0, _uniform(rng, 3.0, 120.0, rep.size), _uniform(rng, 3.0, 300.0, rep.size)
        )
        amount = _uniform(rng, 1300.0, 3500.0, rep.size)
        total = np.bincount(rep, amount, minlength=few.size)
        amount *= np.where(total < 4000.0, 4000.0 / total, 1.0)[rep]
        orders.add(few[rep], age, amount)
        oldest = np.zeros(few.size)
        np.maximum.at(oldest, rep, age)
        first_age[few] = np.minimum(oldest + _uniform(rng, 1.0, 200.0, few.size), horizon)

        # Churned: two to five modest orders, the last 215-320 days ago.
        last = _uniform(rng, 215.0, 320.0, lapsed.size)
        first_age[lapsed] = _uniform(rng, np.maximum(last + 30.0, 420.0), horizon, lapsed.size)
        rep = np.repeat(np.arange(lapsed.size), lapsed_n)
        k = _within(lapsed_n)
        age = np.where(
            k == 0, last[rep], _uniform(rng, last[rep], first_age[lapsed][rep] - 1.0, rep.size)
        )
        orders.add(lapsed[rep], age, _uniform(rng, 30.0, 300.0, rep.size))

        # Long-silent past buyers: one to three orders more than 420 days ago.
        first_age[old] = _uniform(rng, 450.0, horizon, old.size)
        rep = np.repeat(np.arange(old.size), old_n)
        age = _uniform(rng, 420.0, first_age[old][rep] - 1.0, rep.size)
        orders.add(old[rep], age, _uniform(rng, 30.0, 400.0, rep.size))

        # One order: recent (plain new buyers, new strangers) or long ago (lapsed strangers).
        is_stranger = arch[single] == list(ARCHETYPES).index("stranger")
        recent = shape_of[single] == "single_recent"
        f_old = _uniform(rng, 430.0, horizon, single.size)
        o_age = np.where(
            recent,
            _uniform(rng, np.where(is_stranger, 10.0, 3.0), 150.0, single.size),
            _uniform(rng, 400.0, f_old - 1.0, single.size),
        )
        first_age[single] = np.where(recent, o_age + _uniform(rng, 0.5, 12.0, single.size), f_old)
        amount = _uniform(
            rng, np.where(is_stranger, 10.0, 20.0), np.where(is_stranger, 120.0, 200.0), single.size
        )
        orders.add(single, o_age, amount)

        # Customers without orders.
        nob = self.members("none")
        nob_arch = np.array(list(ARCHETYPES))[arch[nob]]
        f = _uniform(rng, 20.0, horizon, nob.size)
        f = np.where(nob_arch == "kol", _uniform(rng, 200.0, horizon, nob.size), f)
        f = np.where(nob_arch == "potential", _uniform(rng, 5.0, horizon, nob.size), f)
        f = np.where(nob_arch == "long_silent", _uniform(rng, 420.0, horizon, nob.size), f)
        first_age[nob] = f

        return orders.arrays()

    def all_orders(self, paid_orders: tuple[np.ndarray, ...]) -> dict[str, np.ndarray]:
        """Channels, deal-share cap, refunded/cancelled noise and coupons."""
        rng, n, arch = self.rng, self.n, self.arch
        o_cust, o_age, o_amount, o_channel = paid_orders
        deal_arch = list(ARCHETYPES).index("deal_hunter")
        stranger_arch = list(ARCHETYPES).index("stranger")
        todo = o_channel < 0
        normal_p = np.array([0.5, 0.08, 0.2, 0.1, 0.12])
        bargain_p = np.array([0.3, 0.5, 0.15, 0.05, 0.0])
        draw_n = rng.choice(5, size=o_cust.size, p=normal_p)
        draw_b = rng.choice(5, size=o_cust.size, p=bargain_p)
        o_channel = np.where(
            todo, np.where(arch[o_cust] == stranger_arch, draw_b, draw_n), o_channel
        ).astype(np.int8)
        # At most 30 % deal-channel orders for anyone but deal hunters with two or more orders
        # (each customer's orders are contiguous: every shape adds one block).
        n_paid = np.bincount(o_cust, minlength=n)
        is_deal = (o_channel == _OC["deal"]).astype(float)
        deal_rank = _group_cumsum(o_cust, is_deal)
        too_many = (
            (arch[o_cust] != deal_arch)
            & (n_paid[o_cust] >= 2)
            & (is_deal > 0)
            & (deal_rank > np.floor(0.3 * n_paid[o_cust]))
        )
        o_channel[too_many] = _OC["store"]

        # Refunded and cancelled orders shortly before a paid one (never counted as paid).
        u = rng.random(o_cust.size)
        noisy = np.flatnonzero(u < 0.065)
        status_noise = np.where(u[noisy] < 0.04, 1, 2).astype(np.int8)
        all_cust = np.concatenate([o_cust, o_cust[noisy]])
        all_age = np.concatenate([o_age, o_age[noisy] + _uniform(rng, 0.01, 0.5, noisy.size)])
        all_amount = np.concatenate(
            [o_amount, o_amount[noisy] * _uniform(rng, 0.6, 1.4, noisy.size)]
        )
        all_channel = np.concatenate([o_channel, o_channel[noisy]])
        all_status = np.concatenate([np.zeros(o_cust.size, np.int8), status_noise])
        coupon_p = np.where(
            arch[all_cust] == stranger_arch, 0.7, np.where(arch[all_cust] == deal_arch, 0.6, 0.25)
        )
        all_coupon = rng.random(all_cust.size) < coupon_p
        return {
            "cust": all_cust,
            "age": all_age,
            "amount": all_amount,
            "channel": all_channel,
            "status": all_status,
            "coupon": all_coupon,
        }

    def events(
        self,
        paid_orders: tuple[np.ndarray, ...],
        orders: dict[str, np.ndarray],
        events_per_customer: float | None,
    ) -> dict[str, np.ndarray]:
        """Plant every event block; sets :attr:`referrer_of`."""
        rng, n, kinds, arch, shape_of = self.rng, self.n, self.kinds, self.arch, self.shape_of
        intent, behaviour, first_age = self.intent, self.behaviour, self.first_age
        o_cust, o_age = paid_orders[0], paid_orders[1]
        all_cust, all_age, all_coupon = orders["cust"], orders["age"], orders["coupon"]
        paid = orders["status"] == 0
        ev = self.ev

        long_silent = self.long_silent
        quiet = np.flatnonzero(long_silent)
        active = (behaviour & _ACTIVE) > 0

        # Order-linked events: carts, coupon claims before; reviews after.
        sel = np.flatnonzero(paid & (rng.random(all_cust.size) < 0.4))
        ev.add(all_cust[sel], all_age[sel] + _uniform(rng, 0.01, 1.0, sel.size), _E["cart"])
        sel = np.flatnonzero(all_coupon)
        ev.add(
            all_cust[sel],
            all_age[sel] + _uniform(rng, 0.1, 3.0, sel.size),
            _E["coupon_claim"],
            optional=False,
        )
        sel = np.flatnonzero(paid & (rng.random(all_cust.size) < 0.25))
        ev.add(
            all_cust[sel],
            np.maximum(
                all_age[sel] - _uniform(rng, 0.5, 10.0, sel.size),
                all_age[sel] * _uniform(rng, 0.05, 0.9, sel.size),
            ),
            _E["review"],
        )

        # Follows at first sight.
        sel = np.flatnonzero(rng.random(n) < 0.6)
        ev.add(sel, first_age[sel] * _uniform(rng, 0.995, 1.0, sel.size), _E["follow"])

        # Light interactions of non-active customers: at most three in the last 90 days.
        light = np.flatnonzero(~long_silent & ~active)
        low = intent[light] == INTENTION_GRADES.index("low")
        k90 = np.where(low, rng.integers(0, 2, light.size), rng.integers(0, 4, light.size))
        c, a = _spread(rng, light, k90, 0.05, np.minimum(first_age[light], 85.0))
        ev.add(c, a, _pick(rng, ("like", "comment", "livestream_visit"), (0.5, 0.2, 0.3), c.size))
        c, a = _spread(rng, light, rng.poisson(2.0, light.size), 95.0, first_age[light])
        ev.add(c, a, _pick(rng, _INTERACTIONS, (0.3, 0.4, 0.2, 0.1), c.size))

        # Long-silent customers: a little activity, all of it more than 400 days ago.
        c, a = _spread(rng, quiet, rng.integers(1, 5, quiet.size), 400.0, first_age[quiet])
        ev.add(
            c,
            a,
            _pick(rng, ("view", "like", "favorite", "comment"), (0.6, 0.2, 0.15, 0.05), c.size),
        )

        # Campaign sends to everyone but deal hunters and long-silent customers; at least 30 %
        # of them opened within two days.
        recv = np.flatnonzero(~long_silent & (arch != list(ARCHETYPES).index("deal_hunter")))
        s = rng.integers(0, 7, recv.size)
        c, a = _spread(rng, recv, s, 3.0, np.minimum(first_age[recv], 330.0))
        ev.add(c, a, _E["campaign_send"], optional=False)
        got = np.bincount(c, minlength=n)[recv]
        r = np.where(got > 0, np.maximum(1, np.ceil(_uniform(rng, 0.3, 0.8, recv.size) * got)), 0)
        first = np.r_[True, c[1:] != c[:-1]] if c.size else np.zeros(0, bool)
        pos = np.arange(c.size) - np.maximum.accumulate(np.where(first, np.arange(c.size), 0))
        r_of = np.zeros(n, np.int64)
        r_of[recv] = r.astype(np.int64)
        opened = pos < r_of[c]
        oc, oa = c[opened], a[opened] - _uniform(rng, 0.05, 2.0, int(opened.sum()))
        ev.add(oc, oa, _E["campaign_open"], optional=False)
        clicked = rng.random(oc.size) < 0.3
        ev.add(
            oc[clicked],
            np.maximum(oa[clicked] - _uniform(rng, 0.0, 0.1, int(clicked.sum())), 0.01),
            _E["campaign_click"],
            optional=False,
        )

        # Active interactors: 20-60 interactions in the last 85 days (+ older ones).
        act = np.flatnonzero(active)
        forwarder = np.isin(
            kinds[act], [i for i, k in enumerate(_KINDS) if k.variant == "forwarder"]
        )
        c, a = _spread(
            rng, act, rng.integers(20, 61, act.size), 0.05, np.minimum(first_age[act], 85.0)
        )
        ev.add(
            c,
            a,
            _pick(rng, ("livestream_visit", "like", "comment"), (0.35, 0.4, 0.25), c.size),
            optional=False,
        )
        shares = np.where(forwarder, rng.integers(7, 16, act.size), rng.integers(0, 3, act.size))
        c, a = _spread(rng, act, shares, 0.05, np.minimum(first_age[act], 85.0))
        ev.add(c, a, _E["share"], optional=False)
        c, a = _spread(rng, act, rng.integers(0, 41, act.size), 95.0, first_age[act])
        ev.add(c, a, _pick(rng, _INTERACTIONS, (0.35, 0.35, 0.2, 0.1), c.size))

        # Creators: 3-8 photo/video reviews and buyer shows in the last 320 days.
        cre = np.flatnonzero((behaviour & _CREATOR) > 0)
        first_paid = np.zeros(n)
        np.maximum.at(first_paid, o_cust, o_age)
        c, a = _spread(
            rng, cre, rng.integers(3, 9, cre.size), 10.0, np.minimum(first_paid[cre] - 1.0, 320.0)
        )
        ev.add(
            c,
            a,
            _pick(rng, ("review_photo", "review_video", "buyer_show"), (0.55, 0.2, 0.25), c.size),
            optional=False,
        )

        # True friends, creators and KOLs: private messages and favorites.
        close = np.flatnonzero(
            np.isin(arch, [list(ARCHETYPES).index(a) for a in ("true_friend", "kol", "creator")])
        )
        c, a = _spread(rng, close, rng.integers(1, 5, close.size), 0.05, 90.0)
        ev.add(c, a, _E["message"])
        c, a = _spread(rng, close, rng.integers(1, 5, close.size), 0.05, first_age[close])
        ev.add(c, a, _E["favorite"])

        # Butterflies and engaged buyers: a few favorites.
        fav = np.flatnonzero(intent == INTENTION_GRADES.index("medium"))
        c, a = _spread(rng, fav, rng.integers(1, 4, fav.size), 0.05, first_age[fav])
        ev.add(c, a, _E["favorite"])

        # Potential customers, churned and lapsed strangers: one sure sign of life in 320 days.
        alive = np.flatnonzero(
            np.isin(shape_of, ("none", "lapsed", "single_old"))
            & ~long_silent
            & ~active
            & (arch != list(ARCHETYPES).index("kol"))
        )
        lo = np.where(shape_of[alive] == "none", 0.5, 20.0)
        hi = np.minimum(first_age[alive], 320.0)
        c, a = _spread(rng, alive, rng.integers(1, 3, alive.size), lo, hi)
        engaged = intent[c] == INTENTION_GRADES.index("medium")
        ev.add(
            c,
            a,
            np.where(
                engaged,
                _E["favorite"],
                np.where(rng.random(c.size) < 0.5, _E["view"], _E["coupon_claim"]),
            ),
            optional=False,
        )

        # KOLs: 3-8 referrals or shares that each bring a new customer within 14 days.
        kol = np.flatnonzero((behaviour & _KOL) > 0)
        pool = np.flatnonzero(shape_of == "single_recent")
        pool = pool[rng.permutation(pool.size)]
        want = rng.integers(3, 9, kol.size)
        if want.sum() > pool.size:
            want = np.minimum(want, max(3, pool.size // max(kol.size, 1)))
            if want.sum() > pool.size:
                raise ConfigError("the mix has too few new buyers for the KOLs to bring")
        referee = pool[: want.sum()]
        referrer = np.repeat(kol, want)
        referrer_of = np.full(n, -1, np.int64)
        referrer_of[referee] = referrer
        # The referee's first sight follows the referral; the first paid order follows 0.5-13 days
        # later.
        ref_age = first_age[referee] + _uniform(rng, 0.05, 1.0, referee.size)
        ev.add(
            referrer,
            ref_age,
            np.where(
                (ref_age < 95.0) | (rng.random(ref_age.size) < 0.75), _E["referral"], _E["share"]
            ),
            target=referee,
            optional=False,
        )
        # ... and a few that brought nobody (the target never bought).
        nobuy = np.flatnonzero(arch == list(ARCHETYPES).index("potential"))
        if nobuy.size:
            miss = rng.integers(0, 3, kol.size)
            c, a = _spread(rng, kol, miss, 95.0, 330.0)
            ev.add(
                c,
                a,
                _E["referral"],
                target=nobuy[rng.integers(0, nobuy.size, c.size)],
                optional=False,
            )

        # Page views: the bulk of the events; recent ones only for engaged customers.
        base_views = 4.0
        if events_per_customer is not None:
            base_views = max(0.0, (events_per_customer * n - ev.size) / n)
        w_views = np.where(long_silent, 0.3, np.where(active, 1.5, 1.0))
        w_views = w_views / w_views.mean()
        nv = rng.poisson(base_views * w_views)
        recent_views = (intent == INTENTION_GRADES.index("high")) | (
            intent == INTENTION_GRADES.index("medium")
        )
        nv_recent = np.where(recent_views, rng.binomial(nv, 0.15), 0)
        c, a = _spread(rng, np.arange(n), nv_recent, 0.05, np.minimum(first_age, 45.0))
        ev.add(c, a, _E["view"])
        lo = np.where(long_silent, 400.0, np.where(first_age > 60.0, 45.0, 0.05))
        c, a = _spread(rng, np.arange(n), nv - nv_recent, lo, np.maximum(first_age, lo + 1e-3))
        ev.add(c, a, _E["view"])
        self.referrer_of = referrer_of
        return ev.arrays()

    def calibrated_events(
        self, e: dict[str, np.ndarray], events_per_customer: float | None
    ) -> dict[str, np.ndarray]:
        """Fit intention scores into their bands, then reach the wanted event volume."""
        rng, n, intent, first_age = self.rng, self.n, self.intent, self.first_age
        e = _calibrate(rng, e, intent, n)
        if events_per_customer is not None:
            # Calibration dropped some recent views; top up with old ones (negligible weight).
            short = round(events_per_customer * n) - e["cust"].size
            lo = np.where(self.long_silent, 400.0, 200.0)
            room = np.flatnonzero(first_age > lo + 1.0)
            if short > 0 and room.size:
                c = room[rng.integers(0, room.size, short)]
                add = {
                    "cust": c.astype(np.int32),
                    "age": _uniform(rng, lo[c], first_age[c], short),
                    "etype": np.full(short, _E["view"], np.int8),
                    "target": np.full(short, -1, np.int32),
                    "optional": np.ones(short, bool),
                }
                e = {k: np.concatenate([e[k], add[k]]) for k in e}
        return e


def _calibrate(
    rng: np.random.Generator, e: dict[str, np.ndarray], intent: np.ndarray, n: int
) -> dict[str, np.ndarray]:
    """Drop or add events so each customer's intention score sits inside its planted band.

    The lower bounds are checked with :data:`INTENTION_WEIGHTS` only, the upper bounds with
    the extra weights of :data:`_EXTRA_WEIGHTS` as well, so the bands hold either way.
    Optional events are dropped, largest extra-weight contribution first; missing score is
    made up with recent messages, favorites, check-ins, downloads and recommendations.
    """
    high, medium, low = (INTENTION_GRADES.index(g) for g in ("high", "medium", "low"))
    upper = np.where(intent == medium, _MEDIUM_MAX, np.where(intent == low, _LOW_MAX, np.inf))
    lower = np.where(intent == high, _HIGH_MIN, np.where(intent == medium, _MEDIUM_MIN, 0.0))
    cust = e["cust"]
    f = np.exp2(-e["age"] / INTENTION_HALF_LIFE_DAYS)
    c_min = _W_MIN[e["etype"]] * f
    c_max = _W_MAX[e["etype"]] * f
    del f
    s_min = np.bincount(cust, c_min, minlength=n)
    s_max = np.bincount(cust, c_max, minlength=n)
    keep = np.ones(cust.size, bool)
    added: list[dict[str, np.ndarray]] = []
    for _ in range(8):
        over = s_max > upper
        if over.any():
            cand = np.flatnonzero(over[cust] & e["optional"] & keep & (c_max > 1e-3))
            extra = c_max[cand] - c_min[cand]
            cand = cand[np.lexsort((-c_max[cand], -extra, cust[cand]))]
            removed_before = _group_cumsum(cust[cand], c_max[cand]) - c_max[cand]
            drop = cand[removed_before < (s_max - 0.85 * upper)[cust[cand]]]
            keep[drop] = False
            s_min -= np.bincount(cust[drop], c_min[drop], minlength=n)
            s_max -= np.bincount(cust[drop], c_max[drop], minlength=n)
        short = np.flatnonzero(s_min < lower)
        if short.size == 0 and not (s_max > upper).any():
            break
        if short.size:
            is_high = intent[short] == high
            # high: enough events to cover the gap; medium: one at a time (never overshoots)
            cnt = np.where(is_high, np.ceil((lower[short] + 0.5 - s_min[short]) / 1.5), 1)
            c, a = _spread(rng, short, cnt.astype(np.int64), 0.05, 7.0)
            hi_c = is_high[np.searchsorted(short, c)]
            t_high = _pick(
                rng,
                ("message", "favorite", "recommend", "download", "check_in"),
                (0.4, 0.25, 0.1, 0.1, 0.15),
                c.size,
            )
            t_med = _pick(rng, ("favorite", "download", "check_in"), (0.6, 0.15, 0.25), c.size)
            t = np.where(hi_c, t_high, t_med).astype(np.int8)
            f = np.exp2(-a / INTENTION_HALF_LIFE_DAYS)
            s_min += np.bincount(c, _W_MIN[t] * f, minlength=n)
            s_max += np.bincount(c, _W_MAX[t] * f, minlength=n)
            added.append(
                {
                    "cust": c.astype(np.int32),
                    "age": a,
                    "etype": t,
                    "target": np.full(c.size, -1, np.int32),
                    "optional": np.zeros(c.size, bool),
                }
            )
    if keep.all() and not added:
        return e
    return {k: np.concatenate([e[k][keep], *(b[k] for b in added)]) for k in e}
