"""The run's tags step: ranked in the engine exactly as `customer_tags` ranks in pandas."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pyarrow as pa
import pytest

from tierwise.config import Config
from tierwise.demo import generate_shop
from tierwise.steps.base import StepContext
from tierwise.steps.tags import STEP
from tierwise.tags import Tagger, customer_tags, load_lexicon, top_tags

AS_OF = dt.date(2025, 12, 20)
HAND = [  # customer, text: ties, empty and blank texts, a text for nobody, one after the day
    ("h1", "给孩子买的，价格不贵"), ("h1", "太贵了"), ("h1", "宝宝很喜欢"), ("h1", ""),
    ("h2", "   "), ("h2", "出差住的"), ("h2", "同事推荐"), (None, "太贵了，给孩子买的"),
    ("h3", "物流很快"), ("h3", "客服态度好"), ("h3", "太贵了"), ("h3", "质量一般"),
]  # fmt: skip


@pytest.fixture(scope="module")
def shop():
    events = generate_shop(3000, seed=11).events.to_pandas()
    events = events[["customer_id", "occurred_at", "event_id", "text"]]
    at = pd.Timestamp("2025-06-01 10:00")
    hand = pd.DataFrame(
        [(c, at + pd.Timedelta(minutes=i), f"hand{i}", t) for i, (c, t) in enumerate(HAND)]
        + [("h3", pd.Timestamp("2025-12-21 09:00"), "late", "价格敏感，太贵了")],
        columns=events.columns,
    )
    events = pd.concat([events, hand], ignore_index=True)
    con = ibis.duckdb.connect()
    table = con.create_table("events", pa.Table.from_pandas(events, preserve_index=False))
    ids = events.customer_id.dropna().drop_duplicates().sort_values()
    customers = con.create_table("customers", pd.DataFrame({"customer_id": ids}))
    return events, {"events": table, "customers": customers}


def _reference(events: pd.DataFrame, config: Config) -> pd.DataFrame:
    """The step's columns from the pandas roll-ups, customer by customer."""
    tagger = Tagger(load_lexicon(), min_confidence=0.5)
    said = events[(events.occurred_at < pd.Timestamp(AS_OF + dt.timedelta(days=1)))
                  & events.text.notna()]  # fmt: skip
    table = customer_tags(said[["customer_id", "text"]], tagger=tagger)
    top = top_tags(table, k=config.tags.top_k, tagger=tagger).set_index("customer_id")
    table = table.sort_values(["customer_id", "rank"])
    tags = (table.major.astype(str) + "/" + table.minor.astype(str)).groupby(table.customer_id)
    persona = table[table.major == "persona"].groupby("customer_id").minor.first()
    price = table[table.minor == "price_sensitive"].set_index("customer_id")
    out = pd.DataFrame({"tags": tags.agg(";".join), "top_tags": top.top_tags})
    out["persona"] = persona.astype(str)
    out["price_mentions"] = price.n_texts
    out["price_polarity"] = price.net_polarity
    return out, table


def test_the_engine_ranks_tags_as_the_pandas_roll_up_does(shop):
    events, tables = shop
    config = Config.default()
    ctx = StepContext(tables, AS_OF, config)
    got = STEP.run(tables["customers"], ctx, None).profile.to_pandas().set_index("customer_id")
    want, table = _reference(events, config)
    assert len(want) > 1000  # most customers wrote something tagged
    # ties of the counts that the mean confidence decides are there to be ranked
    counted = table.groupby(["customer_id", "n_texts"]).mean_confidence.nunique()
    assert (counted > 1).sum() > 50
    for col in ("tags", "top_tags", "persona"):
        assert got[col].reindex(want.index).tolist() == want[col].tolist(), col
        assert got[col].drop(want.index).isna().all()  # no texts tagged: no value
    for col in ("price_mentions", "price_polarity"):
        assert got[col].to_dict() == want[col].reindex(got.index).fillna(0).astype(int).to_dict()
    assert got.loc["h1", "top_tags"] == "价格敏感×2, 宝妈/家长×2"
    assert got.loc["h3", "price_mentions"] == 1  # its text after the day does not count
    assert got.loc["h2", "persona"] == "office_worker"
