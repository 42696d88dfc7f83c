"""The tagger: lexicon words found in texts -> (major, minor, confidence, polarity, evidence).

How a batch is tagged (all steps vectorised over the whole batch):

1. texts are normalised and joined (:func:`tierwise.tags.normalize.normalize_batch`);
2. one Aho–Corasick pass (``pyahocorasick``) finds every occurrence of every trigger and
   exclusion word, overlapping ones included;
3. a trigger overlapping an exclusion word of the same tag is dropped, unless the trigger is
   the longer and contains it ("宝贵" stops "贵"; "送给我妈" is not stopped by "送给我");
4. negation: a negator (不 没 无 未 别 非 莫 勿 甭) right before the trigger, or before one or
   two degree/copula characters (是 很 太 算 怎 么 …), negates it ("不贵", "不太便宜",
   "不是给孩子买的", "没有赠品"); "要不" is not a negation. Per the tag's ``negation`` mode a
   negated trigger flips its polarity (``polarity``), is dropped (``drop``) or is kept as is
   (``ignore``);
5. within a tag and text, a trigger inside a longer trigger is dropped ("太贵" and "贵" count
   once) and each distinct word counts once;
6. confidence = ``1 - prod(1 - weight)`` over the distinct words; polarity = sign of the sum
   of the polarities; a tag is reported when confidence >= its ``min_confidence`` (the
   tagger's by default).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tierwise.tags.lexicon import Lexicon, default_lexicon
from tierwise.tags.normalize import NormalizedBatch, normalize_batch

__all__ = [
    "TAG_TABLE_COLUMNS",
    "TagHit",
    "Tagger",
    "available_backends",
    "tag_table",
    "tag_texts",
]

TAG_TABLE_COLUMNS = ("row", "major", "minor", "confidence", "polarity", "evidence")

_NEG = "不没无未别非莫勿甭"
_BETWEEN = "是很太算怎么那这会够大有特别十分再也都用"
_NEG_MASK = np.zeros(0x10000, dtype=bool)
_NEG_MASK[[ord(c) for c in _NEG]] = True
_BETWEEN_MASK = np.zeros(0x10000, dtype=bool)
_BETWEEN_MASK[[ord(c) for c in _BETWEEN]] = True
_MODE_CODE = {"polarity": 0, "drop": 1, "ignore": 2}

Backend = Literal["auto", "ahocorasick_rs", "pyahocorasick", "regex"]


@dataclass(frozen=True)
class TagHit:
    """One tag found in one text.

    Attributes
    ----------
    major, minor : str
        Ids of the major category and of the minor tag.
    confidence : float
        ``1 - prod(1 - weight)`` over the distinct trigger words found.
    polarity : int
        +1 satisfied, -1 dissatisfied, 0 neutral or not applicable (persona tags).
    evidence : tuple of str
        The trigger words found (normalised), in text order.
    """

    major: str
    minor: str
    confidence: float
    polarity: int
    evidence: tuple[str, ...]

    @property
    def tag(self) -> str:
        """``"major/minor"``."""
        return f"{self.major}/{self.minor}"


def _to_list(texts: Any) -> list[Any]:
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, not one string (use tag_text)")
    if isinstance(texts, (pa.Array, pa.ChunkedArray)):
        return texts.to_pylist()
    if isinstance(texts, (pd.Series, pd.Index)):
        return texts.tolist()
    if isinstance(texts, np.ndarray):
        return texts.tolist()
    return list(texts)


def _distinct_texts(texts: Any) -> tuple[np.ndarray, list[Any]]:
    """Each text's code (-1: missing) and the distinct texts, in order of first appearance;
    string columns are encoded by Arrow without a Python object per text."""
    arr = None
    if isinstance(texts, (pa.Array, pa.ChunkedArray)):
        arr = texts
    elif isinstance(texts, pd.Series) and texts.dtype != object:
        try:
            arr = pa.array(texts, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arr = None
    if arr is not None and (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        encoded = pc.dictionary_encode(arr)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.unify_dictionaries().combine_chunks()
        codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        return codes, encoded.dictionary.to_pylist()
    codes, distinct = pd.factorize(pd.Series(_to_list(texts), dtype=object))
    return codes, distinct.tolist()


def _spread_rows(res: dict[str, Any], codes: np.ndarray, n_distinct: int) -> dict[str, Any]:
    """Tag rows of the distinct texts (sorted by ``row``) given to every text: ``codes[i]``
    is the distinct text of text ``i`` (-1: none, no tags); sorted by the texts' rows."""
    counts = np.bincount(res["row"], minlength=max(n_distinct, 1))
    starts = np.cumsum(counts) - counts
    have = codes >= 0
    safe = np.where(have, codes, 0)
    per_text = np.where(have, counts[safe], 0)
    total = int(per_text.sum())
    first = np.repeat(starts[safe], per_text)
    src = first + np.arange(total) - np.repeat(np.cumsum(per_text) - per_text, per_text)
    out = {k: v[src] for k, v in res.items()}
    out["row"] = np.repeat(np.arange(len(codes)), per_text)
    return out


