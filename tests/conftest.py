"""Shared fixtures: the tiny hand-made shop and a generated demo shop."""

from __future__ import annotations

import pytest

from tierwise.schema import ENTITIES
from tierwise.store import Store
from tinyshop import make_tiny_store


@pytest.fixture
def tiny_store() -> Store:
    """The tiny shop of `make_tiny_store`, closed after the test."""
    s = make_tiny_store()
    yield s
    s.close()


@pytest.fixture(scope="session")
def demo_shop():
    """A generated shop of 3,000 customers with planted truth (shared by the whole run)."""
    from tierwise.demo import generate_shop

    return generate_shop(3000, seed=11)


@pytest.fixture(scope="session")
def demo_store(demo_shop):
    """The demo shop loaded into an in-memory store, and its as-of day."""
    s = Store(":memory:")
    for entity in ENTITIES:
        s.con.register("_shop", getattr(demo_shop, entity))
        cols = ", ".join(f'"{c}"' for c in ENTITIES[entity].column_names)
        s.con.execute(f'INSERT INTO "{entity}" ({cols}) SELECT {cols} FROM _shop')
        s.con.unregister("_shop")
    yield s, demo_shop.as_of
    s.close()


def pytest_collection_modifyitems(items):
    """Spark's files first: they are the slowest, and started last they would leave one of
    the test workers running them alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("spark") is None)
