"""Identity resolution: accounts merged into persons per second, and merge precision/recall.

Usage::

    python bench/bench_identity.py [--customers 200000] [--seed 11]

Links are planted by :func:`tierwise.demo.identities.plant_identities` on a bare list of
customers (no orders or events are needed), phones and emails hashed as an import would
(:func:`tierwise.identity.protect_records`), then :func:`tierwise.identity.resolve` runs
under the default rules. The reference is the textbook union-find (path halving, union by
size) in pure Python over the same links and rules; both must give the same persons.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import pyarrow as pa

from tierwise.config import Config
from tierwise.demo import DemoShop
from tierwise.demo.identities import pair_scores, plant_identities
from tierwise.identity import protect_records, resolve


def bare_shop(n: int) -> DemoShop:
    """A shop of ``n`` customers without orders or events (enough to plant links)."""
    ids = [f"C{i:07d}" for i in range(1, n + 1)]
    first = [dt.datetime(2024, 1, 1) + dt.timedelta(minutes=i) for i in range(n)]
    customers = pa.table({"customer_id": ids, "first_seen": pa.array(first, pa.timestamp("us"))})
    empty = pa.table({})
    return DemoShop(customers, empty, empty, empty, dt.date(2025, 12, 31), 0)


def reference(links: pa.Table, rules: object) -> dict[str, str]:
    """Pure-Python union-find with the same rules; ``{customer_id: person_id}`` of merges."""
    cust = links.column("customer_id").to_pylist()
    types = links.column("id_type").to_pylist()
    idents = links.column("identifier").to_pylist()
    holders: dict[tuple[str, str], set[str]] = {}
    for c, t, i in zip(cust, types, idents, strict=True):
        holders.setdefault((t, i), set()).add(c)
    parent: dict[str, str] = {c: c for c in cust}
    size = dict.fromkeys(cust, 1)

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for (t, _), accs in holders.items():
        limit = rules.max_accounts.get(t, rules.max_accounts_per_identifier)
        if t not in rules.merge_types or len(accs) > limit or len(accs) < 2:
            continue
        it = iter(accs)
        a = find(next(it))
        for b in it:
            b = find(b)
            if a != b:
                if size[a] < size[b]:
                    a, b = b, a
                parent[b] = a
                size[a] += size[b]
    groups: dict[str, list[str]] = {}
    for c in parent:
        groups.setdefault(find(c), []).append(c)
    out = {}
    for members in groups.values():
        if 1 < len(members) <= rules.max_accounts_per_person:
            pid = min(members)
            out.update(dict.fromkeys(members, pid))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    rules = Config.default().identity
    t0 = time.perf_counter()
    shop = plant_identities(bare_shop(args.customers), seed=args.seed)
    links = shop.extras["identities"]
    n = links.num_rows
    links = links.append_column("hashed", pa.nulls(n, pa.bool_()))
    links = links.append_column("link_id", pa.nulls(n, pa.string()))
    t1 = time.perf_counter()
    links, _ = protect_records(links, b"bench-salt")
    t2 = time.perf_counter()
    res = resolve(links, rules)
    t3 = time.perf_counter()
    ref = reference(links, rules)
    t4 = time.perf_counter()
    truth = shop.extras["identity_truth"]
    truth_map = dict(
        zip(truth.column("customer_id").to_pylist(), truth.column("person").to_pylist(),
            strict=True)
    )  # fmt: skip
    scores = pair_scores(res.person_map(), truth_map)
    same = res.person_map() == ref
    st = res.stats
    print(f"customers {args.customers:,}  links {n:,}  accounts {st['accounts']:,}  "
          f"persons {st['persons']:,}  merged {st['merged_persons']:,}  "
          f"guarded identifiers {st['guarded_identifiers']}")  # fmt: skip
    print(f"plant {t1 - t0:6.2f} s   hash phones/emails {t2 - t1:6.2f} s")
    print(f"resolve (tierwise) {t3 - t2:6.2f} s   {st['accounts'] / (t3 - t2):,.0f} accounts/s")
    print(f"union-find (pure Python) {t4 - t3:6.2f} s   ratio {(t4 - t3) / (t3 - t2):.1f}x   "
          f"same persons: {same}")  # fmt: skip
    print(f"precision {scores['precision']:.4f}  recall {scores['recall']:.4f}  "
          f"over {scores['pairs_true']:,} planted pairs")  # fmt: skip
    if not same:
        raise SystemExit("tierwise and the reference union-find disagree")


if __name__ == "__main__":
    main()
