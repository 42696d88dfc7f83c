"""The shipped Youzan member-form mapping: answers into attributes, entrance segments on them."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
import yaml

from tierwise.backends import duckdb_tables
from tierwise.config import Config
from tierwise.io import ImportOptions, import_file, load_mapping
from tierwise.io.mapping import shipped_mappings
from tierwise.pipeline import compute_profiles
from tierwise.store import Store

ROOT = Path(__file__).resolve().parents[2]
FORM = ROOT / "examples" / "data" / "youzan_member_form.csv"
OPTS = ImportOptions(reference_time=dt.datetime(2024, 4, 1))


def _example_segments() -> dict:
    """The entrance block shipped as a comment in the mapping file."""
    text = shipped_mappings()["youzan_member_form"].read_text("utf-8")
    start = text.index("# entrance-segments-example:")
    lines = []
    for line in text[start:].splitlines()[1:]:
        if not line.startswith("#"):
            break
        lines.append(re.sub(r"^# ?", "", line))
    return yaml.safe_load("\n".join(lines))


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "shop.duckdb")
    yield s
    s.close()


def test_member_form_answers_land_in_attributes_and_nobody_is_lost(store, tmp_path):
    assert load_mapping("youzan_member_form").entity == "customers"
    rep = import_file(store, "customers", FORM, mapping="youzan_member_form",
                      options=ImportOptions(reference_time=OPTS.reference_time,
                                            quarantine_dir=tmp_path / "q"))  # fmt: skip
    assert (rep.rows_read, rep.rows_imported, rep.rows_quarantined) == (6, 6, 0)
    got = dict(store.con.execute("SELECT customer_id, attributes FROM customers").fetchall())
    assert json.loads(got["yz2001"]) == {"purpose": "自用", "baby_age": "0-6个月",
                                         "qr_code": "门店A活码"}  # fmt: skip
    assert json.loads(got["yz2003"]) == {"distributor_id": "fx_07"}
    assert got["yz2005"] is None  # the empty form: the member is kept, with no answers


def test_example_entrance_segments_on_the_form(store, tmp_path):
    import_file(store, "customers", FORM, mapping="youzan_member_form",
                options=ImportOptions(reference_time=OPTS.reference_time,
                                      quarantine_dir=tmp_path / "q"))  # fmt: skip
    block = _example_segments()
    cfg = Config.default().with_overrides({"entrance": block})
    t = duckdb_tables(store)
    run = compute_profiles(t["customers"], t["orders"], t["events"], dt.date(2024, 3, 31), cfg)
    p = run.profiles.to_pandas().set_index("customer_id")
    assert p.entrance_segment.to_dict() == {
        "yz2001": "new_parent", "yz2002": "sensitive_skin", "yz2003": "other",
        "yz2004": "toddler_parent", "yz2005": "other", "yz2006": "store_walk_in",
    }  # fmt: skip
    assert p.entrance_channel.to_dict() == {
        "yz2001": "qr_code:门店A活码", "yz2002": "utm:xhs_spring", "yz2003": "distributor",
        "yz2004": "livestream:周四宝妈专场", "yz2005": "unknown", "yz2006": "offline_store:西湖店",
    }  # fmt: skip
    ev = json.loads(p.loc["yz2005", "entrance_evidence"])
    assert ev["signup"] == "no sign-up answers" and "no entrance touch" in ev["reason"]


def test_a_form_with_no_rows_imports_nothing_and_says_so(store, tmp_path):
    empty = tmp_path / "入会表单.csv"
    empty.write_text(FORM.read_text("utf-8-sig").splitlines()[0] + "\n", encoding="utf-8")
    rep = import_file(store, "customers", empty, mapping="youzan_member_form",
                      options=ImportOptions(reference_time=OPTS.reference_time,
                                            quarantine_dir=tmp_path / "q"))  # fmt: skip
    assert (rep.rows_read, rep.rows_imported) == (0, 0)
