"""Sentiment accuracy and speed: tierwise's shipped model vs SnowNLP.

Usage::

    python bench/bench_sentiment.py [--path reviews.csv] [--sample 3000] [--seed 0]

Reads the review corpus (``cat,label,review``; by default the copy under ``shared/data``),
whose ``label`` column is the sentiment. The shipped model learned only from rows with an even
index (0-based over data rows), so accuracy is reported on the odd rows: all of them, and a
seeded random sample of ``--sample`` odd rows. Speed is reviews per second on one core (BLAS
and OpenMP held to one thread, CPU time of this process), best of three passes over all odd
rows. SnowNLP (``pip install tierwise[bench]``) is scored on the same random sample; when it is
not installed the figures quoted for it (0.84 accuracy, 144 reviews/s per core on 3,000 random
reviews of this corpus) are printed instead.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from tierwise.sentiment import load_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "reviews" / "online_shopping_10_cats.csv"
SNOWNLP_QUOTED = {"accuracy": 0.84, "per_s": 144.0, "n": 3000}


def odd_rows(path: Path) -> tuple[list[str], np.ndarray]:
    """Texts and labels of the data rows with an odd 0-based index."""
    texts, labels = [], []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        for i, row in enumerate(reader):
            if i % 2:
                texts.append(row["review"])
                labels.append(int(row["label"]))
    return texts, np.asarray(labels)


def cpu_rate(fn, n: int, repeat: int = 3) -> float:
    """Items per second of CPU time, best of ``repeat`` runs."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return n / best


def main() -> None:
    """Print accuracy and speed of the shipped model and of SnowNLP."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--path", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--sample", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=10000, help="texts per call")
    args = parser.parse_args()
    texts, labels = odd_rows(args.path)
    rng = np.random.default_rng(args.seed)
    pick = np.sort(rng.choice(len(texts), size=min(args.sample, len(texts)), replace=False))
    sample = [texts[i] for i in pick]
    model = load_model()

    def score_all() -> np.ndarray:
        parts = [model.predict(texts[i : i + args.batch]) for i in range(0, len(texts), args.batch)]
        return np.concatenate(parts)

    acc_all = float((score_all() == labels).mean())
    acc_sample = float((model.predict(sample) == labels[pick]).mean())
    rate = cpu_rate(score_all, len(texts))
    print(f"tierwise: accuracy {acc_all:.4f} on all {len(texts)} odd rows, "
          f"{acc_sample:.4f} on {len(sample)} random odd rows (seed {args.seed}); "
          f"{rate:,.0f} reviews/s per core")  # fmt: skip
    try:
        from snownlp import SnowNLP
    except ImportError:
        q = SNOWNLP_QUOTED
        print(f"SnowNLP (not installed; quoted): accuracy {q['accuracy']:.2f} on {q['n']} random "
              f"reviews, {q['per_s']:.0f} reviews/s per core")  # fmt: skip
        return
    t0 = time.process_time()
    pred = np.array([int(SnowNLP(t).sentiments > 0.5) if t.strip() else 1 for t in sample])
    secs = time.process_time() - t0
    acc = float((pred == labels[pick]).mean())
    print(f"SnowNLP: accuracy {acc:.4f} on the same {len(sample)} random odd rows; "
          f"{len(sample) / secs:,.0f} reviews/s per core")  # fmt: skip


if __name__ == "__main__":
    main()
