"""Trigger classes of the price-sensitive tag, each with texts it must and must not tag.

The classes generalise over amounts, dates and products: they are patterns (a money verb
followed by any number, a promotion day followed by a purchase verb, ...), not sentences.
"""

from __future__ import annotations

import pytest

from tierwise.tags import Tagger

PRICE = ("concern", "price_sensitive")

# class -> (texts that are about price, texts that are not)
CLASSES: dict[str, tuple[list[str], list[str]]] = {
    "amount after a money verb (Arabic)": (
        ["才卖39，质量还行", "花了1500买的", "到手价99", "这裤子卖128", "打车花了20"],
        ["只要3天就到了", "才2个月就坏了", "花了3天才装好", "一共20个苹果，坏了7个", "降了5度"],
    ),
    "amount after a money verb (Chinese numerals)": (
        ["居然还卖五百多", "又花了二十块去贴膜", "隔天就降了两百", "价值八百多一晚的酒店"],
        ["只要二十分钟", "花了一个小时", "花了一番功夫", "作者说一生就四百多个卵子"],
    ),
    "bare amount in Chinese numerals": (
        ["五百多的房间没窗户", "十几块钱的东西", "还不如几百块的山寨机"],
        ["三十多岁的人", "一百多页的书", "住了十几天"],
    ),
    "room rate and currency": (
        ["408一晚", "我住的是488的商务套间", "￥199买的"],
        ["住了一晚", "在3楼的房间"],
    ),
    "price drop after buying": (
        ["买完就降了", "第二天就降价了", "刚买就降了*，被骗的感觉"],
        ["甜度也下降了", "温度降下来了"],
    ),
    "promotion day as the purchase occasion": (
        ["双11囤的", "618入手的", "趁双十一买了两套", "凑单买的", "满199减100", "打六折"],
        ["刚满18岁", "双十一快递太忙了", "折腾了半天", "一波三折"],
    ),
    "worth judgment": (
        ["值了", "很值！", "质量不错，挺值得！", "太不值了", "真心觉得不值。", "亏大了"],
        ["值得信赖", "很值得信赖的品牌", "值得购买", "这本书很值得一看", "幸亏是好的"],
    ),
    "small money": (
        ["没几个钱的货色", "吹风机不值几个钱", "花点小钱"],
        ["没几个好的", "没几个能吃的"],
    ),
}


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger()


def _price(tagger: Tagger, texts: list[str]) -> list[int]:
    ind = tagger.indicators(texts, tags=[PRICE])
    return ind.iloc[:, 0].tolist()


@pytest.mark.parametrize("name", list(CLASSES))
def test_trigger_class(tagger: Tagger, name: str) -> None:
    positives, negatives = CLASSES[name]
    got_pos = dict(zip(positives, _price(tagger, positives), strict=True))
    got_neg = dict(zip(negatives, _price(tagger, negatives), strict=True))
    assert [t for t, v in got_pos.items() if not v] == []
    assert [t for t, v in got_neg.items() if v] == []


@pytest.mark.parametrize(
    ("text", "polarity"),
    [
        ("值了", 1),
        ("很值！", 1),
        ("太不值了", -1),
        ("一点都不亏", 1),
        ("买亏了", -1),
        ("买完就降了50", -1),
        ("618入手的", 0),
    ],
)
def test_trigger_polarity(tagger: Tagger, text: str, polarity: int) -> None:
    hits = [h for h in tagger.tag_text(text) if (h.major, h.minor) == PRICE]
    assert len(hits) == 1
    assert hits[0].polarity == polarity
    assert hits[0].evidence  # every tag carries the words that triggered it
