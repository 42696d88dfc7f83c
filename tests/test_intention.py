"""Intention crossings: by hand on the tiny shop, and against a direct sum on random events."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from tierwise.backends import duckdb_tables
from tierwise.config import Config
from tierwise.errors import ConfigError
from tierwise.intention import intention_crossings
from tierwise.store import Store
from tinyshop import insert

CFG = Config.default().features.intention
GRADES = {"high": 10.0, "medium": 3.0}


def crossings(store, since, as_of, cfg=CFG):
    t = duckdb_tables(store)
    expr = intention_crossings(t["events"], since=since, as_of=as_of, cfg=cfg, thresholds=GRADES)
    return expr.to_pandas()


def test_the_fan_rises_to_medium_then_high(tiny_store):
    x = crossings(tiny_store, dt.date(2024, 6, 1), dt.date(2024, 6, 30))
    assert x.customer_id.tolist() == ["fan", "fan"]
    assert x.grade.tolist() == ["medium", "high"]
    assert x.crossed_at.dt.day.tolist() == [11, 14]
    assert x.score_before.iloc[0] == pytest.approx(2.5 * 0.5 ** (1 / 30), abs=1e-4)
    assert x.score_after.iloc[1] == pytest.approx(
        sum(2.5 * 0.5 ** (d / 30) for d in range(5)), abs=1e-4
    )
    assert x.pushed_by.iloc[1] == "share@weibo×5"  # 06-10 .. 06-14


def test_since_limits_the_list(tiny_store):
    x = crossings(tiny_store, dt.date(2024, 6, 12), dt.date(2024, 6, 30))
    assert x.grade.tolist() == ["high"]


def test_matches_a_direct_sum_on_random_events():
    rng = np.random.default_rng(3)
    s = Store(":memory:")
    start = dt.datetime(2024, 1, 1)
    rows, weights = [], {"like": 1.0, "comment": 3.0, "favorite": 2.0, "view": 0.2}
    for i in range(400):
        cust = f"c{rng.integers(0, 8)}"
        when = start + dt.timedelta(minutes=int(rng.integers(0, 180 * 24 * 60)))
        etype = str(rng.choice(list(weights)))
        rows.append({"event_id": f"e{i:04d}", "customer_id": cust, "occurred_at": when,
                     "event_type": etype})  # fmt: skip
    insert(s, "events", rows)
    as_of, since = dt.date(2024, 6, 28), dt.date(2024, 3, 1)
    got = crossings(s, since, as_of)
    want = []
    for cust in sorted({r["customer_id"] for r in rows}):
        evs = sorted((r["occurred_at"], r["event_id"], weights[r["event_type"]])
                     for r in rows if r["customer_id"] == cust)  # fmt: skip
        for k, (tk, eid, wk) in enumerate(evs):
            after = sum(
                w * 0.5 ** ((tk - tj).total_seconds() / 86400 / 30) for tj, _, w in evs[: k + 1]
            )
            before = after - wk
            if tk >= dt.datetime(2024, 3, 2) and any(before < g <= after for g in GRADES.values()):
                want.append((cust, eid, round(after, 4)))
    assert len(want) > 5
    got_set = {
        (c, e, a) for c, e, a in zip(got.customer_id, got.event_id, got.score_after, strict=True)
    }
    assert {(c, e) for c, e, _ in want} == {(c, e) for c, e, _ in got_set}
    for c, e, a in want:
        assert a == pytest.approx(dict(((c2, e2), a2) for c2, e2, a2 in got_set)[(c, e)], abs=1e-3)


def test_a_decay_span_too_long_is_refused(tiny_store):
    cfg = (
        Config.default()
        .with_overrides({"features": {"intention": {"half_life_days": 1, "lookback_days": 3650}}})
        .features.intention
    )
    with pytest.raises(ConfigError, match="lookback_days / half_life_days must be at most 500"):
        crossings(tiny_store, dt.date(2024, 6, 1), dt.date(2024, 6, 30), cfg)
