"""Step ``tags``: each customer's precise tags from the text of their events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from tierwise.backends import duckdb_connection
from tierwise.features import cutoff_of
from tierwise.steps.base import Step, StepContext, StepResult
from tierwise.steps.frames import engine_table

__all__ = ["COLUMNS", "STEP", "TextTagsStep"]

COLUMNS = {
    "top_tags": "string", "tags": "string", "persona": "string",
    "price_mentions": "int64", "price_polarity": "int64",
}  # fmt: skip


def _in_order(
    value: ir.StringColumn,
    order: ir.IntegerColumn,
    sep: str,
    *,
    where: ir.BooleanColumn | None = None,
    on_duckdb: bool,
) -> ir.StringScalar:
    """``value`` of a group joined with ``sep`` in ``order`` (unique within the group)."""
    if on_duckdb:
        return value.group_concat(sep, where=where, order_by=order)
    # Ibis orders a string aggregate on DuckDB only; elsewhere the pairs are sorted as an array
    pairs = ibis.struct({"order": order, "value": value}).collect(where=where)
    return pairs.sort().map(lambda p: p.value).join(sep)


class TextTagsStep(Step):
    """Tag the texts of comments, reviews and messages up to the as-of day; roll them up.

    Each distinct text is tagged once in Python; the engine counts every customer's texts
    per tag and ranks the tags (by texts, then mean confidence, then lexicon order), the same
    ranking as `tierwise.tags.customer_tags`.
    """

    name = "tags"
    reads_rows = True
    section = "tags"
    columns = COLUMNS

    def run(self, profile: ir.Table, ctx: StepContext, state: dict[str, Any] | None
            ) -> StepResult:  # fmt: skip
        from tierwise.tags import Tagger, load_lexicon
        from tierwise.tags.portraits import text_tag_rows

        cfg = ctx.config.tags
        events = ctx.tables["events"]
        said = events.filter((events.occurred_at < cutoff_of(ctx.as_of)) & events.text.notnull())
        said = said.select("customer_id", "text")
        paths = [(ctx.base_dir / p) if ctx.base_dir else Path(p) for p in cfg.lexicons]
        min_confidence = 0.5 if cfg.min_confidence is None else cfg.min_confidence
        tagger = Tagger(load_lexicon(*paths), min_confidence=min_confidence)
        distinct = said.select("text").distinct().to_pyarrow().column("text").combine_chunks()
        tagged = engine_table(events, text_tag_rows(tagger, distinct), ctx.held)
        del distinct
        hits = said.join(tagged, "text")
        per_tag = hits.group_by("customer_id", "tag_order", "major", "minor", "name").aggregate(
            n_texts=hits.count(),
            confidence=hits.confidence.sum().cast("int64"),
            polarity=hits.polarity.sum().cast("int64"),
        )
        rank = ibis.row_number().over(
            group_by=per_tag.customer_id,
            order_by=[per_tag.n_texts.desc(),
                      (per_tag.confidence / per_tag.n_texts).desc(), per_tag.tag_order],
        )  # fmt: skip
        t = per_tag.mutate(rank=rank)
        price = t.minor == "price_sensitive"
        on_duckdb = duckdb_connection(events) is not None
        portrait = t.group_by("customer_id").aggregate(
            top_tags=_in_order(t.name + "×" + t.n_texts.cast("string"), t.rank, ", ",
                               where=t.rank < cfg.top_k, on_duckdb=on_duckdb),
            tags=_in_order(t.major + "/" + t.minor, t.rank, ";", on_duckdb=on_duckdb),
            persona=t.minor.argmin(t.rank, where=t.major == "persona"),
            price_mentions=t.n_texts.sum(where=price).cast("int64"),
            price_polarity=t.polarity.sum(where=price).cast("int64"),
        )  # fmt: skip
        joined = profile.left_join(portrait, "customer_id").drop("customer_id_right")
        joined = joined.mutate(
            price_mentions=joined.price_mentions.fill_null(0),
            price_polarity=joined.price_polarity.fill_null(0),
        )
        return StepResult(joined)


STEP = TextTagsStep()
