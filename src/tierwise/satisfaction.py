"""Customer satisfaction (满意度): a 0-100 score and a grade from four signals, with evidence.

Each signal is a number in [0, 1], 1 meaning satisfied:

- ``rating``: the mean of the customer's ratings, rescaled from ``rating_scale`` to [0, 1];
- ``sentiment``: the mean probability that the customer's comments, reviews and messages are
  positive (`tierwise.sentiment`);
- ``refunds``: 1 - refunded orders / (paid + refunded orders);
- ``complaints``: ``1 / (1 + complaints)``, from events of a complaint or service type.

The score is ``100 * sum(weight * signal) / sum(weight)`` over the signals the customer has
(a signal without data drops out with its weight; complaints count once there is any other
signal or a complaint). A customer with no signal gets no score and no grade. The grade is
the first of ``grades`` whose ``min_score`` the score reaches.

Ratings outside ``rating_scale`` are never silently used: ``out_of_scale: skip`` leaves them
out and counts them (``ratings_out_of_scale`` per customer, a note for the run naming a few),
``clip`` clips them to the scale and counts them the same way, ``error`` stops the run with a
message naming the row.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tierwise.errors import TierwiseError

__all__ = [
    "COLUMNS",
    "QUANTUM",
    "SIGNALS",
    "SUMS",
    "RatingScaleError",
    "SatisfactionConfig",
    "SatisfactionGrade",
    "check_ratings",
    "satisfaction_table",
    "score_sums",
    "signal_sums",
]

SIGNALS = ("rating", "sentiment", "refunds", "complaints")

COLUMNS = {
    "satisfaction_score": "float64", "satisfaction_grade": "string",
    "satisfaction_evidence": "string", "rating_mean": "float64", "ratings": "int64",
    "ratings_out_of_scale": "int64", "sentiment_mean": "float64", "sentiment_texts": "int64",
    "refunded_orders": "int64", "complaints": "int64",
}  # fmt: skip
"""Profile columns the satisfaction step adds (name -> type)."""

SUMS = {
    "ratings": "int64", "rating_sum": "int64", "ratings_out_of_scale": "int64",
    "sentiment_texts": "int64", "sentiment_sum": "int64", "orders": "int64",
    "refunded_orders": "int64", "complaints": "int64",
}  # fmt: skip
"""What a customer's score is computed from (name -> type): counts, and the ratings (on the
rating scale) and sentiments summed in units of `QUANTUM`. They add up row by row, so a sum
carried from one day to the next equals the sum over every row."""

QUANTUM = 10**9
"""Ratings and sentiments are summed as integers of this many units per 1."""


class RatingScaleError(TierwiseError, ValueError):
    """A rating lies outside its scale and the config says to stop (``out_of_scale: error``)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SatisfactionGrade(_Strict):
    """One grade: its id, zh/en names and the lowest score that earns it."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    zh: str
    en: str
    min_score: float = Field(ge=0, le=100)


class SatisfactionConfig(_Strict):
    """Weights, rating scale, event types and grades of the satisfaction step."""

    enabled: bool = True
    lookback_days: int = Field(default=365, gt=0)
    weights: dict[Literal["rating", "sentiment", "refunds", "complaints"], float] = {
        "rating": 0.35, "sentiment": 0.35, "refunds": 0.15, "complaints": 0.15,
    }  # fmt: skip
    rating_key: str = "rating"
    rating_scale: tuple[float, float] = (1.0, 5.0)
    out_of_scale: Literal["skip", "clip", "error"] = "skip"
    rating_event_types: list[str] = ["review", "review_photo", "review_video"]
    text_event_types: list[str] = [
        "comment", "review", "review_photo", "review_video", "buyer_show", "message",
    ]  # fmt: skip
    complaint_types: list[str] = ["complaint", "service"]
    grades: list[SatisfactionGrade] = [
        SatisfactionGrade(id="satisfied", zh="满意", en="Satisfied", min_score=70),
        SatisfactionGrade(id="neutral", zh="一般", en="Neutral", min_score=45),
        SatisfactionGrade(id="dissatisfied", zh="不满意", en="Dissatisfied", min_score=0),
    ]

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        if any(w < 0 or not math.isfinite(w) for w in v.values()):
            raise ValueError("weights must be finite numbers >= 0")
        if not any(w > 0 for w in v.values()):
            raise ValueError("at least one weight must be > 0")
        return v

    @field_validator("rating_scale")
    @classmethod
    def _scale(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not (math.isfinite(v[0]) and math.isfinite(v[1]) and v[0] < v[1]):
            raise ValueError(f"rating_scale must be [lowest, highest], lowest < highest: {list(v)}")
        return v

    @model_validator(mode="after")
    def _grades(self) -> SatisfactionConfig:
        scores = [g.min_score for g in self.grades]
        if not scores or scores != sorted(scores, reverse=True) or len(set(scores)) != len(scores):
            raise ValueError("grades: list them from the highest min_score down, each different")
        if scores[-1] != 0:
            raise ValueError("grades: the last grade needs min_score: 0 so every score has one")
        if len({g.id for g in self.grades}) != len(self.grades):
            raise ValueError("grades: each id once")
        return self

    def grade_names(self, grade: str) -> tuple[str, str]:
        """zh and en names of a grade id."""
        for g in self.grades:
            if g.id == grade:
                return g.zh, g.en
        return grade, grade


def _shown(value: object) -> str:
    value = value.item() if hasattr(value, "item") else value
    return json.dumps(value, ensure_ascii=False)


def _parse_rating(attributes: str, key: str) -> object:
    try:
        data = json.loads(attributes)
    except (TypeError, ValueError):
        return None
    return data.get(key) if isinstance(data, dict) else None


def check_ratings(rows: pd.DataFrame, cfg: SatisfactionConfig) -> tuple[pd.DataFrame, list[str]]:
    """Read the ratings out of ``attributes`` JSON and apply the out-of-scale rule.

    Parameters
    ----------
    rows
        Columns ``customer_id``, ``source`` (table name), ``row_id`` (event or order id) and
        ``attributes`` (JSON text); rows without the rating key are ignored.
    cfg
        The satisfaction config.

    Returns
    -------
    ratings, notes
        ``customer_id, rating (in [0, 1] or NaN when left out), out_of_scale (bool)`` and
        notes for the run naming the ratings that were left out or clipped.

    Raises
    ------
    RatingScaleError
        With ``out_of_scale: error``, at the first rating outside the scale or not a number.
    """
    key = cfg.rating_key
    has = rows[rows.attributes.fillna("").str.contains(re.escape(json.dumps(key)), regex=True)]
    raw = has.attributes.map(lambda a: _parse_rating(a, key))
    present = raw.notna()
    has, raw = has[present], raw[present]
    value = pd.to_numeric(raw.map(lambda v: v if not isinstance(v, bool) else None),
                          errors="coerce")  # fmt: skip
    lo, hi = cfg.rating_scale
    bad = value.isna() | (value < lo) | (value > hi)
    notes: list[str] = []
    if bad.any():
        first = has[bad].iloc[0]
        shown = raw[bad].iloc[0]
        where = f"{first.source} {first.row_id} (customer {first.customer_id}), attributes.{key}"
        if cfg.out_of_scale == "error":
            raise RatingScaleError(
                f"{where}: rating {_shown(shown)} is outside the scale [{lo:g}, {hi:g}] "
                f"(satisfaction.out_of_scale: error); {int(bad.sum())} such rating(s) in all"
            )
        examples = "; ".join(
            f"{r.source} {r.row_id}: {_shown(v)}" for r, v in zip(
                has[bad].head(5).itertuples(), raw[bad].head(5), strict=True)
        )  # fmt: skip
        how = "clipped to the scale" if cfg.out_of_scale == "clip" else "left out"
        notes.append(
            f"satisfaction: {int(bad.sum())} rating(s) outside [{lo:g}, {hi:g}] or not a number "
            f"were {how} (counted in ratings_out_of_scale), e.g. {examples}"
        )
    if cfg.out_of_scale == "clip":
        value = value.clip(lo, hi)  # a non-number stays NaN: it cannot be clipped
    else:
        value = value.where(~bad)
    out = pd.DataFrame({
        "customer_id": has.customer_id.to_numpy(),
        "rating": ((value - lo) / (hi - lo)).to_numpy(dtype=float),
        "raw": value.to_numpy(dtype=float),
        "out_of_scale": bad.to_numpy(dtype=bool),
    })  # fmt: skip
    return out, notes


def signal_sums(
    ratings: pd.DataFrame, texts: pd.DataFrame, orders: pd.DataFrame, complaints: pd.DataFrame
) -> pd.DataFrame:
    """Add up each customer's rows into `SUMS`.

    Parameters
    ----------
    ratings
        From `check_ratings`: ``customer_id, rating, raw, out_of_scale``.
    texts
        ``customer_id, sentiment`` (probability positive), one row per text.
    orders
        ``customer_id, orders, refunded`` (paid + refunded orders, refunded ones).
    complaints
        ``customer_id, complaints``.

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` and the columns of `SUMS`, one row per customer with any row.
    """
    frames = (ratings, texts, orders, complaints)
    # every customer id is hashed once: the codes of each frame's rows
    codes, ids = pd.factorize(pd.concat([f.customer_id for f in frames], ignore_index=True))
    size = len(ids)
    bounds = np.cumsum([0, *(len(f) for f in frames)])
    at = [codes[lo:hi] for lo, hi in itertools.pairwise(bounds)]

    def total(frame: int, weights: object = None, rows: object = None) -> np.ndarray:
        """Per customer, the rows of ``frames[frame]`` counted, or their ``weights`` summed."""
        where = at[frame] if rows is None else at[frame][rows]
        if weights is None:
            return np.bincount(where, minlength=size).astype(np.int64)
        w = np.asarray(weights, dtype=np.int64)
        if np.abs(w).sum(dtype=np.float64) < 2.0**53:  # every partial sum exact as a float
            return np.rint(np.bincount(where, weights=w, minlength=size)).astype(np.int64)
        out = np.zeros(size, dtype=np.int64)
        np.add.at(out, where, w)
        return out

    def units(values: pd.Series) -> np.ndarray:
        return np.rint(values.to_numpy(dtype=float) * QUANTUM).astype(np.int64)

    good = ratings.rating.notna().to_numpy()
    flagged = ratings.out_of_scale.to_numpy(dtype=bool)
    return pd.DataFrame({
        "customer_id": np.asarray(ids, dtype=object),
        "ratings": total(0, rows=good),
        "rating_sum": total(0, units(ratings.raw[good]), rows=good),
        "ratings_out_of_scale": total(0, rows=flagged),
        "sentiment_texts": total(1),
        "sentiment_sum": total(1, units(texts.sentiment)),
        "orders": total(2, orders.orders),
        "refunded_orders": total(2, orders.refunded),
        "complaints": total(3, complaints.complaints),
    })  # fmt: skip


def satisfaction_table(
    customer_ids: pd.Series,
    ratings: pd.DataFrame,
    texts: pd.DataFrame,
    orders: pd.DataFrame,
    complaints: pd.DataFrame,
    cfg: SatisfactionConfig,
) -> pd.DataFrame:
    """Score every customer from their rows (see `signal_sums` for the frames).

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` and the columns of `COLUMNS`, one row per customer of
        ``customer_ids``.
    """
    sums = signal_sums(ratings, texts, orders, complaints)
    ids = pd.Series(customer_ids, dtype=object).unique()
    sums = sums.set_index("customer_id").reindex(ids, fill_value=0).rename_axis("customer_id")
    return score_sums(sums.reset_index(), cfg)


def score_sums(sums: pd.DataFrame, cfg: SatisfactionConfig) -> pd.DataFrame:
    """Score every customer of ``sums`` (``customer_id`` and `SUMS`).

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` and the columns of `COLUMNS`, in the order of ``sums``.
    """
    out = pd.DataFrame({"customer_id": sums.customer_id.to_numpy(dtype=object)})
    size = len(out)
    n = {k: sums[k].to_numpy(dtype=np.int64) for k in SUMS}
    lo, hi = cfg.rating_scale
    n_ratings, n_texts = n["ratings"], n["sentiment_texts"]
    n_orders, n_refunded, n_complaints = n["orders"], n["refunded_orders"], n["complaints"]
    with np.errstate(invalid="ignore", divide="ignore"):
        rating_raw = n["rating_sum"] / QUANTUM / n_ratings
        sentiment = n["sentiment_sum"] / QUANTUM / n_texts
    signal = {
        "rating": np.where(n_ratings > 0, (rating_raw - lo) / (hi - lo), np.nan),
        "sentiment": np.where(n_texts > 0, sentiment, np.nan),
        "refunds": np.where(n_orders > 0, 1 - n_refunded / np.maximum(n_orders, 1), np.nan),
        "complaints": 1.0 / (1.0 + n_complaints.astype(float)),
    }
    others = np.zeros(size, dtype=bool)
    for name in ("rating", "sentiment", "refunds"):
        others |= ~np.isnan(signal[name])
    signal["complaints"] = np.where(others | (n_complaints > 0), signal["complaints"], np.nan)
    num = np.zeros(size)
    den = np.zeros(size)
    for name in SIGNALS:
        w = float(cfg.weights.get(name, 0.0))
        have = ~np.isnan(signal[name])
        num += np.where(have, w * np.nan_to_num(signal[name]), 0.0)
        den += np.where(have, w, 0.0)
    score = np.where(den > 0, 100.0 * num / np.where(den > 0, den, 1.0), np.nan)
    grade = np.full(size, None, dtype=object)
    rule = np.full(size, None, dtype=object)
    for g in reversed(cfg.grades):
        hit = score >= g.min_score
        grade[hit] = g.id
        rule[hit] = f"satisfaction_score >= {g.min_score:g}"
    out["satisfaction_score"] = np.round(score, 2)
    out["satisfaction_grade"] = grade
    out["rating_mean"] = np.where(n_ratings > 0, rating_raw, np.nan)
    out["ratings"] = n_ratings
    out["ratings_out_of_scale"] = n["ratings_out_of_scale"]
    out["sentiment_mean"] = np.round(signal["sentiment"], 4)
    out["sentiment_texts"] = n_texts
    out["refunded_orders"] = n_refunded
    out["complaints"] = n_complaints
    out["satisfaction_evidence"] = _evidence(
        grade, rule, score, signal, cfg,
        ratings=n_ratings, rating_mean=out.rating_mean.to_numpy(dtype=float),
        sentiment_texts=n_texts, sentiment_mean=out.sentiment_mean.to_numpy(dtype=float),
        orders=n_orders, refunded_orders=n_refunded, complaints=n_complaints,
    )  # fmt: skip
    return out[["customer_id", *COLUMNS]]


def _evidence(
    grade: np.ndarray, rule: np.ndarray, score: np.ndarray, signal: dict[str, np.ndarray],
    cfg: SatisfactionConfig, **figures: np.ndarray,
) -> pd.api.extensions.ExtensionArray:  # fmt: skip
    """One JSON text per customer with a grade: rule, score, signals used, weights, figures.

    Built column-wise with Arrow string kernels (no Python loop over customers) and kept as
    Arrow text (missing without a grade).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    def text(values: np.ndarray, digits: int | None = 4) -> pa.Array:
        if digits is not None:
            values = np.round(values.astype(float), digits)
        return pc.cast(pa.array(values, from_pandas=True), pa.string())  # NaN -> null

    def pair(key: str, value: pa.Array) -> pa.Array:  # null when the value is null
        return pc.binary_join_element_wise(f'"{key}": ', value, "")

    def joined(parts: list[pa.Array]) -> pa.Array:  # null parts left out
        # (not null_handling="skip": it drops rows whose parts are all null)
        kept = [pc.fill_null(pc.binary_join_element_wise(p, ", ", ""), "") for p in parts]
        return pc.utf8_rtrim(pc.binary_join_element_wise(*kept, ""), characters=", ")

    ints = {"ratings", "sentiment_texts", "orders", "refunded_orders", "complaints"}
    figs = joined([
        pair(n, pc.fill_null(text(figures[n], None if n in ints else 4), "null"))
        for n in sorted(figures)
    ])  # fmt: skip
    sigs = {k: text(signal[k]) for k in sorted(SIGNALS)}
    used = joined([pair(k, v) for k, v in sigs.items()])
    weights = joined([
        pair(k, pc.if_else(pc.is_null(v), pa.scalar(None, pa.string()),
                           repr(float(cfg.weights.get(k, 0.0)))))
        for k, v in sigs.items()
    ])  # fmt: skip
    rules = pa.array(rule.tolist(), pa.string())  # null: no grade, so no evidence
    out = pc.binary_join_element_wise(
        '{"figures": {', figs, '}, "rule": "', rules, '", "score": ', text(score, 2),
        ', "signals": {', used, '}, "weights": {', weights, "}}", "",
    )  # fmt: skip
    return pd.arrays.ArrowExtensionArray(out)
