"""The default rules recover the demo shop's planted truth (lifecycle, behaviour, intention)."""

from __future__ import annotations

import pytest

from tierwise.backends import duckdb_tables
from tierwise.config import Config
from tierwise.metrics import label_recovery, multilabel_recovery
from tierwise.pipeline import compute_profiles


@pytest.fixture(scope="module")
def recovered(demo_store, demo_shop):
    store, as_of = demo_store
    t = duckdb_tables(store)
    run = compute_profiles(t["customers"], t["orders"], t["events"], as_of, Config.default())
    truth = demo_shop.truth.to_pandas().set_index("customer_id").sort_index()
    prof = run.profiles.to_pandas().set_index("customer_id").loc[truth.index]
    return truth, prof


def test_lifecycle_stages_recover_the_truth(recovered):
    truth, prof = recovered
    rec = label_recovery(truth.lifecycle_stage, prof.lifecycle).set_index("label")
    assert set(rec.index) == {"potential", "new", "repeat", "high_value", "churned", "long_silent"}
    assert (rec.f1 >= 0.9).all(), rec


def test_behaviour_types_recover_the_truth(recovered):
    truth, prof = recovered
    predicted = (
        prof.behaviour_all.fillna("")
        .str.split(";")
        .map(
            lambda xs: ";".join(x for x in xs if x in {"self_directed", "active", "creator", "kol"})
        )
    )
    rec = multilabel_recovery(truth.behaviour_types, predicted).set_index("label")
    assert set(rec.index) == {"self_directed", "active", "creator", "kol"}
    assert (rec.f1 >= 0.9).all(), rec


def test_intention_grades_recover_the_truth(recovered):
    truth, prof = recovered
    rec = label_recovery(truth.intention_grade, prof.intention).set_index("label")
    assert set(rec.index) == {"high", "medium", "low", "long_silent"}
    assert (rec.f1 >= 0.9).all(), rec


def test_demo_recovery_table_covers_every_planted_label(recovered):
    from tierwise.demo.run import recovery

    truth, prof = recovered
    table = recovery(truth, prof)
    assert set(table.scheme) == {"lifecycle", "behaviour", "intention"}
    assert len(table) == 6 + 4 + 4 and (table.f1 >= 0.9).all()


def test_scores_match_the_planted_intention_score(recovered):
    truth, prof = recovered
    close = (
        truth.intention_score - prof.intention_score
    ).abs() <= 0.05 * truth.intention_score + 0.05
    assert close.mean() >= 0.95


def test_text_tags_find_the_planted_personas(recovered):
    truth, prof = recovered
    planted = {"mother": "parent", "student": "student", "office_worker": "office_worker"}
    tagged = prof.persona.notna()
    for truth_name, tag in planted.items():
        hits = tagged & (prof.persona == tag)
        precision = (truth.persona[hits] == truth_name).mean()
        assert precision >= 0.95, (truth_name, precision)
    said_price = prof.price_mentions > 0
    assert (truth.price_sensitive[said_price] == 1).mean() >= 0.9


def test_quadrants_recover_the_truth_with_lines_between_the_groups(demo_store, demo_shop):
    store, as_of = demo_store
    t = duckdb_tables(store)
    cfg = Config.default().with_overrides({"quadrant_lines": {"loyalty": 0.65, "profit": 500.0}})
    run = compute_profiles(t["customers"], t["orders"], t["events"], as_of, cfg)
    lines = run.scheme_params["quadrant"]
    assert (lines["loyalty_threshold"], lines["profit_threshold"]) == (0.65, 500.0)
    assert run.fitted["quadrant_lines"]["state"]["loyalty_line_method"] == "fixed"
    truth = demo_shop.truth.to_pandas().set_index("customer_id").sort_index()
    prof = run.profiles.to_pandas().set_index("customer_id").loc[truth.index]
    rec = label_recovery(truth.quadrant.replace("", None), prof.quadrant).set_index("label")
    assert set(rec.index) == {"stranger", "barnacle", "butterfly", "true_friend"}
    assert (rec.f1 >= 0.8).all(), rec
    assert prof.quadrant[prof.orders == 0].isna().all()
