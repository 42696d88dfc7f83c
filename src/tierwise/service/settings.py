"""The service's settings: options of ``tierwise serve`` or ``TIERWISE_SERVICE_*`` variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ServiceSettings"]


class ServiceSettings(BaseSettings):
    """How the service runs.

    Every field can be set from the environment as ``TIERWISE_SERVICE_<FIELD>`` (lists as
    JSON, e.g. ``TIERWISE_SERVICE_CORS_ORIGINS='["https://shop.example"]'``).

    Parameters
    ----------
    project : Path
        The project folder served.
    host, port : str, int
        Where to listen; 127.0.0.1 by default (put a TLS proxy in front to expose it).
    max_body_bytes : int
        Larger request bodies are refused with 413.
    max_batch : int
        Most events or orders in one POST (413 beyond).
    cors_origins : list of str
        Browser origins allowed to call the API from other sites; none by default.
    pii_fields : list of str
        Profile fields and timeline parts masked for keys without ``pii:read``.
    page_limit : int
        Most rows one page of a listing returns.
    cache_customers : int
        Snapshots of up to this many customers are held in memory, profiles and labels.
    cache_profiles : int
        Snapshots of up to this many customers are held compactly (text dictionary-encoded,
        label evidence rebuilt from the profile); larger ones are read at each lookup.
    """

    model_config = SettingsConfigDict(env_prefix="TIERWISE_SERVICE_", extra="forbid")

    project: Path = Path(".")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    max_body_bytes: int = Field(16 * 1024 * 1024, gt=0)
    max_batch: int = Field(10_000, gt=0)
    cors_origins: list[str] = []
    pii_fields: list[str] = ["gender", "city", "age_band", "referrer_id", "text"]
    page_limit: int = Field(1000, gt=0)
    cache_customers: int = Field(200_000, ge=0)
    cache_profiles: int = Field(2_000_000, ge=0)
