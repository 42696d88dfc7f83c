"""Text normalisation before matching: one code-point lookup table applied with numpy.

Every text is mapped character by character (so positions stay cheap to track):

* traditional -> simplified Chinese, from the character table shipped in
  ``lexicons/t2s_chars.tsv`` (generated from OpenCC's ``t2s`` conversion, Apache-2.0; see
  :func:`build_t2s_table`);
* full-width ASCII -> ASCII, ideographic space -> space, ASCII upper -> lower case;
* emoji, pictographs and other symbols -> space; zero-width characters, variation selectors and
  the BOM are deleted; control characters -> space;
* runs of white space and runs of the same punctuation mark collapse to one;
* pinyin annotations in brackets after a character (``標(biāo)``), a common artefact of
  scraped pages, are removed.

The lexicon's own words go through the same function, so a trigger written in either script
matches text in either script.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

__all__ = [
    "NormalizedBatch",
    "build_t2s_table",
    "normalize_batch",
    "normalize_text",
]

SEP = 0  # code point that separates texts in a batch; never part of a lexicon word
_DELETE = 0xFFFFFFFF
_SPACE = 0x20
_T2S_FILE = "t2s_chars.tsv"
_CJK_RANGES = ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00))

_TONE = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
_PINYIN_RX = re.compile(rf"\((?=[a-zü]*[{_TONE}])[a-z{_TONE}ü]{{1,7}}\)")

# Punctuation whose repeats collapse (after width folding).
_PUNCT = (
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~、。〈〉《》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟・…‥—–‘’“”·•"
)


def _load_t2s() -> dict[int, int]:
    text = resources.files("tierwise.tags").joinpath("lexicons", _T2S_FILE).read_text("utf-8")
    table: dict[int, int] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        trad, simp = line.split("\t")
        table[ord(trad)] = ord(simp)
    return table


@lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """Code-point map for the BMP and the punctuation/space mask of its output."""
    cp = np.arange(0x10000, dtype=np.uint32)
    # control characters -> space (keep SEP)
    cp[1:0x20] = _SPACE
    cp[0x7F:0xA0] = _SPACE
    cp[ord("A") : ord("Z") + 1] += 0x20
    # full-width ASCII and ideographic space
    cp[0xFF01:0xFF5F] = np.arange(0x21, 0x7F, dtype=np.uint32)
    cp[0xFF21:0xFF3B] = np.arange(ord("a"), ord("z") + 1, dtype=np.uint32)
    cp[0x3000] = _SPACE
    for a, b in ((0x2000, 0x200B), (0x2028, 0x2030), (0x205F, 0x2060)):
        cp[a:b] = _SPACE  # typographic spaces and separators
    cp[0xA0] = _SPACE
    # symbols, dingbats, arrows, geometric shapes, misc technical: emoji-like -> space
    for a, b in (
        (0x2190, 0x2200),
        (0x2300, 0x2400),
        (0x2460, 0x2800),
        (0x2900, 0x2C00),
        (0x3200, 0x3300),
        (0xE000, 0xF900),
    ):
        cp[a:b] = _SPACE
    # deleted: zero-width, joiners, variation selectors, BOM, soft hyphen, combining enclosures
    for a, b in ((0x200B, 0x2010), (0x2060, 0x2070), (0xFE00, 0xFE10), (0x20D0, 0x2100)):
        cp[a:b] = _DELETE
    cp[0xFEFF] = _DELETE
    cp[0xAD] = _DELETE
    for src, dst in _load_t2s().items():
        if src < 0x10000:
            cp[src] = dst
    punct = np.zeros(0x10000, dtype=bool)
    punct[[ord(c) for c in _PUNCT]] = True
    punct[_SPACE] = True
    cp.setflags(write=False)
    punct.setflags(write=False)
    return cp, punct


class NormalizedBatch:
    """Texts normalised and joined by a separator, with their offsets.

    Attributes
    ----------
    codes : numpy.ndarray
        The normalised texts joined by code point 0, as uint32 code points, with one extra
        separator in front (so ``codes[i + 1]`` is character ``i`` of :attr:`text`).
    starts, ends : numpy.ndarray
        Start and end offset of each text in :attr:`text`.
    """

    __slots__ = ("_text", "codes", "ends", "starts")

    def __init__(self, codes: np.ndarray, starts: np.ndarray, ends: np.ndarray):
        self.codes = codes
        self.starts = starts
        self.ends = ends
        self._text: str | None = None

    @property
    def text(self) -> str:
        """The normalised texts joined by ``"\\x00"`` (decoded on first use)."""
        if self._text is None:
            self._text = self.codes[1:].tobytes().decode("utf-32-le", "surrogatepass")
        return self._text

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> str:
        a, b = int(self.starts[i]), int(self.ends[i])
        return self.codes[a + 1 : b + 1].tobytes().decode("utf-32-le", "surrogatepass")


def _as_strings(texts: Iterable[Any]) -> list[str]:
    return [t if isinstance(t, str) else "" for t in texts]


def normalize_batch(texts: Sequence[Any]) -> NormalizedBatch:
    """Normalise many texts at once.

    Parameters
    ----------
    texts : sequence
        Strings; anything else (None, NaN) counts as an empty text.

    Returns
    -------
    NormalizedBatch
        The normalised texts and their offsets.
    """
    strings = _as_strings(texts)
    n = len(strings)
    joined = "\x00".join(strings)
    if joined.count("\x00") != max(n - 1, 0):
        joined = "\x00".join(s.replace("\x00", " ") for s in strings)
    if "(" in joined:
        joined = _PINYIN_RX.sub("", joined)
    cp_map, punct = _tables()
    raw = np.frombuffer(("\x00" + joined).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    bmp = raw < 0x10000
    out = np.where(bmp, cp_map[raw & 0xFFFF], raw)
    # astral planes: keep CJK extensions (planes 2-3), everything else (emoji ...) -> space
    astral = ~bmp
    if astral.any():
        out[astral & ((raw < 0x20000) | (raw >= 0x40000))] = _SPACE
    keep = out != _DELETE
    # collapse runs of the same punctuation / of spaces
    small = out < 0x10000
    is_p = np.zeros(len(out), dtype=bool)
    is_p[small] = punct[out[small]]
    rep = np.zeros(len(out), dtype=bool)
    rep[1:] = is_p[1:] & (out[1:] == out[:-1])
    keep &= ~rep
    if not keep.all():
        out = out[keep]
    codes = np.ascontiguousarray(out, dtype=np.uint32)
    seps = np.flatnonzero(codes[1:] == SEP)
    starts = np.empty(n, dtype=np.int64)
    ends = np.empty(n, dtype=np.int64)
    if n:
        starts[0] = 0
        starts[1:] = seps + 1
        ends[:-1] = seps
        ends[-1] = len(codes) - 1
    return NormalizedBatch(codes, starts, ends)


def normalize_text(text: Any) -> str:
    """Normalise one text (see the module docstring for what changes).

    Parameters
    ----------
    text : str or None
        The text; None gives ``""``.

    Returns
    -------
    str
        The normalised text.
    """
    return normalize_batch([text]).text


def build_t2s_table(converter: Any = None) -> str:
    """Regenerate the content of ``lexicons/t2s_chars.tsv`` from OpenCC.

    Parameters
    ----------
    converter : object, optional
        Anything with ``convert(str) -> str`` doing traditional -> simplified; by default
        ``opencc.OpenCC("t2s")`` (PyPI package ``opencc``, or ``opencc-python-reimplemented``).

    Returns
    -------
    str
        The file content: one ``traditional<TAB>simplified`` line per changed character of the
        CJK blocks of the Basic Multilingual Plane, chains resolved.
    """
    if converter is None:
        import opencc  # optional: only needed to regenerate the table

        converter = opencc.OpenCC("t2s")
    pairs: dict[str, str] = {}
    for a, b in _CJK_RANGES:
        for i in range(a, b):
            ch = chr(i)
            out = converter.convert(ch)
            if out != ch and len(out) == 1:
                pairs[ch] = out
    for k, v in pairs.items():
        seen = {k}
        while v in pairs and v not in seen:
            seen.add(v)
            v = pairs[v]
        pairs[k] = v
    lines = [
        "# traditional -> simplified, one character each; generated by",
        "# tierwise.tags.normalize.build_t2s_table() from OpenCC t2s (Apache-2.0)",
    ]
    lines += [f"{k}\t{v}" for k, v in sorted(pairs.items())]
    return "\n".join(lines) + "\n"
