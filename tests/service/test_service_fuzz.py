"""Fuzz the API against its own OpenAPI: whatever the input, never a server error."""

from __future__ import annotations

import shutil

import schemathesis
from hypothesis import HealthCheck, given, settings
from service_testkit import Api


def test_no_server_errors_on_any_route(demo_project_dir, tmp_path):
    d = tmp_path / "shop"
    d.mkdir()
    for name in ("tierwise.yaml", "tierwise.duckdb"):
        shutil.copy(demo_project_dir / name, d / name)
    api = Api(d)
    try:
        schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
        seen = []
        for result in schema.get_all_operations():
            operation = result.ok()
            seen.append(operation.label)

            @given(case=operation.as_strategy())
            @settings(max_examples=12, derandomize=True, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))  # fmt: skip
            def fuzz(case):
                for role in ("admin", "reader"):
                    response = case.call(headers=api.h(role))
                    assert response.status_code < 500 or response.status_code == 501, (
                        f"{case.operation.label}: {response.status_code} {response.text[:300]}"
                    )

            fuzz()
        assert "POST /v1/events" in seen and "GET /v1/customers/{customer_id}" in seen
        api.service.runs.wait(120)
    finally:
        api.close()
