"""Tagging throughput and accuracy: tierwise's matcher vs a jieba-based reference.

Usage::

    python bench/bench_tagging.py [--n 1000000] [--path reviews.csv] [--n-ref 20000]

The review corpus (``cat,label,review``; by default the copy under ``shared/data``) is
replicated to ``--n`` comments and tagged by :class:`tierwise.tags.Tagger`. The reference
segments each normalised comment with jieba (the lexicon's words added to its dictionary) and
looks the tokens up in the same lexicon, with the same negation, exclusion, confidence and
threshold rules; it runs on ``--n-ref`` comments because it is much slower. Both are scored on
the hand-labelled samples in ``tests/data`` (random odd rows, random even rows, the older
enriched sample). "Per core" = comments per second
of CPU time of this single process.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tierwise.tags import Tagger, available_backends, normalize_batch, precision_recall

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "reviews" / "online_shopping_10_cats.csv"
LABELLED = [
    ROOT / "tests" / "data" / name
    for name in ("reviews_random_odd.csv", "reviews_random_even.csv", "reviews_labelled.csv")
]
EVAL_TAGS = ["price_sensitive", "parent", "student", "office_worker", "gift", "elder"]
NEGATORS = {
    "不",
    "没",
    "没有",
    "无",
    "未",
    "别",
    "非",
    "莫",
    "勿",
    "甭",
    "不是",
    "并不",
    "并非",
    "毫不",
    "从不",
    "决不",
    "绝不",
    "不会",
    "不用",
    "没什么",
}
DEGREE = {
    "是",
    "很",
    "太",
    "算",
    "怎么",
    "那么",
    "这么",
    "会",
    "够",
    "大",
    "有",
    "特别",
    "十分",
    "再",
    "也",
    "都",
    "用",
    "太过",
    "算太",
}


class JiebaReference:
    """Lexicon lookup over jieba tokens, with the tagger's rules applied token-wise."""

    def __init__(self, tagger: Tagger):
        import jieba

        jieba.setLogLevel(60)
        self.tk = jieba.Tokenizer()
        self.tk.initialize()
        self.tagger = tagger
        lex = tagger.lexicon
        self.keys = tagger.tag_keys
        self.trig: dict[str, list[tuple[int, float, int, bool]]] = {}
        self.excl: dict[str, set[int]] = {}
        self.mode: list[str] = []
        self.thr: list[float] = []
        for t, rule in enumerate(lex.tags):
            self.mode.append(lex.negation_mode(rule))
            mc = rule.min_confidence
            self.thr.append(tagger.min_confidence if mc is None else mc)
            for w, tr in rule.triggers.items():
                self.trig.setdefault(w, []).append((t, tr.weight, tr.polarity, tr.negatable))
            for w in rule.exclude:
                self.excl.setdefault(w, set()).add(t)
        for w in list(self.trig) + list(self.excl):
            self.tk.add_word(w, freq=1000)

    def tag_one(self, text: str) -> dict[int, tuple[float, int]]:
        toks = self.tk.lcut(text)
        found: dict[int, dict[str, tuple[float, int]]] = {}
        for i, tok in enumerate(toks):
            entries = self.trig.get(tok)
            if not entries:
                continue
            p1 = toks[i - 1] if i >= 1 else ""
            p2 = toks[i - 2] if i >= 2 else ""
            p3 = toks[i - 3] if i >= 3 else ""
            neg = (
                p1 in NEGATORS
                or (p1 in DEGREE and p2 in NEGATORS)
                or (p1 in DEGREE and p2 in DEGREE and p3 in NEGATORS)
            )
            for t, w, pol, negatable in entries:
                if tok in self.excl and t in self.excl[tok]:
                    continue
                if neg and negatable:
                    if self.mode[t] == "drop":
                        continue
                    if self.mode[t] == "polarity":
                        pol = -pol
                found.setdefault(t, {})[tok] = (w, pol)
        out = {}
        for t, words in found.items():
            conf = 1.0 - math.prod(1.0 - w for w, _ in words.values())
            if conf >= self.thr[t] - 1e-12:
                out[t] = (conf, int(np.sign(sum(p for _, p in words.values()))))
        return out

    def tag(self, texts: list[str]) -> list[dict[int, tuple[float, int]]]:
        batch = normalize_batch(texts)
        return [self.tag_one(batch[i]) for i in range(len(batch))]

    def indicators(self, texts: list[str], tags: list[str]) -> pd.DataFrame:
        pos = [self.keys.index(self.tagger.lexicon.resolve(t)) for t in tags]
        res = self.tag(texts)
        return pd.DataFrame({t: [int(p in r) for r in res] for t, p in zip(tags, pos, strict=True)})


