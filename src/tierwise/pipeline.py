"""The run: features, scores and labels of every customer as of a date, on any Ibis engine."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from tierwise.config import Config
from tierwise.features import cutoff_of, needed_features, referral_pairs
from tierwise.influence import INFLUENCE_COLUMNS, influence
from tierwise.lifetime_value import CLV_COLUMNS, CLVResult, clv_inputs, fit_clv
from tierwise.rollups import features_for_run
from tierwise.schemes.engine import apply_schemes
from tierwise.schemes.rfm import RFM_COLUMNS, RFMBinner

__all__ = [
    "ENRICHMENT_COLUMNS",
    "ProfileRun",
    "compute_profiles",
    "profile_expression",
]


@dataclass(frozen=True)
class ProfileRun:
    """The outcome of a run: the profile table and what was fitted on the way.

    ``config`` is the configuration as applied: learned thresholds (the loyalty x
    profitability lines) replace the params they stand for, so evidence shows them.
    """

    as_of: dt.date
    profiles: pa.Table
    rfm: RFMBinner
    config: Config
    clv: CLVResult | None = None

    def meta(self) -> dict:
        """What produced the profiles, for the snapshot record."""
        return {
            "as_of": self.as_of.isoformat(),
            "config": self.config.model_dump(),
            "rfm_edges": self.rfm.edges_,
            "clv": self.clv.meta() if self.clv is not None else None,
        }


def profile_expression(features: ir.Table, config: Config, rfm: RFMBinner) -> ir.Table:
    """Scores and labels on top of a feature table, as one engine-neutral expression.

    Columns of the enrichment steps (influence, text tags, CLV) that the table lacks, because a
    step is switched off or was not run, are added empty so every rule still compiles.
    """
    features = features.mutate(
        **{c: ibis.null(t) for c, t in ENRICHMENT_COLUMNS.items() if c not in features.columns}
    )
    scored = features.mutate(**rfm.expressions(features))
    return apply_schemes(scored, config.schemes)


def _memtable(df: pd.DataFrame, schema: ibis.Schema) -> ir.Table:
    """A pandas frame as an in-memory table of a fixed schema; missing values become nulls."""
    arrow = pa.Table.from_pandas(df[list(schema.names)], schema=schema.to_pyarrow(),
                                 preserve_index=False)  # fmt: skip
    return ibis.memtable(arrow)


def _with_influence(
    features: ir.Table, customers: ir.Table, events: ir.Table, as_of: dt.date, config: Config
) -> ir.Table:
    """Join the referral-graph influence of every customer (0 outside the graph)."""
    cutoff = cutoff_of(as_of)
    pairs = referral_pairs(customers, events, features, cutoff, config.features)
    graph = influence(pairs.select("referrer", "target", "revenue").to_pandas())
    types = {c: ENRICHMENT_COLUMNS[c] for c in INFLUENCE_COLUMNS}
    schema = ibis.schema({"customer_id": "string", **types})
    joined = features.left_join(_memtable(graph, schema), "customer_id").drop("customer_id_right")
    return joined.mutate(**{c: joined[c].fill_null(0) for c in INFLUENCE_COLUMNS})


def _with_clv(
    features: ir.Table, orders: ir.Table, as_of: dt.date, config: Config
) -> tuple[ir.Table, CLVResult]:
    """Join CLV predictions, the seed formula's terms and the quadrant axes of every buyer."""
    inputs = clv_inputs(orders, as_of).to_pandas()
    rates = features.filter(features.margin_orders > 0).select(
        "customer_id", rate=features.margin_total / features.monetary_total
    )
    rate = rates.to_pandas().set_index("customer_id").rate
    result = fit_clv(inputs, rate.where(rate.between(0, 1)), config.clv)
    schema = ibis.schema({"customer_id": "string", **dict.fromkeys(CLV_COLUMNS, "float64")})
    right = _memtable(result.table, schema)
    joined = features.left_join(right, "customer_id").drop("customer_id_right")
    return joined, result


ENRICHMENT_COLUMNS: dict[str, str] = {
    "influence_reach": "int64",
    "influence_revenue": "float64",
    "influence_score": "float64",
    "top_tags": "string",
    "tags": "string",
    "persona": "string",
    "price_mentions": "int64",
    "price_polarity": "int64",
    **dict.fromkeys(CLV_COLUMNS, "float64"),
}
"""Columns added after the features, with their types."""


