"""The shipped sentiment model: accuracy on unseen reviews, hashing, and the even-row rule."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tierwise.sentiment import SentimentModel, load_model, sentiment_scores
from tierwise.sentiment.features import hashed_ngrams
from tierwise.sentiment.train import even_rows, fit, main, read_even_rows

DATA = Path(__file__).resolve().parents[1] / "data"
ODD_5K = DATA / "reviews_sentiment_odd5k.csv.gz"


@pytest.fixture(scope="module")
def odd_sample() -> pd.DataFrame:
    df = pd.read_csv(ODD_5K, encoding="utf-8", keep_default_na=False)
    assert (df.source_row % 2 == 1).all() and len(df) == 5000
    return df


def test_accuracy_on_random_odd_rows(odd_sample: pd.DataFrame) -> None:
    pred = load_model().predict(odd_sample.review.tolist())
    accuracy = float((pred == odd_sample.label.to_numpy()).mean())
    assert accuracy >= 0.92, accuracy


def test_scores_are_probabilities_and_order_free(odd_sample: pd.DataFrame) -> None:
    texts = odd_sample.review.tolist()[:500]
    p = sentiment_scores(texts)
    assert p.shape == (500,) and ((p >= 0) & (p <= 1)).all()
    back = sentiment_scores(texts[::-1])[::-1]
    np.testing.assert_allclose(p, back, rtol=1e-12)
    one = np.array([sentiment_scores([t])[0] for t in texts[:20]])
    np.testing.assert_allclose(p[:20], one, rtol=1e-12)


def test_repeated_texts_score_like_each_text_alone(odd_sample: pd.DataFrame) -> None:
    texts = odd_sample.review.tolist()[:30]
    repeated = texts + texts[::-1] + [None, "", float("nan"), texts[0]]
    p = sentiment_scores(repeated)
    alone = load_model().predict_proba(repeated)
    assert np.array_equal(p, alone)


def test_obvious_texts() -> None:
    p = sentiment_scores(["质量很好，非常满意，还会再来", "太差了，退货，再也不买了", "", None])
    assert p[0] > 0.8 and p[1] < 0.2
    assert p[2] == p[3]  # empty and missing: the prior


def test_ngrams_stay_inside_each_text() -> None:
    joined = hashed_ngrams(["好评", "差评"], bits=16)
    alone = [hashed_ngrams([t], bits=16) for t in ("好评", "差评")]
    for doc, single in enumerate(alone):
        assert sorted(joined.bucket[joined.doc == doc]) == sorted(single.bucket)
    assert joined.bucket.size == 2 * (2 + 1)  # 2 unigrams + 1 bigram each, no 3-gram
    assert ((joined.bucket >= 0) & (joined.bucket < 2**16)).all()


def test_full_width_and_case_fold() -> None:
    a = hashed_ngrams(["ＧＯＯＤ１"], bits=18).bucket
    b = hashed_ngrams(["good1"], bits=18).bucket
    assert sorted(a) == sorted(b)


def _corpus(path: Path, odd_text: str, odd_label: str, n: int = 400) -> Path:
    rng = np.random.default_rng(5)
    good, bad = ["很好", "满意", "喜欢", "不错"], ["很差", "失望", "退货", "垃圾"]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["cat", "label", "review"])
        for i in range(n):
            if i % 2:
                w.writerow(["x", odd_label, odd_text + str(i)])
                continue
            label = int(rng.integers(2))
            words = rng.choice(good if label else bad, size=3)
            w.writerow(["x", label, "这个东西" + "".join(words)])
    return path


def test_training_never_reads_odd_rows(tmp_path: Path) -> None:
    a = _corpus(tmp_path / "a.csv", "很好很好满意", "1")
    b = _corpus(tmp_path / "b.csv", '垃圾,失望\n"退货', "not a label")
    assert [i for i, _ in even_rows(b)] == list(range(0, 400, 2))
    ta, la, _ = read_even_rows(a)
    tb, lb, _ = read_even_rows(b)
    assert ta == tb and (la == lb).all() and len(ta) == 200
    ma, mb = fit(ta, la, bits=12), fit(tb, lb, bits=12)
    np.testing.assert_array_equal(ma.weights, mb.weights)
    out = tmp_path / "w.npz"
    assert main([str(b), "--out", str(out), "--bits", "12"]) == 0
    model = SentimentModel.load(out)
    assert model.meta["rows"] == "even" and model.meta["n_train"] == 200
    assert model.predict(["这个东西很好满意喜欢", "这个东西很差失望垃圾"]).tolist() == [1, 0]


def test_bad_label_on_even_row_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("cat,label,review\nx,1,好\nx,1,好\nx,5,差\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"data row 2 \(line 4\).*'5'"):
        read_even_rows(path)


@pytest.mark.slow
def test_speed_per_core(odd_sample: pd.DataFrame) -> None:
    texts = odd_sample.review.tolist() * 4
    model = load_model()
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        model.predict(texts)
        best = min(best, time.process_time() - t0)
    assert len(texts) / best >= 20_000
