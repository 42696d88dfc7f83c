"""The tagger: negation, exclusions, personas, output forms, back-ends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierwise.tags import TAG_TABLE_COLUMNS, Tagger, available_backends, tag_table, tag_texts

LABELLED = Path(__file__).resolve().parents[1] / "data" / "reviews_labelled.csv"


_SHARED = Tagger()


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return _SHARED


def _tags(tagger: Tagger, text: str) -> dict[str, tuple[int, tuple[str, ...]]]:
    return {h.tag: (h.polarity, h.evidence) for h in tagger.tag_text(text)}


@pytest.mark.parametrize(
    ("text", "polarity"),
    [
        ("太贵了", -1),
        ("有点小贵", -1),
        ("不贵", 1),
        ("价格不贵", 1),
        ("一点都不贵", 1),
        ("不太便宜", -1),
        ("不算便宜", -1),
        ("没那么贵", 1),
        ("性价比很高", 1),
        ("性价比不高", -1),
        ("不值这个价", -1),
        ("物美价廉", 1),
        ("打折的时候买的", 0),
        ("用了优惠券", 0),
        ("买完就降价了", -1),
        ("199元买的", 0),
        ("價格實惠", 1),
    ],
)
def test_price_attention_and_polarity(tagger: Tagger, text: str, polarity: int) -> None:
    tags = _tags(tagger, text)
    assert "concern/price_sensitive" in tags, text
    assert tags["concern/price_sensitive"][0] == polarity, text


@pytest.mark.parametrize(
    "text",
    [
        "宝贵的经验",
        "难能可贵",
        "贵州的朋友",
        "贵公司的服务",
        "住的贵宾楼",
        "不在乎这点",
        "真的很好用",
    ],
)
def test_price_exclusions(tagger: Tagger, text: str) -> None:
    assert "concern/price_sensitive" not in _tags(tagger, text)


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("给孩子买的", "persona/parent"),
        ("給孩子買的", "persona/parent"),
        ("我儿子三岁了，很喜欢", "persona/parent"),
        ("宝宝很喜欢", "persona/parent"),
        ("我是学生，放在宿舍用", "persona/student"),
        ("室友都说好", "persona/student"),
        ("出差住的", "persona/office_worker"),
        ("同事推荐的", "persona/office_worker"),
        ("带到公司吃", "persona/office_worker"),
        ("送给男朋友的生日礼物", "persona/gift"),
        ("买来送人的", "persona/gift"),
        ("给爸妈买的", "persona/elder"),
        ("老人用着挺方便", "persona/elder"),
    ],
)
def test_personas(tagger: Tagger, text: str, tag: str) -> None:
    assert tag in _tags(tagger, text), text


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("不是给孩子买的", "persona/parent"),
        ("孩子们都在玩", "persona/parent"),
        ("一个女孩子用的", "persona/parent"),
        ("快递公司太慢", "persona/office_worker"),
        ("酒店工作人员很热情", "persona/office_worker"),
        ("一星送给快递员", "persona/gift"),
        ("配送人员很好", "persona/gift"),
        ("这瓶很大一瓶", "persona/student"),
        ("特奶奶的，什么玩意", "persona/elder"),
    ],
)
def test_persona_negation_and_exclusions(tagger: Tagger, text: str, tag: str) -> None:
    assert tag not in _tags(tagger, text), text


def test_weak_clues_need_company(tagger: Tagger) -> None:
    assert "persona/parent" not in _tags(tagger, "这个孩子")
    hit = {h.tag: h for h in tagger.tag_text("这个孩子, 小朋友, 绘本")}["persona/parent"]
    assert hit.confidence == pytest.approx(1 - 0.75**3)
    assert hit.evidence == ("孩子", "小朋友", "绘本")


def test_nested_and_repeated_words_count_once(tagger: Tagger) -> None:
    hit = {h.tag: h for h in tagger.tag_text("太贵了太贵了")}["concern/price_sensitive"]
    assert hit.evidence == ("贵",)
    assert hit.confidence == pytest.approx(0.9)
    hit = {h.tag: h for h in tagger.tag_text("性价比很高")}["concern/price_sensitive"]
    assert hit.evidence == ("性价比很高",)


def test_longer_trigger_beats_exclusion(tagger: Tagger) -> None:
    tags = _tags(tagger, "送给我妈的")
    assert "persona/gift" in tags and "persona/elder" in tags


def test_min_confidence(tagger: Tagger) -> None:
    assert "persona/parent" in _tags(Tagger(min_confidence=0.2), "这个孩子")
    assert tagger.tag_text("这个孩子", min_confidence=0.2)[0].tag == "persona/parent"


def test_table_forms_and_rows(tagger: Tagger) -> None:
    texts = ["给孩子买的，价格不贵", None, "", "出差住的，太贵"]
    df = tagger.tag_table(texts)
    assert tuple(df.columns) == TAG_TABLE_COLUMNS
    assert df["row"].tolist() == [0, 0, 3, 3]
    assert df["minor"].astype(str).tolist() == [
        "price_sensitive",
        "parent",
        "price_sensitive",
        "office_worker",
    ]
    assert df["polarity"].dtype == np.int8 and isinstance(df["major"].dtype, pd.CategoricalDtype)
    assert df["evidence"].tolist()[0] == "价格|贵"
    named = tagger.tag_table(texts, names=True)
    assert named["minor_zh"].astype(str).tolist()[1] == "宝妈/家长"
    at = tagger.tag_table(pa.array(texts), output="arrow", names=True)
    assert isinstance(at, pa.Table)
    assert at.column("row").to_pylist() == [0, 0, 3, 3]
    assert at.column("minor").to_pylist() == df["minor"].astype(str).tolist()
    assert at.column("minor_en").to_pylist()[3] == "office worker"
    s = pd.Series(texts, index=[10, 11, 12, 13])
    assert tagger.tag_table(s)["row"].tolist() == [0, 0, 3, 3]  # positions, not labels
    assert tagger.tag_table(np.array(texts, dtype=object))["row"].tolist() == [0, 0, 3, 3]
    assert tagger.tag_table([]).empty and tagger.tag_table([], output="arrow").num_rows == 0
    with pytest.raises(TypeError):
        tagger.tag_table("给孩子买的")


def test_every_form_of_a_text_column_gives_the_same_table(tagger: Tagger) -> None:
    """Repeated texts are tagged once; a string column (pandas' string dtype, Arrow, chunked)
    is encoded by Arrow, a list or object column by pandas: the same rows either way."""
    rng = np.random.default_rng(5)
    pool = ["给孩子买的，价格不贵", None, "", "出差住的，太贵", "质量很好", "太贵了 物流很快"]
    texts = [pool[i] for i in rng.integers(0, len(pool), 400)]
    want = tagger.tag_table(texts)
    assert want["row"].nunique() > 100
    forms = [
        pd.Series(texts, dtype=object), pd.Series(texts, dtype="string[pyarrow]"),
        pa.array(texts), pa.chunked_array([pa.array(texts[:150]), pa.array(texts[150:])]),
        pa.array(texts, pa.large_string()),
    ]  # fmt: skip
    for form in forms:
        got = tagger.tag_table(form)
        pd.testing.assert_frame_equal(got, want)


def test_indicators_and_module_helpers(tagger: Tagger) -> None:
    ind = tagger.indicators(["给孩子买的", "太贵"], tags=["parent", ("concern", "price_sensitive")])
    assert ind.columns.tolist() == ["persona/parent", "concern/price_sensitive"]
    assert ind.to_numpy().tolist() == [[1, 0], [0, 1]]
    assert [h.minor for h in tag_texts(["给孩子买的"])[0]] == ["parent"]
    assert tag_table(["太贵"])["minor"].astype(str).tolist() == ["price_sensitive"]


def test_chunking_does_not_change_results(tagger: Tagger) -> None:
    texts = pd.read_csv(LABELLED)["review"].tolist()
    small = Tagger(chunk_size=37).tag_table(texts)
    pd.testing.assert_frame_equal(small, tagger.tag_table(texts))


@pytest.mark.parametrize("backend", [b for b in available_backends() if b != "regex"])
def test_aho_backends_agree(tagger: Tagger, backend: str) -> None:
    texts = pd.read_csv(LABELLED)["review"].tolist()
    other = Tagger(backend=backend).tag_table(texts)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(other, tagger.tag_table(texts))


def test_regex_backend_close() -> None:
    texts = pd.read_csv(LABELLED)["review"].tolist()[:150]
    a = Tagger(backend="regex").indicators(texts).to_numpy()
    b = Tagger().indicators(texts).to_numpy()
    assert (a == b).mean() > 0.98
    with pytest.raises(ValueError, match="unknown backend"):
        Tagger(backend="nope")  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.text(alphabet="给孩子买的不太贵便宜同事送人 !😀貴", max_size=12)),
        max_size=8,
    )
)
def test_batch_equals_one_by_one(texts: list[str | None]) -> None:
    t = _SHARED
    batch = t.tag(texts)
    assert batch == [t.tag_text(x) for x in texts]


def test_repeated_texts_are_tagged_once_and_each_gets_its_tags(tagger):
    import random

    texts = pd.read_csv(LABELLED)["review"].astype(str).tolist()[:150]
    rng = random.Random(4)
    many = [rng.choice(texts) for _ in range(600)] + [None, "", float("nan")]
    rng.shuffle(many)
    table = tagger.tag_table(many)
    assert table["row"].is_monotonic_increasing

    def rows(frame: pd.DataFrame) -> list[tuple]:
        return [tuple(map(str, r)) for r in frame.drop(columns="row").itertuples(index=False)]

    for i, text in enumerate(many):
        assert rows(table[table["row"] == i]) == rows(tagger.tag_table([text])), text
    assert len(table) > 300
