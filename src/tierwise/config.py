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
from tierwise.funnel_config import FunnelConfig
from tierwise.members import MembersConfig
from tierwise.satisfaction import SatisfactionConfig
from tierwise.schemes.rules import Condition

__all__ = [
    "AudienceConfig",
    "CLVConfig",
    "CommissionRule",
    "Config",
    "DistributorsConfig",
    "EntranceConfig",
    "EntranceSegmentRule",
    "EntranceSource",
    "Expectation",
    "FeatureConfig",
    "FunnelConfig",
    "IdentityConfig",
    "IntentionConfig",
    "LabelRule",
    "MembersConfig",
    "QuadrantLinesConfig",
    "RFMConfig",
    "RuleScheme",
    "RunConfig",
    "TagsConfig",
    "default_config_text",
    "load_config",
    "merge_mappings",
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
    rollups: bool = True
    carry_days: int = Field(default=31, ge=0)
    keep_columns: list[str] = []

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


class Expectation(_Strict):
    """What a scheme's labels claim about the customers' later buying, checked by a backtest.

    Either ``order`` (labels from highest to lowest; each label with customers should be above
    the next one that has customers) or ``higher`` / ``lower`` (a label or a group of labels
    pooled together, e.g. both quadrants on the loyal side of the line).
    """

    metric: Literal[
        "repurchase_rate", "orders_per_customer", "revenue_per_customer", "margin_per_customer"
    ]
    order: list[str] = []
    higher: list[str] = []
    lower: list[str] = []
    note: str = ""

    @field_validator("higher", "lower", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _one_form(self) -> Expectation:
        if self.order and (self.higher or self.lower):
            raise ValueError("give either order or higher/lower, not both")
        if not self.order and not (self.higher and self.lower):
            raise ValueError("give order (two labels or more) or both higher and lower")
        if self.order and len(self.order) < 2:
            raise ValueError("order needs two labels or more")
        if set(self.higher) & set(self.lower):
            raise ValueError("a label cannot be both higher and lower")
        return self

    def labels(self) -> list[str]:
        """Every label the expectation names."""
        return [*self.order, *self.higher, *self.lower]


class RuleScheme(_Strict):
    """A set of labels evaluated by the rule engine.

    ``exclusive``: the first label whose rule holds, else ``default``.
    ``multi``: every label whose rule holds; the primary one is the first.
    ``expect``: what the labels claim about later buying (see `Expectation`, ``tierwise
    backtest``).
    """

    zh: str
    en: str
    mode: Literal["exclusive", "multi"]
    params: dict[str, float | int | bool | str] = {}
    labels: list[LabelRule] = Field(min_length=1)
    default: str | None = None
    default_zh: str | None = None
    default_en: str | None = None
    expect: list[Expectation] = []

    @model_validator(mode="after")
    def _unique_ids(self) -> RuleScheme:
        ids = [lab.id for lab in self.labels]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"label ids must be unique, repeated: {', '.join(dup)}")
        known = {*ids, self.default} - {None}
        for i, exp in enumerate(self.expect):
            unknown = [lab for lab in exp.labels() if lab not in known]
            if unknown:
                raise ValueError(
                    f"expect[{i}] names {', '.join(unknown)}, not a label of this scheme "
                    f"(labels: {', '.join(sorted(known))})"
                )
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


class QuadrantLinesConfig(_Strict):
    """The loyalty and profit lines of the loyalty x profitability map (`quadrant` scheme).

    ``auto``: the median, unless at least ``tie_share`` of the buyers sit exactly on it (a
    degenerate median such as 0), then the 2-means split of the axis; or ``median``,
    ``mean``, or a fixed number.
    """

    enabled: bool = True
    loyalty: Literal["auto", "median", "mean"] | float = "auto"
    profit: Literal["auto", "median", "mean"] | float = "auto"
    tie_share: float = Field(default=0.2, gt=0, le=1)


DEFAULT_STEPS = [
    "features", "influence", "tags", "clv", "quadrant_lines", "rfm", "satisfaction", "members",
    "schemes", "entrance",
]  # fmt: skip


class RunConfig(_Strict):
    """The steps of a run, in order, and whether fitted state is learned anew each run.

    ``fit: refit`` learns RFM edges, CLV parameters and the quadrant's lines at every run;
    ``reuse_latest`` reuses those of the newest earlier snapshot (so day-to-day moves are
    moves of customers), and refits only when asked (``tierwise run --refit``).
    """

    steps: list[str] = Field(default_factory=lambda: list(DEFAULT_STEPS), min_length=1)
    fit: Literal["refit", "reuse_latest"] = "refit"

    @field_validator("steps")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        from tierwise.steps.runner import known_steps

        unknown = [s for s in v if s not in known_steps()]
        if unknown:
            raise ValueError(f"unknown step(s) {unknown}; known: {', '.join(known_steps())}")
        if v[0] != "features":
            raise ValueError("the first step must be features")
        if len(set(v)) != len(v):
            raise ValueError("a step is listed twice")
        return v


class AudienceConfig(_Strict):
    """Audience exports: which columns hold personal data, masked unless asked otherwise.

    ``pii_columns`` maps a kind of personal data (how it is masked: ``phone`` 138****1234,
    ``name`` 张*, ``email`` a***@x.com, ``address`` first 6 characters, ``other`` first and
    last character) to regular expressions matched case-insensitively against column names
    and against the keys of the customers' ``attributes`` JSON.
    """

    pii_columns: dict[Literal["phone", "name", "email", "address", "other"], list[str]] = {
        "phone": [r"phone|mobile|手机|电话|(^|_)tel($|_)|telephone"],
        "name": [r"(^|_)name$|^name|姓名|nick|昵称|收件人|收货人"],
        "email": [r"e_?mail|邮箱"],
        "address": [r"address|addr$|地址"],
        "other": [r"id_?card|身份证|passport|wechat_id|微信号"],
    }


class EntranceSource(_Strict):
    """Where an entrance touch is read: a table, an optional filter and the field naming it.

    ``field`` is a column (``channel``, ``referrer_id``, ``customer_id``) or ``attributes.KEY``
    (a key of the row's attributes JSON). Its value names the channel, ``KIND:VALUE`` (e.g.
    ``qr_code:门店A``), or ``channel`` when given (one channel for all distributors; the
    value stays in the evidence). ``who`` says whose touch it is: the row's ``customer_id`` or, for
    referral events, the ``target_customer_id`` they brought. The time is the row's own time
    (``first_seen``, ``paid_at``, ``occurred_at``).
    """

    kind: str = Field(pattern=_IDENT)
    table: Literal["customers", "orders", "events"]
    field: str = Field(min_length=1)
    event_types: list[str] = []
    values: list[str] = []
    who: Literal["customer_id", "target_customer_id"] = "customer_id"
    channel: str | None = None

    @model_validator(mode="after")
    def _fits_table(self) -> EntranceSource:
        if self.event_types and self.table != "events":
            raise ValueError("event_types apply to table: events only")
        if self.who == "target_customer_id" and self.table != "events":
            raise ValueError("who: target_customer_id applies to table: events only")
        if self.field.startswith("attributes.") and len(self.field) == len("attributes."):
            raise ValueError("attributes.KEY needs a key")
        return self


class EntranceSegmentRule(_Strict):
    """One entrance segment: an id, display names and a condition in the segment language."""

    id: str = Field(pattern=_IDENT)
    zh: str
    en: str
    when: str = Field(min_length=1)
    note: str = ""

    @field_validator("when")
    @classmethod
    def _parses(cls, v: str) -> str:
        from tierwise.segments.language import parse

        parse(v)
        return v


class EntranceConfig(_Strict):
    """Where each customer came in (first and latest touch) and their entrance segment.

    ``sources`` are tried on every row up to the as-of day; the earliest touch is the entrance,
    the newest the latest channel (ties: the order of ``sources``). ``attributes`` are keys of
    the customers' sign-up answers (``attributes`` JSON) added as ``signup_<key>`` columns;
    ``segments`` are rules in the segment language over the profile, those columns and the
    entrance columns — the first that holds, else ``default_segment``.
    """

    enabled: bool = True
    sources: list[EntranceSource] = []
    attributes: list[str] = []
    segments: list[EntranceSegmentRule] = []
    default_segment: str = Field(default="other", pattern=_IDENT)

    @field_validator("attributes")
    @classmethod
    def _column_names(cls, v: list[str]) -> list[str]:
        import re

        bad = [k for k in v if not re.match(r"^[a-z0-9_]+$", k)]
        if bad:
            raise ValueError(
                f"{bad} cannot name a column signup_<key>; map the form's answers to "
                "lower-case keys (letters, digits, _) at import"
            )
        return v

    @model_validator(mode="after")
    def _unique_segments(self) -> EntranceConfig:
        ids = [s.id for s in self.segments]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"segment ids must be unique, repeated: {', '.join(dup)}")
        return self


