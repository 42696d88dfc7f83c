"""Typed, validated configuration: features, RFM binning and rule schemes, with zh/en names.

A project's YAML file is merged over the packaged defaults (mappings merge key by key, lists
are replaced whole), then validated. Every error names the place in the file.
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tierwise.errors import ConfigError
from tierwise.schemes.rules import Condition

__all__ = [
    "CLVConfig",
    "Config",
    "FeatureConfig",
    "IntentionConfig",
    "LabelRule",
    "RFMConfig",
    "RuleScheme",
    "TagsConfig",
    "default_config_text",
    "load_config",
]

_IDENT = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IntentionConfig(_Strict):
    """The weighted, time-decayed behaviour score of seed 001 (``intention_score``).

    An event of type *t* on channel *c*, *d* days before the as-of day, adds
    ``weight(t, c) * 0.5 ** (d / half_life_days)``, where ``weight(t, c)`` is
    ``channel_weights[c][t]`` when given, else ``weights[t] * channel_multipliers[c]``
    (a missing multiplier is 1, a missing weight 0).
    """

    half_life_days: float = Field(gt=0)
    lookback_days: int = Field(gt=0)
    weights: dict[str, float]
    channel_multipliers: dict[str, float] = {}
    channel_weights: dict[str, dict[str, float]] = {}

    def weight_table(self) -> list[tuple[str | None, str, float]]:
        """(channel or None for any, event type, weight) triples, most specific first."""
        rows: list[tuple[str | None, str, float]] = []
        for ch, per_type in self.channel_weights.items():
            rows += [(ch, t, w) for t, w in per_type.items()]
        for ch, mult in self.channel_multipliers.items():
            rows += [(ch, t, w * mult) for t, w in self.weights.items()]
        rows += [(None, t, w) for t, w in self.weights.items()]
        return rows


class FeatureConfig(_Strict):
    """Which per-customer features to compute (see README, "Features")."""

    windows: list[int] = Field(min_length=1)
    event_types: list[str]
    order_channels: list[str]
    deal_channels: list[str]
    interaction_types: list[str]
    campaign_send_types: list[str]
    campaign_response_types: list[str]
    response_window_days: int = Field(gt=0)
    referral_types: list[str]
    creator_types: list[str]
    intention: IntentionConfig
    profile_columns: Literal["needed", "all"] = "needed"

    @field_validator("windows")
    @classmethod
    def _positive_windows(cls, v: list[int]) -> list[int]:
        if any(w <= 0 for w in v):
            raise ValueError("windows must be positive numbers of days")
        return sorted(set(v))

    @field_validator("event_types", "order_channels")
    @classmethod
    def _identifiers(cls, v: list[str]) -> list[str]:
        import re

        bad = [x for x in v if not re.match(_IDENT, x)]
        if bad:
            raise ValueError(
                f"{bad} cannot name a feature column; use lower-case letters, digits and _"
            )
        return v


class RFMConfig(_Strict):
    """Quantile edges for the 1-5 RFM scores."""

    quantiles: list[float] = Field(min_length=1)
    fixed_edges: dict[Literal["recency_days", "orders", "monetary_total"], list[float]] = {}

    @field_validator("quantiles")
    @classmethod
    def _increasing(cls, v: list[float]) -> list[float]:
        if any(not 0 < q < 1 for q in v) or sorted(v) != v:
            raise ValueError("quantiles must be increasing numbers between 0 and 1")
        return v


class LabelRule(_Strict):
    """One label of a scheme: its id, display names and the condition that gives it."""

    id: str = Field(pattern=_IDENT)
    zh: str
    en: str
    when: str
    note: str = ""


class RuleScheme(_Strict):
    """A set of labels evaluated by the rule engine.

    ``exclusive``: the first label whose rule holds, else ``default``.
    ``multi``: every label whose rule holds; the primary one is the first.
    """

    zh: str
    en: str
    mode: Literal["exclusive", "multi"]
    params: dict[str, float | int | bool | str] = {}
    labels: list[LabelRule] = Field(min_length=1)
    default: str | None = None
    default_zh: str | None = None
    default_en: str | None = None

    @model_validator(mode="after")
    def _unique_ids(self) -> RuleScheme:
        ids = [lab.id for lab in self.labels]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"label ids must be unique, repeated: {', '.join(dup)}")
        return self

    def conditions(self, scheme: str) -> list[tuple[LabelRule, Condition]]:
        """Each label with its parsed condition."""
        return [
            (lab, Condition(lab.when, f"schemes.{scheme}.labels[{i}].when ({lab.id})"))
            for i, lab in enumerate(self.labels)
        ]

    def display(self, label: str) -> tuple[str, str]:
        """The zh and en names of a label id (the id itself for the default)."""
        for lab in self.labels:
            if lab.id == label:
                return lab.zh, lab.en
        if label == self.default:
            return self.default_zh or label, self.default_en or label
        return label, label


class TagsConfig(_Strict):
    """Precise tags from the text of comments, reviews and messages (`tierwise.tags`)."""

    enabled: bool = True
    lexicons: list[str] = []
    top_k: int = Field(default=3, gt=0)
    min_confidence: float | None = None


class CLVConfig(_Strict):
    """Lifetime value: the purchase model, spend model, horizon and quadrant thresholds."""

    enabled: bool = True
    model: Literal["paretonbd", "bgnbd", "mbgnbd"] = "paretonbd"
    time_unit: Literal["D", "W"] = "W"
    horizon_months: int = Field(default=12, gt=0)
    monthly_discount_rate: float = Field(default=0.01, ge=0, lt=1)
    default_margin_rate: float = Field(default=1.0, gt=0, le=1)
    penalizer: float = Field(default=0.0, ge=0)
    min_buyers: int = Field(default=50, ge=2)
    seed_lifetime: Literal["model"] | float = "model"
    seed_horizon_years: float = Field(default=3.0, gt=0)
    loyalty_threshold: Literal["median", "mean"] | float = "median"
    profit_threshold: Literal["median", "mean"] | float = "median"


class Config(_Strict):
    """The whole configuration of a project."""

    features: FeatureConfig
    rfm: RFMConfig
    tags: TagsConfig = TagsConfig()
    clv: CLVConfig = CLVConfig()
    schemes: dict[str, RuleScheme]

    @field_validator("schemes")
    @classmethod
    def _scheme_names(cls, v: dict[str, RuleScheme]) -> dict[str, RuleScheme]:
        import re

        for name in v:
            if not re.match(_IDENT, name):
                raise ValueError(f"scheme name {name!r}: use lower-case letters, digits and _")
        return v

    @classmethod
    def default(cls) -> Config:
        """The packaged default configuration."""
        return load_config(None)

    def with_overrides(self, overrides: dict[str, Any]) -> Config:
        """A copy with ``overrides`` merged in (same rules as a config file)."""
        return _validate(_merge(self.model_dump(), overrides), "overrides")


def default_config_text() -> str:
    """The commented default config file, as `tierwise init` writes it."""
    return resources.files("tierwise").joinpath("defaults/config.yaml").read_text("utf-8")


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = _merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(over)


def _validate(data: Any, source: str) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{source}: {where}: {first['msg']}{more}") from None


def load_config(path: str | Path | None) -> Config:
    """Load a config file merged over the defaults; ``None`` gives the defaults.

    Raises
    ------
    ConfigError
        If the file is not valid YAML or a value is invalid; the message names the place.
    """
    data = yaml.safe_load(default_config_text())
    source = "default config"
    if path is not None:
        source = str(path)
        try:
            user = yaml.safe_load(Path(path).read_text("utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: not valid YAML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read: {exc.strerror}") from None
        if not isinstance(user, dict):
            raise ConfigError(f"{source}: expected a mapping at the top level")
        data = _merge(data, user)
    config = _validate(data, source)
    for name, scheme in config.schemes.items():
        for _, cond in scheme.conditions(name):
            cond.tree  # noqa: B018 - parse now so syntax errors surface at load time
    return config
