"""The live intention score equals the batch run's on the same data; crossings as they happen
equal the batch list of crossings."""

from __future__ import annotations

import datetime as dt
import random

import ibis
import pyarrow.parquet as pq
import pytest
from service_testkit import Api

from tierwise.backends import duckdb_tables
from tierwise.features import intention_score
from tierwise.intention import intention_crossings
from tierwise.project import Project
from tierwise.service.realtime import grade_thresholds


def _events(demo_project_dir) -> list[dict]:
    rows = pq.read_table(demo_project_dir / "data" / "events.parquet").to_pylist()
    for r in rows:
        r["occurred_at"] = r["occurred_at"].isoformat()
    return [{k: v for k, v in r.items() if v is not None} for r in rows]


def _fresh(demo_project_dir, tmp_path) -> Api:
    """A project holding the demo's customers and orders but no events, being served."""
    p = Project.init(tmp_path / "live")
    with p:
        for entity in ("customers", "orders"):
            p.import_file(entity, demo_project_dir / "data" / f"{entity}.parquet")
    return Api(tmp_path / "live")


def _batch_scores(project: Project, at: dt.datetime) -> dict[str, float]:
    """The batch definition (features.intention_score), unrounded, as of an instant."""
    e = duckdb_tables(project.store)["events"]
    cutoff = ibis.timestamp(at)
    e = e.filter(e.occurred_at < cutoff)
    cfg = project.config.features.intention
    t = e.group_by("customer_id").aggregate(s=intention_score(e, cutoff, cfg).sum())
    return dict(zip(*t.to_pyarrow().to_pydict().values(), strict=True))


def _post_all(api: Api, batches: list[list[dict]]) -> list[dict]:
    crossings = []
    for batch in batches:
        r = api.post("/v1/events", json={"events": batch})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["quarantined"] == 0, body["problems"][:3]
        crossings += body["crossings"]
    return crossings


def test_live_score_equals_the_batch_score_whatever_the_arrival_order(demo_project_dir, tmp_path):
    events = _events(demo_project_dir)
    random.Random(3).shuffle(events)  # late events and lookback expiry both happen
    as_of = max(dt.datetime.fromisoformat(e["occurred_at"]) for e in events).date()
    end_of_as_of = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    moments = (end_of_as_of, dt.datetime(2024, 9, 1, 12, 0), dt.datetime(2025, 12, 31, 18),
               end_of_as_of + dt.timedelta(days=400))  # fmt: skip
    api = _fresh(demo_project_dir, tmp_path)

    def check() -> dict[str, float]:
        for at in moments:  # reading re-anchors states; the next batch builds on them
            batch = _batch_scores(api.project, at)
            assert len(batch) > 50
            for c, want in batch.items():
                got = api.service.tracker.score_at(c, at).score
                assert got == pytest.approx(want, rel=1e-9, abs=1e-12), (c, at)
        return batch

    try:
        cut = int(len(events) * 0.8)
        _post_all(api, [events[i : i + 2500] for i in range(0, cut, 2500)])
        check()
        _post_all(api, [events[cut:]])
        batch = check()
        # the same through the API
        at = moments[-1]
        cid = max(batch, key=batch.get)
        r = api.get(f"/v1/customers/{cid}", params={"at": at.isoformat()})
        assert r.json()["intention"]["score"] == pytest.approx(batch[cid], rel=1e-9)
    finally:
        api.close()


def test_a_replayed_batch_changes_no_score(demo_project_dir, tmp_path):
    events = _events(demo_project_dir)[:3000]
    api = _fresh(demo_project_dir, tmp_path)
    try:
        _post_all(api, [events])
        before = api.service.project.store.intention_states().to_pylist()
        r = api.post("/v1/events", json={"events": events})
        assert r.json()["duplicate"] == 3000 and r.json()["imported"] == 0
        assert r.json()["crossings"] == []
        after = api.service.project.store.intention_states().to_pylist()
        assert sorted(before, key=str) == sorted(after, key=str)
        assert api.project.store.count("events") == 3000
    finally:
        api.close()


