"""The run: features, scores and labels of every customer as of a date, on any Ibis engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa

from tierwise.backends import duckdb_connection, release_memory
from tierwise.config import Config
from tierwise.schemes.rfm import RFMBinner
from tierwise.steps import PreviousSnapshot, run_steps
from tierwise.steps.clv import CLVResult
from tierwise.store import Store, StoredProfiles

__all__ = ["ProfileRun", "compute_profiles", "previous_snapshot"]


@dataclass(frozen=True)
class ProfileRun:
    """The outcome of a run: the profile table, what the steps learned, and their notes.

    ``fitted`` holds, per step that learns, its state as data (``state``), the config block
    it was learned under, the day it was learned (``fitted_on``) and whether this run reused
    it (``reused``); it is stored with the snapshot. ``scheme_params`` are the params learned
    for rule schemes (the quadrant's lines), shown in the evidence. ``profile_data`` is the
    profile table in memory, or where it is kept in the store when the run was computed
    into it (`tierwise.store.StoredProfiles`); `profiles` reads it either way.
    """

    as_of: dt.date
    profile_data: pa.Table | StoredProfiles
    config: Config
    fitted: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    scheme_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    rfm: RFMBinner | None = None
    clv: CLVResult | None = None
    features: dict[str, Any] | None = None
    """Where the features came from (`tierwise.rollups.RunFeatures.source`)."""

    @property
    def profiles(self) -> pa.Table:
        """One row per customer: features, scores and labels, in customer order."""
        return self.read()

    def read(self, columns: Sequence[str] | None = None) -> pa.Table:
        """The profiles, or some of their columns, in customer order."""
        data = self.profile_data
        if isinstance(data, StoredProfiles):
            return data.read(columns)
        return data if columns is None else data.select(list(columns))

    @property
    def num_customers(self) -> int:
        """Number of customers profiled (without reading the profiles)."""
        return self.profile_data.num_rows

    @property
    def columns(self) -> list[str]:
        """The profile's columns (without reading the profiles)."""
        return list(self.profile_data.column_names)

    def meta(self) -> dict[str, Any]:
        """What produced the profiles, for the snapshot record."""
        return {
            "as_of": self.as_of.isoformat(),
            "config": self.config.model_dump(),
            "fitted": self.fitted,
            "notes": self.notes,
            "scheme_params": self.scheme_params,
            "rfm_edges": self.rfm.edges_ if self.rfm is not None else None,
            "clv": self.clv.meta() if self.clv is not None else None,
            "features": self.features,
        }


def compute_profiles(
    customers: ir.Table,
    orders: ir.Table,
    events: ir.Table,
    as_of: dt.date,
    config: Config,
    *,
    rfm: RFMBinner | None = None,
    fitted: dict[str, dict[str, Any]] | None = None,
    fitted_source: str = "the reused snapshot",
    base_dir: Path | None = None,
    previous: PreviousSnapshot | None = None,
    store: Store | None = None,
) -> ProfileRun:
    """Compute every customer's profile as of ``as_of`` through the configured steps.

    Parameters
    ----------
    customers, orders, events : ibis Table
        Canonical tables, all on one Ibis backend (DuckDB, PySpark, ...).
    as_of : datetime.date
        Nothing stamped after this day is read.
    config : Config
        Features, steps and rule schemes.
    rfm : RFMBinner, optional
        A fitted binner to score on its edges (shorthand for reusing the ``rfm`` state).
    fitted : dict, optional
        `ProfileRun.fitted` of an earlier run: every step that learns reuses its state (and
        says so when it is missing or was learned under another config block).
    base_dir : Path, optional
        Folder that relative paths in the config (tag lexicons) are read from.
    previous : PreviousSnapshot, optional
        The stored snapshot before ``as_of`` (member levels carry over from it).
    store : Store, optional
        The store the tables come from: the profiles are computed into it
        (`Store.stage_profiles`) rather than into memory, ready for `Store.write_snapshot`.
        Ignored when the tables are on another engine.

    Returns
    -------
    ProfileRun
        Profiles sorted by customer id, the fitted state and the notes of the steps.
    """
    reuse = None
    if rfm is not None:
        from tierwise.steps.runner import state_entry

        state = {"edges": rfm.edges_, "n_buyers": getattr(rfm, "n_buyers_", None)}
        fitted = {**(fitted or {}), "rfm": state_entry("rfm", config, state, fitted_on=None)}
        reuse = {"rfm"}
    tables = {"customers": customers, "orders": orders, "events": events}
    outcome = run_steps(tables, as_of, config, base_dir=base_dir, fitted=fitted,
                        reuse=reuse, fitted_source=fitted_source, previous=previous)  # fmt: skip
    try:
        release_memory(outcome.profile)  # what the steps read: the profile's query comes next
        if store is not None and duckdb_connection(outcome.profile) is store.con:
            profiles = store.stage_profiles(outcome.profile, outcome.carry)
        else:
            profiles = outcome.profile.order_by("customer_id").to_pyarrow()
    finally:
        outcome.release()
    return ProfileRun(
        as_of=as_of,
        profile_data=profiles,
        config=config,
        fitted=outcome.fitted,
        notes=outcome.notes,
        scheme_params=outcome.scheme_params,
        rfm=outcome.extras.get("rfm"),
        clv=outcome.extras.get("clv"),
        features=outcome.extras.get("features"),
    )


def previous_snapshot(store: Store, as_of: dt.date) -> PreviousSnapshot | None:
    """The newest snapshot of ``store`` before ``as_of``, for the steps (``None``: none)."""
    from tierwise.backends import carried_table, snapshot_table

    earlier = [d for d in store.snapshots() if d < as_of]
    if not earlier:
        return None
    day = earlier[-1]
    meta = store.snapshot_meta(day)
    return PreviousSnapshot(
        as_of=day,
        columns=tuple(store.profile_columns(day)),
        read=lambda columns: store.read_profile_columns(day, columns),
        fitted=meta.get("fitted", {}),
        meta=meta,
        table=lambda: snapshot_table(store, day),
        carried=lambda step: carried_table(store, day, step),
    )
