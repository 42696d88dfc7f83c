"""Measure a tagger against hand labels, and draw the sample to label.

The labelled sample shipped with the tests (``tests/data/reviews_labelled.csv``) was drawn with
:func:`draw_labelling_sample` and its defaults (see ``docs/tags.md``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from tierwise.tags.tagger import Tagger

__all__ = [
    "ENRICHMENT_KEYWORDS",
    "draw_labelling_sample",
    "draw_random_rows",
    "evaluate_tagger",
    "precision_recall",
]

#: Broad candidate keywords used to enrich a labelling sample with rare personas. They are
#: deliberately wider than any lexicon (they catch sellers' 老板, courier 公司, 送货 …) so that
#: the enriched rows hold hard negatives as well as positives.
ENRICHMENT_KEYWORDS: dict[str, tuple[str, ...]] = {
    "parent": ("孩子", "儿子", "女儿", "宝宝", "小孩", "娃", "宝妈", "幼儿", "小朋友", "闺女"),
    "student": (
        "学生",
        "学校",
        "宿舍",
        "寝室",
        "同学",
        "大学",
        "上课",
        "考试",
        "考研",
        "开学",
        "校园",
        "室友",
        "作业",
        "老师",
        "高考",
    ),
    "office_worker": (
        "上班",
        "同事",
        "公司",
        "办公",
        "单位",
        "加班",
        "出差",
        "白领",
        "工作",
        "领导",
        "老板",
        "开会",
    ),
    "gift": ("送人", "送给", "礼物", "礼品", "送礼", "生日", "节日", "过年", "情人节", "送朋友"),
    "elder": (
        "老人",
        "爸爸",
        "妈妈",
        "父母",
        "爸妈",
        "老爸",
        "老妈",
        "爷爷",
        "奶奶",
        "外婆",
        "外公",
        "姥姥",
        "长辈",
        "婆婆",
        "老年",
        "公婆",
        "岳父",
        "岳母",
    ),
}


def draw_labelling_sample(
    df: pd.DataFrame,
    *,
    text_col: str = "review",
    strata_col: str = "cat",
    n_random: int = 300,
    min_per_stratum: int = 12,
    n_per_keyword_group: int = 40,
    keywords: Mapping[str, Sequence[str]] | None = None,
    extra_per_group: Mapping[str, int] | None = None,
    seed: int = 20240601,
) -> pd.DataFrame:
    """Draw a stratified random sample plus keyword-enriched rows for hand labelling.

    Parameters
    ----------
    df : pandas.DataFrame
        The corpus; its index is kept as ``source_row``.
    text_col, strata_col : str
        Text column and stratification column.
    n_random : int
        Size of the random part, allocated to strata in proportion to their size.
    min_per_stratum : int
        Floor of the allocation of each stratum in the random part.
    n_per_keyword_group : int
        Rows drawn at random among those containing any keyword of each group (rows already
        drawn are not drawn twice).
    keywords : mapping, optional
        Group name -> candidate keywords; :data:`ENRICHMENT_KEYWORDS` by default.
    extra_per_group : mapping, optional
        Group name -> number of further rows drawn after all groups (stratum
        ``kw:<group>+``), to top up a group whose first draw held few positives without
        changing the rows drawn before.
    seed : int
        Seed of the generator; the same inputs give the same sample.

    Returns
    -------
    pandas.DataFrame
        ``source_row``, the strata column, the text column and ``stratum`` (``random``,
        ``kw:<group>`` or ``kw:<group>+``), in drawing order.
    """
    rng = np.random.default_rng(seed)
    keywords = ENRICHMENT_KEYWORDS if keywords is None else keywords
    text = df[text_col].fillna("").astype(str)
    usable = df.index[text.str.strip().str.len() > 0]
    pool = df.loc[usable]
    sizes = pool.groupby(strata_col, sort=True).size()
    alloc = np.maximum(min_per_stratum, np.round(n_random * sizes / sizes.sum())).astype(int)
    picked: list[tuple[int, str]] = []
    for stratum, k in alloc.items():
        rows = pool.index[pool[strata_col] == stratum].to_numpy()
        take = rng.choice(rows, size=min(int(k), len(rows)), replace=False)
        picked.extend((int(r), "random") for r in np.sort(take))
    taken = {r for r, _ in picked}
    pool_text = text.loc[pool.index]
    rounds = [(g, n_per_keyword_group, f"kw:{g}") for g in keywords]
    rounds += [(g, n, f"kw:{g}+") for g, n in (extra_per_group or {}).items()]
    for group, n, label in rounds:
        rx = re.compile("|".join(re.escape(w) for w in keywords[group]))
        hits = pool.index[pool_text.map(lambda s, rx=rx: rx.search(s) is not None)]
        cand = np.array([r for r in hits if r not in taken], dtype=np.int64)
        take = rng.choice(cand, size=min(n, len(cand)), replace=False)
        for r in np.sort(take):
            picked.append((int(r), label))
            taken.add(int(r))
    idx = [r for r, _ in picked]
    out = pd.DataFrame(
        {
            "source_row": idx,
            strata_col: df.loc[idx, strata_col].to_numpy(),
            text_col: text.loc[idx].to_numpy(),
            "stratum": [s for _, s in picked],
        }
    )
    return out


def draw_random_rows(
    df: pd.DataFrame,
    n: int,
    *,
    parity: Literal["even", "odd", "any"] = "any",
    text_col: str = "review",
    strata_col: str = "cat",
    seed: int,
) -> pd.DataFrame:
    """Draw ``n`` rows uniformly at random (without replacement) among rows of one parity.

    Splitting a corpus by the parity of its 0-based row index keeps two disjoint pools: one
    for developing a lexicon (even rows), one kept for an honest evaluation (odd rows).

    Parameters
    ----------
    df : pandas.DataFrame
        The corpus with a 0-based integer index (the row number); kept as ``source_row``.
    n : int
        Rows to draw.
    parity : {"even", "odd", "any"}
        Pool of row indices to draw from. Rows with an empty text are never drawn.
    text_col, strata_col : str
        Text column and a column copied along (the category).
    seed : int
        Seed of ``numpy.random.default_rng``; the same inputs give the same rows.

    Returns
    -------
    pandas.DataFrame
        ``source_row``, the strata column and the text column, sorted by ``source_row``.

    Raises
    ------
    ValueError
        If the pool holds fewer than ``n`` rows or ``parity`` is unknown.
    """
    if parity not in ("even", "odd", "any"):
        raise ValueError(f"parity must be 'even', 'odd' or 'any', not {parity!r}")
    text = df[text_col].fillna("").astype(str)
    idx = df.index.to_numpy()
    ok = (text.str.strip().str.len() > 0).to_numpy().copy()
    if parity != "any":
        ok &= idx % 2 == (0 if parity == "even" else 1)
    pool = idx[ok]
    if len(pool) < n:
        raise ValueError(f"only {len(pool)} {parity} rows with text; cannot draw {n}")
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(pool, size=n, replace=False))
    return pd.DataFrame(
        {
            "source_row": take.astype(np.int64),
            strata_col: df.loc[take, strata_col].to_numpy(),
            text_col: text.loc[take].to_numpy(),
        }
    )


def precision_recall(
    truth: pd.DataFrame,
    predicted: pd.DataFrame,
    tags: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Precision, recall and F1 per tag from two aligned 0/1 tables.

    Parameters
    ----------
    truth, predicted : pandas.DataFrame
        Same index, one 0/1 column per tag.
    tags : sequence of str, optional
        Columns to score; all columns of ``truth`` by default.

    Returns
    -------
    pandas.DataFrame
        One row per tag: ``tag``, ``n``, ``positives``, ``predicted``, ``tp``, ``fp``, ``fn``,
        ``precision``, ``recall``, ``f1`` (NaN where undefined).
    """
    tags = list(truth.columns) if tags is None else list(tags)
    rows = []
    for tag in tags:
        t = truth[tag].astype(bool).to_numpy()
        p = predicted[tag].reindex(truth.index).fillna(0).astype(bool).to_numpy()
        tp = int((t & p).sum())
        fp = int((~t & p).sum())
        fn = int((t & ~p).sum())
        prec = tp / (tp + fp) if tp + fp else float("nan")
        rec = tp / (tp + fn) if tp + fn else float("nan")
        f1 = 2 * prec * rec / (prec + rec) if tp else (0.0 if tp + fp + fn else float("nan"))
        rows.append(
            {
                "tag": tag,
                "n": len(t),
                "positives": int(t.sum()),
                "predicted": int(p.sum()),
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "precision": prec,
                "recall": rec,
                "f1": f1,
            }
        )
    return pd.DataFrame(rows)


def evaluate_tagger(
    tagger: Tagger,
    labelled: pd.DataFrame,
    tags: Mapping[str, tuple[str, str]] | Sequence[str],
    *,
    text_col: str = "review",
) -> pd.DataFrame:
    """Score a tagger on a hand-labelled table.

    Parameters
    ----------
    tagger : Tagger
        The tagger to score.
    labelled : pandas.DataFrame
        Texts and one 0/1 column per tag.
    tags : mapping or sequence
        Label column -> ``(major, minor)``; a sequence of column names means each column is
        the id of a minor tag (unique across majors).
    text_col : str
        Column holding the text.

    Returns
    -------
    pandas.DataFrame
        As :func:`precision_recall`.
    """
    if not isinstance(tags, Mapping):
        tags = {c: tagger.lexicon.resolve(c) for c in tags}
    pred = tagger.indicators(labelled[text_col].tolist(), tags=list(tags.values()))
    pred.columns = list(tags.keys())
    pred.index = labelled.index
    return precision_recall(labelled[list(tags.keys())], pred)
