"""Fixtures for the import tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from io_testkit import REF

from tierwise.io import ImportOptions
from tierwise.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "shop.duckdb")
    yield s
    s.close()


@pytest.fixture
def opts() -> ImportOptions:
    return ImportOptions(reference_time=REF)
