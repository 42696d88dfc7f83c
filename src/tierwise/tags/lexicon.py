"""Tag lexicons: data files that say which words give which tag.

A lexicon file is YAML::

    version: 1
    majors:                       # major categories (大类)
      - id: persona
        zh: 人群
        en: persona
        negation: drop            # a negated trigger ("不是给孩子买的") gives no tag
    tags:                         # minor tags (小类), each under one major
      - major: persona
        id: parent
        zh: 宝妈/家长
        en: parent
        triggers:
          - words: [给孩子买, "给(儿子|女儿)买"]
            weight: 0.9           # evidence strength in (0, 1]
          - words: [孩子]
            weight: 0.4           # weak: needs a second piece of evidence
        exclude: [孩子们]         # a trigger overlapping one of these is ignored
        remove: []                # words to drop from earlier files' triggers

The built-in files are loaded first; merchant files are merged on top of them in order: a new
``(major, id)`` adds a tag (it needs ``zh`` and ``en``), an existing one gets the new triggers
and exclusions appended, ``remove`` drops trigger words, and any display field given replaces
the earlier one. ``enabled: false`` switches a tag off.

Word syntax: literal text, ``(a|b|)`` for alternatives (an empty one makes the group optional),
``\\d`` for any ASCII digit, ``\\h`` for any Chinese numeral character (一 … 十 百 千 万 两 几
半); ``\\(``, ``\\)``, ``\\|`` and ``\\\\`` are the literal characters.
Words are normalised like texts (traditional -> simplified, full width -> ASCII, lower case).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tierwise.errors import ConfigError
from tierwise.tags.normalize import normalize_batch

__all__ = [
    "CHINESE_NUMERALS",
    "Lexicon",
    "MajorCategory",
    "TagRule",
    "Trigger",
    "default_lexicon",
    "expand_pattern",
    "load_lexicon",
]

NegationMode = Literal["polarity", "drop", "ignore"]
_ID = r"^[a-z][a-z0-9_]*$"
MAX_EXPANSIONS = 4096
#: Characters that ``\\h`` stands for in a pattern: Chinese numerals, including 两 (two),
#: 几 (a few) and 半 (half).
CHINESE_NUMERALS = "〇零一二两三四五六七八九十百千万几半"


# ---------------------------------------------------------------- file schema (pydantic)
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _TriggerGroup(_Strict):
    words: list[str] = Field(min_length=1)
    polarity: Literal[-1, 0, 1] = 0
    weight: float = Field(0.8, gt=0.0, le=1.0)
    negatable: bool = True


class _MajorSpec(_Strict):
    id: str = Field(pattern=_ID)
    zh: str | None = None
    en: str | None = None
    description: str | None = None
    negation: NegationMode | None = None


class _TagSpec(_Strict):
    major: str = Field(pattern=_ID)
    id: str = Field(pattern=_ID)
    zh: str | None = None
    en: str | None = None
    description: str | None = None
    negation: NegationMode | None = None
    min_confidence: float | None = Field(None, ge=0.0, le=1.0)
    enabled: bool | None = None
    triggers: list[_TriggerGroup] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)


class _LexiconFile(_Strict):
    version: Literal[1] = 1
    majors: list[_MajorSpec] = Field(default_factory=list)
    tags: list[_TagSpec] = Field(default_factory=list)


# ---------------------------------------------------------------- public, compiled form
@dataclass(frozen=True)
class Trigger:
    """One trigger word of a tag, after expansion and normalisation."""

    word: str
    polarity: int = 0
    weight: float = 0.8
    negatable: bool = True
    source: str = ""


@dataclass(frozen=True)
class MajorCategory:
    """A major category (大类), e.g. 关注点 concern or 人群 persona."""

    id: str
    zh: str
    en: str
    negation: NegationMode = "polarity"
    description: str = ""


@dataclass
class TagRule:
    """A minor tag (小类) with its triggers and exclusions."""

    major: str
    id: str
    zh: str
    en: str
    description: str = ""
    negation: NegationMode | None = None
    min_confidence: float | None = None
    enabled: bool = True
    triggers: dict[str, Trigger] = field(default_factory=dict)
    exclude: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[str, str]:
        """``(major, id)``."""
        return (self.major, self.id)


def expand_pattern(pattern: str) -> list[str]:
    """Expand a trigger pattern into the literal words it stands for.

    Parameters
    ----------
    pattern : str
        Literal text with ``(a|b|)`` alternatives, ``\\d`` (an ASCII digit) and ``\\h`` (a
        Chinese numeral character, see :data:`CHINESE_NUMERALS`).

    Returns
    -------
    list of str
        The literal words, in order, without duplicates.

    Raises
    ------
    ValueError
        On unbalanced or nested brackets, a dangling escape, or more than
        ``MAX_EXPANSIONS`` words.
    """
    digits = [str(d) for d in range(10)]
    numerals = list(CHINESE_NUMERALS)

    def product(tokens: list[list[str]]) -> list[str]:
        total = 1
        for tok in tokens:
            total *= len(tok)
        if total > MAX_EXPANSIONS:
            raise ValueError(f"{pattern!r} expands to {total} words (at most {MAX_EXPANSIONS})")
        return ["".join(c) for c in itertools.product(*tokens)]

    parts: list[list[str]] = []  # one list of options per position
    alt: list[list[str]] | None = None  # tokens of the current alternative inside brackets
    options: list[str] = []  # finished alternatives of the current bracket group
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        target = parts if alt is None else alt
        if ch == "\\":
            if i + 1 >= len(pattern):
                raise ValueError(f"dangling '\\' in {pattern!r}")
            nxt = pattern[i + 1]
            if nxt == "d":
                target.append(digits)
            elif nxt == "h":
                target.append(numerals)
            elif nxt in "()|\\":
                target.append([nxt])
            else:
                raise ValueError(f"unknown escape '\\{nxt}' in {pattern!r}")
            i += 2
            continue
        if ch == "(":
            if alt is not None:
                raise ValueError(f"nested '(' in {pattern!r}")
            alt, options = [], []
        elif ch == ")":
            if alt is None:
                raise ValueError(f"unbalanced ')' in {pattern!r}")
            options.extend(product(alt))
            parts.append(list(dict.fromkeys(options)))
            alt = None
        elif ch == "|":
            if alt is None:
                raise ValueError(f"'|' outside brackets in {pattern!r}")
            options.extend(product(alt))
            alt = []
        else:
            target.append([ch])
        i += 1
    if alt is not None:
        raise ValueError(f"unbalanced '(' in {pattern!r}")
    words = product(parts)
    out = dict.fromkeys(words)
    return [w for w in out if w]


class Lexicon:
    """Merged, validated tag lexicon.

    Build it with :func:`load_lexicon` or :func:`default_lexicon`.

    Attributes
    ----------
    majors : dict
        Major id -> :class:`MajorCategory`.
    rules : dict
        ``(major, id)`` -> :class:`TagRule`, in definition order (disabled ones included).
    sources : list of str
        The files merged, in order.
    """

    def __init__(
        self,
        majors: Mapping[str, MajorCategory],
        rules: Mapping[tuple[str, str], TagRule],
        sources: Iterable[str] = (),
    ):
        self.majors = dict(majors)
        self.rules = dict(rules)
        self.sources = list(sources)

    @property
    def tags(self) -> list[TagRule]:
        """Enabled tags, in definition order."""
        return [r for r in self.rules.values() if r.enabled]

    def negation_mode(self, rule: TagRule) -> NegationMode:
        """How negation acts on ``rule``: its own setting, else its major's."""
        return rule.negation or self.majors[rule.major].negation

    def resolve(self, name: str) -> tuple[str, str]:
        """``(major, minor)`` from ``"major/minor"`` or a minor id unique across majors.

        Raises
        ------
        KeyError
            If no enabled tag, or more than one, has that name.
        """
        if "/" in name:
            major, minor = name.split("/", 1)
            if (major, minor) in self.rules and self.rules[(major, minor)].enabled:
                return (major, minor)
            raise KeyError(f"no tag {name!r}")
        hits = [r.key for r in self.tags if r.id == name]
        if len(hits) != 1:
            raise KeyError(f"no tag {name!r}" if not hits else f"{name!r} is ambiguous: {hits}")
        return hits[0]

    def names(self) -> pd.DataFrame:
        """Display names: one row per enabled tag.

        Returns
        -------
        pandas.DataFrame
            ``major``, ``minor``, ``major_zh``, ``major_en``, ``minor_zh``, ``minor_en``,
            ``description``, ``n_triggers``.
        """
        rows = []
        for r in self.tags:
            m = self.majors[r.major]
            rows.append(
                {
                    "major": r.major,
                    "minor": r.id,
                    "major_zh": m.zh,
                    "major_en": m.en,
                    "minor_zh": r.zh,
                    "minor_en": r.en,
                    "description": r.description,
                    "n_triggers": len(r.triggers),
                }
            )
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return f"Lexicon({len(self.tags)} tags, {len(self.majors)} majors, sources={self.sources})"


