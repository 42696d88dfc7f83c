"""The intention score kept up to date event by event, and grade crossings as they happen.

A customer's score at time T is ``sum_j w_j * 0.5 ** ((T - t_j) / h)`` over the events of the
last ``lookback_days`` (`tierwise.features.intention_score`). The live state of a customer is
that sum at an anchor no earlier than its newest event (``score`` at ``score_at``) and the
oldest event it counts (``oldest_at``, null when none). A new, later event updates it in O(1)::

    score now = score then * 0.5 ** (Δt / h) + w

When an event falls out of the lookback, or an event arrives older than the state's anchor,
the customer's sum is recomputed from the stored events instead (and kept as the new state), so
the score always equals the batch run's on the same data.

A crossing is an event after which the score reached a threshold it was below just before
(``before < T <= after``, as in `tierwise.intention.intention_crossings`); the grade is the
highest threshold reached.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ibis
import pyarrow as pa

from tierwise.config import Config, IntentionConfig
from tierwise.features import event_weight
from tierwise.store import Store

__all__ = ["IntentionTracker", "LiveScore", "grade_thresholds"]

_DAY = 86_400.0

_STATE_SCHEMA = pa.schema(
    [("customer_id", pa.string()), ("score", pa.float64()),
     ("score_at", pa.timestamp("us")), ("oldest_at", pa.timestamp("us"))]
)  # fmt: skip
_CROSSING_SCHEMA = pa.schema(
    [("event_id", pa.string()), ("customer_id", pa.string()), ("crossed_at", pa.timestamp("us")),
     ("grade", pa.string()), ("score_before", pa.float64()), ("score_after", pa.float64()),
     ("event_type", pa.string()), ("channel", pa.string())]
)  # fmt: skip


def grade_thresholds(config: Config) -> dict[str, float]:
    """The ``high`` and ``medium`` thresholds of the ``intention`` scheme."""
    params = config.schemes["intention"].params if "intention" in config.schemes else {}
    return {g: float(params[g]) for g in ("high", "medium") if g in params}


@dataclass(frozen=True)
class LiveScore:
    """A customer's intention score at a moment and the grade it reaches."""

    customer_id: str
    at: dt.datetime
    score: float
    grade: str | None


@dataclass
class _State:
    score: float
    at: dt.datetime
    oldest: dt.datetime | None  # None: no event of the lookback counted


