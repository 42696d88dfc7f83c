"""POST /v1/sentiment and satisfaction in a customer's profile over the API."""

from __future__ import annotations

from service_testkit import Api


def test_sentiment_route_scores_texts_and_checks_its_key(project_dir):
    api = Api(project_dir, max_batch=3)
    try:
        texts = ["质量很好，非常满意", "太差了，退货", ""]
        r = api.post("/v1/sentiment", role="reader", json={"texts": texts})
        assert r.status_code == 200, r.text
        got = r.json()["sentiment"]
        assert got[0] > 0.9 and got[1] < 0.1 and got[2] is None
        assert api.post("/v1/sentiment", role="writer", json={"texts": ["好"]}).status_code == 403
        big = api.post("/v1/sentiment", role="reader", json={"texts": ["好"] * 4})
        assert big.status_code == 413 and "at most 3" in big.json()["detail"]
        assert api.post("/v1/sentiment", role="reader", json={"texts": "好"}).status_code == 422
        members = api.get("/v1/segments/dissatisfied_valuable/members")
        assert members.status_code == 200, members.text
        prof = api.project.profiles()
        scored = prof[prof.satisfaction_grade.notna()].iloc[0]
        one = api.get(f"/v1/customers/{scored.customer_id}").json()["profile"]
        assert one["satisfaction_grade"] == scored.satisfaction_grade
        assert one["satisfaction_score"] == scored.satisfaction_score
    finally:
        api.close()
