"""A linear sentiment model over hashed character n-grams, and its shipped weights.

``score(text) = sigmoid(bias + sum(weight[bucket] for each n-gram) / sqrt(number of n-grams))``.
The sum is one gather and one ``bincount`` over all texts of a batch, so scoring costs a few
array passes per character. The weights in ``weights.npz`` were learned by
``python -m tierwise.sentiment.train`` (see docs/satisfaction.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from tierwise.sentiment.features import hashed_ngrams

__all__ = ["SentimentModel", "load_model", "sentiment_scores"]

WEIGHTS_FILE = "weights.npz"


@dataclass
class SentimentModel:
    """Weights of the linear model and how its features are hashed.

    Attributes
    ----------
    weights
        One weight per hash bucket (``2**bits`` of them).
    bias
        Intercept.
    bits, max_n
        Hashing parameters the weights were learned with.
    meta
        How the weights were made (corpus, rows used, regularisation), JSON-able.
    """

    weights: np.ndarray
    bias: float
    bits: int
    max_n: int = 3
    meta: dict[str, Any] = field(default_factory=dict)

    def decision_function(self, texts: Sequence[str | None]) -> np.ndarray:
        """Log-odds that each text is positive."""
        n = len(texts)
        grams = hashed_ngrams(texts, bits=self.bits, max_n=self.max_n)
        total = np.bincount(
            grams.doc, weights=self.weights[grams.bucket].astype(np.float64), minlength=n
        )
        count = np.bincount(grams.doc, minlength=n).astype(np.float64)
        return total / np.sqrt(np.maximum(count, 1.0)) + self.bias

    def predict_proba(self, texts: Sequence[str | None]) -> np.ndarray:
        """Probability that each text is positive, in [0, 1]."""
        return 1.0 / (1.0 + np.exp(-self.decision_function(texts)))

    def predict(self, texts: Sequence[str | None]) -> np.ndarray:
        """1 for a positive text, 0 for a negative one."""
        return (self.decision_function(texts) > 0).astype(np.int64)

    def save(self, path: str | Path) -> Path:
        """Write the model as a compressed ``.npz`` (weights stored as float16)."""
        import json

        path = Path(path)
        np.savez_compressed(
            path,
            weights=self.weights.astype(np.float16),
            bias=np.float64(self.bias),
            bits=np.int64(self.bits),
            max_n=np.int64(self.max_n),
            meta=np.array(json.dumps(self.meta, ensure_ascii=False, sort_keys=True)),
        )
        return path

    @classmethod
    def load(cls, path: str | Path) -> SentimentModel:
        """Read a model written by `save`."""
        import json

        with np.load(Path(path), allow_pickle=False) as z:
            return cls(
                weights=z["weights"].astype(np.float32),
                bias=float(z["bias"]),
                bits=int(z["bits"]),
                max_n=int(z["max_n"]),
                meta=json.loads(str(z["meta"])),
            )


@lru_cache(maxsize=1)
def load_model() -> SentimentModel:
    """The model shipped with tierwise (read once per process)."""
    ref = resources.files("tierwise.sentiment").joinpath(WEIGHTS_FILE)
    with resources.as_file(ref) as path:
        return SentimentModel.load(path)


def sentiment_scores(texts: Sequence[str | None]) -> np.ndarray:
    """Probability that each text is positive, by the shipped model (each distinct text is
    scored once; a text's score does not depend on the others)."""
    import pandas as pd

    # the model reads a missing text as the empty text and anything else as its str()
    values = np.empty(len(texts), dtype=object)
    values[:] = ["" if t is None else str(t) for t in texts]
    codes, distinct = pd.factorize(values)
    return load_model().predict_proba(list(distinct))[codes]