class CommissionRule(_Strict):
    """A commission rate and the orders it applies to (every given condition must hold).

    ``category``: the order's product category (order attributes ``category_key``);
    ``level``: the distributor's ``member_level``; ``order``: the customer's first paid order,
    a repeat one, or any.
    """

    rate: float = Field(ge=0, le=1)
    category: list[str] = []
    level: list[str] = []
    order: Literal["first", "repeat", "any"] = "any"

    @field_validator("category", "level", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class DistributorsConfig(_Strict):
    """Orders through distributors (分销员) and referral links: attribution and commission.

    An order naming a distributor (``order_fields``) is theirs. Otherwise the customer's link
    touches within ``window_days`` before the order decide: events of ``link_types`` whose
    ``customer_id`` is the distributor and ``target_customer_id`` the customer, and the
    customer's own events carrying ``event_fields``; ``first_touch`` credits the earliest of
    them, ``last_touch`` the newest. Commission: the first rule of ``commission`` that fits.
    """

    enabled: bool = True
    attribution: Literal["first_touch", "last_touch"] = "last_touch"
    window_days: int = Field(default=30, gt=0)
    order_fields: list[str] = ["attributes.distributor_id"]
    link_types: list[str] = ["referral"]
    event_fields: list[str] = ["attributes.distributor_id"]
    category_key: str = "品类"
    commission: list[CommissionRule] = []


class IdentityConfig(_Strict):
    """Identity unification: which identifiers join accounts into one person.

    ``merge_types`` lists the identifier types that may join accounts, strongest first (the
    evidence names them in this order). An identifier held by more accounts than
    ``max_accounts_per_identifier`` (or its type's entry in ``max_accounts``) never joins
    anything (a front-desk phone); a chain of links gathering more accounts than
    ``max_accounts_per_person`` is not merged. ``per_person`` runs every scheme per person
    (``false``: per platform account). ``clear_types`` opts phone and/or email in to being
    stored in clear instead of as a salted hash.
    """

    merge_types: list[str] = Field(
        default_factory=lambda: [
            "wechat_unionid", "phone", "email", "taobao_nick", "youzan_id", "wechat_openid",
        ]
    )  # fmt: skip
    max_accounts_per_identifier: int = Field(default=5, ge=2)
    max_accounts: dict[str, int] = Field(default_factory=dict)
    max_accounts_per_person: int = Field(default=50, ge=2)
    per_person: bool = True
    clear_types: list[Literal["phone", "email"]] = Field(default_factory=list)

    @field_validator("merge_types")
    @classmethod
    def _types(cls, v: list[str]) -> list[str]:
        import re

        for t in v:
            if not re.match(_IDENT, t):
                raise ValueError(f"identifier type {t!r}: use lower-case letters, digits and _")
        if len(set(v)) != len(v):
            raise ValueError("an identifier type is listed twice")
        return v

    @field_validator("max_accounts")
    @classmethod
    def _limits(cls, v: dict[str, int]) -> dict[str, int]:
        for t, n in v.items():
            if n < 2:
                raise ValueError(f"{t}: a limit below 2 would stop every merge; drop the type "
                                 "from merge_types instead")  # fmt: skip
        return v


class Config(_Strict):
    """The whole configuration of a project."""

    features: FeatureConfig
    rfm: RFMConfig
    tags: TagsConfig = TagsConfig()
    clv: CLVConfig = CLVConfig()
    quadrant_lines: QuadrantLinesConfig = QuadrantLinesConfig()
    run: RunConfig = RunConfig()
    audience: AudienceConfig = AudienceConfig()
    satisfaction: SatisfactionConfig = SatisfactionConfig()
    schemes: dict[str, RuleScheme]
    entrance: EntranceConfig = Field(default_factory=lambda: EntranceConfig())
    distributors: DistributorsConfig = Field(default_factory=lambda: DistributorsConfig())
    identity: IdentityConfig = IdentityConfig()
    members: MembersConfig = MembersConfig()
    funnel: FunnelConfig = FunnelConfig()

    @model_validator(mode="after")
    def _funnel_stages(self) -> Config:
        scheme = self.schemes.get(self.funnel.scheme)
        if scheme is None:
            return self  # no path scheme: `tierwise funnel` says so when asked
        known = [lab.id for lab in scheme.labels] + ([scheme.default] if scheme.default else [])
        unknown = [s for s in self.funnel.stages if s not in known]
        if unknown:
            raise ValueError(f"funnel.stages: {unknown} are not labels of scheme "
                             f"{self.funnel.scheme!r} ({', '.join(known)})")  # fmt: skip
        return self

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
        return _validate(_merge_config(self.model_dump(), overrides), "overrides")


def default_config_text() -> str:
    """The commented default config file, as `tierwise init` writes it."""
    return resources.files("tierwise").joinpath("defaults/config.yaml").read_text("utf-8")


def merge_mappings(base: Any, over: Any) -> Any:
    """``over`` merged into ``base``: mappings key by key, everything else (lists too) replaced
    whole — the rule for a project's files over the packaged defaults."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = merge_mappings(base[key], value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(over)


def _merge_config(base: dict[str, Any], over: dict[str, Any]) -> Any:
    """`_merge`, except that a scheme given new labels but no ``expect:`` drops the old
    expectations (they name the labels that were replaced)."""
    out = merge_mappings(base, over)
    schemes = over.get("schemes") if isinstance(over, dict) else None
    for name, scheme in (schemes or {}).items():
        if isinstance(scheme, dict) and "labels" in scheme and "expect" not in scheme:
            if isinstance(out["schemes"].get(name), dict):
                out["schemes"][name]["expect"] = []
    return out


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
        data = _merge_config(data, user)
    config = _validate(data, source)
    for name, scheme in config.schemes.items():
        for _, cond in scheme.conditions(name):
            cond.tree  # noqa: B018 - parse now so syntax errors surface at load time
    return config
