"""Invariants over random shops (Hypothesis): features are consistent, one primary label each."""

from __future__ import annotations

import datetime as dt

import ibis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierwise.backends import duckdb_tables
from tierwise.config import Config
from tierwise.steps.runner import run_steps, state_entry
from tierwise.store import Store
from tinyshop import insert

AS_OF = dt.date(2024, 6, 30)
START = dt.datetime(2022, 1, 1)
# every feature, read from the raw rows: the query is compiled once and run on changing rows
CONFIG = Config.default().with_overrides({"features": {"profile_columns": "all", "rollups": False}})
CUSTOMERS = [f"c{i}" for i in range(6)]
TYPES = ["like", "comment", "share", "follow", "campaign_send", "campaign_open", "referral"]

moments = st.integers(0, 3 * 365 * 24).map(lambda h: START + dt.timedelta(hours=h))
orders = st.lists(
    st.tuples(
        st.sampled_from(CUSTOMERS),
        moments,
        st.floats(0, 5000).map(lambda x: round(x, 2)),
        st.sampled_from(["paid", "paid", "refunded", "cancelled"]),
        st.sampled_from(["store", "deal", "weird"]),
    ),
    max_size=25,
)
events = st.lists(
    st.tuples(
        st.sampled_from(CUSTOMERS),
        moments,
        st.sampled_from(TYPES),
        st.none() | st.sampled_from(CUSTOMERS),
    ),
    max_size=25,
)


def _query(store: Store) -> str:
    """Features, RFM on fixed edges and every rule scheme as one SQL query (no Python step)."""
    edges = {
        "recency_days": [30, 90, 180, 365],
        "orders": [1, 2, 3, 5],
        "monetary_total": [100, 300, 800, 2000],
    }
    config = CONFIG.with_overrides({name: {"enabled": False}
                                    for name in ("tags", "clv", "quadrant_lines")})  # fmt: skip
    config = config.with_overrides({"run": {"steps": ["features", "clv", "quadrant_lines",
                                                      "rfm", "schemes"]}})  # fmt: skip
    fitted = {"rfm": state_entry("rfm", config, {"edges": edges}, fitted_on=None)}
    outcome = run_steps(duckdb_tables(store), AS_OF, config, fitted=fitted, reuse={"rfm"},
                        cache=False)  # fmt: skip
    return str(ibis.to_sql(outcome.profile, dialect="duckdb"))


STORE = Store(":memory:")
QUERY = _query(STORE)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders=orders, events=events)
def test_features_and_labels_are_consistent(orders, events):
    for table in ("customers", "orders", "events"):
        STORE.con.execute(f"DELETE FROM {table}")
    insert(STORE, "customers", [{"customer_id": c, "first_seen": START} for c in CUSTOMERS])
    insert(
        STORE,
        "orders",
        [
            {
                "order_id": f"o{i}",
                "customer_id": c,
                "paid_at": t,
                "amount": a,
                "status": s,
                "channel": ch,
            }
            for i, (c, t, a, s, ch) in enumerate(orders)
        ],
    )
    insert(
        STORE,
        "events",
        [
            {
                "event_id": f"e{i}",
                "customer_id": c,
                "occurred_at": t,
                "event_type": ty,
                "target_customer_id": tgt,
            }
            for i, (c, t, ty, tgt) in enumerate(events)
        ],
    )
    p = STORE.con.execute(QUERY).df().set_index("customer_id")
    assert sorted(p.index) == CUSTOMERS
    buyers = p[p.orders > 0]
    assert (buyers.recency_days <= buyers.tenure_days).all()
    assert (buyers.recency_days >= 0).all()
    assert (p.order_days <= p.orders).all() and (p.orders_365 <= p.orders).all()
    assert (p.monetary_365 <= p.monetary_total + 1e-9).all()
    assert (p.interactions_7 <= p.interactions_30).all()
    assert (p.interactions_30 <= p.interactions_90).all()
    assert (p.campaign_responses_365 <= p.campaign_sends_365).all()
    assert (p.orders_ch_store + p.orders_ch_deal + p.orders_ch_other == p.orders).all()
    paid = sum(1 for o in orders if o[3] == "paid" and o[1] < dt.datetime(2024, 7, 1))
    assert p.orders.sum() == paid
    for scheme, spec in CONFIG.schemes.items():
        allowed = {lab.id for lab in spec.labels} | {spec.default}
        assert p[scheme].isin(allowed).all() or (p[scheme].isna().any() and spec.default is None)
    # the primary stage is the first of the stages that hold
    order = [lab.id for lab in CONFIG.schemes["lifecycle"].labels]
    for primary, every in zip(p.lifecycle, p.lifecycle_all, strict=True):
        held = every.split(";") if isinstance(every, str) else []
        assert held == sorted(held, key=order.index)
        assert primary == (held[0] if held else "potential")


def test_no_module_evaluates_text_as_python():
    """Rules, segments and computed columns are parsed into trees; nothing calls eval/exec."""
    import ast
    from pathlib import Path

    import tierwise

    found = []
    for path in Path(tierwise.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"eval", "exec", "compile"}
            ):
                found.append(f"{path.name}:{node.lineno} {node.func.id}")
    assert found == []
