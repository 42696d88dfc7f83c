"""Real Taobao behaviour (Tianchi UserBehavior tail): the documented mapping and the grades."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tierwise.project import Project

DATA = Path(__file__).parent / "data" / "taobao_userbehavior_tail10k.csv"
MAPPING = "taobao_behavior"
WEIGHTS = {"view": 0.2, "cart": 2.0, "favorite": 2.0, "purchase": 3.0}


def read_behaviour() -> pd.DataFrame:
    """As docs/taobao_behavior.md reads it: add the header, ids and China local time."""
    raw = pd.read_csv(
        DATA, header=None, names=["user_id", "item_id", "category_id", "behavior", "ts"]
    )
    raw["event_id"] = (
        raw.user_id.astype(str) + "-" + raw.item_id.astype(str) + "-" + raw.behavior + "-"
        + raw.ts.astype(str)
    )  # fmt: skip
    local = pd.to_datetime(raw.ts, unit="s", utc=True).dt.tz_convert("Asia/Shanghai")
    raw["time"] = local.dt.tz_localize(None)
    return raw.drop(columns="ts")


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    p = Project.init(tmp_path_factory.mktemp("taobao") / "shop")
    with open(p.directory / "tierwise.yaml", "a", encoding="utf-8") as f:
        f.write(
            "\nfeatures:\n  intention:\n    half_life_days: 7\n    lookback_days: 90\n"
            "    weights: {view: 0.2, cart: 2, favorite: 2, purchase: 3}\n"
        )
    p = Project(p.directory)
    report = p.import_frame("events", read_behaviour(), mapping=MAPPING, source="UserBehavior")
    assert report.rows_imported == 10_000 and report.customers_created == 114
    p.run()
    yield p
    p.close()


def test_scores_equal_a_direct_computation(shop):
    prof = shop.profiles().set_index("customer_id")
    assert shop.snapshots() == [dt.date(2017, 12, 3)]
    raw = read_behaviour()
    cutoff = pd.Timestamp("2017-12-04")
    kind = raw.behavior.map({"pv": "view", "cart": "cart", "fav": "favorite", "buy": "purchase"})
    age = (cutoff - raw.time).dt.total_seconds() / 86400
    raw["score"] = kind.map(WEIGHTS) * np.power(0.5, age / 7)
    want = raw.groupby(raw.user_id.astype(str)).score.sum()
    got = prof.intention_score.loc[want.index]
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), atol=1e-3)


def test_grades_and_the_hard_sell_list(shop):
    prof = shop.profiles()
    grades = prof.intention.value_counts().to_dict()
    assert set(grades) <= {"high", "medium", "low"} and sum(grades.values()) == 114
    assert (prof.lifecycle == "potential").all()  # behaviour only: no orders in this data
    risers = shop.intention_risers(since=dt.date(2017, 11, 30))
    assert len(risers) > 0
    # the event that crossed the line is among the events listed as pushing it
    for etype, pushed in zip(risers.event_type, risers.pushed_by, strict=True):
        assert f"{etype}@taobao×" in pushed