def _mask_lookup(mask: np.ndarray, codes: np.ndarray) -> np.ndarray:
    small = codes < 0x10000
    return np.where(small, mask[codes & 0xFFFF], False)


class _RsMatcher:
    """``ahocorasick_rs`` (Rust) over the UTF-32 code units: no decoding, char offset = byte/4."""

    def __init__(self, words: Sequence[str]):
        import ahocorasick_rs

        self._ac = (
            ahocorasick_rs.BytesAhoCorasick([w.encode("utf-32-le") for w in words])
            if len(words)
            else None
        )

    def find(self, batch: NormalizedBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        hay = batch.codes[1:]
        if self._ac is None or not len(hay):
            return _no_match()
        m = self._ac.find_matches_as_indexes(memoryview(hay).cast("B"), overlapping=True)
        flat = np.fromiter(itertools.chain.from_iterable(m), dtype=np.int64, count=3 * len(m))
        wid, sb, eb = flat[0::3], flat[1::3], flat[2::3]
        ok = (sb & 3) == 0  # a match not aligned on a code point is not a match
        if not ok.all():
            wid, sb, eb = wid[ok], sb[ok], eb[ok]
        return sb >> 2, eb >> 2, wid


class _PyAhoMatcher:
    """``pyahocorasick`` (C) over the decoded text."""

    def __init__(self, words: Sequence[str]):
        import ahocorasick

        self._a = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        for i, w in enumerate(words):
            self._a.add_word(w, i)
        if len(words):
            self._a.make_automaton()
        self._wlen = np.array([len(w) for w in words], dtype=np.int64)

    def find(self, batch: NormalizedBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        text = batch.text
        if not len(self._wlen) or not text:
            return _no_match()
        flat = np.fromiter(itertools.chain.from_iterable(self._a.iter(text)), dtype=np.int64)
        end, wid = flat[0::2] + 1, flat[1::2]
        return end - self._wlen[wid], end, wid


class _RegexMatcher:
    """Standard library only: a trie-shaped regex in a lookahead; sees only the longest word
    starting at each position."""

    def __init__(self, words: Sequence[str]):
        trie: dict[str, Any] = {}
        for w in words:
            node = trie
            for ch in w:
                node = node.setdefault(ch, {})
            node[""] = True
        self._ids = {w: i for i, w in enumerate(words)}
        self._rx = re.compile(f"(?=({self._pattern(trie)}))") if len(words) else None

    def _pattern(self, node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + self._pattern(child) for ch, child in node.items() if ch != ""]
        if not alts:
            return ""
        inner = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{inner})?" if "" in node else inner

    def find(self, batch: NormalizedBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        text = batch.text
        if self._rx is None or not text:
            return _no_match()
        ids = self._ids
        starts: list[int] = []
        ends: list[int] = []
        wids: list[int] = []
        for m in self._rx.finditer(text):
            w = m.group(1)
            starts.append(m.start())
            ends.append(m.start() + len(w))
            wids.append(ids[w])
        return (
            np.asarray(starts, dtype=np.int64),
            np.asarray(ends, dtype=np.int64),
            np.asarray(wids, dtype=np.int64),
        )


def _no_match() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    e = np.empty(0, dtype=np.int64)
    return e, e.copy(), e.copy()


_MATCHERS: dict[str, type] = {
    "ahocorasick_rs": _RsMatcher,
    "pyahocorasick": _PyAhoMatcher,
    "regex": _RegexMatcher,
}


def available_backends() -> list[str]:
    """Matching back-ends usable here, fastest first."""
    out = []
    for name, mod in (("ahocorasick_rs", "ahocorasick_rs"), ("pyahocorasick", "ahocorasick")):
        try:
            __import__(mod)
        except ImportError:
            continue
        out.append(name)
    return [*out, "regex"]


class Tagger:
    """Tag texts with a lexicon.

    Parameters
    ----------
    lexicon : Lexicon, optional
        The lexicon; :func:`default_lexicon` by default.
    min_confidence : float
        Report a tag from this confidence on, unless the tag sets its own.
    chunk_size : int
        Texts normalised and matched at once (bounds memory).
    backend : {"auto", "ahocorasick_rs", "pyahocorasick", "regex"}
        Multi-word matcher. ``auto`` takes the first available of ``ahocorasick_rs`` (Rust
        Aho–Corasick, fastest), ``pyahocorasick`` (C) and ``regex`` (standard library only,
        slower, and it sees only the longest word starting at each position). The two
        Aho–Corasick back-ends give identical results.

    Examples
    --------
    >>> t = Tagger()
    >>> [h.tag for h in t.tag_text("给孩子买的，价格不贵")]
    ['concern/price_sensitive', 'persona/parent']
    """

    def __init__(
        self,
        lexicon: Lexicon | None = None,
        *,
        min_confidence: float = 0.5,
        chunk_size: int = 200_000,
        backend: Backend = "auto",
    ):
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError("min_confidence must be in [0, 1]")
        if chunk_size < 1:
            raise ValueError("chunk_size must be >= 1")
        self.lexicon = default_lexicon() if lexicon is None else lexicon
        self.min_confidence = float(min_confidence)
        self.chunk_size = int(chunk_size)
        if backend == "auto":
            backend = available_backends()[0]  # type: ignore[assignment]
        if backend not in _MATCHERS:
            raise ValueError(f"unknown backend {backend!r}; use one of {sorted(_MATCHERS)}")
        self.backend: str = backend
        self._compile()

    # ------------------------------------------------------------ compilation
    def _compile(self) -> None:
        lex = self.lexicon
        rules = lex.tags
        self.tag_keys: list[tuple[str, str]] = [r.key for r in rules]
        vocab: dict[str, int] = {}
        trig: list[tuple[int, int, float, int, bool]] = []  # (wid, tag, weight, pol, negatable)
        excl: list[tuple[int, int]] = []
        for t, r in enumerate(rules):
            for w, tr in r.triggers.items():
                wid = vocab.setdefault(w, len(vocab))
                trig.append((wid, t, tr.weight, tr.polarity, tr.negatable))
            for w in r.exclude:
                wid = vocab.setdefault(w, len(vocab))
                excl.append((wid, t))
        self.words = list(vocab)
        self._words_arr = np.array([*self.words, ""], dtype=object)[:-1]
        nv = len(self.words)
        self._wlen = np.array([len(w) for w in self.words], dtype=np.int64)
        trig.sort()
        excl.sort()
        tw = np.array([x[0] for x in trig], dtype=np.int64)
        self._t_ptr = np.searchsorted(tw, np.arange(nv + 1))
        self._t_tag = np.array([x[1] for x in trig], dtype=np.int64)
        self._t_w = np.array([min(x[2], 0.999999) for x in trig], dtype=np.float64)
        self._t_pol = np.array([x[3] for x in trig], dtype=np.int64)
        self._t_neg = np.array([x[4] for x in trig], dtype=bool)
        xw = np.array([x[0] for x in excl], dtype=np.int64)
        self._x_ptr = np.searchsorted(xw, np.arange(nv + 1))
        self._x_tag = np.array([x[1] for x in excl], dtype=np.int64)
        self._mode = np.array([_MODE_CODE[lex.negation_mode(r)] for r in rules], dtype=np.int64)
        self._min_conf = np.array(
            [np.nan if r.min_confidence is None else r.min_confidence for r in rules]
        )
        self._maxlen = int(self._wlen.max()) if nv else 1
        self._matcher = _MATCHERS[self.backend](self.words)

    # ------------------------------------------------------------ core
    @staticmethod
    def _expand(ptr: np.ndarray, wid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Match index and entry index for every (match, lexicon entry) pair."""
        lo = ptr[wid]
        cnt = ptr[wid + 1] - lo
        match_idx = np.repeat(np.arange(len(wid)), cnt)
        offs = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        return match_idx, np.repeat(lo, cnt) + offs

    def _tag_batch(self, batch: NormalizedBatch, min_conf: float) -> dict[str, Any]:
        start, end, wid = self._matcher.find(batch)

        mi, ei = self._expand(self._t_ptr, wid)
        s, e, w = start[mi], end[mi], wid[mi]
        tag = self._t_tag[ei]
        weight = self._t_w[ei]
        pol = self._t_pol[ei]
        negatable = self._t_neg[ei]
        keep = np.ones(len(s), dtype=bool)

        # exclusions of the same tag overlapping the trigger (unless the trigger contains it)
        xmi, xei = self._expand(self._x_ptr, wid)
        if len(xmi) and len(s):
            L = len(batch.codes) + self._maxlen + 2
            key = tag * L + s
            order = np.argsort(key, kind="stable")
            skey = key[order]
            xs, xe, xt = start[xmi], end[xmi], self._x_tag[xei]
            lo = np.searchsorted(skey, xt * L + xs - self._maxlen, side="left")
            hi = np.searchsorted(skey, xt * L + xe, side="left")
            cnt = hi - lo
            if cnt.sum():
                xi = np.repeat(np.arange(len(xs)), cnt)
                ti = order[
                    np.repeat(lo, cnt) + np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
                ]
                overlap = (s[ti] < xe[xi]) & (e[ti] > xs[xi])
                contains = (
                    (s[ti] <= xs[xi]) & (e[ti] >= xe[xi]) & ((e[ti] - s[ti]) > (xe[xi] - xs[xi]))
                )
                keep[ti[overlap & ~contains]] = False

        # negation
        codes = batch.codes
        i1 = s  # codes[s] is the character before the trigger (codes has one leading SEP)
        c1 = codes[i1]
        c2 = codes[np.maximum(i1 - 1, 0)]
        c3 = codes[np.maximum(i1 - 2, 0)]
        n1 = _mask_lookup(_NEG_MASK, c1)
        b1 = _mask_lookup(_BETWEEN_MASK, c1)
        n2 = b1 & _mask_lookup(_NEG_MASK, c2)
        n3 = b1 & _mask_lookup(_BETWEEN_MASK, c2) & _mask_lookup(_NEG_MASK, c3)
        negated = (n1 | n2 | n3) & negatable
        negpos = np.where(n1, i1, np.where(n2, i1 - 1, i1 - 2))
        yao_bu = (codes[np.maximum(negpos, 0)] == ord("不")) & (
            codes[np.maximum(negpos - 1, 0)] == ord("要")
        )
        negated &= ~yao_bu
        mode = self._mode[tag]
        keep &= ~(negated & (mode == 1))
        pol = np.where(negated & (mode == 0), -pol, pol)

        s, e, w, tag, weight, pol = (a[keep] for a in (s, e, w, tag, weight, pol))

        # containment within (tag, text): sort by tag, start, longer first
        L = len(batch.codes) + 2
        span = (e - s).astype(np.int64)
        order = np.lexsort((-span, s, tag))
        s, e, w, tag, weight, pol = (a[order] for a in (s, e, w, tag, weight, pol))
        row = np.searchsorted(batch.starts, s, side="right") - 1
        if len(s):
            grp_new = np.ones(len(s), dtype=bool)
            grp_new[1:] = (tag[1:] != tag[:-1]) | (row[1:] != row[:-1])
            gid = np.cumsum(grp_new) - 1
            ekey = gid * L + e
            cm = np.maximum.accumulate(ekey)
            prev = np.empty_like(cm)
            prev[0] = -1
            prev[1:] = cm[:-1]
            contained = prev >= ekey
            # identical span repeated (same word twice at one place cannot happen; guard)
            keep2 = ~contained
            # one count per distinct word within the group
            k = gid[keep2] * (len(self.words) + 1) + w[keep2]
            _, first = np.unique(k, return_index=True)
            idx = np.flatnonzero(keep2)[np.sort(first)]
            s, w, tag, weight, pol, row = (a[idx] for a in (s, w, tag, weight, pol, row))

        # aggregate per (row, tag); groups are contiguous in (tag, start) order
        if len(s):
            new = np.ones(len(s), dtype=bool)
            new[1:] = (tag[1:] != tag[:-1]) | (row[1:] != row[:-1])
            bounds = np.flatnonzero(new)
            logs = np.add.reduceat(np.log1p(-weight), bounds)
            conf = 1.0 - np.exp(logs)
            psum = np.add.reduceat(pol, bounds)
            g_tag = tag[bounds]
            g_row = row[bounds]
            thr = self._min_conf[g_tag]
            thr = np.where(np.isnan(thr), min_conf, thr)
            ok = conf >= thr - 1e-12
            ends_b = np.append(bounds[1:], len(s))
            sel = np.flatnonzero(ok)
            ev = self._words_arr[w[bounds[sel]]]  # one-word evidence: vectorised
            multi = np.flatnonzero(ends_b[sel] - bounds[sel] > 1)
            if len(multi):
                words = self.words
                wl = w.tolist()
                for k, a, b in zip(
                    multi.tolist(),
                    bounds[sel[multi]].tolist(),
                    ends_b[sel[multi]].tolist(),
                    strict=True,
                ):
                    ev[k] = "|".join([words[j] for j in wl[a:b]])
            g_row, g_tag, conf, psum = g_row[ok], g_tag[ok], conf[ok], psum[ok]
            order = np.lexsort((g_tag, g_row))
            return {
                "row": g_row[order],
                "tag": g_tag[order],
                "confidence": conf[order],
                "polarity": np.sign(psum[order]).astype(np.int8),
                "evidence": ev[order],
            }
        return {
            "row": np.empty(0, np.int64),
            "tag": np.empty(0, np.int64),
            "confidence": np.empty(0, np.float64),
            "polarity": np.empty(0, np.int8),
            "evidence": np.empty(0, dtype=object),
        }

    def _run(self, texts: Any, min_confidence: float | None) -> tuple[dict[str, Any], int]:
        mc = self.min_confidence if min_confidence is None else float(min_confidence)
        # each distinct text is tagged once (a text's tags depend on nothing else)
        codes, distinct = _distinct_texts(texts)
        parts = []
        for off in range(0, len(distinct), self.chunk_size):
            chunk = distinct[off : off + self.chunk_size]
            res = self._tag_batch(normalize_batch(chunk), mc)
            res["row"] = res["row"] + off
            parts.append(res)
        if not parts:
            parts.append(self._tag_batch(normalize_batch([]), mc))
        out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        n = len(codes)
        if len(distinct) == n and (codes == np.arange(n)).all():
            return out, n
        return _spread_rows(out, codes, len(distinct)), n

    # ------------------------------------------------------------ public
    def tag_table(
        self,
        texts: Any,
        *,
        min_confidence: float | None = None,
        output: Literal["pandas", "arrow"] = "pandas",
        names: bool = False,
    ) -> pd.DataFrame | pa.Table:
        """Tags of many texts as a long table.

        Parameters
        ----------
        texts : sequence of str, pandas.Series, numpy array or pyarrow array
            The texts; None/NaN count as empty.
        min_confidence : float, optional
            Overrides the tagger's threshold for this call (tags with their own keep it).
        output : {"pandas", "arrow"}
            Kind of table returned.
        names : bool
            Add ``major_zh``, ``minor_zh`` and ``minor_en`` display columns.

        Returns
        -------
        pandas.DataFrame or pyarrow.Table
            One row per (text, tag): ``row`` (position of the text in ``texts``), ``major``,
            ``minor`` (categorical / dictionary), ``confidence``, ``polarity`` (int8),
            ``evidence`` (trigger words joined by ``|``); sorted by row.
        """
        res, _ = self._run(texts, min_confidence)
        majors = [k[0] for k in self.tag_keys]
        minors = [k[1] for k in self.tag_keys]
        maj_cats, min_cats = _uniq(majors), _uniq(minors)
        maj_code = np.array([maj_cats.index(m) for m in majors], dtype=np.int32)
        min_code = np.array([min_cats.index(m) for m in minors], dtype=np.int32)
        tag = res["tag"]
        if output == "arrow":
            cols: dict[str, Any] = {
                "row": pa.array(res["row"], pa.int64()),
                "major": pa.DictionaryArray.from_arrays(
                    pa.array(maj_code[tag], pa.int32()), pa.array(maj_cats, pa.string())
                ),
                "minor": pa.DictionaryArray.from_arrays(
                    pa.array(min_code[tag], pa.int32()), pa.array(min_cats, pa.string())
                ),
                "confidence": pa.array(res["confidence"], pa.float64()),
                "polarity": pa.array(res["polarity"], pa.int8()),
                "evidence": pa.array(res["evidence"].tolist(), pa.string()),
            }
            if names:
                for col, vals in self._name_columns().items():
                    cats = _uniq(vals)
                    code = np.array([cats.index(v) for v in vals], dtype=np.int32)
                    cols[col] = pa.DictionaryArray.from_arrays(
                        pa.array(code[tag], pa.int32()), pa.array(cats, pa.string())
                    )
            return pa.table(cols)
        df = pd.DataFrame(
            {
                "row": res["row"].astype(np.int64),
                "major": pd.Categorical.from_codes(maj_code[tag], maj_cats),
                "minor": pd.Categorical.from_codes(min_code[tag], min_cats),
                "confidence": res["confidence"].astype(np.float64),
                "polarity": res["polarity"].astype(np.int8),
                "evidence": res["evidence"],
            }
        )
        if names:
            for col, vals in self._name_columns().items():
                df[col] = pd.Categorical([vals[i] for i in tag.tolist()], categories=_uniq(vals))
        return df

    def _name_columns(self) -> dict[str, list[str]]:
        lex = self.lexicon
        return {
            "major_zh": [lex.majors[m].zh for m, _ in self.tag_keys],
            "minor_zh": [lex.rules[k].zh for k in self.tag_keys],
            "minor_en": [lex.rules[k].en for k in self.tag_keys],
        }

    def tag(self, texts: Any, *, min_confidence: float | None = None) -> list[list[TagHit]]:
        """Tags of each text.

        Parameters
        ----------
        texts : sequence of str, pandas.Series, numpy array or pyarrow array
            The texts.
        min_confidence : float, optional
            Overrides the tagger's threshold for this call.

        Returns
        -------
        list of list of TagHit
            One list per text, in the order of ``texts``.
        """
        res, n = self._run(texts, min_confidence)
        out: list[list[TagHit]] = [[] for _ in range(n)]
        for r, t, c, p, ev in zip(
            res["row"].tolist(),
            res["tag"].tolist(),
            res["confidence"].tolist(),
            res["polarity"].tolist(),
            res["evidence"].tolist(),
            strict=True,
        ):
            major, minor = self.tag_keys[t]
            out[r].append(TagHit(major, minor, c, p, tuple(ev.split("|"))))
        return out

    def tag_text(self, text: str | None, *, min_confidence: float | None = None) -> list[TagHit]:
        """Tags of one text (see :meth:`tag`)."""
        return self.tag([text], min_confidence=min_confidence)[0]

    def indicators(
        self,
        texts: Any,
        *,
        tags: Iterable[tuple[str, str] | str] | None = None,
        min_confidence: float | None = None,
    ) -> pd.DataFrame:
        """0/1 matrix: one row per text, one column ``"major/minor"`` per tag.

        Parameters
        ----------
        texts : sequence of str, pandas.Series, numpy array or pyarrow array
            The texts.
        tags : iterable, optional
            ``(major, minor)`` pairs or names (see :meth:`Lexicon.resolve`); all by default.
        min_confidence : float, optional
            Overrides the tagger's threshold for this call.

        Returns
        -------
        pandas.DataFrame
            int8 columns in the order of ``tags``.
        """
        res, n = self._run(texts, min_confidence)
        keys = (
            self.tag_keys
            if tags is None
            else [self.lexicon.resolve(t) if isinstance(t, str) else tuple(t) for t in tags]
        )
        pos = {k: i for i, k in enumerate(self.tag_keys)}
        mat = np.zeros((n, len(self.tag_keys)), dtype=np.int8)
        mat[res["row"], res["tag"]] = 1
        cols = []
        for k in keys:
            if k not in pos:
                raise KeyError(f"no enabled tag {k[0]}/{k[1]}")
            cols.append(pos[k])
        return pd.DataFrame(mat[:, cols], columns=[f"{a}/{b}" for a, b in keys])


def _uniq(vals: list[str]) -> list[str]:
    return list(dict.fromkeys(vals))


_DEFAULT: dict[str, Tagger] = {}


def _default_tagger() -> Tagger:
    if "t" not in _DEFAULT:
        _DEFAULT["t"] = Tagger()
    return _DEFAULT["t"]


def tag_texts(texts: Any, *, tagger: Tagger | None = None) -> list[list[TagHit]]:
    """Tags of each text with the default tagger (see :meth:`Tagger.tag`)."""
    return (tagger or _default_tagger()).tag(texts)


def tag_table(
    texts: Any,
    *,
    tagger: Tagger | None = None,
    output: Literal["pandas", "arrow"] = "pandas",
) -> pd.DataFrame | pa.Table:
    """Long tag table with the default tagger (see :meth:`Tagger.tag_table`)."""
    return (tagger or _default_tagger()).tag_table(texts, output=output)
