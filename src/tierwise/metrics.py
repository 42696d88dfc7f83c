"""How well labels recover a known truth: precision, recall and F1 per class."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

__all__ = ["label_recovery", "multilabel_recovery"]


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return round(p, 4), round(r, 4), round(f, 4)


def label_recovery(truth: Sequence[str], predicted: Sequence[str]) -> pd.DataFrame:
    """Per-class precision, recall, F1 and support of single labels against the truth."""
    t = pd.Series(list(truth), dtype="object").fillna("")
    p = pd.Series(list(predicted), dtype="object").fillna("")
    if len(t) != len(p):
        raise ValueError(f"truth has {len(t)} labels, predicted {len(p)}")
    rows = []
    for cls in sorted(set(t) - {""}):
        tp = int(((t == cls) & (p == cls)).sum())
        fp = int(((t != cls) & (p == cls)).sum())
        fn = int(((t == cls) & (p != cls)).sum())
        rows.append((cls, *_prf(tp, fp, fn), int((t == cls).sum())))
    return pd.DataFrame(rows, columns=["label", "precision", "recall", "f1", "support"])


def multilabel_recovery(
    truth: Iterable[str | None], predicted: Iterable[str | None], *, sep: str = ";"
) -> pd.DataFrame:
    """The same for multi-label columns holding ``sep``-joined label sets."""

    def sets(values: Iterable[str | None]) -> list[set[str]]:
        return [set(filter(None, (v or "").split(sep))) for v in values]

    t, p = sets(truth), sets(predicted)
    if len(t) != len(p):
        raise ValueError(f"truth has {len(t)} rows, predicted {len(p)}")
    rows = []
    for cls in sorted(set().union(*t)):
        tp = sum(cls in a and cls in b for a, b in zip(t, p, strict=True))
        fp = sum(cls not in a and cls in b for a, b in zip(t, p, strict=True))
        fn = sum(cls in a and cls not in b for a, b in zip(t, p, strict=True))
        rows.append((cls, *_prf(tp, fp, fn), sum(cls in a for a in t)))
    return pd.DataFrame(rows, columns=["label", "precision", "recall", "f1", "support"])
