"""Step ``tags``: each customer's precise tags from the text of their events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from tierwise.features import cutoff_of
from tierwise.steps.base import Step, StepContext, StepResult
from tierwise.steps.frames import join_frame

__all__ = ["COLUMNS", "STEP", "TextTagsStep"]

COLUMNS = {
    "top_tags": "string", "tags": "string", "persona": "string",
    "price_mentions": "int64", "price_polarity": "int64",
}  # fmt: skip


class TextTagsStep(Step):
    """Tag the texts of comments, reviews and messages up to the as-of day; roll them up."""

    name = "tags"
    reads_rows = True
    section = "tags"
    columns = COLUMNS

    def run(self, profile: ir.Table, ctx: StepContext, state: dict[str, Any] | None
            ) -> StepResult:  # fmt: skip
        from tierwise.tags import Tagger, customer_tags, load_lexicon, top_tags
        from tierwise.tags.portraits import join_runs

        cfg = ctx.config.tags
        events = ctx.tables["events"]
        texts = events.filter((events.occurred_at < cutoff_of(ctx.as_of)) & events.text.notnull())
        paths = [(ctx.base_dir / p) if ctx.base_dir else Path(p) for p in cfg.lexicons]
        tagger = Tagger(load_lexicon(*paths), min_confidence=cfg.min_confidence or 0.5)
        # strings stay in Arrow (no Python object per text or per row's customer)
        # sorted here rather than by the engine: its sort would hold every text beside the
        # result handed over
        said = texts.select("customer_id", "occurred_at", "event_id", "text").to_pyarrow()
        said = said.sort_by([(c, "ascending") for c in ("customer_id", "occurred_at", "event_id")])
        said = said.select(["customer_id", "text"])
        table = customer_tags(said.to_pandas(types_mapper=pd.ArrowDtype), tagger=tagger)
        del said
        top = top_tags(table, k=cfg.top_k, tagger=tagger)
        ids = table.assign(tag=table.major.astype(str) + "/" + table.minor.astype(str))
        persona = table[table.major == "persona"].sort_values(["customer_id", "rank"])
        price = table[table.minor == "price_sensitive"].set_index("customer_id")
        portrait = join_runs(ids.customer_id, ids.tag, ";").rename("tags")
        portrait = portrait.rename_axis("customer_id").reset_index()
        portrait = portrait.merge(top[["customer_id", "top_tags"]], on="customer_id", how="left")
        # "" rather than a missing value: Spark reads a missing string of an in-memory table as
        # the text "NaN"; it is turned back into null below
        portrait["persona"] = portrait.customer_id.map(
            persona.groupby("customer_id").minor.first().astype(str)
        ).fillna("")
        mentions = portrait.customer_id.map(price.n_texts).fillna(0).astype("int64")
        portrait["price_mentions"] = mentions
        polarity = portrait.customer_id.map(price.net_polarity).fillna(0).astype("int64")
        portrait["price_polarity"] = polarity
        schema = ibis.schema({"customer_id": "string", **COLUMNS})
        joined = join_frame(profile, portrait, schema, ctx.held)
        joined = joined.mutate(
            persona=joined.persona.nullif(""),
            price_mentions=joined.price_mentions.fill_null(0),
            price_polarity=joined.price_polarity.fill_null(0),
        )
        return StepResult(joined)


STEP = TextTagsStep()
