"""Identity unification: one person behind several platform accounts.

Links (``identities`` table: customer_id, id_type, identifier) join accounts that share an
identifier. The merge is deterministic and runs at run time: union-find (connected
components) over the accounts and the identifiers they share, under rules that are data
(``identity`` block of the config):

* only identifiers of ``merge_types`` join accounts, and the list is in priority order
  (the evidence names the strongest identifier first);
* an identifier held by more accounts than ``max_accounts_per_identifier`` (or its
  type's limit in ``max_accounts``) never joins anything: a shop's front-desk phone;
* a person that would gather more than ``max_accounts_per_person`` accounts through a chain
  of links is not merged at all: its accounts stay apart and the stats say why.

Each person's ``person_id`` is the smallest (in string order) customer id among its
accounts, so it stays the same while the accounts stay together. Phones and emails are
stored as HMAC-SHA256 of their normalised form keyed with the project's secret salt
(`tierwise.store.Store.identity_salt`), unless the merchant opts in to clear values.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from tierwise.config import IdentityConfig

__all__ = [
    "HASHED_TYPES",
    "Resolution",
    "annotate_profiles",
    "apply_persons",
    "hash_identifier",
    "normalise_identifier",
    "person_tables",
    "protect_records",
    "resolve",
    "short_identifier",
]

HASHED_TYPES = ("phone", "email")
"""Identifier types stored as a salted hash unless the merchant opts in to clear values."""

HASH_PREFIX = "h:"
"""Stored hashes start with this, so a hash is never mistaken for a clear value."""

_NON_DIGIT = re.compile(r"\D+")


def normalise_identifier(id_type: str, value: str) -> str:
    """The form that is compared and hashed.

    Phones keep their digits only, without a leading ``86`` / ``0086`` country code of an
    11-digit mainland number; emails are trimmed and lower-cased; every other type is
    trimmed only (openids and nicks are case-sensitive).
    """
    value = value.strip()
    if id_type == "phone":
        digits = _NON_DIGIT.sub("", value)
        for cc in ("0086", "86"):
            if digits.startswith(cc) and len(digits) == len(cc) + 11:
                digits = digits[len(cc) :]
        return digits
    if id_type == "email":
        return value.lower()
    return value


def hash_identifier(salt: bytes, id_type: str, value: str) -> str:
    """``h:`` + HMAC-SHA256 (hex) of the normalised identifier, keyed with the salt."""
    msg = f"{id_type}\x1f{normalise_identifier(id_type, value)}".encode()
    return HASH_PREFIX + hmac.new(salt, msg, hashlib.sha256).hexdigest()


def protect_records(
    records: pa.Table,
    salt: bytes,
    *,
    clear_types: Iterable[str] = (),
    rehash_key: bool = True,
) -> tuple[pa.Table, str | None]:
    """Hash the phones and emails of parsed identity records before anything is stored.

    Parameters
    ----------
    records : pyarrow.Table
        Parsed records with ``id_type``, ``identifier``, ``platform``, ``hashed`` and
        ``link_id``.
    salt : bytes
        The project's secret salt.
    clear_types : iterable of str
        Types kept in clear (normalised) by the merchant's choice.
    rehash_key : bool
        Recompute ``link_id`` from the protected values (when it was a content hash of
        id_type, identifier, customer_id and platform).

    Returns
    -------
    (pyarrow.Table, str or None)
        The records and a note for the import report.
    """
    clear = set(clear_types)
    keyed = hmac.new(salt, digestmod=hashlib.sha256)  # copied per value: the key is set once

    def digest(id_type: str, value: str) -> str:
        mac = keyed.copy()
        mac.update(f"{id_type}\x1f{normalise_identifier(id_type, value)}".encode())
        return HASH_PREFIX + mac.hexdigest()

    types = records.column("id_type").to_pylist()
    values = records.column("identifier").to_pylist()
    given = records.column("hashed").to_pylist()
    out_v: list[str | None] = []
    out_h: list[bool | None] = []
    n_hashed = n_clear = 0
    for t, v, h in zip(types, values, given, strict=True):
        if v is None or t is None:
            out_v.append(v)
            out_h.append(h)
        elif h:  # hashed upstream: kept as given
            out_v.append(v)
            out_h.append(True)
        elif t in HASHED_TYPES and t not in clear:
            out_v.append(digest(t, v))
            out_h.append(True)
            n_hashed += 1
        else:
            if t in HASHED_TYPES:
                n_clear += 1
            out_v.append(normalise_identifier(t, v))
            out_h.append(False)
    i = records.schema.get_field_index("identifier")
    records = records.set_column(i, "identifier", pa.array(out_v, pa.string()))
    i = records.schema.get_field_index("hashed")
    records = records.set_column(i, "hashed", pa.array(out_h, pa.bool_()))
    if rehash_key:
        cust = records.column("customer_id").to_pylist()
        plat = records.column("platform").to_pylist()
        keys = [
            None
            if None in (t, v, c)
            else hashlib.sha256(f"{t}\x1f{v}\x1f{c}\x1f{p or ''}".encode()).hexdigest()[:32]
            for t, v, c, p in zip(types, out_v, cust, plat, strict=True)
        ]
        i = records.schema.get_field_index("link_id")
        records = records.set_column(i, "link_id", pa.array(keys, pa.string()))
    parts = []
    if n_hashed:
        parts.append(f"{n_hashed:,} phone/email identifier(s) stored as a salted hash")
    if n_clear:
        parts.append(f"{n_clear:,} phone/email identifier(s) stored in clear (clear_types)")
    return records, "; ".join(parts) or None


# -- resolution ---------------------------------------------------------------------------
@dataclass
class Resolution:
    """The outcome of `resolve`.

    Attributes
    ----------
    persons : pyarrow.Table
        ``customer_id``, ``person_id``, ``n_accounts`` for every account seen in the links
        (accounts without links are their own person).
    joins : pyarrow.Table
        The evidence: ``person_id``, ``id_type``, ``identifier``, ``hashed``, ``accounts``
        (list) — which identifier joined which accounts, strongest type first.
    guarded : pyarrow.Table
        Identifiers that did not merge because too many accounts share them:
        ``id_type``, ``identifier``, ``hashed``, ``n_accounts``, ``limit``.
    split : pyarrow.Table
        Accounts left apart because their chain of links exceeded
        ``max_accounts_per_person``: ``customer_id``, ``component_size``.
    stats : dict
        Counts: links, accounts, identifiers, persons, merged persons, guarded identifiers.
    """

    persons: pa.Table
    joins: pa.Table
    guarded: pa.Table
    split: pa.Table
    stats: dict[str, Any] = field(default_factory=dict)

    def person_map(self) -> dict[str, str]:
        """``{customer_id: person_id}`` for accounts that belong to a larger person."""
        multi = self.persons.filter(pc.greater(self.persons.column("n_accounts"), 1))
        return dict(
            zip(
                multi.column("customer_id").to_pylist(),
                multi.column("person_id").to_pylist(),
                strict=True,
            )
        )

    def person_of(self, customer_id: str) -> str:
        """The person of an account (itself when it merged with nothing)."""
        m = self.persons.filter(pc.equal(self.persons.column("customer_id"), customer_id))
        return m.column("person_id")[0].as_py() if m.num_rows else customer_id

    def accounts(self, person_id: str) -> list[str]:
        """The accounts of a person, sorted."""
        m = self.persons.filter(pc.equal(self.persons.column("person_id"), person_id))
        return sorted(m.column("customer_id").to_pylist()) or [person_id]

    def evidence(self, person_id: str) -> list[dict[str, Any]]:
        """Which identifier joined which accounts of a person (strongest type first)."""
        m = self.joins.filter(pc.equal(self.joins.column("person_id"), person_id))
        return [{k: v for k, v in row.items() if k != "person_id"} for row in m.to_pylist()]


def _limit_of(rules: IdentityConfig, id_type: str) -> int:
    return rules.max_accounts.get(id_type, rules.max_accounts_per_identifier)


def resolve(links: pa.Table, rules: IdentityConfig) -> Resolution:
    """Merge accounts that share identifiers into persons (deterministic union-find).

    Parameters
    ----------
    links : pyarrow.Table
        The ``identities`` table (``customer_id``, ``id_type``, ``identifier``, ``hashed``).
    rules : IdentityConfig
        Which types merge (in priority order) and the over-merge guards.

    Returns
    -------
    Resolution
        Persons, evidence, guarded identifiers and stats. The same links and rules always
        give the same result; cycles of links are simply one person.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    cols = ["customer_id", "id_type", "identifier", "hashed"]
    t = links.select(cols)
    n_links = t.num_rows
    valid = pc.and_(
        pc.and_(pc.is_valid(t.column("customer_id")), pc.is_valid(t.column("id_type"))),
        pc.is_valid(t.column("identifier")),
    )
    t = t.filter(valid).combine_chunks()
    cust = pc.dictionary_encode(t.column("customer_id")).combine_chunks()
    acc_idx = cust.indices.to_numpy().astype(np.int64)
    acc_names = cust.dictionary
    n_acc = len(acc_names)
    key = pc.binary_join_element_wise(t.column("id_type"), t.column("identifier"), "\x1f")
    keyd = pc.dictionary_encode(key).combine_chunks()
    id_idx = keyd.indices.to_numpy().astype(np.int64)
    n_ids = len(keyd.dictionary)
    # first link of each identifier: its type, value and hashed flag
    first = np.full(n_ids, -1, dtype=np.int64)
    first[id_idx[::-1]] = np.arange(len(id_idx) - 1, -1, -1)
    firsts = pa.array(first)
    id_type = t.column("id_type").take(firsts)
    id_value = t.column("identifier").take(firsts)
    id_hashed = pc.fill_null(t.column("hashed").take(firsts), False)
    # distinct (identifier, account) pairs
    pair = np.sort(id_idx * max(n_acc, 1) + acc_idx)
    pair = pair[np.r_[True, pair[1:] != pair[:-1]]] if len(pair) else pair
    p_id = pair // max(n_acc, 1)
    p_acc = pair % max(n_acc, 1)
    n_per_id = np.bincount(p_id, minlength=n_ids)
    priority = {ty: k for k, ty in enumerate(rules.merge_types)}
    type_codes = pc.dictionary_encode(id_type).combine_chunks() if n_ids else None
    if type_codes is not None:
        tnames = type_codes.dictionary.to_pylist()
        tcode = type_codes.indices.to_numpy().astype(np.int64)
        t_merge = np.array([ty in priority for ty in tnames], dtype=bool)
        t_limit = np.array([_limit_of(rules, ty) for ty in tnames], dtype=np.int64)
        t_prio = np.array([priority.get(ty, len(priority)) for ty in tnames], dtype=np.int64)
        mergeable = t_merge[tcode]
        limit = t_limit[tcode]
        prio = t_prio[tcode]
    else:
        mergeable = np.zeros(0, dtype=bool)
        limit = np.zeros(0, dtype=np.int64)
        prio = np.zeros(0, dtype=np.int64)
    guarded = mergeable & (n_per_id > limit)
    joining = mergeable & ~guarded & (n_per_id >= 2)
    use = joining[p_id]
    rows = p_acc[use]
    colsx = n_acc + p_id[use]
    n_nodes = n_acc + n_ids
    graph = coo_matrix(
        (np.ones(len(rows), dtype=np.int8), (rows, colsx)), shape=(n_nodes, n_nodes)
    ).tocsr()
    _, labels = connected_components(graph, directed=False)
    comp = labels[:n_acc].astype(np.int64)
    size = np.bincount(comp, minlength=int(comp.max()) + 1 if n_acc else 0)
    big = size[comp] > rules.max_accounts_per_person if n_acc else np.zeros(0, dtype=bool)
    split_sizes = size[comp][big] if n_acc else np.zeros(0, dtype=np.int64)
    if big.any():  # chains too long to trust: every account stays its own person
        comp = comp.copy()
        comp[big] = (int(comp.max()) + 1) + np.arange(int(big.sum()))
        comp = np.unique(comp, return_inverse=True)[1].astype(np.int64)
    ncomp = int(comp.max()) + 1 if n_acc else 0
    # person_id: the smallest customer id (string order) of the component
    order = pc.sort_indices(acc_names).to_numpy().astype(np.int64)
    rank = np.empty(n_acc, dtype=np.int64)
    rank[order] = np.arange(n_acc)
    minrank = np.full(ncomp, n_acc, dtype=np.int64)
    np.minimum.at(minrank, comp, rank)
    pid_idx = order[minrank[comp]] if n_acc else np.zeros(0, dtype=np.int64)
    n_accounts = np.bincount(comp, minlength=ncomp)[comp] if n_acc else np.zeros(0)
    persons = pa.table(
        {
            "customer_id": acc_names,
            "person_id": acc_names.take(pa.array(pid_idx, pa.int64())),
            "n_accounts": pa.array(n_accounts, pa.int64()),
        }
    ).sort_by([("person_id", "ascending"), ("customer_id", "ascending")])
    # evidence: each joining identifier with the accounts it joined (merged persons only)
    ev = use & ~big[p_acc] if n_acc else use
    ev_tbl = pa.table(
        {
            "_id": pa.array(p_id[ev], pa.int64()),
            "customer_id": acc_names.take(pa.array(p_acc[ev], pa.int64())),
        }
    )
    grouped = ev_tbl.group_by("_id").aggregate([("customer_id", "list")])
    gid = grouped.column("_id").to_numpy() if grouped.num_rows else np.zeros(0, dtype=np.int64)
    acc_lists = [sorted(a) for a in grouped.column("customer_id_list").to_pylist()]
    first_acc = [a[0] for a in acc_lists]
    pos = pc.index_in(pa.array(first_acc, pa.string()), value_set=acc_names).to_numpy(
        zero_copy_only=False
    )
    joins = pa.table(
        {
            "person_id": acc_names.take(pa.array(pid_idx[pos.astype(np.int64)], pa.int64()))
            if len(pos)
            else pa.array([], pa.string()),
            "id_type": id_type.take(pa.array(gid, pa.int64())),
            "identifier": id_value.take(pa.array(gid, pa.int64())),
            "hashed": id_hashed.take(pa.array(gid, pa.int64())),
            "accounts": pa.array(acc_lists, pa.list_(pa.string())),
            "_prio": pa.array(prio[gid] if len(gid) else [], pa.int64()),
        }
    )
    joins = joins.sort_by(
        [("person_id", "ascending"), ("_prio", "ascending"), ("identifier", "ascending")]
    ).drop_columns(["_prio"])
    gi = np.flatnonzero(guarded)
    guard_tbl = pa.table(
        {
            "id_type": id_type.take(pa.array(gi, pa.int64())),
            "identifier": id_value.take(pa.array(gi, pa.int64())),
            "hashed": id_hashed.take(pa.array(gi, pa.int64())),
            "n_accounts": pa.array(n_per_id[gi], pa.int64()),
            "limit": pa.array(limit[gi], pa.int64()),
        }
    ).sort_by([("n_accounts", "descending"), ("identifier", "ascending")])
    split = pa.table(
        {
            "customer_id": acc_names.filter(pa.array(big)) if n_acc else pa.array([], pa.string()),
            "component_size": pa.array(split_sizes, pa.int64()),
        }
    )
    comp_sizes = np.bincount(comp, minlength=ncomp) if n_acc else np.zeros(0)
    stats = {
        "links": n_links,
        "links_incomplete": n_links - t.num_rows,
        "accounts": n_acc,
        "identifiers": n_ids,
        "identifier_types": dict(
            sorted((v["values"], v["counts"]) for v in pc.value_counts(id_type).to_pylist())
        ),
        "persons": ncomp,
        "merged_persons": int((comp_sizes > 1).sum()),
        "accounts_in_merged_persons": int(comp_sizes[comp_sizes > 1].sum()),
        "largest_person": int(comp_sizes.max()) if ncomp else 0,
        "guarded_identifiers": len(gi),
        "accounts_left_apart": int(big.sum()) if n_acc else 0,
        "merge_types": list(rules.merge_types),
    }
    return Resolution(persons, joins, guard_tbl, split, stats)


