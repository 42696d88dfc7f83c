"""Tag the texts of a file (CSV in any supported encoding, Excel, Parquet, JSON Lines)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from tierwise.errors import ImportValidationError
from tierwise.tags.lexicon import load_lexicon
from tierwise.tags.tagger import Tagger

__all__ = ["tag_file"]


def tag_file(
    path: str | Path,
    *,
    column: str = "text",
    lexicons: Sequence[str | Path] = (),
    encoding: str | None = None,
    min_confidence: float | None = None,
) -> pd.DataFrame:
    """Tag every text of one column of a file.

    Returns
    -------
    DataFrame
        One row per tag found: ``row`` (the file's row number as a person counts it), the
        text, ``major``, ``minor``, their zh/en names, ``confidence``, ``polarity`` and
        ``evidence`` (the words that matched).

    Raises
    ------
    ImportValidationError
        If the file cannot be read or has no such column.
    """
    from tierwise.io.readers import read_file

    raw = read_file(path, encoding=encoding)
    if column not in raw.table.column_names:
        raise ImportValidationError(
            f"{raw.name}: no column {column!r}; columns are {', '.join(raw.table.column_names)}"
        )
    texts = raw.table.column(column).to_pandas()
    tagger = Tagger(load_lexicon(*lexicons))
    hits = tagger.tag_table(texts, min_confidence=min_confidence, names=True)
    idx = hits["row"].to_numpy()
    return hits.assign(row=raw.rows[idx], text=texts.to_numpy()[idx])
