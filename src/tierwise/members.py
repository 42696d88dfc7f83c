"""Member levels as data: growth value, upgrades, keeps and downgrades with grace.

A level table lists levels from the lowest up, each with the growth value (成长值) that reaches
it, the growth value that keeps it at the period's evaluation, and its benefits. Growth value
is a weighted sum of a customer's paid spend, paid orders and actions over a trailing window.

At every snapshot a customer

* with no level before gets the highest level their growth reaches (``new``);
* upgrades at once when their growth reaches a higher level (``upgrade``);
* keeps their level until it is due for evaluation: ``period_days`` after it was granted or
  last renewed, plus ``grace_days`` (``keep``);
* when due, renews it for another period if their growth reaches the level's ``keep`` value
  (``renew``), else falls to the highest level whose ``keep`` value their growth reaches
  (``downgrade``; no level when none).

The previous level comes from the previous snapshot's profile (``member_level``,
``member_level_since``, ``member_valid_until``).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tierwise.errors import TierwiseError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "MEMBER_COLUMNS",
    "GrowthWeights",
    "ImportedLevels",
    "Level",
    "MemberLevelError",
    "MembersConfig",
    "assign_levels",
    "check_imported",
    "growth_value",
]

MEMBER_COLUMNS = {
    "member_level": "string",
    "member_level_since": "date",
    "member_valid_until": "date",
    "member_rank": "int64",
    "member_growth": "float64",
    "member_move": "string",
    "member_evidence": "string",
}
"""Columns the members step adds (``member_rank``: 0 without a level, 1 the lowest level)."""


class MemberLevelError(TierwiseError):
    """A level table or an imported level that cannot be used."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Level(_Strict):
    """One level: the growth value that reaches it and the one that keeps it."""

    id: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")
    zh: str = ""
    en: str = ""
    threshold: float = Field(ge=0)
    """Growth value within the window that reaches this level."""
    keep: float | None = Field(default=None, ge=0)
    """Growth value that keeps the level at its evaluation (``None``: ``threshold``)."""
    benefits: list[str] = []

    @property
    def keep_value(self) -> float:
        """The growth value that keeps this level."""
        return self.threshold if self.keep is None else self.keep


class GrowthWeights(_Strict):
    """Growth value = spend x ``per_yuan`` + paid orders x ``per_order`` + actions x weight."""

    per_yuan: float = Field(default=1.0, ge=0)
    per_order: float = Field(default=0.0, ge=0)
    events: dict[str, float] = {}

    @field_validator("events")
    @classmethod
    def _non_negative(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: w for k, w in v.items() if w < 0}
        if bad:
            raise ValueError(f"event weights must be >= 0: {bad}")
        return v


class ImportedLevels(_Strict):
    """Where the merchant's own levels are: a customers column or a key of ``attributes``."""

    column: str | None = "member_level"
    attributes_key: str | None = None


class MembersConfig(_Strict):
    """The ``members:`` block: level table, growth weights, window, period and grace."""

    enabled: bool = False
    window_days: int = Field(default=365, gt=0)
    period_days: int = Field(default=365, gt=0)
    grace_days: int = Field(default=0, ge=0)
    growth: GrowthWeights = GrowthWeights()
    levels: list[Level] = Field(default_factory=list)
    imported: ImportedLevels = ImportedLevels()
    aliases: dict[str, str] = {}
    """Imported level names mapped onto level ids (e.g. ``黄金会员: gold``)."""

    @model_validator(mode="after")
    def _table(self) -> MembersConfig:
        validate_levels(self.levels)
        known = {lev.id for lev in self.levels}
        wrong = {k: v for k, v in self.aliases.items() if v not in known}
        if wrong:
            raise ValueError(
                f"aliases name unknown level(s) {wrong}; levels: {', '.join(sorted(known))}"
            )
        return self

    def rank(self, level: str | None) -> int:
        """1 for the lowest level, 0 for none (or an id not in the table)."""
        ids = [lev.id for lev in self.levels]
        return ids.index(level) + 1 if level in ids else 0


