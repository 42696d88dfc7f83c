"""The reference pages in docs/ are what the code generates: they cannot drift."""

from __future__ import annotations

from pathlib import Path

import pytest

from tierwise.reference import PAGES

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_reference_page_is_current(name):
    assert (DOCS / name).read_text("utf-8") == PAGES[name](), (
        f"docs/{name} drifted from the code; run `python -m tierwise.reference docs/`"
    )


def test_pages_name_every_column_and_label():
    from tierwise.config import Config
    from tierwise.schema import ENTITIES

    model, schemes = PAGES["data-model.md"](), PAGES["schemes.md"]()
    assert all(f"`{c}`" in model for e in ENTITIES.values() for c in e.column_names)
    assert all(f"`{lab.id}`" in schemes
               for s in Config.default().schemes.values() for lab in s.labels)  # fmt: skip
