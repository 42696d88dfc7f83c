"""tierwise: customer tiering for e-commerce and social-commerce shops."""

from __future__ import annotations

__version__ = "0.1.0"

from tierwise.config import Config, load_config
from tierwise.errors import (
    ConfigError,
    ImportValidationError,
    NotFittedError,
    StoreError,
    TierwiseError,
)
from tierwise.features import customer_features
from tierwise.pipeline import ProfileRun, compute_profiles
from tierwise.project import CustomerProfile, Project
from tierwise.schemes.rfm import RFMBinner
from tierwise.store import Store

__all__ = [
    "Config",
    "ConfigError",
    "CustomerProfile",
    "ImportValidationError",
    "NotFittedError",
    "ProfileRun",
    "Project",
    "RFMBinner",
    "Store",
    "StoreError",
    "TierwiseError",
    "__version__",
    "compute_profiles",
    "customer_features",
    "load_config",
]