def validate_levels(levels: list[Level]) -> None:
    """Refuse a level table whose thresholds overlap, are unsorted or whose ids repeat.

    Raises
    ------
    ValueError
        Naming the two levels and their thresholds.
    """
    seen: set[str] = set()
    for i, lev in enumerate(levels):
        if lev.id in seen:
            raise ValueError(f"level {lev.id!r} is listed twice")
        seen.add(lev.id)
        if lev.keep_value > lev.threshold:
            raise ValueError(
                f"level {lev.id!r}: keep {lev.keep_value:g} is above its threshold "
                f"{lev.threshold:g} (keeping must not ask more than reaching)"
            )
        if i == 0:
            continue
        low = levels[i - 1]
        if lev.threshold == low.threshold:
            raise ValueError(
                f"levels {low.id!r} and {lev.id!r} overlap: both start at growth "
                f"{lev.threshold:g}; each level needs a threshold above the one below"
            )
        if lev.threshold < low.threshold:
            raise ValueError(
                f"levels are not sorted: {lev.id!r} (threshold {lev.threshold:g}) comes after "
                f"{low.id!r} (threshold {low.threshold:g}); list levels from the lowest up"
            )
        if lev.keep_value < low.keep_value:
            raise ValueError(
                f"levels {low.id!r} and {lev.id!r} overlap on keep: {lev.id!r} keeps at "
                f"{lev.keep_value:g}, below {low.id!r}'s {low.keep_value:g}"
            )


def growth_value(
    orders: pd.DataFrame, events: pd.DataFrame, weights: GrowthWeights
) -> pd.DataFrame:
    """Growth value per customer from paid orders and events already cut to the window.

    Parameters
    ----------
    orders : DataFrame
        ``customer_id, spend, orders`` per customer.
    events : DataFrame
        ``customer_id, event_type, n`` per customer and event type.
    weights : GrowthWeights

    Returns
    -------
    DataFrame
        ``customer_id, growth, growth_spend, growth_orders, growth_actions``.
    """
    import pandas as pd

    o = orders.set_index("customer_id")
    spend = o["spend"].astype(float) * weights.per_yuan
    n_orders = o["orders"].astype(float) * weights.per_order
    if len(events) and weights.events:
        w = events["event_type"].map(weights.events).fillna(0.0)
        acts = (events["n"].astype(float) * w).groupby(events["customer_id"]).sum()
    else:
        acts = pd.Series(dtype=float)
    out = pd.DataFrame({"growth_spend": spend, "growth_orders": n_orders})
    out = out.join(acts.rename("growth_actions"), how="outer").fillna(0.0)
    out["growth"] = out["growth_spend"] + out["growth_orders"] + out["growth_actions"]
    out.index.name = "customer_id"
    return out.reset_index().round(
        {"growth": 2, "growth_spend": 2, "growth_orders": 2, "growth_actions": 2}
    )


def _level_for(values: np.ndarray, bounds: list[float]) -> np.ndarray:
    """Rank (1-based, 0 none) of the highest bound each value reaches."""
    import numpy as np

    if not bounds:
        return np.zeros(len(values), dtype=np.int64)
    return np.searchsorted(np.asarray(bounds, dtype=float), values, side="right").astype(np.int64)


