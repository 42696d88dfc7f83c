"""Sentiment of Chinese comments and reviews: a compact linear model shipped with tierwise.

`sentiment_scores` gives each text the probability that it is positive. The model reads hashed
character 1-3-grams, so it needs no word segmenter and no download; its weights ship in
``weights.npz`` and ``python -m tierwise.sentiment.train`` reproduces them from the corpus.
"""

from __future__ import annotations

from tierwise.sentiment.model import SentimentModel, load_model, sentiment_scores

__all__ = ["SentimentModel", "load_model", "sentiment_scores"]
