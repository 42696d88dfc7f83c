"""A demo shop with flows, tiered on two days (shared by the flow tests)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def flow_shop(tmp_path_factory):
    """The directory of an 800-customer demo project whose second run filled the outbox."""
    from tierwise.demo.flows import plant_demo_flows

    d = tmp_path_factory.mktemp("flows") / "shop"
    plant_demo_flows(d, n_customers=800, seed=5, url="http://127.0.0.1:9/hooks").close()
    return d
