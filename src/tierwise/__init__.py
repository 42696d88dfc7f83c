"""tierwise: customer tiering for e-commerce and social-commerce shops."""

from __future__ import annotations

__version__ = "0.1.0"

from tierwise.config import Config, load_config  # noqa: E402
from tierwise.errors import (  # noqa: E402
    ConfigError,
    ImportValidationError,
    NotFittedError,
    StoreError,
    TierwiseError,
)
from tierwise.features import customer_features  # noqa: E402
from tierwise.pipeline import ProfileRun, compute_profiles  # noqa: E402
from tierwise.project import CustomerProfile, Project  # noqa: E402
from tierwise.schemes.rfm import RFMBinner  # noqa: E402
from tierwise.store import Store  # noqa: E402

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
