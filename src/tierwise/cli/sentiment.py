"""``tierwise sentiment``: how positive texts are, by the shipped sentiment model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tierwise.cli._app import app
from tierwise.cli._common import AsJson, Format, command, emit, fail
from tierwise.cli._i18n import t


@command(
    app,
    "sentiment",
    help=t(
        "Score the sentiment of texts (0 = negative, 1 = positive), given or from a file.",
        "给文本打情感分（0 负面，1 正面），文本直接给出或来自文件。",
    ),
)
def sentiment(
    texts: Annotated[list[str] | None, typer.Argument(help="Texts to score.")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="CSV, .xlsx, .parquet or .jsonl file.")
    ] = None,
    column: Annotated[str, typer.Option(help="Column of --file holding the text.")] = "text",
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: detect).")] = None,
    as_json: AsJson = False,
    fmt: Format = "table",
) -> None:
    """Score the sentiment of texts (0 = negative, 1 = positive), given or from a file."""
    from tierwise.sentiment import sentiment_scores

    if (file is None) == (not texts):
        raise fail("give texts or --file (one of them)")
    if file is not None:
        from tierwise.errors import ImportValidationError
        from tierwise.io.readers import read_file

        raw = read_file(file, encoding=encoding)
        if column not in raw.table.column_names:
            raise ImportValidationError(
                f"{raw.name}: no column {column!r}; columns are {', '.join(raw.table.column_names)}"
            )
        values = raw.table.column(column).to_pylist()
        rows = [int(r) for r in raw.rows]
    else:
        values = list(texts or [])
        rows = list(range(1, len(values) + 1))
    scores = sentiment_scores(values)
    out = []
    for r, s, v in zip(rows, scores, values, strict=True):
        empty = v is None or not str(v).strip()  # nothing to read: no score
        label = None if empty else "positive" if s > 0.5 else "negative"
        out.append({"row": r, "sentiment": None if empty else round(float(s), 4),
                    "label": label, "text": v})  # fmt: skip
    emit("sentiment (1 = positive)", out, fmt=fmt, as_json=as_json)
