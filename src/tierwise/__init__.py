"""tierwise: customer tiering for e-commerce and social-commerce shops.

The public names below load on first use, so ``import tierwise`` (and the command line's
``--help``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Config": "tierwise.config",
    "load_config": "tierwise.config",
    "ConfigError": "tierwise.errors",
    "ImportValidationError": "tierwise.errors",
    "NotFittedError": "tierwise.errors",
    "StoreError": "tierwise.errors",
    "TierwiseError": "tierwise.errors",
    "customer_features": "tierwise.features",
    "ProfileRun": "tierwise.pipeline",
    "compute_profiles": "tierwise.pipeline",
    "CustomerProfile": "tierwise.project",
    "Project": "tierwise.project",
    "RFMBinner": "tierwise.schemes.rfm",
    "Store": "tierwise.store",
    "sentiment_scores": "tierwise.sentiment",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tierwise' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
