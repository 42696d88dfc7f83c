"""Per-customer daily rollups of orders and events, kept in the store for fast daily runs.

Four tables, maintained by the run from the import log (`tierwise.store.Store.refresh_rollups`):

- ``rollup_orders``: per customer, day and channel — paid orders, amount and margin (decimal),
  orders with a margin, items, coupon orders, refunds, first and last payment time;
- ``rollup_events``: per customer, day, event type and channel — count, first and last time,
  and the intention score's decay of the day (see `tierwise.features`);
- ``rollup_sends``: each campaign send with its first response at or after it;
- ``rollup_referrals``: each referrer and customer named by a referral event, with the
  earliest such event.

Beside them ``rollup_typed_events`` keeps the events of the types the entrance sources name
(`typed_events`), brought up to date by the entrance step from the same import log.

The order and event rollups are stored in order of their day, so that a daily run reading
the few days that moved skips the row groups of every other day. Features computed from them
equal the features computed from the raw rows, column by column (docs/rollups.md says how,
feature by feature). Rows written outside the importer (plain SQL) are noticed by their count
and trigger a rebuild.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb
import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir

from tierwise.backends import duckdb_connection
from tierwise.carry import CarrySource
from tierwise.config import FeatureConfig
from tierwise.errors import StoreError
from tierwise.features import customer_features
from tierwise.store import Store

__all__ = [
    "RollupTables", "RunFeatures", "current_rollups", "features_for_run", "refresh_rollups",
    "rollup_tables", "stored_rollups", "typed_events",
]  # fmt: skip


@dataclass(frozen=True)
class RollupTables:
    """The rollup tables as Ibis tables, and the intention half-life they were built for."""

    orders: ir.Table
    events: ir.Table
    sends: ir.Table
    half_life_days: float
    referrals: ir.Table | None = None
    """``customer_id`` (the referrer), ``target_customer_id`` and ``occurred_at`` (the
    earliest referral event naming the target; ``None``: rollups of an earlier layout)."""
    referral_types: tuple[str, ...] = ()
    """The event types ``referrals`` were rolled up from."""
    changes: ir.Table | None = None
    """Per refresh (``generation``), the customers re-derived and from which day on."""
    generation: int = 0
    """How many refreshes changed the rollups (a run records the generation it read)."""
    build: str | None = None
    """Which full build the rollups come from: runs of an earlier build are not carried on."""
    imports: ir.Table | None = None
    """The imports rolled up: ``import_id``, ``entity``, ``rows_updated`` and the
    ``generation`` that took them in."""
    customers_written: int | None = None
    """The last generation at which customers rows were written outside the importer."""

    def referrals_of(self, types: Iterable[str]) -> ir.Table | None:
        """``referrals`` when they were rolled up from the event types ``types`` (else
        ``None``: read the raw events)."""
        same = tuple(sorted(types)) == tuple(self.referral_types)
        return self.referrals if same else None


def refresh_rollups(store: Store, cfg: FeatureConfig) -> dict:
    """Bring the store's rollups up to date (atomically); see `Store.refresh_rollups`."""
    return store.refresh_rollups(
        half_life_days=cfg.intention.half_life_days,
        send_types=list(cfg.campaign_send_types),
        response_types=list(cfg.campaign_response_types),
        referral_types=list(cfg.referral_types),
    )


def rollup_tables(store: Store) -> RollupTables:
    """The store's rollups as Ibis tables on its connection.

    Raises
    ------
    StoreError
        If the rollups have not been built yet.
    """
    state = store.rollup_state()
    if state is None:
        raise StoreError(f"{store.path} has no rollups yet; they are built by `tierwise run`")
    con = ibis.duckdb.from_connection(store.con)
    generation = state.get("generation", 0)
    imports = con.table("rollup_imports")
    if "generation" in imports.columns:  # the import log of every refresh
        log = con.table("imports").select("import_id", "entity", "rows_updated")
        imports = imports.join(log, "import_id")
    else:
        imports = None
    return RollupTables(
        orders=con.table("rollup_orders"),
        events=con.table("rollup_events"),
        sends=con.table("rollup_sends"),
        half_life_days=state["half_life_days"],
        referrals=con.table("rollup_referrals") if store.has_table("rollup_referrals") else None,
        referral_types=tuple(state.get("referral_types", ())),
        changes=con.table("rollup_changes") if store.has_table("rollup_changes") else None,
        generation=generation,
        build=state.get("build"),
        imports=imports,
        customers_written=state.get("customers_written"),
    )