# -- per-person runs ----------------------------------------------------------------------
def person_tables(
    customers: ir.Table, orders: ir.Table, events: ir.Table, persons: ir.Table
) -> dict[str, ir.Table]:
    """The canonical tables seen per person: every customer id becomes its person's id.

    ``persons`` (``customer_id``, ``person_id``) lists the accounts of merged persons; other
    accounts keep their id. A person's customer row is its ``person_id`` account's row, with
    ``first_seen`` the earliest of its accounts.
    """
    m = persons.select("customer_id", "person_id")

    orders_p = _map_column(orders, m, "customer_id")
    events_p = _map_column(_map_column(events, m, "customer_id"), m, "target_customer_id")
    cust = _map_column(_map_column(customers, m, "customer_id"), m, "referrer_id")
    first = cust.group_by("customer_id").aggregate(_fs=cust.first_seen.min())
    own = customers.filter(
        customers.customer_id.notin(m.filter(m.customer_id != m.person_id).customer_id)
    )
    own = _map_column(own, m, "referrer_id")
    own = own.left_join(first, own.customer_id == first.customer_id)
    own = own.select(
        *[own._fs.name("first_seen") if c == "first_seen" else own[c] for c in customers.columns]
    )
    return {"customers": own, "orders": orders_p, "events": events_p}