def _rate(fn, n: int) -> tuple[float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return n / cpu, n / wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="comments to tag (replicated)")
    ap.add_argument("--n-ref", type=int, default=20_000, help="comments for the slower matchers")
    ap.add_argument("--path", type=Path, default=DEFAULT_CORPUS, help="review corpus CSV")
    args = ap.parse_args()
    if not args.path.exists():
        raise SystemExit(f"corpus not found: {args.path} (pass --path)")
    corpus = pd.read_csv(args.path)["review"].fillna("").str.lstrip("\ufeff").tolist()
    reps = -(-args.n // len(corpus))
    texts = (corpus * reps)[: args.n]
    rng = np.random.default_rng(0)
    pick = rng.choice(len(corpus), size=min(args.n_ref, len(corpus)), replace=False)
    ref_texts = [corpus[i] for i in np.sort(pick)]
    chars = sum(map(len, texts))
    print(
        f"corpus: {len(corpus):,} reviews from {args.path.name}; tagging {len(texts):,} "
        f"comments ({chars / 1e6:.1f} M characters); other matchers on a random "
        f"{len(ref_texts):,} (seed 0)"
    )

    t0 = time.perf_counter()
    tagger = Tagger()
    print(
        f"lexicon: {len(tagger.tag_keys)} tags, {len(tagger.words):,} words; "
        f"build {time.perf_counter() - t0:.2f} s; backend {tagger.backend}"
    )
    rows: list[tuple[str, int, float, float]] = []
    cpu, wall = _rate(lambda: tagger.tag_table(texts), len(texts))
    rows.append((f"tierwise ({tagger.backend})", len(texts), cpu, wall))
    for b in available_backends():
        other = tagger if b == tagger.backend else Tagger(backend=b)  # type: ignore[arg-type]
        cpu_b, wall_b = _rate(lambda o=other: o.tag_table(ref_texts), len(ref_texts))
        rows.append((f"tierwise ({b}), sample", len(ref_texts), cpu_b, wall_b))
        if b == tagger.backend:
            cpu_same = cpu_b
    t0 = time.perf_counter()
    ref = JiebaReference(tagger)
    print(
        f"jieba reference: dictionary + {len(ref.trig) + len(ref.excl):,} words in "
        f"{time.perf_counter() - t0:.2f} s"
    )
    cpu_j, wall_j = _rate(lambda: ref.tag(ref_texts), len(ref_texts))
    rows.append(("jieba reference", len(ref_texts), cpu_j, wall_j))

    print("\nthroughput (comments/s; 'per core' = per CPU second of this process)")
    print(f"{'matcher':36} {'comments':>10} {'per core':>12} {'wall':>12}")
    for name, n, c, w in rows:
        print(f"{name:36} {n:>10,} {c:>12,.0f} {w:>12,.0f}")
    print(
        f"ratio tierwise / jieba, per core, same {len(ref_texts):,} comments: "
        f"{cpu_same / cpu_j:.0f}x"
    )

    for path in LABELLED:
        if not path.exists():
            continue
        lab = pd.read_csv(path)
        texts_l = lab["review"].tolist()
        truth = lab[EVAL_TAGS]
        ours = tagger.indicators(texts_l, tags=EVAL_TAGS)
        ours.columns = EVAL_TAGS
        theirs = ref.indicators(texts_l, EVAL_TAGS)
        a = precision_recall(truth, ours)
        b = precision_recall(truth, theirs)
        print(f"\naccuracy on {path.relative_to(ROOT)} ({len(lab)} hand-labelled reviews)")
        print(f"{'tag':16} {'pos':>4} | {'tierwise P':>10} {'R':>6} | {'jieba P':>8} {'R':>6}")
        for (_, x), (_, y) in zip(a.iterrows(), b.iterrows(), strict=True):
            print(
                f"{x.tag:16} {x.positives:>4} | {x.precision:>10.3f} {x.recall:>6.3f} | "
                f"{y.precision:>8.3f} {y.recall:>6.3f}"
            )


if __name__ == "__main__":
    main()
