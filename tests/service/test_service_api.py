"""The API: keys and scopes, bad input answered clearly, nothing lost or doubled, PII masked
and audited, runs in the background."""

from __future__ import annotations

import json
import time

import pytest
from service_testkit import Api

from tierwise.service.keys import verify

EVENT = {"event_id": "api-1", "customer_id": "C000001", "occurred_at": "2025-12-30T10:00:00",
         "event_type": "comment", "channel": "douyin", "text": "多少钱？"}  # fmt: skip


def test_health_needs_no_key_and_docs_are_served(api):
    assert api.client.get("/healthz").json()["snapshots"] == 1
    spec = api.client.get("/openapi.json").json()
    assert "/v1/events" in spec["paths"]
    assert api.client.get("/docs").status_code == 200


@pytest.mark.parametrize(
    ("headers", "status", "words"),
    [
        ({}, 401, "missing API key"),
        ({"Authorization": "Bearer tw_nope_nope"}, 401, "unknown or revoked"),
        ({"X-API-Key": "garbage"}, 401, "unknown or revoked"),
    ],
)
def test_missing_or_unknown_key_is_401(api, headers, status, words):
    r = api.client.get("/v1/customers/C000001", headers=headers)
    assert r.status_code == status and words in r.json()["detail"]
    assert r.headers["www-authenticate"] == "Bearer"


def test_wrong_scope_is_403_and_names_the_scope(api):
    r = api.get("/v1/customers/C000001", role="writer")
    assert r.status_code == 403 and "profiles:read" in r.json()["detail"]
    r = api.post("/v1/events", role="reader", json={"events": [EVENT]})
    assert r.status_code == 403 and "events:write" in r.json()["detail"]
    assert api.post("/v1/runs", role="reader", json={}).status_code == 403
    assert api.project.store.count("events") > 0  # nothing was written by the refused post
    assert api.project.store.one("SELECT count(*) FROM events WHERE event_id = 'api-1'")[0] == 0