def test_crossings_as_they_happen_equal_the_batch_crossings(demo_project_dir, tmp_path):
    events = _events(demo_project_dir)
    as_of = max(dt.datetime.fromisoformat(e["occurred_at"]) for e in events).date()
    cfg_lookback = 730
    start = dt.datetime.combine(as_of - dt.timedelta(days=cfg_lookback - 1), dt.time())
    events = sorted(
        (e for e in events if dt.datetime.fromisoformat(e["occurred_at"]) >= start),
        key=lambda e: (e["occurred_at"], e["event_id"]),
    )
    api = _fresh(demo_project_dir, tmp_path)
    try:
        assert api.project.config.features.intention.lookback_days == cfg_lookback
        live = _post_all(api, [events[i : i + 3000] for i in range(0, len(events), 3000)])
        batch = intention_crossings(
            duckdb_tables(api.project.store)["events"], since=start.date() - dt.timedelta(days=1),
            as_of=as_of, cfg=api.project.config.features.intention,
            thresholds=grade_thresholds(api.project.config),
        ).to_pyarrow().to_pylist()  # fmt: skip
        assert len(batch) > 20
        # a score landing exactly on a threshold (one comment of weight 3 from nothing) crosses
        # it (T <= after); the batch query's exp/log arithmetic can land a hair below: left out
        marks = grade_thresholds(api.project.config).values()
        on_mark = {c["event_id"] for c in live if any(abs(c["score_after"] - t) < 1e-9
                                                       for t in marks)}  # fmt: skip
        assert len(on_mark) < len(live) / 5
        assert sorted(
            (c["event_id"], c["grade"]) for c in live if c["event_id"] not in on_mark
        ) == sorted((c["event_id"], c["grade"]) for c in batch if c["event_id"] not in on_mark)
        by_id = {c["event_id"]: c for c in live}
        for c in batch:
            if c["event_id"] in on_mark:
                continue
            assert by_id[c["event_id"]]["score_after"] == pytest.approx(c["score_after"], abs=1e-4)
        stored = api.get("/v1/intention/crossings", params={"limit": 10_000}).json()["crossings"]
        assert {c["event_id"] for c in stored} == set(by_id)
        later = api.get("/v1/intention/crossings", params={"since": "2025-12-01T00:00:00"})
        assert all(c["crossed_at"] > "2025-12-01" for c in later.json()["crossings"])
    finally:
        api.close()


def test_a_customer_back_after_the_lookback_is_scored_without_reading_the_store(
    demo_project_dir, tmp_path, monkeypatch
):
    api = _fresh(demo_project_dir, tmp_path)
    lookback = dt.timedelta(days=api.project.config.features.intention.lookback_days)
    start = dt.datetime(2023, 3, 1, 9, 30)
    ids = ["C000001", "C000002", "C000003"]

    def ev(k: int, cid: str, at: dt.datetime, etype: str = "comment") -> dict:
        return {"event_id": f"back-{k}", "customer_id": cid, "occurred_at": at.isoformat(),
                "event_type": etype, "channel": "douyin"}  # fmt: skip

    try:
        _post_all(api, [[ev(i, c, start + dt.timedelta(hours=i)) for i, c in enumerate(ids)]])
        reads: list[int] = []
        store = api.service.project.store
        real = store.events_since
        monkeypatch.setattr(store, "events_since", lambda since: reads.append(1) or real(since))
        back = start + lookback + dt.timedelta(days=3)
        crossings = _post_all(api, [[
            ev(10, "C000001", back), ev(11, "C000001", back + dt.timedelta(hours=1), "share"),
            ev(12, "C000002", back + dt.timedelta(days=1)),
            ev(13, "C000004", back),  # no weighted event before: starts from nothing
        ]])  # fmt: skip
        assert reads == []
        at = back + dt.timedelta(days=2)
        batch = _batch_scores(api.project, at)
        for cid in ("C000001", "C000002", "C000003", "C000004"):
            got = api.service.tracker.score_at(cid, at).score
            assert got == pytest.approx(batch.get(cid, 0.0), rel=1e-9, abs=1e-12), cid
        assert api.service.tracker.score_at("C000003", at).score == 0.0
        assert batch["C000001"] > batch["C000004"] > 0
        assert all(c["customer_id"] != "C000003" for c in crossings)
    finally:
        api.close()
