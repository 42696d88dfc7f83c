"""A seeded demo shop: customers, orders and events with planted ground truth.

Every customer is drawn from an archetype (deal hunter, active interactor, creator, KOL,
barnacle, butterfly, stranger, true friend, churned, long-silent, potential, plain new buyer)
and the data are laid out so that the default tiering rules recover the archetype's labels
with a margin from every threshold. The ``truth`` table holds those labels; see
``docs/demo.md`` for the rules the planting follows.

Generation is vectorised with numpy: one million customers with twenty orders and fifty events
each (20 M orders, 50 M events) take about a minute of CPU time on one core.
"""

from __future__ import annotations

from tierwise.demo.generate import generate_shop
from tierwise.demo.shop import DemoShop
from tierwise.demo.vocabulary import (
    ARCHETYPES,
    BEHAVIOUR_TYPES,
    INTENTION_GRADES,
    INTENTION_HALF_LIFE_DAYS,
    INTENTION_WEIGHTS,
    LIFECYCLE_STAGES,
    PERSONAS,
    QUADRANTS,
    RFM_SHAPES,
    TRUTH_SCHEMA,
)

__all__ = [
    "ARCHETYPES",
    "BEHAVIOUR_TYPES",
    "INTENTION_GRADES",
    "INTENTION_HALF_LIFE_DAYS",
    "INTENTION_WEIGHTS",
    "LIFECYCLE_STAGES",
    "PERSONAS",
    "QUADRANTS",
    "RFM_SHAPES",
    "TRUTH_SCHEMA",
    "DemoShop",
    "generate_shop",
]
