"""The service shows persons merged from several accounts, never a clear phone or email."""

from __future__ import annotations

import json

from tierwise.demo import generate_shop
from tierwise.demo.identities import plant_identities


def test_merged_person_is_served_without_clear_identifiers(api):
    prof = api.project.profiles(format="arrow").to_pylist()
    merged = [r for r in prof if r["n_accounts"] > 1]
    assert merged, "the demo plants persons with several accounts"
    person = max(merged, key=lambda r: r["n_accounts"])
    shop = plant_identities(generate_shop(300, seed=5), seed=5)
    links = shop.extras["identities"].to_pylist()
    clear = {r["identifier"] for r in links if r["id_type"] in ("phone", "email")}
    digits = {"".join(ch for ch in c if ch.isdigit()) for c in clear}
    for role in ("reader", "pii"):
        r = api.get(f"/v1/customers/{person['customer_id']}", role=role)
        assert r.status_code == 200
        body = r.text
        assert json.loads(r.text)["profile"]["n_accounts"] == person["n_accounts"]
        assert not any(c in body for c in clear)
        assert not any(len(d) == 11 and d in body for d in digits)
        assert "identity_evidence" in body
