"""Precision and recall on hand-labelled real reviews of online_shopping_10_cats.

Three samples, each labelled by reading every review before and independently of the tagger
(see tests/data/SOURCES_tags.md and docs/tags.md):

- ``reviews_random_odd.csv``: 400 reviews drawn uniformly at random among rows with an ODD
  index (seed 20261131). Odd rows were never used to write or tune the lexicon: this is the
  honest evaluation, and the floors here are the ones that count.
- ``reviews_random_even.csv``: 400 reviews drawn uniformly at random among rows with an EVEN
  index (seed 20261130), the development sample the lexicon was tuned on (optimistic).
- ``reviews_labelled.csv``: the older 573-review sample, part random, part keyword-enriched for
  the rare personas (conservative for persona precision).

The floors sit just under the measured values: they guard against regressions of the lexicon.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tierwise.tags import Tagger, evaluate_tagger, precision_recall

DATA = Path(__file__).resolve().parents[1] / "data"
LABELLED = DATA / "reviews_labelled.csv"
RANDOM_ODD = DATA / "reviews_random_odd.csv"
RANDOM_EVEN = DATA / "reviews_random_even.csv"
TAGS = ["price_sensitive", "parent", "student", "office_worker", "gift", "elder"]
# tag: (precision floor, recall floor); measured values in the comments and in docs/tags.md
FLOORS = {
    "price_sensitive": (0.93, 0.95),  # measured 0.948 / 0.977
    "parent": (0.79, 0.82),  # 0.839 / 0.870
    "student": (0.62, 0.74),  # 0.676 / 0.793
    "office_worker": (0.77, 0.88),  # 0.818 / 0.931
    "gift": (0.92, 0.83),  # 0.973 / 0.878
    "elder": (0.82, 0.87),  # 0.868 / 0.917
}
# The honest figures: random odd-index reviews, never looked at while tuning. Persona
# positives are few here (5-11; no student), so their floors allow one more error than
# measured; student has no positive in this sample and is not scored on it.
FLOORS_ODD = {
    "price_sensitive": (0.92, 0.90),  # measured 0.966 / 0.914 (93 positives)
    "parent": (0.70, 0.44),  # 0.833 / 0.556 (9)
    "office_worker": (0.75, 0.72),  # 0.818 / 0.818 (11)
    "gift": (0.79, 0.60),  # 1.000 / 0.800 (5)
    "elder": (0.79, 0.77),  # 0.889 / 0.889 (9)
}
# The development sample (tuned on: optimistic).
FLOORS_EVEN = {
    "price_sensitive": (0.95, 0.97),  # measured 0.977 / 0.989 (87 positives)
}


@pytest.fixture(scope="module")
def labelled() -> pd.DataFrame:
    return pd.read_csv(LABELLED, encoding="utf-8")


def test_sample_shape(labelled: pd.DataFrame) -> None:
    assert len(labelled) >= 300
    assert list(labelled.columns[:3]) == ["source_row", "cat", "review"]
    assert labelled["source_row"].is_unique
    for t in TAGS:
        assert set(labelled[t].unique()) <= {0, 1}
        assert labelled[t].sum() >= 9
    assert (labelled["stratum"] == "random").sum() >= 300


@pytest.fixture(scope="module")
def scores(labelled: pd.DataFrame) -> pd.DataFrame:
    return evaluate_tagger(Tagger(), labelled, TAGS).set_index("tag")


@pytest.mark.parametrize("tag", TAGS)
def test_precision_recall_floors(scores: pd.DataFrame, tag: str) -> None:
    p_floor, r_floor = FLOORS[tag]
    assert scores.loc[tag, "precision"] >= p_floor
    assert scores.loc[tag, "recall"] >= r_floor


@pytest.fixture(scope="module")
def random_odd() -> pd.DataFrame:
    return pd.read_csv(RANDOM_ODD, encoding="utf-8")


@pytest.fixture(scope="module")
def random_even() -> pd.DataFrame:
    return pd.read_csv(RANDOM_EVEN, encoding="utf-8")


@pytest.mark.parametrize(("path", "parity"), [(RANDOM_ODD, 1), (RANDOM_EVEN, 0)])
def test_random_samples_shape(path: Path, parity: int) -> None:
    df = pd.read_csv(path, encoding="utf-8")
    assert len(df) >= 400
    assert list(df.columns[:3]) == ["source_row", "cat", "review"]
    assert df["source_row"].is_unique
    assert (df["source_row"] % 2 == parity).all()
    assert df["source_row"].is_monotonic_increasing
    for t in TAGS:
        assert set(df[t].unique()) <= {0, 1}
    assert df["price_sensitive"].sum() >= 80


def test_random_samples_are_disjoint(random_odd: pd.DataFrame, random_even: pd.DataFrame) -> None:
    assert not set(random_odd["source_row"]) & set(random_even["source_row"])


@pytest.mark.parametrize("tag", list(FLOORS_ODD))
def test_floors_on_random_odd_reviews(random_odd: pd.DataFrame, tag: str) -> None:
    r = evaluate_tagger(Tagger(), random_odd, [tag]).set_index("tag")
    p_floor, r_floor = FLOORS_ODD[tag]
    assert r.loc[tag, "precision"] >= p_floor
    assert r.loc[tag, "recall"] >= r_floor


@pytest.mark.parametrize("tag", list(FLOORS_EVEN))
def test_floors_on_random_even_reviews(random_even: pd.DataFrame, tag: str) -> None:
    r = evaluate_tagger(Tagger(), random_even, [tag]).set_index("tag")
    p_floor, r_floor = FLOORS_EVEN[tag]
    assert r.loc[tag, "precision"] >= p_floor
    assert r.loc[tag, "recall"] >= r_floor


def test_draw_random_rows_respects_parity_and_seed() -> None:
    from tierwise.tags import draw_random_rows

    df = pd.DataFrame({"cat": ["x"] * 50, "review": [f"评论{i}" for i in range(49)] + [" "]})
    a = draw_random_rows(df, 10, parity="odd", seed=3)
    b = draw_random_rows(df, 10, parity="odd", seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert (a["source_row"] % 2 == 1).all() and a["source_row"].is_monotonic_increasing
    assert 49 not in set(a["source_row"])  # a blank text is never drawn
    even = draw_random_rows(df, 25, parity="even", seed=3)
    assert sorted(even["source_row"]) == list(range(0, 50, 2))
    assert not draw_random_rows(df, 10, parity="odd", seed=4).equals(a)
    with pytest.raises(ValueError, match="cannot draw"):
        draw_random_rows(df, 26, parity="even", seed=3)
    with pytest.raises(ValueError, match="parity"):
        draw_random_rows(df, 1, parity="all", seed=3)  # type: ignore[arg-type]


def test_precision_recall_function() -> None:
    truth = pd.DataFrame({"a": [1, 1, 0, 0], "b": [0, 0, 0, 0]})
    pred = pd.DataFrame({"a": [1, 0, 1, 0], "b": [0, 0, 0, 1]})
    r = precision_recall(truth, pred).set_index("tag")
    assert r.loc["a", ["tp", "fp", "fn"]].tolist() == [1, 1, 1]
    assert r.loc["a", "precision"] == 0.5 and r.loc["a", "recall"] == 0.5
    assert r.loc["b", "precision"] == 0.0 and pd.isna(r.loc["b", "recall"])


def test_draw_labelling_sample_is_reproducible() -> None:
    from tierwise.tags import draw_labelling_sample

    df = pd.DataFrame(
        {
            "cat": ["x"] * 60 + ["y"] * 40,
            "review": [f"评论{i}" + ("孩子" if i % 7 == 0 else "") for i in range(99)] + [""],
        }
    )
    kw = {"parent": ("孩子",)}
    a = draw_labelling_sample(
        df,
        n_random=20,
        min_per_stratum=5,
        n_per_keyword_group=3,
        keywords=kw,
        extra_per_group={"parent": 2},
        seed=1,
    )
    b = draw_labelling_sample(
        df,
        n_random=20,
        min_per_stratum=5,
        n_per_keyword_group=3,
        keywords=kw,
        extra_per_group={"parent": 2},
        seed=1,
    )
    pd.testing.assert_frame_equal(a, b)
    assert a["stratum"].value_counts().to_dict() == {"random": 20, "kw:parent": 3, "kw:parent+": 2}
    assert a["source_row"].is_unique and 99 not in set(a["source_row"])  # empty review skipped
    assert a[a["stratum"] != "random"]["review"].str.contains("孩子").all()
