"""Lexicon files: pattern syntax, merging, validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tierwise.errors import ConfigError
from tierwise.tags import Tagger, default_lexicon, expand_pattern, load_lexicon
from tierwise.tags.lexicon import CHINESE_NUMERALS


def test_expand_pattern() -> None:
    assert expand_pattern("给(孩子|儿子|)买") == ["给孩子买", "给儿子买", "给买"]
    assert expand_pattern(r"\d元") == [f"{d}元" for d in range(10)]
    assert expand_pattern(r"(\d|十)岁")[-1] == "十岁"
    assert expand_pattern(r"a\(b\|c\)") == ["a(b|c)"]
    numerals = expand_pattern(r"卖\h")
    assert len(numerals) == len(CHINESE_NUMERALS)
    assert {"卖五", "卖两", "卖几", "卖百"} <= set(numerals)
    assert expand_pattern(r"\h(\d|块)")[:2] == ["〇0", "〇1"]
    for bad in ["(a", "a)", "a|b", "((a))", "a\\", r"\x"]:
        with pytest.raises(ValueError):
            expand_pattern(bad)


def test_default_lexicon_has_the_article_tags() -> None:
    lex = default_lexicon()
    assert set(lex.majors) == {"concern", "persona"}
    keys = {r.key for r in lex.tags}
    for k in [
        ("concern", "price_sensitive"),
        ("concern", "quality"),
        ("concern", "copy"),
        ("persona", "parent"),
        ("persona", "student"),
        ("persona", "office_worker"),
        ("persona", "gift"),
        ("persona", "elder"),
    ]:
        assert k in keys
    assert lex.resolve("parent") == ("persona", "parent")
    assert lex.resolve("concern/price_sensitive") == ("concern", "price_sensitive")
    with pytest.raises(KeyError):
        lex.resolve("nope")
    names = lex.names()
    assert {"minor_zh", "minor_en"} <= set(names.columns)
    assert names.set_index("minor").loc["parent", "minor_zh"] == "宝妈/家长"
    # words are stored normalised (simplified)
    assert all(w == w.lower() for r in lex.tags for w in r.triggers)


def _write(tmp_path: Path, text: str, name: str = "shop.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_merchant_file_adds_extends_removes_and_disables(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        """
version: 1
majors:
  - id: interest
    zh: 兴趣
    en: interest
tags:
  - major: interest
    id: pets
    zh: 养宠
    en: pet owner
    triggers:
      - words: ["(我家|我的)(猫|狗|猫咪|狗狗)", 铲屎官]
        weight: 0.9
  - major: concern
    id: price_sensitive
    triggers:
      - words: [薅羊毛]
        polarity: 1
    remove: [预算]
  - major: persona
    id: middle_aged
    enabled: false
""",
    )
    lex = load_lexicon(p)
    assert lex.sources[-1] == str(p)
    assert ("interest", "pets") in {r.key for r in lex.tags}
    price = lex.rules[("concern", "price_sensitive")]
    assert "薅羊毛" in price.triggers and "预算" not in price.triggers
    assert "便宜" in price.triggers  # defaults kept
    assert ("persona", "middle_aged") not in {r.key for r in lex.tags}
    t = Tagger(lex)
    hits = {h.tag for h in t.tag_text("我家猫咪很喜欢，薅羊毛成功")}
    assert hits == {"interest/pets", "concern/price_sensitive"}
    assert t.tag_text("预算有限") == []


def test_only_merchant_file(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "majors: [{id: m, zh: 大, en: big}]\n"
        "tags: [{major: m, id: a, zh: 甲, en: A, triggers: [{words: [苹果]}]}]\n",
    )
    lex = load_lexicon(p, defaults=False)
    assert [r.key for r in lex.tags] == [("m", "a")]
    with pytest.raises(ConfigError, match="no lexicon file"):
        load_lexicon(defaults=False)


@pytest.mark.parametrize(
    ("body", "expect"),
    [
        (
            "tags: [{major: persona, id: x, zh: 甲, en: A, triggers: [{words: [a], weight: 2}]}]",
            r"tags\[0\] \(persona/x\): triggers\[0\]\.weight",
        ),
        (
            "tags: [{major: nope, id: x, zh: 甲, en: A, triggers: [{words: [a]}]}]",
            r"tags\[0\] \(nope/x\): unknown major 'nope'",
        ),
        (
            "tags: [{major: persona, id: x, triggers: [{words: [a]}]}]",
            r"tags\[0\] \(persona/x\): a new tag needs zh and en",
        ),
        (
            "tags: [{major: persona, id: x, zh: 甲, en: A, triggers: [{words: ['(a']}]}]",
            r"tags\[0\] \(persona/x\): triggers\[0\]\.words\[0\]: unbalanced",
        ),
        (
            "tags: [{major: persona, id: x, zh: 甲, en: A, triggers: [{words: ['😀']}]}]",
            r"triggers\[0\]\.words\[0\]: '😀' is empty after normalisation",
        ),
        (
            "tags: [{major: persona, id: Bad-Id, zh: 甲, en: A}]",
            r"tags\[0\] \(persona/Bad-Id\): id",
        ),
        ("tags: [{major: persona, id: x, zh: 甲, en: A, colour: red}]", r"colour"),
        ("tags: [{major: persona, id: x, zh: 甲, en: A}]", r"persona/x has no trigger words"),
        ("- just\n- a list\n", "a lexicon file is a mapping"),
        ("tags: [unclosed", "not valid YAML"),
        ("version: 2", "version"),
    ],
)
def test_errors_name_file_and_entry(tmp_path: Path, body: str, expect: str) -> None:
    p = _write(tmp_path, body, "bad.yaml")
    with pytest.raises(ConfigError, match=expect) as exc:
        load_lexicon(p)
    assert "bad.yaml" in str(exc.value) or "has no trigger words" in str(exc.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_lexicon(tmp_path / "missing.yaml")