def test_keys_are_stored_hashed_and_revocation_is_immediate(api):
    key = api.keys["reader"]
    rows = api.project.store.arrow("SELECT * FROM api_keys").to_pylist()
    assert not any(key.split("_", 2)[2] in json.dumps(r, default=str) for r in rows)
    assert verify(api.project.store, key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert api.get("/v1/customers/C000001").status_code == 200  # verified once, then held
    key_id = key.split("_")[1]
    assert api.client.delete(f"/v1/keys/{key_id}", headers=api.h("reader")).status_code == 403
    r = api.client.delete(f"/v1/keys/{key_id}", headers=api.h("admin"))
    assert r.status_code == 200 and r.json() == {"revoked": key_id}
    assert api.get("/v1/customers/C000001").status_code == 401
    assert api.client.delete(f"/v1/keys/{key_id}", headers=api.h("admin")).status_code == 404


def test_keys_can_be_made_through_the_service_while_it_holds_the_store(api):
    r = api.post("/v1/keys", role="admin", json={"scopes": ["profiles:read"], "name": "crm"})
    assert r.status_code == 201
    made = r.json()
    ok = api.client.get("/v1/customers/C000001",
                        headers={"Authorization": f"Bearer {made['key']}"})  # fmt: skip
    assert ok.status_code == 200
    listed = api.get("/v1/keys", role="admin").json()["keys"]
    assert made["key_id"] in {k["key_id"] for k in listed}
    assert all("digest" not in k and "salt" not in k for k in listed)
    bad = api.post("/v1/keys", role="admin", json={"scopes": ["root"]})
    assert bad.status_code == 422 and "unknown scope" in bad.json()["detail"]
    audit = api.get("/v1/audit", role="admin").json()["entries"]
    assert any(e["action"] == "key_create" and e["target"] == made["key_id"] for e in audit)


def test_events_are_validated_row_by_row_and_replays_are_not_doubled(api):
    good = [dict(EVENT), {**EVENT, "event_id": "api-2", "event_type": "like"}]
    bad = [
        {**EVENT, "event_id": "api-3", "occurred_at": "yesterday"},
        {**EVENT, "event_id": "api-4", "customer_id": None},
        {**EVENT, "event_id": "api-5", "occurred_at": "2099-01-01T00:00:00"},
    ]
    n = api.project.store.count("events")
    r = api.post("/v1/events", json={"events": good + bad})
    body = r.json()
    assert r.status_code == 200
    assert (body["imported"], body["quarantined"], body["duplicate"]) == (2, 3, 0)
    by_index = {p["index"]: p for p in body["problems"]}
    assert set(by_index) == {2, 3, 4}
    assert by_index[2]["column"] == "occurred_at" and "yesterday" in by_index[2]["reason"]
    assert "customer_id" in by_index[3]["reason"]
    assert "after the import time" in by_index[4]["reason"]
    assert body["quarantine_file"].endswith(".csv")
    assert api.project.store.count("events") == n + 2
    # the same batch again: nothing new, nothing doubled, the bad rows answered again
    again = api.post("/v1/events", json={"events": good + bad}).json()
    assert (again["imported"], again["duplicate"], again["quarantined"]) == (0, 2, 3)
    assert api.project.store.count("events") == n + 2
    # the same id with other values is a conflict, quarantined, not an overwrite
    clash = api.post("/v1/events", json={"events": [{**EVENT, "event_type": "share"}]}).json()
    assert clash["quarantined"] == 1 and clash["problems"][0]["index"] == 0
    stored = api.project.store.one("SELECT event_type FROM events WHERE event_id = 'api-1'")
    assert stored == ("comment",)


def test_orders_wrong_types_are_answered_per_row(api):
    orders = [
        {"order_id": "api-o1", "customer_id": "C000001", "paid_at": "2025-12-30T10:00:00",
         "amount": 99.5, "status": "paid"},
        {"order_id": "api-o2", "customer_id": "C000001", "paid_at": "2025-12-30T10:00:00",
         "amount": "lots", "status": "paid"},
        {"order_id": "api-o3", "customer_id": "C000001", "paid_at": "2025-12-30T10:00:00",
         "amount": -1, "status": "paid", "item_count": [1, 2]},
    ]  # fmt: skip
    body = api.post("/v1/orders", json={"orders": orders}).json()
    assert body["imported"] == 1 and body["quarantined"] == 2
    cols = {(p["index"], p["column"]) for p in body["problems"]}
    assert (1, "amount") in cols and (2, "amount") in cols


@pytest.mark.parametrize(
    ("payload", "status", "words"),
    [
        (b'{"events": [', 400, "malformed JSON"),
        (b'{"events": {"a": 1}}', 422, "events"),
        (b'{"events": [1, 2]}', 422, "events.0"),
        (b'{"orders": []}', 422, "events"),
        (b'{"events": []}', 422, "empty"),
        (b'{"events": [{}]}', 422, "empty"),
        (b'{"events": [{"event_id": "x"}]}', 422, "customer_id"),
    ],
)
def test_malformed_bodies_get_a_clear_status_and_message(api, payload, status, words):
    r = api.post("/v1/events", content=payload, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


def test_oversize_batches_and_bodies_are_413(project_dir):
    api = Api(project_dir, max_batch=5, max_body_bytes=20_000)
    try:
        events = [{**EVENT, "event_id": f"big-{i}"} for i in range(6)]
        r = api.post("/v1/events", json={"events": events})
        assert r.status_code == 413 and "at most 5" in r.json()["detail"]
        r = api.post("/v1/events", json={"events": [{**EVENT, "text": "x" * 30_000}]})
        assert r.status_code == 413 and "20,000 bytes" in r.json()["detail"]

        def chunks():  # no Content-Length: counted while streaming
            yield b'{"events": [{"text": "'
            for _ in range(30):
                yield b"y" * 1000
            yield b'"}]}'

        r = api.post("/v1/events", content=chunks(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413
        assert (
            api.project.store.one("SELECT count(*) FROM events WHERE event_id LIKE 'big-%'")[0] == 0
        )
    finally:
        api.close()


def test_customer_profile_labels_evidence_and_intention_now(api):
    cid = "C000001"
    body = api.get(f"/v1/customers/{cid}").json()
    shown = api.project.show(cid)
    assert body["as_of"] == shown.as_of.isoformat()
    assert body["profile"]["monetary_total"] == shown.features["monetary_total"]
    assert {(lab["scheme"], lab["label"]) for lab in body["labels"]} == {
        (lab["scheme"], lab["label"]) for lab in shown.labels
    }
    lifecycle = next(lab for lab in body["labels"] if lab["scheme"] == "lifecycle"
                     and lab["is_primary"])  # fmt: skip
    assert lifecycle["rule"] in lifecycle["because"]["en"]
    figures = lifecycle["evidence"]["figures"]
    assert all(name in lifecycle["because"]["en"] for name in figures)
    assert lifecycle["label_zh"] in lifecycle["because"]["zh"]
    assert set(body["intention"]["thresholds"]) == {"high", "medium"}
    assert body["intention"]["score"] >= 0
    assert api.get("/v1/customers/nobody").status_code == 404
    assert "nobody" in api.get("/v1/customers/nobody").json()["detail"]
    assert api.get(f"/v1/customers/{cid}", params={"as_of": "2020-01-01"}).status_code == 404
    assert api.get(f"/v1/customers/{cid}", params={"as_of": "soon"}).status_code == 422


def test_pii_is_masked_without_the_scope_and_unmasking_is_audited(api):
    cid = "C000001"
    masked = api.get(f"/v1/customers/{cid}").json()
    plain = api.get(f"/v1/customers/{cid}", role="pii").json()
    assert plain["profile"]["city"] and plain["profile"]["city"] != "•••"
    assert masked["profile"]["city"] == "•••" and "city" in masked["masked"]
    assert masked["profile"]["monetary_total"] == plain["profile"]["monetary_total"]
    api.post("/v1/events", json={"events": [EVENT]})
    tl = api.get(f"/v1/customers/{cid}/timeline").json()["items"]
    assert next(i for i in tl if i["id"] == "api-1")["text"] == "•••"
    tl = api.get(f"/v1/customers/{cid}/timeline", role="pii").json()["items"]
    assert next(i for i in tl if i["id"] == "api-1")["text"] == "多少钱？"
    audit = api.get("/v1/audit", role="admin").json()["entries"]
    unmasks = [e for e in audit if e["action"] == "unmask"]
    assert len(unmasks) == 2 and all(e["target"] == cid for e in unmasks)
    assert api.get("/v1/audit").status_code == 403


def test_cors_is_closed_by_default_and_opens_to_listed_origins(api, tmp_path, project_dir):
    pre = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    r = api.client.options("/v1/customers/C000001", headers=pre)
    assert "access-control-allow-origin" not in r.headers
    api.close()
    other = Api(project_dir, cors_origins=["https://shop.example"])
    try:
        ok = {**pre, "Origin": "https://shop.example"}
        r = other.client.options("/v1/customers/C000001", headers=ok)
        assert r.headers["access-control-allow-origin"] == "https://shop.example"
        r = other.client.options("/v1/customers/C000001", headers=pre)
        assert "access-control-allow-origin" not in r.headers
    finally:
        other.close()


def test_overview_counts_every_customer_once_per_scheme(api):
    ov = api.get("/v1/overview").json()
    n = api.project.store.read_profiles().num_rows
    assert ov["customers"] == n
    assert ov["value"] == pytest.approx(sum(api.project.profiles()["monetary_total"]))
    for s in ov["schemes"]:  # schemes without a default label leave some customers out
        assert sum(lab["customers"] for lab in s["labels"]) <= n
        assert sum(lab["value_share"] or 0 for lab in s["labels"]) <= 1 + 1e-9
    lifecycle = next(s for s in ov["schemes"] if s["scheme"] == "lifecycle")
    assert sum(lab["customers"] for lab in lifecycle["labels"]) == n
    summary = api.project.summary(format="arrow").to_pylist()
    primary = {(r["scheme"], r["label"]): r["customers"] for r in summary if r["customers"]}
    got = {(s["scheme"], lab["label"]): lab["customers"] for s in ov["schemes"]
           for lab in s["labels"]}  # fmt: skip
    assert got == primary


def test_segment_members_and_the_plan_are_paged_and_equal_the_library(api):
    expr = "orders >= 2 and monetary_total > 1000"
    expected = list(api.project.segment(expr).customer_id)
    r = api.get("/v1/segments/" + expr + "/members", params={"limit": 5})
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["total"] == len(expected) > 5
    assert [m["customer_id"] for m in body["members"]] == expected[:5]
    assert api.get("/v1/segments/ordrs > 2/members").status_code in (404, 422)
    assert api.get("/v1/plan").status_code == 404  # no plan made yet
    made = api.project.plan()
    r = api.get("/v1/plan", params={"limit": 3})
    assert r.status_code == 200, r.json()
    assert r.json()["total"] == made.rows.num_rows and len(r.json()["rows"]) == 3


def test_a_run_goes_in_the_background_and_is_polled(api):
    latest = api.project.store.latest_snapshot()
    held = api.service.label_values(latest)  # computed once, then held
    assert api.service.label_values(latest) is held
    r = api.post("/v1/runs", role="admin", json={"as_of": "2025-06-30"})
    assert r.status_code == 202
    run_id = r.json()["run_id"]
    busy = api.post("/v1/runs", role="admin", json={})
    assert busy.status_code in (202, 409)  # 409 while the first one is going on
    # the service keeps answering while it runs
    assert api.get("/v1/customers/C000001").status_code == 200
    api.service.runs.wait(120)
    status = api.get(f"/v1/runs/{run_id}").json()
    assert status["status"] == "done", status
    assert status["customers"] > 0
    assert "2025-06-30" in api.get("/v1/snapshots").json()["snapshots"]
    # what was held of the snapshots is read again after the run
    assert api.service.label_values(latest) is not held
    ov = api.get("/v1/overview", params={"as_of": "2025-06-30"}).json()
    assert ov["customers"] == status["customers"]
    assert api.get("/v1/runs/nope").status_code == 404
    deadline = time.monotonic() + 120
    while api.service.runs._thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.2)


def test_entrance_and_distributor_reports(api):
    ent = api.get("/v1/entrance", params={"by": "kind"}).json()
    n = api.project.store.read_profiles().num_rows
    assert sum(r["customers"] for r in ent["rows"]) == n
    assert {"conversion_rate", "repeat_rate", "mean_clv", "quadrant_mix"} <= set(ent["rows"][0])
    bad = api.get("/v1/entrance", params={"by": "city"})
    assert bad.status_code == 422 and "--by must be one of" in bad.json()["detail"]
    dist = api.get("/v1/distributors").json()["rows"]
    assert dist and {"distributor_id", "commission", "influence_score"} <= set(dist[0])


def test_funnel_and_member_moves_equal_the_library(api):
    got = api.get("/v1/funnel").json()
    want = api.project.funnel(format="arrow").to_pylist()
    assert [r["reached"] for r in got["stages"]] == [r["reached"] for r in want]
    assert [r["stage"] for r in got["stages"]] == ["fan", "customer", "member", "lifetime", "koc"]
    assert got["stages"][0]["reached"] == api.project.store.read_profiles().num_rows
    by = api.get("/v1/funnel", params={"by": "channel"}).json()
    assert {r["group"] for r in by["stages"]} >= {"(none)"}
    assert api.get("/v1/funnel", params={"by": "nowhere"}).status_code == 422
    moves = api.get("/v1/members/moves").json()["days"]
    assert moves and moves[0]["new"] == api.project.member_moves()["new"].iloc[0] > 0


@pytest.mark.parametrize(("whole", "profiles"), [(0, 10_000), (0, 0)])
def test_a_shop_too_large_to_hold_answers_the_same_from_the_store(
    project_dir, tmp_path, whole, profiles
):
    held = Api(project_dir)
    sample = held.project.store.read_profiles().column("customer_id").to_pylist()
    at = {"at": "2030-01-01T00:00:00"}
    try:
        expected = {cid: held.get(f"/v1/customers/{cid}", params=at).json() for cid in sample}
    finally:
        held.close()
    small = Api(project_dir, cache_customers=whole, cache_profiles=profiles)
    try:
        held = small.service.profiles._held
        assert (held.profile_index is not None) == (profiles > 0)
        assert (held.evidence is not None) == (profiles > 0)  # rebuilt from the profile
        for cid in sample:
            assert small.get(f"/v1/customers/{cid}", params=at).json() == expected[cid]
        assert small.get("/v1/customers/nobody").status_code == 404
    finally:
        small.close()


def test_snapshots_are_stored_in_customer_order(api):
    store = api.project.store
    as_of = store.latest_snapshot()
    name = store.profile_table_name(as_of)
    ids = store.con.execute(f'SELECT customer_id FROM "{name}"').fetchall()
    assert [r[0] for r in ids] == sorted(r[0] for r in ids)
    # the labels are computed from the profile row when read: no label rows are stored
    view = store.label_view_name(as_of)
    labels = store.con.execute(f'SELECT count(*) FROM "{view}"').fetchone()[0]
    assert labels > 3 * len(ids) and store.one("SELECT count(*) FROM labels")[0] == 0
