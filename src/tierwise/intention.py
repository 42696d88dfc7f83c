"""When a customer's intention score rises past a grade threshold: the "hard sell now" list.

The score of seed 001 is a running, decayed sum over a customer's events. Just after event
*k* it is ``S_k = sum_{j <= k} w_j * 0.5 ** ((t_k - t_j) / h)``; it crosses a threshold T at
event *k* when ``S_k - w_k < T <= S_k``. Written with window sums as
``S_k = 0.5 ** (u_k / h) * cumsum(w_j * 2 ** (u_j / h))`` (``u`` in days from the start of the
lookback), so it runs as one engine-neutral Ibis query on DuckDB or Spark.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from tierwise.config import IntentionConfig
from tierwise.errors import ConfigError
from tierwise.features import cutoff_of, event_weight

__all__ = ["MAX_DECAY_SPAN", "intention_crossings"]

MAX_DECAY_SPAN = 500
"""Largest lookback / half-life ratio the running score supports (2 ** 500 fits a float)."""


def intention_crossings(
    events: ir.Table,
    *,
    since: dt.date,
    as_of: dt.date,
    cfg: IntentionConfig,
    thresholds: Mapping[str, float],
    context_days: int = 7,
) -> ir.Table:
    """Each time a customer's score rose past a threshold after ``since`` up to ``as_of``.

    Parameters
    ----------
    events : ibis Table
        Canonical events.
    since, as_of : datetime.date
        Crossings on days ``since + 1`` .. ``as_of`` are listed.
    cfg : IntentionConfig
        Weights, channels, half-life and lookback.
    thresholds : mapping of str to float
        Grade name -> score threshold, e.g. ``{"high": 10, "medium": 3}``.
    context_days : int
        The events of this many days up to the crossing are listed as what pushed it.

    Returns
    -------
    ibis Table
        customer_id, crossed_at, grade (the highest threshold reached), score_before,
        score_after, event_id, event_type, channel, pushed_by (the events of the context
        window counted by ``type@channel``, e.g. ``view@taobao×17, cart@taobao×2``, in the
        order they first occurred).
    """
    if cfg.lookback_days / cfg.half_life_days > MAX_DECAY_SPAN:
        raise ConfigError(
            f"features.intention: lookback_days / half_life_days must be at most "
            f"{MAX_DECAY_SPAN}; shorten the lookback or lengthen the half-life"
        )
    if not thresholds:
        raise ValueError("intention_crossings needs at least one threshold")
    cutoff = cutoff_of(as_of)
    start = cutoff_of(as_of - dt.timedelta(days=cfg.lookback_days))
    e = events.filter((events.occurred_at < cutoff) & (events.occurred_at >= start))
    h = cfg.half_life_days
    u = (e.occurred_at.epoch_seconds() - start.epoch_seconds()).cast("float64") / 86_400.0
    weighted = e.mutate(w=event_weight(e, cfg), u=u).filter(ibis._.w > 0)
    win = ibis.cumulative_window(
        group_by=weighted.customer_id, order_by=[weighted.occurred_at, weighted.event_id]
    )
    running = weighted.mutate(
        acc=(weighted.w * ibis.literal(2.0) ** (weighted.u / h)).sum().over(win)
    )
    running = running.mutate(score_after=running.acc * ibis.literal(0.5) ** (running.u / h))
    running = running.mutate(score_before=running.score_after - running.w)
    ordered = sorted(thresholds.items(), key=lambda kv: -kv[1])
    crossed = ibis.or_(
        *[(running.score_before < t) & (running.score_after >= t) for _, t in ordered]
    )
    grade = ibis.cases(
        *[(running.score_after >= t, ibis.literal(name)) for name, t in ordered],
        else_=ibis.null("string"),
    )
    hits = running.filter(crossed & (running.occurred_at >= cutoff_of(since)))
    hits = hits.select(
        "customer_id",
        "event_id",
        "event_type",
        "channel",
        crossed_at=hits.occurred_at,
        grade=grade,
        score_before=hits.score_before.round(4),
        score_after=hits.score_after.round(4),
    )
    ctx = events.filter(events.occurred_at < cutoff).select(
        c_customer=events.customer_id,
        c_at=events.occurred_at,
        c_id=events.event_id,
        c_label=events.event_type + "@" + events.channel.fill_null("-"),
    )
    span = context_days * 86_400
    joined = hits.join(
        ctx,
        [
            hits.customer_id == ctx.c_customer,
            ctx.c_at <= hits.crossed_at,
            ctx.c_at.epoch_seconds() > hits.crossed_at.epoch_seconds() - span,
        ],
    )
    counted = joined.group_by("event_id", "customer_id", "c_label").aggregate(
        n=joined.count(), first=joined.c_at.min()
    )
    pushed = counted.group_by("event_id", "customer_id").aggregate(
        pushed_by=(counted.c_label + "×" + counted.n.cast("string")).group_concat(
            ", ", order_by=[counted.first, counted.c_label]
        )
    )
    out = hits.left_join(pushed, ["event_id", "customer_id"]).select(
        "customer_id", "crossed_at", "grade", "score_before", "score_after", "event_id",
        "event_type", "channel", "pushed_by",
    )  # fmt: skip
    return out.order_by(["crossed_at", "customer_id"])
