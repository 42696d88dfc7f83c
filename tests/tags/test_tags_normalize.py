"""Text normalisation: script, width, emoji, noise."""

from __future__ import annotations

import numpy as np

from tierwise.tags import normalize_batch, normalize_text
from tierwise.tags.normalize import _load_t2s


def test_traditional_to_simplified_seed_sentence() -> None:
    # from seeds/001: the article's own example of precise tags, in traditional script
    src = "對價格敏感的消費者、寶媽、一線白領等多種類型"
    assert normalize_text(src) == "对价格敏感的消费者、宝妈、一线白领等多种类型"


def test_width_case_emoji_and_repeats() -> None:
    assert normalize_text("ＡＢＣ１２３！！！") == "abc123!"
    assert normalize_text("太贵了😂😂😂真的") == "太贵了 真的"
    assert normalize_text("好\u200d的\ufe0f～～～") == "好的~"
    assert normalize_text("\ufeff便宜。。。。") == "便宜。"
    assert normalize_text("便宜   \u3000 实惠") == "便宜 实惠"


def test_pinyin_annotations_removed_only_with_tone_marks() -> None:
    assert normalize_text("標(biāo)準(zhǔn)") == "标准"
    assert normalize_text("型号(abc)") == "型号(abc)"


def test_batch_offsets_with_none_and_empty() -> None:
    texts = ["給孩子", None, "", float("nan"), "太貴了!!"]
    b = normalize_batch(texts)
    assert len(b) == 5
    assert [b[i] for i in range(5)] == ["给孩子", "", "", "", "太贵了!"]
    assert b.text.split("\x00") == ["给孩子", "", "", "", "太贵了!"]
    assert b.codes[0] == 0 and b.codes.dtype == np.uint32


def test_nul_inside_a_text_does_not_shift_rows() -> None:
    b = normalize_batch(["a\x00b", "c"])
    assert [b[0], b[1]] == ["a b", "c"]


def test_empty_batch() -> None:
    b = normalize_batch([])
    assert len(b) == 0 and b.text == ""


def test_t2s_table_maps_to_simplified_only() -> None:
    table = _load_t2s()
    assert len(table) > 4000
    assert table[ord("貴")] == ord("贵") and table[ord("寶")] == ord("宝")
    assert ord("贵") not in table  # simplified characters stay


def test_t2s_table_matches_opencc() -> None:
    import opencc

    from tierwise.tags.normalize import build_t2s_table

    conv = opencc.OpenCC("t2s")
    sample = "".join(chr(c) for c in list(_load_t2s())[::50])
    assert normalize_text(sample) == conv.convert(sample)
    assert build_t2s_table(conv).count("\n") > 4000
