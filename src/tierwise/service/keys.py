"""API keys: created once and shown once, stored as a salted SHA-256 digest, checked in
constant time, each carrying the scopes it may use."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from tierwise.errors import TierwiseError
from tierwise.store import Store

__all__ = ["SCOPES", "ApiKey", "create_key", "list_keys", "parse_scopes", "revoke_key", "verify"]

SCOPES: dict[str, str] = {
    "events:write": "send events and orders (POST /v1/events, /v1/orders)",
    "profiles:read": "read profiles, labels, segments, plans, crossings (PII masked)",
    "pii:read": "see personal fields unmasked (each unmasking is audited)",
    "admin": "start runs, read the audit log; implies every other scope",
}
"""Every scope a key can carry, and what it allows."""

_PREFIX = "tw"


@dataclass(frozen=True)
class ApiKey:
    """A verified key: its id, name and scopes (never its secret)."""

    key_id: str
    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        """Whether the key carries a scope (``admin`` carries all)."""
        return scope in self.scopes or "admin" in self.scopes


def parse_scopes(text: str) -> list[str]:
    """A comma-separated scope list, checked against `SCOPES`."""
    scopes = [s.strip() for s in text.split(",") if s.strip()]
    if not scopes:
        raise TierwiseError(f"give at least one scope: {', '.join(SCOPES)}")
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise TierwiseError(f"unknown scope {unknown[0]!r}; use {', '.join(SCOPES)}")
    return list(dict.fromkeys(scopes))


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode("utf-8")).hexdigest()


def create_key(store: Store, scopes: list[str], name: str = "") -> tuple[str, ApiKey]:
    """Make a key; returns the full key text (shown once, not stored) and its record."""
    store.ensure_service_tables()
    scopes = parse_scopes(",".join(scopes))
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    store.add_api_key({"key_id": key_id, "name": name, "scopes": ",".join(scopes),
                       "salt": salt, "digest": _digest(salt, secret)})  # fmt: skip
    return f"{_PREFIX}_{key_id}_{secret}", ApiKey(key_id, name, frozenset(scopes))


def verify(store: Store, text: str | None) -> ApiKey | None:
    """The live key a presented text names, or ``None`` (unknown, malformed or revoked)."""
    if not text:
        return None
    parts = text.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != _PREFIX:
        return None
    row = store.api_key(parts[1])
    if row is None or row["revoked_at"] is not None:
        return None
    if not hmac.compare_digest(_digest(row["salt"], parts[2]), row["digest"]):
        return None
    return ApiKey(row["key_id"], row["name"] or "", frozenset(row["scopes"].split(",")))


def list_keys(store: Store) -> list[dict]:
    """Every key's id, name, scopes, creation and revocation time (no secrets)."""
    store.ensure_service_tables()
    return store.api_keys().to_pylist()


def revoke_key(store: Store, key_id: str) -> None:
    """Revoke a key by its id.

    Raises
    ------
    TierwiseError
        If no live key has that id.
    """
    store.ensure_service_tables()
    if not store.revoke_api_key(key_id):
        raise TierwiseError(f"no live API key {key_id!r}; `tierwise keys list` shows them")
