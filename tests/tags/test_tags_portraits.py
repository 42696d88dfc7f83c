"""Per-customer and per-segment roll-ups."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from tierwise.errors import ConfigError
from tierwise.tags import customer_tags, segment_tag_distribution, top_tags

EVENTS = pd.DataFrame(
    {
        "customer_id": ["a", "a", "a", "b", "c", "c", "d"],
        "text": [
            "给孩子买的，价格不贵",
            "太贵了",
            "宝宝很喜欢",
            None,
            "出差住的",
            "同事推荐",
            "收到了",
        ],
    }
)


def test_customer_tags() -> None:
    ct = customer_tags(EVENTS)
    a = ct[ct["customer_id"] == "a"].set_index("minor")
    assert a.loc["price_sensitive", "n_texts"] == 2
    assert a.loc["parent", "n_texts"] == 2
    assert a.loc["price_sensitive", "n_customer_texts"] == 3
    assert a.loc["price_sensitive", "share"] == pytest.approx(2 / 3)
    assert a.loc["price_sensitive", "net_polarity"] == 0  # one +1, one -1
    assert sorted(a["rank"].tolist()) == [1, 2]
    c = ct[ct["customer_id"] == "c"]
    assert c["minor"].astype(str).tolist() == ["office_worker"]
    assert c["n_texts"].tolist() == [2] and c["rank"].tolist() == [1]
    assert set(ct["customer_id"]) == {"a", "c"}


def test_top_tags_and_arrow_in_arrow_out() -> None:
    ct = customer_tags(pa.Table.from_pandas(EVENTS))
    assert isinstance(ct, pa.Table)
    top = top_tags(ct, k=1).to_pandas().set_index("customer_id")
    assert top.loc["c", "top_tags"] == "白领/上班族×2"
    assert top.loc["c", "top_minor"] == "office_worker"
    en = top_tags(customer_tags(EVENTS), lang="en").set_index("customer_id")
    assert "price-sensitive×2" in en.loc["a", "top_tags"]
    ids = top_tags(customer_tags(EVENTS), lang="id").set_index("customer_id")
    assert ids.loc["c", "top_tags"] == "persona/office_worker×2"


def test_segment_distribution() -> None:
    ct = customer_tags(EVENTS)
    seg = {"a": "vip", "b": "vip", "c": "new", "d": "new"}
    out = segment_tag_distribution(ct, seg)
    vip = out[out["segment"] == "vip"].set_index("minor")
    assert vip.loc["parent", "n_customers"] == 1
    assert vip.loc["parent", "segment_size"] == 2
    assert vip.loc["parent", "share"] == 0.5
    new = out[out["segment"] == "new"].set_index("minor")
    assert new.loc["office_worker", "share"] == 0.5
    frame = pd.DataFrame({"customer_id": list(seg), "segment": list(seg.values())})
    pd.testing.assert_frame_equal(segment_tag_distribution(ct, frame), out)
    pd.testing.assert_frame_equal(segment_tag_distribution(ct, pd.Series(seg)), out)
    with pytest.raises(ConfigError, match="more than once"):
        segment_tag_distribution(ct, pd.Series(["x", "y"], index=["a", "a"]))


def test_missing_columns_and_no_tags() -> None:
    with pytest.raises(ConfigError, match="lacks column"):
        customer_tags(EVENTS.rename(columns={"text": "body"}))
    assert customer_tags(EVENTS, text_col="text").shape[0] > 0
    empty = customer_tags(EVENTS.iloc[[3, 6]])
    assert empty.empty and "rank" in empty.columns


def test_a_text_of_white_space_counts_as_empty():
    from tierwise.tags.portraits import _nonempty

    texts = ["", " ", "\u3000", "\t\n", "\u00a0", "好", " 好 ", None, float("nan"), "a\u3000"]
    python = [isinstance(t, str) and bool(t.strip()) for t in texts]
    assert _nonempty(pd.Series(texts, dtype=object)).tolist() == python
    assert _nonempty(pd.Series([1, "x", ""], dtype=object)).tolist() == [False, True, False]


def test_customers_without_tags_give_empty_tables_keyed_like_the_input():
    from tierwise.tags.portraits import join_runs

    keys = pd.Series(["c2", "c1", "c1"], dtype="string[pyarrow]")
    joined = join_runs(keys, ["a", "b", "c"], ";")
    assert joined.to_dict() == {"c2": "a", "c1": "b;c"}
    empty = join_runs(keys.iloc[:0], [], ";")
    assert empty.empty and empty.index.dtype == keys.dtype
    none = customer_tags(pd.DataFrame({"customer_id": ["c1"], "text": ["。"]}))
    assert top_tags(none).empty
