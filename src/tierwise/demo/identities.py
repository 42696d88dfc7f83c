"""Plant cross-platform duplicates in a demo shop: identifier links and who is who.

A share of the shop's customers also have accounts on other platforms (Taobao ``T…``, WeChat
``W…``, Youzan ``Y…``). Each such account carries its own platform id (a Taobao nick, a
WeChat openid, a Youzan id) and reaches its person through an identifier it shares: the
phone (written differently: ``+86 138-…`` vs ``138…``), the email (other case), or the
WeChat unionid, sometimes only through another of the person's accounts (a chain). One
front-desk phone is given at checkout by many unrelated customers: it must never merge.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pyarrow as pa

from tierwise.demo import DemoShop

__all__ = ["FRONT_DESK_PHONE", "pair_scores", "plant_identities"]

FRONT_DESK_PHONE = "021-6288-0000"
"""The store's front-desk phone, given by many unrelated customers."""

_PLATFORMS = (("T", "taobao"), ("W", "wechat"), ("Y", "youzan"))


def _phone(k: int, styled: bool) -> str:
    digits = f"13{k:09d}"
    return f"+86 {digits[:3]}-{digits[3:7]}-{digits[7:]}" if styled else digits


def plant_identities(
    shop: DemoShop,
    *,
    seed: int = 11,
    duplicate_share: float = 0.2,
    front_desk: int = 40,
) -> DemoShop:
    """A copy of ``shop`` with ``identities`` and ``identity_truth`` in its extras.

    Parameters
    ----------
    shop : DemoShop
        The generated shop; its tables are not changed.
    seed : int
        Seed of the planting.
    duplicate_share : float
        Share of customers with one to three accounts on other platforms.
    front_desk : int
        Customers (unrelated) who gave the front-desk phone.

    Returns
    -------
    DemoShop
        ``extras["identities"]``: customer_id, id_type, identifier, platform, seen_at;
        ``extras["identity_truth"]``: customer_id, person (the shop customer they are).
    """
    rng = np.random.default_rng(seed)
    cust = shop.customers.column("customer_id").to_pylist()
    first = shop.customers.column("first_seen").to_pylist()
    n = len(cust)
    rows: dict[str, list] = {k: [] for k in ("customer_id", "id_type", "identifier", "platform",
                                             "seen_at")}  # fmt: skip

    def link(cid: str, id_type: str, ident: str, platform: str, seen: object) -> None:
        rows["customer_id"].append(cid)
        rows["id_type"].append(id_type)
        rows["identifier"].append(ident)
        rows["platform"].append(platform)
        rows["seen_at"].append(seen)

    truth_c: list[str] = []
    truth_p: list[str] = []
    has_phone = rng.random(n) < 0.7
    has_email = rng.random(n) < 0.3
    has_union = rng.random(n) < 0.4
    dup = rng.random(n) < duplicate_share
    counters = {p: 0 for p, _ in _PLATFORMS}
    for k in range(n):
        cid, seen = cust[k], first[k]
        truth_c.append(cid)
        truth_p.append(cid)
        if has_phone[k]:
            link(cid, "phone", _phone(k, False), "shop", seen)
        if has_email[k]:
            link(cid, "email", f"buyer{k}@example.com", "shop", seen)
        if has_union[k]:
            link(cid, "wechat_unionid", f"oU{k:08x}", "shop", seen)
        if not dup[k]:
            continue
        extra = rng.choice(3, size=int(rng.integers(1, 4)), replace=False)
        previous: str | None = None
        for j in sorted(extra.tolist()):
            prefix, platform = _PLATFORMS[j]
            counters[prefix] += 1
            aid = f"{prefix}{counters[prefix]:06d}"
            truth_c.append(aid)
            truth_p.append(cid)
            own = {"T": "taobao_nick", "W": "wechat_openid", "Y": "youzan_id"}[prefix]
            link(aid, own, f"{own[:2]}-{aid}-{int(rng.integers(1e6))}", platform, seen)
            # how this account reaches the person
            ways = []
            if has_phone[k]:
                ways.append("phone")
            if has_email[k]:
                ways.append("email")
            if has_union[k] and prefix in ("W", "Y"):
                ways.append("unionid")
            if previous is not None:
                ways.append("chain")
            if not ways:  # nothing shared yet: the person gave this platform a phone
                has_phone[k] = True
                link(cid, "phone", _phone(k, False), "shop", seen)
                ways.append("phone")
            how = ways[int(rng.integers(len(ways)))]
            if how == "phone":
                link(aid, "phone", _phone(k, bool(rng.integers(2))), platform, seen)
            elif how == "email":
                link(aid, "email", f"Buyer{k}@Example.com", platform, seen)
            elif how == "unionid":
                link(aid, "wechat_unionid", f"oU{k:08x}", platform, seen)
            else:  # through the previous account only: a shared secondary phone
                shared = f"15{k:09d}"
                link(previous, "phone", shared, "other", seen)
                link(aid, "phone", shared, platform, seen)
            previous = aid
    # the front-desk phone, given by unrelated customers
    for k in rng.choice(n, size=min(front_desk, n), replace=False).tolist():
        link(cust[k], "phone", FRONT_DESK_PHONE, "offline", first[k])
    links = pa.table(
        {
            "customer_id": pa.array(rows["customer_id"], pa.string()),
            "id_type": pa.array(rows["id_type"], pa.string()),
            "identifier": pa.array(rows["identifier"], pa.string()),
            "platform": pa.array(rows["platform"], pa.string()),
            "seen_at": pa.array(rows["seen_at"], pa.timestamp("us")),
        }
    )
    truth = pa.table({"customer_id": truth_c, "person": truth_p})
    extras = {**shop.extras, "identities": links, "identity_truth": truth}
    params = {**shop.params, "identities": {"seed": seed, "duplicate_share": duplicate_share,
                                            "front_desk": front_desk}}  # fmt: skip
    return dataclasses.replace(shop, extras=extras, params=params)


def pair_scores(predicted: Mapping[str, str], truth: Mapping[str, str]) -> dict[str, float]:
    """Pairwise precision and recall of a merge: pairs of accounts put in one person.

    Parameters
    ----------
    predicted, truth : mapping of customer id to person id
        Accounts missing from ``predicted`` are their own person.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``pairs_predicted``, ``pairs_true``, ``pairs_correct``.
    """

    def pairs(groups: Mapping[object, int]) -> int:
        return sum(c * (c - 1) // 2 for c in groups.values())

    def count(keys: list[object]) -> dict[object, int]:
        out: dict[object, int] = {}
        for key in keys:
            out[key] = out.get(key, 0) + 1
        return out

    accounts = list(truth)
    pred = [predicted.get(a, a) for a in accounts]
    true = [truth[a] for a in accounts]
    n_pred = pairs(count(pred))
    n_true = pairs(count(true))
    n_both = pairs(count(list(zip(pred, true, strict=True))))
    return {
        "precision": n_both / n_pred if n_pred else 1.0,
        "recall": n_both / n_true if n_true else 1.0,
        "pairs_predicted": n_pred,
        "pairs_true": n_true,
        "pairs_correct": n_both,
    }
