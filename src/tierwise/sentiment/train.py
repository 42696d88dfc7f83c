"""Learn the shipped sentiment weights from a labelled review corpus.

``python -m tierwise.sentiment.train CORPUS.csv [--out weights.npz]`` reads a CSV with a 0/1
``label`` column and a ``review`` column (the layout of the online_shopping_10_cats corpus) and
learns ONLY from the data rows with an even index (0-based over data rows, the header not
counted): odd rows are skipped before their fields are looked at, so they stay unseen for
evaluation. It then fits an L2-regularised logistic regression on the hashed n-gram features
and writes the model.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from tierwise.sentiment.features import hashed_ngrams
from tierwise.sentiment.model import WEIGHTS_FILE, SentimentModel

__all__ = ["even_rows", "feature_matrix", "fit", "main", "read_even_rows"]

BITS = 18
MAX_N = 3
C = 20.0


def even_rows(path: str | Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(index, row)`` for the data rows of ``path`` whose 0-based index is even."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        for index, fields in enumerate(reader):
            if index % 2:
                continue
            yield index, dict(zip(header, fields, strict=False))


def read_even_rows(
    path: str | Path, *, text_column: str = "review", label_column: str = "label"
) -> tuple[list[str], np.ndarray, int]:
    """Texts and 0/1 labels of the even data rows of ``path``, and how many were empty.

    Raises
    ------
    ValueError
        A label other than 0 or 1, or a missing column, naming the file and row.
    """
    texts: list[str] = []
    labels: list[int] = []
    empty = 0
    for index, row in even_rows(path):
        where = f"{path}: data row {index} (line {index + 2})"
        if text_column not in row or label_column not in row:
            raise ValueError(f"{where}: needs columns {text_column!r} and {label_column!r}")
        label = row[label_column].strip()
        if label not in ("0", "1"):
            raise ValueError(f"{where}: column {label_column!r} is {label!r}, expected 0 or 1")
        text = row[text_column].strip()
        if not text:
            empty += 1
            continue
        texts.append(text)
        labels.append(int(label))
    return texts, np.asarray(labels, dtype=np.int64), empty


def feature_matrix(texts: list[str], *, bits: int = BITS, max_n: int = MAX_N):
    """The model's features of ``texts`` as a sparse matrix (counts / sqrt(number of n-grams))."""
    import scipy.sparse as sp

    grams = hashed_ngrams(texts, bits=bits, max_n=max_n)
    ones = np.ones(grams.doc.size)
    m = sp.csr_matrix((ones, (grams.doc, grams.bucket)), shape=(len(texts), 1 << bits))
    m.sum_duplicates()
    count = np.bincount(grams.doc, minlength=len(texts)).astype(np.float64)
    return (sp.diags(1.0 / np.sqrt(np.maximum(count, 1.0))) @ m).tocsr()


def fit(texts: list[str], labels: np.ndarray, *, bits: int = BITS, max_n: int = MAX_N,
        c: float = C) -> SentimentModel:  # fmt: skip
    """Fit the logistic regression on ``texts`` and return the model."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=c, solver="liblinear", max_iter=2000)
    clf.fit(feature_matrix(texts, bits=bits, max_n=max_n), labels)
    return SentimentModel(
        weights=clf.coef_[0].astype(np.float32), bias=float(clf.intercept_[0]), bits=bits,
        max_n=max_n,
        meta={"c": c, "rows": "even", "n_train": len(texts),
              "positive_share": round(float(labels.mean()), 4)},
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Command line: learn the weights from a corpus and write them."""
    parser = argparse.ArgumentParser(prog="python -m tierwise.sentiment.train", description=__doc__)
    parser.add_argument("corpus", type=Path, help="CSV with label and review columns")
    default_out = Path(__file__).with_name(WEIGHTS_FILE)
    parser.add_argument("--out", type=Path, default=default_out, help=f"default: {default_out}")
    parser.add_argument("--bits", type=int, default=BITS)
    parser.add_argument("--max-n", type=int, default=MAX_N)
    parser.add_argument("-C", type=float, default=C, help="inverse L2 regularisation strength")
    args = parser.parse_args(argv)
    texts, labels, empty = read_even_rows(args.corpus)
    model = fit(texts, labels, bits=args.bits, max_n=args.max_n, c=args.C)
    model.meta["corpus"] = args.corpus.name
    model.meta["empty_left_out"] = empty
    model.save(args.out)
    print(f"learned on {len(texts)} even rows ({empty} empty left out); wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
