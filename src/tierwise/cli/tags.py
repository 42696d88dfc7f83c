"""``tierwise tags``: precise tags of texts and their distribution per segment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tierwise.cli._app import app
from tierwise.cli._common import AsJson, AsOf, Format, ProjectDir, command, emit, open_project
from tierwise.cli._common import parse_date as _date
from tierwise.cli._i18n import t

tags_app = typer.Typer(
    help=t("Precise tags from comment text.", "从评论文本提取的精准标签。"), no_args_is_help=True
)
app.add_typer(tags_app, name="tags")


@command(
    tags_app,
    "text",
    help=t(
        "Tag the texts of a file; print how often each tag was found.",
        "给文件中的文本打标签，并统计每个标签出现的次数。",
    ),
)
def tags_text(
    file: Annotated[Path, typer.Argument(help="CSV, .xlsx, .parquet or .jsonl file.")],
    column: Annotated[str, typer.Option(help="Column holding the text.")] = "text",
    lexicon: Annotated[
        list[Path] | None, typer.Option(help="Extra lexicon file (repeatable).")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: detect).")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write every tag found.")] = None,
    as_json: AsJson = False,
    fmt: Format = "table",
) -> None:
    """Tag the texts of a file; print how often each tag was found."""
    from tierwise.tags.files import tag_file

    hits = tag_file(file, column=column, lexicons=lexicon or [], encoding=encoding)
    if out_file is not None:
        import pyarrow as pa

        from tierwise.export import write_table

        write_table(pa.Table.from_pandas(hits, preserve_index=False), out_file)
    counts = (
        hits.groupby(["major", "minor", "minor_zh", "minor_en"], observed=True)
        .size()
        .sort_values(ascending=False)
        .reset_index(name="texts")
    )
    emit(f"tags in {file.name}", counts.to_dict("records"), fmt=fmt, as_json=as_json)


@command(
    tags_app,
    "segments",
    help=t(
        "How many customers of each segment carry each tag (from a snapshot).",
        "每个分群中携带各标签的客户数（来自快照）。",
    ),
)
def tags_segments(
    project: ProjectDir = None,
    by: Annotated[str, typer.Option(help="Profile column to segment by.")] = "lifecycle",
    as_of: AsOf = None,
    top: Annotated[int, typer.Option(help="Tags shown per segment.")] = 5,
    as_json: AsJson = False,
    fmt: Format = "table",
) -> None:
    """How many customers of each segment carry each tag (from a snapshot)."""
    with open_project(project, read_only=True) as p:
        dist = p.tag_distribution(by, as_of=_date(as_of))
    shown = dist.groupby("segment", sort=True).head(top)
    emit(f"tags by {by}", shown.to_dict("records"), fmt=fmt, as_json=as_json)