def _with_text_tags(
    features: ir.Table, events: ir.Table, as_of: dt.date, config: Config, base_dir: Path | None
) -> ir.Table:
    """Join each customer's precise tags from the text of their events (up to ``as_of``)."""
    from tierwise.tags import Tagger, customer_tags, load_lexicon, top_tags

    cutoff = cutoff_of(as_of)
    texts = events.filter((events.occurred_at < cutoff) & events.text.notnull())
    texts = texts.order_by(["customer_id", "occurred_at", "event_id"])
    paths = [(base_dir / p) if base_dir else Path(p) for p in config.tags.lexicons]
    tagger = Tagger(load_lexicon(*paths), min_confidence=config.tags.min_confidence or 0.5)
    table = customer_tags(texts.select("customer_id", "text").to_pandas(), tagger=tagger)
    top = top_tags(table, k=config.tags.top_k, tagger=tagger)
    ids = table.assign(tag=table.major.astype(str) + "/" + table.minor.astype(str))
    per = ids.groupby("customer_id", sort=True)
    persona = table[table.major == "persona"].sort_values(["customer_id", "rank"])
    price = table[table.minor == "price_sensitive"].set_index("customer_id")
    portrait = pd.DataFrame({"tags": per.tag.agg(";".join)}).reset_index()
    portrait = portrait.merge(top[["customer_id", "top_tags"]], on="customer_id", how="left")
    # "" rather than a missing value: Spark reads a missing string of an in-memory table as
    # the text "NaN"; the engine turns "" back into null below
    portrait["persona"] = portrait.customer_id.map(
        persona.groupby("customer_id").minor.first().astype(str)
    ).fillna("")
    portrait["price_mentions"] = portrait.customer_id.map(price.n_texts).fillna(0).astype("int64")
    portrait["price_polarity"] = (
        portrait.customer_id.map(price.net_polarity).fillna(0).astype("int64")
    )
    schema = ibis.schema({"customer_id": "string", "top_tags": "string", "tags": "string",
                          "persona": "string", "price_mentions": "int64",
                          "price_polarity": "int64"})  # fmt: skip
    right = _memtable(portrait, schema)
    joined = features.left_join(right, "customer_id").drop("customer_id_right")
    return joined.mutate(
        persona=joined.persona.nullif(""),
        price_mentions=joined.price_mentions.fill_null(0),
        price_polarity=joined.price_polarity.fill_null(0),
    )


def compute_profiles(
    customers: ir.Table,
    orders: ir.Table,
    events: ir.Table,
    as_of: dt.date,
    config: Config,
    *,
    rfm: RFMBinner | None = None,
    base_dir: Path | None = None,
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
    base_dir : Path, optional
        Folder that relative paths in the config (tag lexicons) are read from.

    Returns
    -------
    ProfileRun
        Profiles sorted by customer id, and the binner used.
    """
    cached = features_for_run(
        customers, orders, events, as_of, config.features, columns=needed_features(config)
    ).cache()
    try:
        features = _with_influence(cached, customers, events, as_of, config)
        if config.tags.enabled:
            features = _with_text_tags(features, events, as_of, config, base_dir)
        clv = None
        if config.clv.enabled:
            features, clv = _with_clv(features, orders, as_of, config)
            if clv.quadrant_thresholds and "quadrant" in config.schemes:
                config = config.with_overrides(
                    {"schemes": {"quadrant": {"params": clv.quadrant_thresholds}}}
                )
        if rfm is None:
            rfm = RFMBinner(
                quantiles=config.rfm.quantiles, fixed_edges=config.rfm.fixed_edges or None
            )
            sample = features.filter(features.orders > 0).select(*RFM_COLUMNS.values())
            sample = sample.to_pandas()
            if sample.empty and not config.rfm.fixed_edges:
                # a shop of events only: nobody is scored, any edges will do
                zeros = [0.0] * len(config.rfm.quantiles)
                rfm.fixed_edges = dict.fromkeys(RFM_COLUMNS.values(), zeros)
            rfm.fit(sample)
        profiles = profile_expression(features, config, rfm).order_by("customer_id").to_pyarrow()
    finally:
        cached.release()
    return ProfileRun(as_of=as_of, profiles=profiles, rfm=rfm, config=config, clv=clv)
