"""Satisfaction: the score from its four signals, ratings out of scale, the step in a run and
the built-in segment of dissatisfied valuable customers."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from tierwise.config import Config
from tierwise.demo.run import run_demo
from tierwise.errors import ConfigError
from tierwise.project import Project
from tierwise.satisfaction import (
    SUMS,
    RatingScaleError,
    SatisfactionConfig,
    check_ratings,
    satisfaction_table,
    score_sums,
    signal_sums,
)
from tierwise.segments import SegmentError
from tinyshop import event, insert

CFG = SatisfactionConfig()


def _ratings(values: list[object], cfg: SatisfactionConfig = CFG):
    rows = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(len(values))],
        "source": "event", "row_id": [f"e{i}" for i in range(len(values))],
        "attributes": [json.dumps({"rating": v}) for v in values],
    })  # fmt: skip
    return check_ratings(rows, cfg)


def test_sums_of_parts_add_up_to_the_sums_of_the_whole():
    """What a daily run relies on: the sums of the rows that came in, less those of the rows
    that left, added to the earlier sums are the sums over the rows in the lookback, to the
    unit, and score alike."""
    rng = np.random.default_rng(11)
    n = 3000
    who = rng.choice([f"c{i}" for i in range(150)], n)
    ratings = pd.DataFrame({
        "customer_id": who, "raw": rng.uniform(1, 5, n).round(3),
        "out_of_scale": rng.random(n) < 0.05,
    })  # fmt: skip
    ratings["rating"] = np.where(ratings.out_of_scale, np.nan, (ratings.raw - 1) / 4)
    texts = pd.DataFrame({"customer_id": rng.choice(who, n), "sentiment": rng.random(n)})
    orders = pd.DataFrame({"customer_id": who[:400], "orders": 1,
                           "refunded": rng.integers(0, 2, 400)})  # fmt: skip
    complaints = pd.DataFrame({"customer_id": who[:90], "complaints": 1})
    day = rng.integers(0, 3, n)  # 0: left the lookback, 1: stayed in it, 2: came in

    def sums(keep: np.ndarray) -> pd.DataFrame:
        k = keep[:400], keep[:90]
        return signal_sums(ratings[keep], texts[keep], orders[k[0]], complaints[k[1]]
                           ).set_index("customer_id")  # fmt: skip

    before, now = sums(day < 2), sums(day > 0)
    came, left = sums(day == 2), sums(day == 0)
    ids = now.index.union(before.index)
    carried = (before.reindex(ids, fill_value=0) + came.reindex(ids, fill_value=0)
               - left.reindex(ids, fill_value=0))  # fmt: skip
    assert carried.reindex(now.index).equals(now) and list(now.columns) == list(SUMS)
    assert not carried.drop(now.index).any().any()  # nothing left for who has no row now
    scored = score_sums(now.reset_index(), CFG)
    direct = satisfaction_table(now.index.to_series(), ratings[day > 0], texts[day > 0],
                                orders[day[:400] > 0], complaints[day[:90] > 0], CFG)  # fmt: skip
    pd.testing.assert_frame_equal(scored, direct)
    float_mean = texts[day > 0].groupby("customer_id").sentiment.mean()
    assert np.allclose(scored.set_index("customer_id").sentiment_mean,
                       float_mean.reindex(now.index).round(4), atol=1e-4)  # fmt: skip


def test_score_from_four_signals_by_hand():
    ratings, notes = _ratings([5, 3])
    ratings["customer_id"] = "a"
    assert notes == []
    texts = pd.DataFrame({"customer_id": ["a", "a"], "sentiment": [0.9, 0.1]})
    orders = pd.DataFrame({"customer_id": ["a", "d"], "orders": [4, 2], "refunded": [1, 0]})
    complaints = pd.DataFrame({"customer_id": ["a", "c"], "complaints": [1, 2]})
    out = satisfaction_table(pd.Series(["a", "b", "c", "d"]), ratings, texts, orders,
                             complaints, CFG).set_index("customer_id")  # fmt: skip
    # rating (1 + 0.5) / 2, sentiment 0.5, refunds 1 - 1/4, complaints 1 / (1 + 1)
    want_a = 100 * (0.35 * 0.75 + 0.35 * 0.5 + 0.15 * 0.75 + 0.15 * 0.5)
    assert out.satisfaction_score["a"] == pytest.approx(want_a, abs=0.01)
    assert out.satisfaction_grade["a"] == "neutral" and out.rating_mean["a"] == 4.0
    assert pd.isna(out.satisfaction_score["b"]) and pd.isna(out.satisfaction_grade["b"])
    assert out.satisfaction_score["c"] == pytest.approx(100 / 3, abs=0.01)  # complaints only
    assert out.satisfaction_grade["c"] == "dissatisfied"
    # a buyer with no refund and no complaint: refunds and complaints signals, both 1
    assert out.satisfaction_score["d"] == 100 and out.satisfaction_grade["d"] == "satisfied"
    ev = json.loads(out.satisfaction_evidence["a"])
    assert ev["rule"] == "satisfaction_score >= 45" and set(ev["signals"]) == {
        "rating", "sentiment", "refunds", "complaints"}  # fmt: skip
    assert ev["figures"]["refunded_orders"] == 1 and ev["figures"]["ratings"] == 2


@pytest.mark.parametrize("how", ["skip", "clip"])
def test_ratings_out_of_scale_are_counted_not_lost(how):
    cfg = SatisfactionConfig(out_of_scale=how)
    ratings, notes = _ratings([5, 7, 0, "abc", 2, True], cfg)
    assert len(ratings) == 6 and ratings.out_of_scale.tolist() == [0, 1, 1, 1, 0, 1]
    assert len(notes) == 1 and "4 rating(s) outside [1, 5]" in notes[0] and "e1: 7" in notes[0]
    if how == "skip":
        assert ratings.raw.tolist()[::4] == [5, 2] and ratings.raw.isna().sum() == 4
    else:
        assert ratings.raw.tolist()[:3] == [5, 5, 1] and ratings.raw.isna().sum() == 2
    out = satisfaction_table(ratings.customer_id, ratings, ratings.iloc[:0].assign(sentiment=1.0),
                             pd.DataFrame(columns=["customer_id", "orders", "refunded"]),
                             pd.DataFrame(columns=["customer_id", "complaints"]), cfg)  # fmt: skip
    assert out.ratings_out_of_scale.tolist() == [0, 1, 1, 1, 0, 1]


def test_ratings_out_of_scale_can_stop_the_run():
    with pytest.raises(RatingScaleError, match=r"event e1 \(customer c1\), attributes.rating: "
                       r"rating 7 is outside the scale \[1, 5\]"):  # fmt: skip
        _ratings([4, 7], SatisfactionConfig(out_of_scale="error"))


def test_bad_config_is_refused():
    base = Config.default()
    for bad, words in [
        ({"rating_scale": [5, 1]}, "rating_scale"),
        ({"weights": {"rating": -1}}, "weights"),
        ({"grades": [{"id": "ok", "zh": "好", "en": "OK", "min_score": 50}]}, "min_score: 0"),
    ]:
        with pytest.raises(ConfigError, match=words):
            base.with_overrides({"satisfaction": bad})


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A 500-customer demo project; three high-value customers then complain, rate the shop
    low and write angry reviews, and one review carries a rating of 9 on a 1-5 scale."""
    d = tmp_path_factory.mktemp("sat") / "shop"
    result = run_demo(d, n_customers=500, seed=4)
    as_of = result.as_of
    with Project(d) as p:
        prof = p.profiles()
        high = prof[prof.value_tier == "high"].customer_id.sort_values().head(3).tolist()
        day = (as_of - dt.timedelta(days=3)).isoformat() + " 10:00"
        rows = []
        for i, cid in enumerate(high):
            text = "客服不理人，投诉"
            rows += [event(f"sat-c{i}-{k}", cid, day, "complaint", text=text) for k in range(3)]
            rows.append(event(f"sat-r{i}", cid, day, "review", text="质量太差了，再也不买了",
                              attributes=json.dumps({"rating": 1})))  # fmt: skip
        rows.append(event("sat-bad", high[0], day, "review", text="还行",
                          attributes=json.dumps({"rating": 9})))  # fmt: skip
        insert(p.store, "events", rows)
        run = p.run(as_of)
    return d, as_of, high, run


