"""One error hierarchy: every tierwise failure is a ``TierwiseError``."""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "FittedStateError",
    "ImportValidationError",
    "NotFittedError",
    "StoreError",
    "TierwiseError",
]


class TierwiseError(Exception):
    """Base class of every error tierwise raises on purpose."""


class ConfigError(TierwiseError, ValueError):
    """The configuration is invalid; the message says where and why."""


class StoreError(TierwiseError, RuntimeError):
    """The store cannot be opened, is of a newer layout, or lacks what was asked for."""


class ImportValidationError(TierwiseError, ValueError):
    """A file cannot be imported at all (unreadable, empty, missing a required column)."""


class NotFittedError(TierwiseError, AttributeError):
    """An estimator was used before ``fit``."""


class FittedStateError(TierwiseError):
    """A run was asked to reuse fitted state that is missing or does not fit the config."""
