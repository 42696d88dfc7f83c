"""The run: features, scores and labels of every customer as of a date, on any Ibis engine."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis.expr.types as ir
import pyarrow as pa

from tierwise.config import Config
from tierwise.features import customer_features
from tierwise.schemes.engine import apply_schemes
from tierwise.schemes.rfm import RFM_COLUMNS, RFMBinner

__all__ = ["ProfileRun", "compute_profiles", "profile_expression"]


@dataclass(frozen=True)
class ProfileRun:
    """The outcome of a run: the profile table and the estimators fitted on the way."""

    as_of: dt.date
    profiles: pa.Table
    rfm: RFMBinner

    def meta(self, config: Config) -> dict:
        """What produced the profiles, for the snapshot record."""
        return {
            "as_of": self.as_of.isoformat(),
            "config": config.model_dump(),
            "rfm_edges": self.rfm.edges_,
        }


def profile_expression(features: ir.Table, config: Config, rfm: RFMBinner) -> ir.Table:
    """Scores and labels on top of a feature table, as one engine-neutral expression."""
    scored = features.mutate(**rfm.expressions(features))
    return apply_schemes(scored, config.schemes)


def compute_profiles(
    customers: ir.Table,
    orders: ir.Table,
    events: ir.Table,
    as_of: dt.date,
    config: Config,
    *,
    rfm: RFMBinner | None = None,
) -> ProfileRun:
    """Compute every customer's profile as of ``as_of``.

    Parameters
    ----------
    customers, orders, events : ibis Table
        Canonical tables, all on one Ibis backend (DuckDB, PySpark, ...).
    as_of : datetime.date
        Nothing stamped after this day is read.
    config : Config
        Features, RFM binning and rule schemes.
    rfm : RFMBinner, optional
        A fitted binner to score on earlier edges; by default one is fitted on these customers.

    Returns
    -------
    ProfileRun
        Profiles sorted by customer id, and the binner used.
    """
    features = customer_features(customers, orders, events, as_of, config.features).cache()
    try:
        if rfm is None:
            rfm = RFMBinner(
                quantiles=config.rfm.quantiles, fixed_edges=config.rfm.fixed_edges or None
            )
            sample = features.filter(features.orders > 0).select(*RFM_COLUMNS.values())
            rfm.fit(sample.to_pandas())
        profiles = profile_expression(features, config, rfm).order_by("customer_id").to_pyarrow()
    finally:
        features.release()
    return ProfileRun(as_of=as_of, profiles=profiles, rfm=rfm)