def test_step_scores_the_run_and_names_bad_ratings(shop):
    d, as_of, high, run = shop
    assert any("1 rating(s) outside [1, 5]" in n and "sat-bad: 9" in n for n in run.notes)
    with Project(d, read_only=True) as p:
        prof = p.profiles().set_index("customer_id")
        shown = p.show(high[0], as_of)
    assert prof.loc[high, "satisfaction_grade"].tolist() == ["dissatisfied"] * 3
    assert prof.loc[high, "complaints"].tolist() == [3, 3, 3]
    assert prof.loc[high, "ratings"].tolist() == [1, 1, 1]
    assert prof.loc[high[0], "ratings_out_of_scale"] == 1 and prof.loc[high[0], "rating_mean"] == 1
    scored = prof.satisfaction_score.notna()
    assert scored.mean() > 0.5 and (prof.satisfaction_grade.notna() == scored).all()
    assert prof.satisfaction_score[scored].between(0, 100).all()
    assert (prof.satisfaction_evidence.notna() == scored).all()
    assert shown.features["satisfaction_grade"] == "dissatisfied"
    assert json.loads(shown.features["satisfaction_evidence"])["figures"]["complaints"] == 3
    # the sentiment signal follows the texts: customers with texts whose mean is low score lower
    texts = prof[prof.sentiment_texts > 0]
    low, high_s = texts.sentiment_mean < 0.3, texts.sentiment_mean > 0.8
    assert texts.satisfaction_score[low].mean() < texts.satisfaction_score[high_s].mean()


