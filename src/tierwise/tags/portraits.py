"""Customer portraits from tags: per customer, per segment.

Tables come in as pandas DataFrames or pyarrow Tables; a pyarrow input gives a pyarrow output.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tierwise.errors import ConfigError
from tierwise.tags.tagger import Tagger, _default_tagger

__all__ = [
    "CONFIDENCE_SCALE", "customer_tags", "join_runs", "segment_tag_distribution",
    "text_tag_rows", "top_tags",
]  # fmt: skip

CUSTOMER_TAG_COLUMNS = (
    "major",
    "minor",
    "n_texts",
    "n_customer_texts",
    "share",
    "mean_confidence",
    "net_polarity",
    "rank",
)


def _to_pandas(table: Any, what: str) -> tuple[pd.DataFrame, bool]:
    if isinstance(table, pa.Table):
        return table.to_pandas(), True
    if isinstance(table, pd.DataFrame):
        return table, False
    raise TypeError(f"{what} must be a pandas DataFrame or a pyarrow Table, not {type(table)}")


def _out(df: pd.DataFrame, arrow: bool) -> pd.DataFrame | pa.Table:
    return pa.Table.from_pandas(df, preserve_index=False) if arrow else df


def _need(df: pd.DataFrame, cols: list[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ConfigError(f"{what} lacks column(s) {missing}; it has {list(df.columns)}")


CONFIDENCE_SCALE = 10**9
"""Confidences are summed as integers of this many units, so a customer's mean confidence per
tag (which breaks ties of the tag counts) is the same on every engine and in any order."""


def text_tag_rows(tagger: Tagger, texts: pa.Array) -> pa.Table:
    """One row per (distinct text, tag found in it), for an engine to join to the texts.

    Columns: ``text``, ``tag_order`` (the tag's place in the lexicon), ``major``, ``minor``,
    ``name`` (the tag's Chinese name), ``confidence`` (in units of `CONFIDENCE_SCALE`) and
    ``polarity``.
    """
    tab = tagger.tag_table(texts, output="arrow", names=True)
    major, minor = tab["major"].combine_chunks(), tab["minor"].combine_chunks()
    majors, minors = major.dictionary.to_pylist(), minor.dictionary.to_pylist()
    place = np.full((max(len(majors), 1), max(len(minors), 1)), -1, dtype=np.int64)
    for i, (a, b) in enumerate(tagger.tag_keys):
        if a in majors and b in minors:
            place[majors.index(a), minors.index(b)] = i
    maj_code = major.indices.to_numpy(zero_copy_only=False)
    min_code = minor.indices.to_numpy(zero_copy_only=False)
    confidence = tab["confidence"].to_numpy()
    return pa.table({
        "text": pc.take(texts, tab["row"]),
        "tag_order": pa.array(place[maj_code, min_code], pa.int64()),
        "major": major.dictionary_decode(),
        "minor": minor.dictionary_decode(),
        "name": tab["minor_zh"].combine_chunks().dictionary_decode(),
        "confidence": pa.array(np.rint(confidence * CONFIDENCE_SCALE), pa.int64()),
        "polarity": pc.cast(tab["polarity"], pa.int64()),
    })  # fmt: skip


def customer_tags(
    events: pd.DataFrame | pa.Table,
    *,
    tagger: Tagger | None = None,
    customer_col: str = "customer_id",
    text_col: str = "text",
    min_confidence: float | None = None,
) -> pd.DataFrame | pa.Table:
    """Roll the tags of each customer's texts up to the customer.

    Parameters
    ----------
    events : pandas.DataFrame or pyarrow.Table
        One row per text (comment, review, message) with the customer who wrote it.
    tagger : Tagger, optional
        The tagger; the default lexicon's by default.
    customer_col, text_col : str
        Column names.
    min_confidence : float, optional
        Overrides the tagger's threshold.

    Returns
    -------
    pandas.DataFrame or pyarrow.Table
        One row per (customer, tag) found: the customer column, ``major``, ``minor``,
        ``n_texts`` (texts with the tag), ``n_customer_texts`` (non-empty texts of the
        customer), ``share`` (their ratio), ``mean_confidence``, ``net_polarity`` (sum of the
        texts' polarities) and ``rank`` (1 = most frequent tag of the customer; ties broken
        by confidence, then tag order). Customers without any tag have no row.
    """
    df, arrow = _to_pandas(events, "events")
    _need(df, [customer_col, text_col], "events")
    tagger = tagger or _default_tagger()
    texts = df[text_col]
    tab = tagger.tag_table(texts, min_confidence=min_confidence)
    # customers as codes in sorted order: groups and sorts run on integers
    codes, customers = pd.factorize(df[customer_col], sort=True)
    known = codes >= 0  # a text without a customer counts for nobody
    nonempty = _nonempty(texts) & known
    n_cust = np.bincount(codes[nonempty], minlength=len(customers))
    if tab.empty:
        out = pd.DataFrame(
            {customer_col: pd.Series([], dtype=df[customer_col].dtype)}
            | {c: pd.Series([], dtype="float64") for c in CUSTOMER_TAG_COLUMNS}
        )
        return _out(out, arrow)
    # confidences also summed as integers: the mean that ranks tags is exact, so it ranks
    # alike in any order and on any engine (the run's tags step ranks the same way)
    units = np.rint(tab["confidence"].to_numpy() * CONFIDENCE_SCALE).astype(np.int64)
    tab = tab.assign(_c=codes[tab["row"].to_numpy()], _u=units)
    tab = tab[tab["_c"].to_numpy() >= 0]
    g = tab.groupby(["_c", "major", "minor"], observed=True, sort=False)
    out = g.agg(
        n_texts=("row", "size"),
        mean_confidence=("confidence", "mean"),
        net_polarity=("polarity", "sum"),
        _u=("_u", "sum"),
    ).reset_index()
    out["n_texts"] = out["n_texts"].astype(np.int64)
    out["net_polarity"] = out["net_polarity"].astype(np.int64)
    c = out["_c"].to_numpy()
    out["n_customer_texts"] = n_cust[c].astype(np.int64)
    out["share"] = out["n_texts"] / out["n_customer_texts"].clip(lower=1)
    key_order = pd.MultiIndex.from_tuples(tagger.tag_keys)
    out["_o"] = key_order.get_indexer(pd.MultiIndex.from_arrays(
        [out["major"].astype(object), out["minor"].astype(object)]))  # fmt: skip
    out["_m"] = out["_u"].to_numpy() / out["n_texts"].to_numpy()
    out = out.sort_values(["_c", "n_texts", "_m", "_o"], ascending=[True, False, False, True])
    out["rank"] = out.groupby("_c", sort=False).cumcount().astype(np.int64) + 1
    out[customer_col] = customers.take(out["_c"].to_numpy())
    cols = [customer_col, *CUSTOMER_TAG_COLUMNS]
    return _out(out[cols].reset_index(drop=True), arrow)


def _nonempty(texts: pd.Series) -> np.ndarray:
    """Whether each text holds more than white space (missing: no)."""
    try:
        arr = pa.array(texts, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return texts.map(lambda t: isinstance(t, str) and bool(t.strip())).to_numpy(dtype=bool)
    filled = pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(arr)), 0)
    return pc.fill_null(filled, False).to_numpy(zero_copy_only=False)


def join_runs(keys: pd.Series, texts: Any, sep: str) -> pd.Series:
    """``texts`` joined with ``sep`` over each run of equal ``keys`` (a frame sorted by key
    keeps its order within the key), indexed by key; vectorised with Arrow."""
    k = keys.to_numpy(dtype=object)
    n = len(k)
    if n == 0:
        return pd.Series([], dtype=object, index=pd.Index([], dtype=keys.dtype))
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    offsets = pa.array(np.append(starts, n), pa.int32())
    lists = pa.ListArray.from_arrays(offsets, pa.array(texts, pa.string()))
    return pd.Series(pc.binary_join(lists, sep).to_pylist(), index=k[starts], dtype=object)


def top_tags(
    customer_tag_table: pd.DataFrame | pa.Table,
    *,
    k: int = 3,
    customer_col: str = "customer_id",
    lang: Literal["zh", "en", "id"] = "zh",
    tagger: Tagger | None = None,
) -> pd.DataFrame | pa.Table:
    """One line per customer: their ``k`` most frequent tags, for a profile.

    Parameters
    ----------
    customer_tag_table : pandas.DataFrame or pyarrow.Table
        Output of :func:`customer_tags`.
    k : int
        Tags kept per customer.
    customer_col : str
        Customer column.
    lang : {"zh", "en", "id"}
        Tag names in Chinese, English, or as ``major/minor`` ids.
    tagger : Tagger, optional
        Gives the display names (its lexicon); the default tagger by default.

    Returns
    -------
    pandas.DataFrame or pyarrow.Table
        The customer column, ``top_tags`` (e.g. ``"价格敏感×3, 宝妈/家长×1"``), ``top_major``
        and ``top_minor`` (the first tag).
    """
    df, arrow = _to_pandas(customer_tag_table, "customer_tag_table")
    _need(df, [customer_col, "major", "minor", "n_texts", "rank"], "customer_tag_table")
    lex = (tagger or _default_tagger()).lexicon
    df = df[df["rank"] <= k].sort_values([customer_col, "rank"])

    def name(major: str, minor: str) -> str:
        if lang == "id":
            return f"{major}/{minor}"
        rule = lex.rules.get((major, minor))
        if rule is None:
            return f"{major}/{minor}"
        return rule.zh if lang == "zh" else rule.en

    pairs = df["major"].astype(str) + "\x00" + df["minor"].astype(str)
    codes, uniques = pd.factorize(pairs)
    names = np.array([name(*u.split("\x00")) for u in uniques] + [""], dtype=object)
    labels = names[codes] + "×" + df["n_texts"].astype("int64").astype(str).to_numpy(object)
    g = df.groupby(customer_col, sort=True)
    out = pd.DataFrame(
        {
            "top_tags": join_runs(df[customer_col], labels, ", "),
            "top_major": g["major"].first().astype(str),
            "top_minor": g["minor"].first().astype(str),
        }
    )
    out.index.name = customer_col
    return _out(out.reset_index(), arrow)


def segment_tag_distribution(
    customer_tag_table: pd.DataFrame | pa.Table,
    segments: Mapping[Any, Any] | pd.Series | pd.DataFrame | pa.Table,
    *,
    customer_col: str = "customer_id",
    segment_col: str = "segment",
) -> pd.DataFrame | pa.Table:
    """Tag distribution of each segment: how many of its customers carry each tag.

    Parameters
    ----------
    customer_tag_table : pandas.DataFrame or pyarrow.Table
        Output of :func:`customer_tags`.
    segments : mapping, pandas.Series, pandas.DataFrame or pyarrow.Table
        Customer -> segment: a mapping or Series indexed by customer, or a table with the
        customer column and ``segment_col``. Every customer listed counts in the segment size,
        tagged or not; tagged customers not listed are ignored.
    customer_col, segment_col : str
        Column names.

    Returns
    -------
    pandas.DataFrame or pyarrow.Table
        ``segment``, ``major``, ``minor``, ``n_customers`` (customers of the segment with the
        tag), ``segment_size``, ``share`` (their ratio), ``n_texts`` (tagged texts); sorted
        by segment, then share descending.
    """
    df, arrow = _to_pandas(customer_tag_table, "customer_tag_table")
    _need(df, [customer_col, "major", "minor", "n_texts"], "customer_tag_table")
    if isinstance(segments, pa.Table):
        segments = segments.to_pandas()
    if isinstance(segments, pd.DataFrame):
        _need(segments, [customer_col, segment_col], "segments")
        seg = pd.Series(segments[segment_col].to_numpy(), index=segments[customer_col].to_numpy())
    elif isinstance(segments, pd.Series):
        seg = segments
    elif isinstance(segments, Mapping):
        seg = pd.Series(dict(segments), dtype=object)
    else:
        raise TypeError("segments must be a mapping, a Series or a table")
    if seg.index.has_duplicates:
        dup = seg.index[seg.index.duplicated()][:5].tolist()
        raise ConfigError(f"segments lists customers more than once, e.g. {dup}")
    sizes = seg.value_counts(dropna=False)
    d = df.assign(segment=df[customer_col].map(seg))
    d = d[d[customer_col].isin(seg.index)]
    out = (
        d.groupby(["segment", "major", "minor"], observed=True, sort=False)
        .agg(n_customers=(customer_col, "nunique"), n_texts=("n_texts", "sum"))
        .reset_index()
    )
    out["n_customers"] = out["n_customers"].astype(np.int64)
    out["n_texts"] = out["n_texts"].astype(np.int64)
    out["segment_size"] = out["segment"].map(sizes).astype(np.int64)
    out["share"] = out["n_customers"] / out["segment_size"]
    out = out.sort_values(["segment", "share", "n_texts"], ascending=[True, False, False])
    cols = ["segment", "major", "minor", "n_customers", "segment_size", "share", "n_texts"]
    return _out(out[cols].reset_index(drop=True), arrow)