def assign_levels(
    growth: pd.DataFrame,
    previous: pd.DataFrame | None,
    as_of: dt.date,
    config: MembersConfig,
) -> pd.DataFrame:
    """Each customer's level as of ``as_of`` given their growth and previous level.

    Parameters
    ----------
    growth : DataFrame
        `growth_value` output for every customer (0 growth included).
    previous : DataFrame or None
        ``customer_id, member_level, member_level_since, member_valid_until`` of the previous
        snapshot (``None``: the first snapshot).
    as_of : datetime.date
    config : MembersConfig

    Returns
    -------
    DataFrame
        ``customer_id`` and the `MEMBER_COLUMNS`.
    """
    import numpy as np
    import pandas as pd

    levels = config.levels
    ids = [lev.id for lev in levels]
    df = growth.copy()
    g = df["growth"].to_numpy(dtype=float)
    earned = _level_for(g, [lev.threshold for lev in levels])
    kept = _level_for(g, [lev.keep_value for lev in levels])
    if previous is not None and len(previous):
        prev = previous.set_index("customer_id").reindex(df["customer_id"])
        p_rank = np.array([config.rank(x) for x in prev["member_level"]], dtype=np.int64)
        p_since = pd.to_datetime(prev["member_level_since"]).dt.date.to_numpy()
        p_until = pd.to_datetime(prev["member_valid_until"]).dt.date.to_numpy()
    else:
        p_rank = np.zeros(len(df), dtype=np.int64)
        p_since = np.full(len(df), None, dtype=object)
        p_until = np.full(len(df), None, dtype=object)
    period = dt.timedelta(days=config.period_days)
    grace = dt.timedelta(days=config.grace_days)
    rank = np.zeros(len(df), dtype=np.int64)
    since = np.full(len(df), None, dtype=object)
    until = np.full(len(df), None, dtype=object)
    move = np.full(len(df), "none", dtype=object)
    evidence: list[str | None] = []
    figures = df[["growth", "growth_spend", "growth_orders", "growth_actions"]].to_numpy(float)
    for i in range(len(df)):
        pr, er = int(p_rank[i]), int(earned[i])
        ps, pu = p_since[i], p_until[i]
        if pd.isna(ps):
            ps = None
        if pd.isna(pu):
            pu = None
        if pr == 0:
            r, s, u, m = er, (as_of if er else None), (as_of + period if er else None), (
                "new" if er else "none")  # fmt: skip
        elif er > pr:
            r, s, u, m = er, as_of, as_of + period, "upgrade"
        elif pu is not None and as_of < pu + grace:
            r, s, u, m = pr, ps, pu, "keep"
        elif g[i] >= levels[pr - 1].keep_value:
            u = (pu or as_of) + period
            while u + grace <= as_of:
                u += period
            r, s, m = pr, ps, "renew"
        else:
            r = int(kept[i])
            s, u, m = (as_of, as_of + period, "downgrade") if r else (None, None, "downgrade")
        rank[i], since[i], until[i], move[i] = r, s, u, m
        evidence.append(_evidence(levels, r, pr, m, figures[i], pu, grace) if (r or pr) else None)
    df["member_rank"] = rank
    df["member_level"] = pd.Series(
        [ids[r - 1] if r else None for r in rank], dtype=object, index=df.index
    )
    df["member_level_since"] = since
    df["member_valid_until"] = until
    df["member_growth"] = df["growth"]
    df["member_move"] = move
    df["member_evidence"] = evidence
    return df[["customer_id", *MEMBER_COLUMNS]]


_RULES = {
    "new": "growth >= threshold of the level",
    "upgrade": "growth >= threshold of a higher level (upgrade at once)",
    "keep": "level held until valid_until + grace_days",
    "renew": "due for evaluation and growth >= keep of the level",
    "downgrade": "due for evaluation and growth < keep of the level",
    "none": "growth below every threshold",
}


def _evidence(levels: list[Level], rank: int, prev_rank: int, move: str, row: np.ndarray,
              prev_until: dt.date | None, grace: dt.timedelta) -> str:  # fmt: skip
    lev = levels[rank - 1] if rank else None
    doc: dict[str, Any] = {
        "rule": _RULES[move],
        "figures": {
            "growth": float(row[0]),
            "spend": float(row[1]),
            "orders": float(row[2]),
            "actions": float(row[3]),
        },
        "from": levels[prev_rank - 1].id if prev_rank else None,
        "level": lev.id if lev else None,
    }
    if lev is not None:
        doc["threshold"] = lev.threshold
        doc["keep"] = lev.keep_value
        doc["benefits"] = lev.benefits
    if move in ("keep", "renew", "downgrade") and prev_until is not None:
        doc["evaluated_after"] = (prev_until + grace).isoformat()
        doc["keep_of_previous"] = levels[prev_rank - 1].keep_value
    return json.dumps(doc, ensure_ascii=False)


def check_imported(values: pd.Series, config: MembersConfig, source: str) -> pd.Series:
    """Imported level names as level ids (through ``aliases``); missing stays missing.

    Raises
    ------
    MemberLevelError
        For a level not in the table, naming the customer, the value and the known levels.
    """
    import pandas as pd

    ids = {lev.id for lev in config.levels}
    names = {n: lev.id for lev in config.levels for n in (lev.zh, lev.en) if n}
    mapping = {**names, **{i: i for i in ids}, **config.aliases}
    out = values.map(lambda v: None if v is None or pd.isna(v) or str(v).strip() == ""
                     else mapping.get(str(v).strip(), "\0" + str(v)))  # fmt: skip
    bad = out[out.str.startswith("\0", na=False)]
    if len(bad):
        first = bad.index[0]
        raise MemberLevelError(
            f"{source}: unknown level {bad.iloc[0][1:]!r} for customer {first} "
            f"({len(bad)} row(s) in all); levels: {', '.join(lev.id for lev in config.levels)}"
            " — map other names with members.aliases"
        )
    return out.astype(object).where(out.notna(), None)