def _store_of(table: ir.Table) -> Store | None:
    """The writable tierwise store an Ibis table lives on, or ``None`` (Spark, read-only)."""
    con = duckdb_connection(table)
    if con is None:
        return None
    try:
        return Store.from_connection(con)
    except StoreError:
        return None


def _is_stored(table: ir.Table, name: str) -> bool:
    """Whether ``table`` is the store's own table ``name`` as it stands (the rollups summarise
    exactly that; a derived table — accounts merged into persons, a filter — is not it)."""
    op = table.op()
    return isinstance(op, ops.DatabaseTable) and op.name == name


def stored_rollups(orders: ir.Table, **others: ir.Table) -> RollupTables | None:
    """The rollups of the tierwise store ``orders`` lives in, as they are (``None``: not in
    a store, none built, or one of ``others`` — canonical tables by name — is not the
    store's own table)."""
    stored = all(_is_stored(t, name) for name, t in {"orders": orders, **others}.items())
    store = _store_of(orders) if stored else None
    if store is None or store.rollup_state() is None:
        return None
    return rollup_tables(store)


def current_rollups(
    orders: ir.Table, cfg: FeatureConfig, events: ir.Table | None = None
) -> RollupTables | None:
    """The rollups of the writable tierwise store ``orders`` (and ``events``) are the tables
    of, brought up to date first; ``None`` when ``features.rollups`` is off, the tables are
    derived from the stored ones or not in such a store (Spark, Parquet), or the store is
    read-only (the caller reads the raw rows)."""
    stored = _is_stored(orders, "orders") and (events is None or _is_stored(events, "events"))
    store = _store_of(orders) if cfg.rollups and stored else None
    if store is None:
        return None
    try:
        refresh_rollups(store, cfg)
    except duckdb.Error:
        # a read-only store cannot maintain its rollups: read the raw rows
        return None
    return rollup_tables(store)


def typed_events(events: ir.Table, event_types: Iterable[str]) -> ir.Table | None:
    """The rows of ``event_types`` of the store's own ``events``, from the store's
    ``rollup_typed_events`` (brought up to date first): a few percent of the events, read
    without scanning them all. ``None`` when ``events`` is not a writable store's own table
    or its rollups are not current (the caller reads ``events``)."""
    store = _store_of(events) if _is_stored(events, "events") else None
    if store is None:
        return None
    try:
        name = store.refresh_typed_events(list(event_types))
    except duckdb.Error:
        return None  # a read-only store
    return None if name is None else events._find_backend().table(name)


@dataclass(frozen=True)
class RunFeatures:
    """The features of a run and where they came from."""

    table: ir.Table
    source: dict
    """``rollups`` (``build``, ``generation``; ``None``: raw rows were read), ``carried_from``
    (the earlier snapshot's day, or ``None``) and, when not carried, ``why_not``."""
    notes: list[str]


def features_for_run(
    customers: ir.Table,
    orders: ir.Table,
    events: ir.Table,
    as_of: dt.date,
    cfg: FeatureConfig,
    *,
    columns: Iterable[str] | None = None,
    previous: CarrySource | None = None,
) -> RunFeatures:
    """`customer_features` for a run: with ``features.rollups: true``, from the rollups when the
    tables live in a writable tierwise store (brought up to date first), else from raw rows;
    carried over from ``previous`` (an earlier run) when `tierwise.carry.carry_refusal` finds
    nothing against it."""
    from tierwise.carry import carry_refusal
    from tierwise.features import _closure, feature_columns

    rollups = current_rollups(orders, cfg, events)
    source: dict = {"rollups": None, "carried_from": None}
    notes: list[str] = []
    carry = None
    if rollups is not None:
        source["rollups"] = {"build": rollups.build, "generation": rollups.generation}
        if previous is not None and cfg.carry_days > 0:
            all_columns = feature_columns(cfg)
            need = _closure(set(all_columns if columns is None else columns), all_columns)
            why = carry_refusal(previous, rollups, as_of, cfg, need)
            if why is None:
                carry = previous
                source["carried_from"] = previous.as_of.isoformat()
                notes.append(f"features: carried over from the snapshot as of {previous.as_of}")
            else:
                source["why_not"] = why
                notes.append(
                    f"features: computed from all rollup rows, not carried over from the "
                    f"snapshot as of {previous.as_of}: {why}"
                )
    table = customer_features(
        customers, orders, events, as_of, cfg, columns=columns, rollups=rollups, carry=carry,
        keep_state=True,
    )  # fmt: skip
    return RunFeatures(table, source, notes)