def _map_column(t: ir.Table, m: ir.Table, column: str) -> ir.Table:
    mm = m.view().rename(_cid="customer_id", _pid="person_id")
    j = t.left_join(mm, t[column] == mm._cid)
    return j.select(*[j._pid.coalesce(j[c]).name(c) if c == column else j[c] for c in t.columns])


def short_identifier(value: str | None, hashed: bool | None) -> str | None:
    """How an identifier appears in evidence: a hash is cut to ``h:`` + 12 hex digits."""
    if value is None:
        return None
    return value[: len(HASH_PREFIX) + 12] if hashed else value


def apply_persons(tables: dict[str, ir.Table], resolution: Resolution) -> dict[str, ir.Table]:
    """The run's tables per person (see `person_tables`); unchanged without merges."""
    import ibis

    multi = resolution.persons.filter(pc.greater(resolution.persons.column("n_accounts"), 1))
    if not multi.num_rows:
        return tables
    persons = ibis.memtable(multi.select(["customer_id", "person_id"]))
    out = dict(tables)
    out.update(person_tables(tables["customers"], tables["orders"], tables["events"], persons))
    return out


def annotate_profiles(profiles: pa.Table, resolution: Resolution, per_person: bool) -> pa.Table:
    """Add ``person_id``, ``n_accounts``, ``accounts`` and ``identity_evidence`` columns.

    Per person, ``customer_id`` already is the person's id; per account, each account row
    names its person. ``identity_evidence`` is a JSON list of the identifiers that joined
    the person's accounts (hashes shortened), strongest type first.
    """
    ids = profiles.column("customer_id").to_pylist()
    pmap = resolution.person_map()
    accounts: dict[str, list[str]] = {}
    for cid, pid in pmap.items():
        accounts.setdefault(pid, []).append(cid)
    evidence: dict[str, list[dict[str, Any]]] = {}
    for row in resolution.joins.to_pylist():
        evidence.setdefault(row["person_id"], []).append(
            {
                "id_type": row["id_type"],
                "identifier": short_identifier(row["identifier"], row["hashed"]),
                "accounts": row["accounts"],
            }
        )
    person = ids if per_person else [pmap.get(c, c) for c in ids]
    accs = [sorted(accounts.get(p, [p])) for p in person]
    out = profiles
    for name, values, typ in (
        ("person_id", person, pa.string()),
        ("n_accounts", [len(a) for a in accs], pa.int64()),
        ("accounts", [json.dumps(a, ensure_ascii=False) for a in accs], pa.string()),
        (
            "identity_evidence",
            [json.dumps(evidence.get(p, []), ensure_ascii=False) for p in person],
            pa.string(),
        ),
    ):
        if name in out.column_names:
            out = out.drop_columns([name])
        out = out.append_column(name, pa.array(values, typ))
    return out
