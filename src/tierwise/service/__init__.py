"""The service: an HTTP API over a project (events in; profiles, labels, live intention out)
and the dashboard pages, served by ``tierwise serve``."""

from __future__ import annotations

from tierwise.service.app import Service, create_app
from tierwise.service.keys import SCOPES, ApiKey, create_key, list_keys, revoke_key
from tierwise.service.realtime import IntentionTracker, LiveScore
from tierwise.service.settings import ServiceSettings

__all__ = [
    "SCOPES",
    "ApiKey",
    "IntentionTracker",
    "LiveScore",
    "Service",
    "ServiceSettings",
    "create_app",
    "create_key",
    "list_keys",
    "revoke_key",
]