def test_builtin_segment_dissatisfied_valuable(shop):
    d, _, high, _ = shop
    with Project(d, read_only=True) as p:
        prof = p.profiles()
        want = set(prof.customer_id[(prof.satisfaction_grade == "dissatisfied")
                                    & (prof.value_tier == "high")])  # fmt: skip
        got = set(p.segment("dissatisfied_valuable").customer_id)
        book = p.segment_book()
        assert book.get("dissatisfied_valuable").builtin
        with pytest.raises(SegmentError, match="built in"):
            book.remove("dissatisfied_valuable")
    assert set(high) <= got == want
    assert not (d / "segments.yaml").exists() or "dissatisfied_valuable" not in (
        d / "segments.yaml").read_text("utf-8")  # fmt: skip


def test_step_can_be_switched_off(tmp_path):
    d = tmp_path / "shop"
    run_demo(d, n_customers=200, seed=2)
    with Project(d) as p:
        p.config = p.config.with_overrides({"satisfaction": {"enabled": False}})
        p.run(p.store.snapshots()[-1])
        prof = p.profiles()
    assert "satisfaction_score" in prof.columns and prof.satisfaction_score.isna().all()
    assert np.all(prof.satisfaction_grade.isna())


def test_cli_sentiment_of_texts_and_of_a_file(tmp_path):
    from typer.testing import CliRunner

    from tierwise.cli import app

    runner = CliRunner()
    got = runner.invoke(app, ["sentiment", "质量很好，非常满意", "太差了，退货", "--json"])
    assert got.exit_code == 0, got.output
    rows = json.loads(got.output)
    assert [r["label"] for r in rows] == ["positive", "negative"] and rows[0]["sentiment"] > 0.9
    path = tmp_path / "t.csv"
    path.write_text("id,body\n1,物流很快，好评\n2,\n", encoding="utf-8")
    got = runner.invoke(app, ["sentiment", "--file", str(path), "--column", "body", "--json"])
    rows = json.loads(got.output)
    assert [r["row"] for r in rows] == [2, 3] and rows[0]["label"] == "positive"
    assert rows[1]["sentiment"] is None and rows[1]["label"] is None
    bad = runner.invoke(app, ["sentiment", "--file", str(path), "--column", "nope"])
    assert bad.exit_code == 1 and "no column 'nope'" in bad.output
    assert runner.invoke(app, ["sentiment"]).exit_code == 1
