"""The demo shop: vocabularies."""

from __future__ import annotations

import pyarrow as pa

from tierwise.config import Config

ARCHETYPES: dict[str, float] = {
    "deal_hunter": 0.08,
    "active": 0.07,
    "creator": 0.04,
    "kol": 0.01,
    "barnacle": 0.10,
    "butterfly": 0.05,
    "stranger": 0.12,
    "true_friend": 0.03,
    "churned": 0.10,
    "long_silent": 0.12,
    "potential": 0.13,
    "new_buyer": 0.15,
}
"""Default share of each archetype among the customers."""

LIFECYCLE_STAGES = ("potential", "new", "repeat", "high_value", "churned", "long_silent")
BEHAVIOUR_TYPES = ("self_directed", "active", "creator", "kol")
QUADRANTS = ("", "stranger", "barnacle", "butterfly", "true_friend")
INTENTION_GRADES = ("high", "medium", "low", "long_silent")
RFM_SHAPES = (
    "champions",
    "loyal",
    "big_spenders",
    "potential_loyalist",
    "new",
    "at_risk",
    "dormant",
    "prospects",
)
PERSONAS = ("none", "mother", "student", "office_worker", "elder_gift")

_DEFAULTS = Config.default()

INTENTION_WEIGHTS: dict[str, float] = {
    event: float(weight) for event, weight in _DEFAULTS.features.intention.weights.items()
}
"""Event weights of the intention score the truth's grades are planted against (the default
config's)."""

INTENTION_HALF_LIFE_DAYS = float(_DEFAULTS.features.intention.half_life_days)

# Types a scorer might plausibly weight too; planted upper bounds hold with them counted.
_EXTRA_WEIGHTS: dict[str, float] = {
    "livestream_visit": 1.0,
    "follow": 1.0,
    "review_photo": 2.0,
    "review_video": 2.0,
    "buyer_show": 2.0,
    "cart": 1.0,
    "referral": 2.5,
}

# Planted score bands, each with a margin from the default config's grade thresholds
# (high >= 10, medium >= 3: high from 14, medium 4.2 to 7, low up to 2).
_HIGH, _MEDIUM = (float(_DEFAULTS.schemes["intention"].params[g]) for g in ("high", "medium"))
_HIGH_MIN = round(1.4 * _HIGH, 6)
_MEDIUM_MIN, _MEDIUM_MAX = round(1.4 * _MEDIUM, 6), round(0.7 * _HIGH, 6)
_LOW_MAX = round(_MEDIUM * 2 / 3, 6)

TRUTH_SCHEMA = pa.schema(
    [
        pa.field("customer_id", pa.string(), nullable=False),
        pa.field("archetype", pa.string(), nullable=False),
        pa.field("lifecycle_stage", pa.string(), nullable=False),
        pa.field("behaviour_types", pa.string(), nullable=False),
        pa.field("quadrant", pa.string(), nullable=False),
        pa.field("intention_grade", pa.string(), nullable=False),
        pa.field("rfm_shape", pa.string(), nullable=False),
        pa.field("persona", pa.string(), nullable=False),
        pa.field("price_sensitive", pa.int8(), nullable=False),
        pa.field("intention_score", pa.float64(), nullable=False),
    ]
)
"""Columns of the truth table."""