# ---------------------------------------------------------------- loading and merging
def _default_paths() -> list[Any]:
    root = resources.files("tierwise.tags").joinpath("lexicons")
    return sorted(
        (p for p in root.iterdir() if p.name.endswith((".yaml", ".yml"))), key=lambda p: p.name
    )


def _fmt_loc(raw: Any, loc: tuple[Any, ...]) -> str:
    """``tags[3] (persona/student): triggers[0].weight`` from a pydantic error location."""
    head = ""
    rest = list(loc)
    if len(loc) >= 2 and loc[0] in ("tags", "majors") and isinstance(loc[1], int):
        head = f"{loc[0]}[{loc[1]}]"
        try:
            entry = raw[loc[0]][loc[1]]
        except (KeyError, IndexError, TypeError):
            entry = None
        if isinstance(entry, dict):
            label = "/".join(str(entry[k]) for k in ("major", "id") if k in entry)
            if label:
                head += f" ({label})"
        rest = rest[2:]
    parts: list[str] = []
    for item in rest:
        if isinstance(item, int) and parts:
            parts[-1] += f"[{item}]"
        else:
            parts.append(str(item))
    tail = ".".join(parts)
    return f"{head}: {tail}" if head and tail else (head or tail)


def _read(source: Any) -> tuple[str, _LexiconFile]:
    name = getattr(source, "name", None) if not isinstance(source, (str, Path)) else None
    path = str(source) if name is None else f"<tierwise>/tags/lexicons/{name}"
    try:
        text = (
            source.read_text(encoding="utf-8")
            if hasattr(source, "read_text")
            else Path(source).read_text(encoding="utf-8")
        )
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read lexicon file: {exc}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a lexicon file is a mapping with 'majors' and 'tags'")
    try:
        return path, _LexiconFile.model_validate(raw)
    except ValidationError as exc:
        msgs = [f"{path}: {_fmt_loc(raw, tuple(e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise ConfigError("invalid lexicon\n" + "\n".join(msgs)) from exc


def _expand_checked(pattern: str, where: str) -> list[str]:
    try:
        words = expand_pattern(pattern)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    if not words:
        raise ConfigError(f"{where}: {pattern!r} gives no word")
    return words


def _normalise_file(path: str, lf: _LexiconFile) -> dict[str, str]:
    """Expanded word -> normalised word, for every pattern of a file (one batch)."""
    located: list[tuple[str, str]] = []
    for i, t in enumerate(lf.tags):
        where = f"{path}: tags[{i}] ({t.major}/{t.id})"
        lists = [("remove", t.remove), ("exclude", t.exclude)]
        lists += [(f"triggers[{g}].words", grp.words) for g, grp in enumerate(t.triggers)]
        for name, patterns in lists:
            for j, pat in enumerate(patterns):
                loc = f"{where}: {name}[{j}]"
                located.extend((w, loc) for w in _expand_checked(pat, loc))
    raw = list(dict.fromkeys(w for w, _ in located))
    batch = normalize_batch(raw)
    norm = {w: batch[k].strip() for k, w in enumerate(raw)}
    for w, loc in located:
        if not norm[w]:
            raise ConfigError(f"{loc}: {w!r} is empty after normalisation")
    return norm


def _expand_all(patterns: list[str], norm: Mapping[str, str]) -> list[str]:
    return [norm[w] for p in patterns for w in expand_pattern(p)]


def _merge(files: list[tuple[str, _LexiconFile]]) -> Lexicon:
    majors: dict[str, MajorCategory] = {}
    rules: dict[tuple[str, str], TagRule] = {}
    for path, lf in files:
        norm = _normalise_file(path, lf)
        for i, m in enumerate(lf.majors):
            old = majors.get(m.id)
            if old is None:
                if not m.zh or not m.en:
                    raise ConfigError(f"{path}: majors[{i}] ({m.id}): a new major needs zh and en")
                majors[m.id] = MajorCategory(
                    m.id, m.zh, m.en, m.negation or "polarity", m.description or ""
                )
            else:
                majors[m.id] = MajorCategory(
                    m.id,
                    m.zh or old.zh,
                    m.en or old.en,
                    m.negation or old.negation,
                    old.description if m.description is None else m.description,
                )
        for i, t in enumerate(lf.tags):
            where = f"{path}: tags[{i}] ({t.major}/{t.id})"
            if t.major not in majors:
                raise ConfigError(f"{where}: unknown major {t.major!r}; known: {sorted(majors)}")
            rule = rules.get((t.major, t.id))
            if rule is None:
                if not t.zh or not t.en:
                    raise ConfigError(f"{where}: a new tag needs zh and en display names")
                rule = TagRule(t.major, t.id, t.zh, t.en)
                rules[(t.major, t.id)] = rule
            for attr in ("zh", "en", "description", "negation", "min_confidence", "enabled"):
                val = getattr(t, attr)
                if val is not None:
                    setattr(rule, attr, val)
            for w in _expand_all(t.remove, norm):
                rule.triggers.pop(w, None)
            for group in t.triggers:
                for w in _expand_all(group.words, norm):
                    rule.triggers[w] = Trigger(
                        w, group.polarity, group.weight, group.negatable, path
                    )
            rule.exclude.update(_expand_all(t.exclude, norm))
    for rule in rules.values():
        if rule.enabled and not rule.triggers:
            raise ConfigError(f"tag {rule.major}/{rule.id} has no trigger words")
    return Lexicon(majors, rules, [p for p, _ in files])


def load_lexicon(*paths: str | Path, defaults: bool = True) -> Lexicon:
    """Load and merge lexicon files.

    Parameters
    ----------
    *paths : str or Path
        Merchant lexicon files, merged in order on top of the defaults.
    defaults : bool
        Start from the built-in lexicons (``tierwise/tags/lexicons/*.yaml``).

    Returns
    -------
    Lexicon
        The merged lexicon.

    Raises
    ------
    ConfigError
        If a file cannot be read or is invalid; the message names the file and the entry.
    """
    sources: list[Any] = (_default_paths() if defaults else []) + list(paths)
    if not sources:
        raise ConfigError("no lexicon file given and defaults=False")
    return _merge([_read(s) for s in sources])


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The built-in lexicon (cached; do not mutate it)."""
    return load_lexicon()