class IntentionTracker:
    """Keeps every customer's intention score current as events arrive.

    Every change is written to the store (``intention_state``, ``intention_live_crossings``)
    and mirrored in memory for lookups; `rebuild` starts both from the stored events.

    Parameters
    ----------
    store : Store
        The open store.
    cfg : IntentionConfig
        Weights, half-life and lookback (``features.intention`` of the config).
    thresholds : mapping of str to float
        Grade name -> threshold (`grade_thresholds`).
    """

    def __init__(self, store: Store, cfg: IntentionConfig, thresholds: Mapping[str, float]) -> None:
        self.store = store
        self.cfg = cfg
        self.thresholds = sorted(thresholds.items(), key=lambda kv: -kv[1])
        self._weights: dict[tuple[str | None, str], float] = {}
        for channel, etype, weight in cfg.weight_table():
            self._weights.setdefault((channel, etype), float(weight))
        self._lookback = dt.timedelta(days=cfg.lookback_days)
        self._states: dict[str, _State] = {}  # mirrors the intention_state table

    # -- weights and grades ----------------------------------------------------------------
    def weight(self, event_type: str, channel: str | None) -> float:
        """The undecayed weight of one event (as `tierwise.features.event_weight`)."""
        if channel is not None and (channel, event_type) in self._weights:
            return self._weights[(channel, event_type)]
        return self._weights.get((None, event_type), 0.0)

    def grade(self, score: float) -> str | None:
        """The highest grade whose threshold the score reaches."""
        return next((name for name, t in self.thresholds if score >= t), None)

    def _decay(self, seconds: float) -> float:
        return 0.5 ** (seconds / _DAY / self.cfg.half_life_days)

    # -- rebuild -----------------------------------------------------------------------------
    def rebuild(self, now: dt.datetime | None = None) -> int:
        """Recompute every customer's state from the stored events, anchored at ``now``
        (the current local time by default) or at the customer's newest event when later;
        the number of customers with a state."""
        from tierwise.backends import duckdb_tables

        now = now or dt.datetime.now()
        e = duckdb_tables(self.store)["events"]
        weighted = e.mutate(w=event_weight(e, self.cfg)).filter(ibis._.w > 0)
        newest = weighted.group_by("customer_id").aggregate(
            anchor=ibis.greatest(weighted.occurred_at.max(), ibis.timestamp(now))
        )
        j = weighted.join(newest, "customer_id")
        age = (j.anchor.epoch_seconds() - j.occurred_at.epoch_seconds()).cast("float64") / _DAY
        j = j.mutate(age=age)
        kept = j.age < self.cfg.lookback_days
        states = j.group_by("customer_id").aggregate(
            score=(j.w * ibis.literal(0.5) ** (j.age / self.cfg.half_life_days))
            .sum(where=kept)
            .fill_null(0.0),
            score_at=j.anchor.max(),
            oldest_at=j.occurred_at.min(where=kept),  # null: every event left the lookback
        )
        table = states.to_pyarrow().cast(_STATE_SCHEMA)
        self.store.write_intention_states(table, replace=True)
        self._states = {
            r["customer_id"]: _State(r["score"], r["score_at"], r["oldest_at"])
            for r in table.to_pylist()
        }
        return table.num_rows

    # -- ingest ------------------------------------------------------------------------------
    def apply_import(self, import_id: str) -> list[dict[str, Any]]:
        """Update the scores with the events one import wrote; the crossings they caused."""
        new = self.store.events_of_import(import_id).to_pylist()
        new = [{**ev, "w": self.weight(ev["event_type"], ev["channel"])} for ev in new]
        new = [ev for ev in new if ev["w"] > 0]
        if not new:
            return []
        by_customer: dict[str, list[dict[str, Any]]] = {}
        for ev in new:  # already ordered by customer, time, id
            by_customer.setdefault(ev["customer_id"], []).append(ev)
        states = {c: self._states[c] for c in by_customer if c in self._states}
        crossings: list[dict[str, Any]] = []
        exact: dict[str, list[dict[str, Any]]] = {}
        for cid, evs in by_customer.items():
            first = evs[0]["occurred_at"]
            st = states.get(cid)
            if st is None or (st.at < first and first - st.at >= self._lookback):
                # The states mirror every weighted event stored (rebuilt at start, then fed
                # each import): none yet, or every one counted has left the lookback.
                st = _State(0.0, first, None)
            elif first <= st.at:
                exact[cid] = evs
                continue
            oldest = st.oldest or first
            if evs[-1]["occurred_at"] - oldest >= self._lookback:
                exact[cid] = evs  # some counted event leaves the lookback within the batch
                continue
            score, at = st.score, st.at
            for ev in evs:
                before = score * self._decay((ev["occurred_at"] - at).total_seconds())
                score, at = before + ev["w"], ev["occurred_at"]
                crossings += self._crossing(ev, before, score)
            states[cid] = _State(score, at, oldest)
        if exact:
            crossings += self._replay(exact, states)
        changed = pa.Table.from_pylist(
            [{"customer_id": c, "score": s.score, "score_at": s.at, "oldest_at": s.oldest}
             for c, s in states.items() if c in by_customer],
            schema=_STATE_SCHEMA,
        )  # fmt: skip
        self.store.write_intention_states(
            changed, pa.Table.from_pylist(crossings, schema=_CROSSING_SCHEMA)
        )
        self._states.update((c, s) for c, s in states.items() if c in by_customer)
        return crossings

    def _crossing(self, ev: dict[str, Any], before: float, after: float) -> list[dict[str, Any]]:
        if not any(before < t <= after for _, t in self.thresholds):
            return []
        return [{
            "event_id": ev["event_id"], "customer_id": ev["customer_id"],
            "crossed_at": ev["occurred_at"], "grade": self.grade(after),
            "score_before": before, "score_after": after,
            "event_type": ev["event_type"], "channel": ev["channel"],
        }]  # fmt: skip

    def _replay(
        self, exact: dict[str, list[dict[str, Any]]], states: dict[str, _State]
    ) -> list[dict[str, Any]]:
        """Exact sums from the stored events for customers the O(1) update cannot serve."""
        since = pa.table({
            "customer_id": pa.array(list(exact), pa.string()),
            "after": pa.array([evs[0]["occurred_at"] - self._lookback for evs in exact.values()],
                              pa.timestamp("us")),
        })  # fmt: skip
        stored: dict[str, list[dict[str, Any]]] = {}
        for ev in self.store.events_since(since).to_pylist():
            w = self.weight(ev["event_type"], ev["channel"])
            if w > 0:
                stored.setdefault(ev["customer_id"], []).append({**ev, "w": w})
        crossings: list[dict[str, Any]] = []
        for cid, evs in exact.items():
            history = stored.get(cid, [])
            ids = {ev["event_id"] for ev in evs}
            for k, ev in enumerate(history):
                if ev["event_id"] not in ids:
                    continue
                after = self._sum(history[: k + 1], ev["occurred_at"], inclusive=True)
                crossings += self._crossing(ev, after - ev["w"], after)
            newest = history[-1]["occurred_at"]  # the history holds every later event too
            score = self._sum(history, newest, inclusive=True)
            kept = [ev["occurred_at"] for ev in history if self._within(ev, newest)]
            states[cid] = _State(score, newest, min(kept))
        return crossings

    def _within(self, ev: dict[str, Any], at: dt.datetime) -> bool:
        return (at - ev["occurred_at"]) < self._lookback

    def _sum(self, events: list[dict[str, Any]], at: dt.datetime, *, inclusive: bool) -> float:
        total = 0.0
        for ev in events:
            if ev["occurred_at"] > at or (not inclusive and ev["occurred_at"] == at):
                continue
            if self._within(ev, at):
                total += ev["w"] * self._decay((at - ev["occurred_at"]).total_seconds())
        return total

    def _history(self, customer_id: str, at: dt.datetime) -> list[dict[str, Any]]:
        out = []
        for ev in self.store.customer_events_after(customer_id, at - self._lookback):
            w = self.weight(ev["event_type"], ev["channel"])
            if w > 0:
                out.append({**ev, "w": w})
        return out

    # -- read --------------------------------------------------------------------------------
    def score_at(self, customer_id: str, at: dt.datetime) -> LiveScore:
        """The score at a moment (events stamped before it count), from the live state.

        When events have left the lookback since the state was written, the sum is taken
        again from the stored events and kept as the customer's state from then on.
        """
        st = self._states.get(customer_id)
        score = 0.0
        if st is not None:
            if st.at < at and (st.oldest is None or at - st.oldest < self._lookback):
                score = st.score * self._decay((at - st.at).total_seconds())
            elif st.at <= at and at - st.at >= self._lookback:
                pass  # every event the state counts has left the lookback: nothing to read
            else:
                history = self._history(customer_id, at)
                before = [ev for ev in history if ev["occurred_at"] < at]
                score = self._sum(before, at, inclusive=False)
                if at > st.at and len(before) == len(history):
                    self._reanchor(customer_id, at, score, before)  # no event at or after it
        return LiveScore(customer_id, at, score, self.grade(score))

    def _reanchor(
        self, customer_id: str, at: dt.datetime, score: float, history: list[dict[str, Any]]
    ) -> None:
        kept = [ev["occurred_at"] for ev in history if self._within(ev, at)]
        state = _State(score, at, min(kept) if kept else None)
        row = {"customer_id": customer_id, "score": score, "score_at": at,
               "oldest_at": state.oldest}  # fmt: skip
        self.store.write_intention_states(pa.Table.from_pylist([row], schema=_STATE_SCHEMA))
        self._states[customer_id] = state
