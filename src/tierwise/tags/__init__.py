"""Precise tags from comment text: a major category (大类) plus minor tags (小类).

Concern tags (关注点: price-sensitive, quality, logistics, service, looks, copy, freebies,
authenticity, packaging) and persona tags (人群: parent, expecting parent, student, office worker,
gift buyer, elders, middle-aged) come from lexicons that are data files
(``tierwise/tags/lexicons/*.yaml``) a merchant can extend. See ``docs/tags.md``.

Examples
--------
>>> from tierwise.tags import Tagger
>>> [(h.minor, h.polarity) for h in Tagger().tag_text("給孩子買的，價格不貴")]
[('price_sensitive', 1), ('parent', 0)]
"""

from __future__ import annotations

from tierwise.tags.evaluation import (
    ENRICHMENT_KEYWORDS,
    draw_labelling_sample,
    draw_random_rows,
    evaluate_tagger,
    precision_recall,
)
from tierwise.tags.lexicon import (
    Lexicon,
    MajorCategory,
    TagRule,
    Trigger,
    default_lexicon,
    expand_pattern,
    load_lexicon,
)
from tierwise.tags.normalize import normalize_batch, normalize_text
from tierwise.tags.portraits import customer_tags, segment_tag_distribution, top_tags
from tierwise.tags.tagger import (
    TAG_TABLE_COLUMNS,
    Tagger,
    TagHit,
    available_backends,
    tag_table,
    tag_texts,
)

__all__ = [
    "ENRICHMENT_KEYWORDS",
    "TAG_TABLE_COLUMNS",
    "Lexicon",
    "MajorCategory",
    "TagHit",
    "TagRule",
    "Tagger",
    "Trigger",
    "available_backends",
    "customer_tags",
    "default_lexicon",
    "draw_labelling_sample",
    "draw_random_rows",
    "evaluate_tagger",
    "expand_pattern",
    "load_lexicon",
    "normalize_batch",
    "normalize_text",
    "precision_recall",
    "segment_tag_distribution",
    "tag_table",
    "tag_texts",
    "top_tags",
]
