"""The demo shop: archetype variants ("kinds"): labels and order shape."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_SELF, _ACTIVE, _CREATOR, _KOL = 1, 2, 4, 8


@dataclass(frozen=True)
class _Kind:
    archetype: str
    variant: str
    share: float
    lifecycle: str
    quadrant: str
    behaviour: int
    intention: str
    rfm: str
    shape: str  # order shape: none, deal, small, large, few_large, single_recent, ...


_KINDS: tuple[_Kind, ...] = (
    _Kind("deal_hunter", "", 1.0, "repeat", "stranger", _SELF, "low", "potential_loyalist", "deal"),
    _Kind("active", "fan", 0.45, "potential", "", _ACTIVE, "high", "prospects", "none"),
    _Kind("active", "seed", 0.40, "repeat", "barnacle", _ACTIVE, "high", "loyal", "small"),
    _Kind("active", "forwarder", 0.15, "high_value", "", _ACTIVE, "high", "prospects", "none"),
    _Kind("creator", "small", 0.5, "repeat", "barnacle", _CREATOR, "high", "loyal", "small"),
    _Kind(
        "creator", "large", 0.5, "high_value", "true_friend", _CREATOR, "high", "champions", "large"
    ),
    _Kind(
        "kol",
        "large_creator",
        0.25,
        "high_value",
        "true_friend",
        _KOL | _CREATOR,
        "high",
        "champions",
        "large",
    ),
    _Kind("kol", "large", 0.15, "high_value", "true_friend", _KOL, "high", "champions", "large"),
    _Kind(
        "kol",
        "small_creator",
        0.20,
        "high_value",
        "barnacle",
        _KOL | _CREATOR,
        "high",
        "loyal",
        "small",
    ),
    _Kind("kol", "small", 0.15, "high_value", "barnacle", _KOL, "high", "loyal", "small"),
    _Kind("kol", "non_buyer", 0.25, "high_value", "", _KOL, "high", "prospects", "none"),
    _Kind("barnacle", "engaged", 0.6, "repeat", "barnacle", 0, "medium", "loyal", "small"),
    _Kind("barnacle", "quiet", 0.4, "repeat", "barnacle", 0, "low", "loyal", "small"),
    _Kind(
        "butterfly", "", 1.0, "high_value", "butterfly", 0, "medium", "big_spenders", "few_large"
    ),
    _Kind("stranger", "new", 0.35, "new", "stranger", 0, "low", "new", "single_recent"),
    _Kind("stranger", "lapsed", 0.65, "churned", "stranger", 0, "low", "dormant", "single_old"),
    _Kind("true_friend", "", 1.0, "high_value", "true_friend", 0, "high", "champions", "large"),
    _Kind("churned", "", 1.0, "churned", "stranger", 0, "low", "at_risk", "lapsed"),
    _Kind("long_silent", "never", 0.5, "long_silent", "", 0, "long_silent", "dormant", "none"),
    _Kind(
        "long_silent", "lapsed", 0.5, "long_silent", "stranger", 0, "long_silent", "dormant", "old"
    ),
    _Kind("potential", "engaged", 0.5, "potential", "", 0, "medium", "prospects", "none"),
    _Kind("potential", "quiet", 0.5, "potential", "", 0, "low", "prospects", "none"),
    _Kind("new_buyer", "engaged", 0.4, "new", "stranger", 0, "medium", "new", "single_recent"),
    _Kind("new_buyer", "quiet", 0.6, "new", "stranger", 0, "low", "new", "single_recent"),
)

# Price sensitivity rate per archetype.
_PRICE_SENSITIVE: dict[str, float] = {
    "deal_hunter": 0.85,
    "stranger": 0.7,
    "barnacle": 0.5,
    "churned": 0.4,
    "new_buyer": 0.4,
    "potential": 0.4,
    "active": 0.3,
    "long_silent": 0.3,
    "creator": 0.25,
    "kol": 0.2,
    "butterfly": 0.1,
    "true_friend": 0.1,
}
_PERSONA_P = np.array([0.33, 0.22, 0.15, 0.20, 0.10])
