"""The FastAPI application: one process owns the project's store while it serves."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tierwise import __version__
from tierwise.errors import StoreError, TierwiseError
from tierwise.project import Project
from tierwise.service.keys import ApiKey, verify
from tierwise.service.profiles import SnapshotCache
from tierwise.service.realtime import IntentionTracker, grade_thresholds
from tierwise.service.runs import Runs
from tierwise.service.settings import ServiceSettings

__all__ = ["Service", "create_app"]

STATIC_DIR = files("tierwise.service") / "static"


class Service:
    """What the routes share: the project, a lock around its connection, the tracker, runs.

    Parameters
    ----------
    settings : ServiceSettings
        The project folder and limits.
    project : Project, optional
        An open project to serve (opened read-write from ``settings.project`` by default).
    """

    def __init__(self, settings: ServiceSettings, project: Project | None = None) -> None:
        self.settings = settings
        self._owns_project = project is None
        self.project = project or Project(settings.project)
        self.lock = threading.RLock()
        store = self.project.store
        store.ensure_service_tables()
        self.tracker = IntentionTracker(
            store, self.project.config.features.intention, grade_thresholds(self.project.config)
        )
        self.tracker.rebuild()
        self.profiles = SnapshotCache(store, settings.cache_customers, settings.cache_profiles)
        self._dates: list[dt.date] | None = None
        self._label_values: dict[dt.date, list[dict[str, Any]]] = {}
        self._hold_latest()
        self.runs = Runs(self.project, on_done=self.forget_snapshots)
        self.backtests: Any = None
        """The background backtests (`tierwise.service.models.Backtests`), set by the app."""
        self._keys: dict[str, ApiKey] = {}

    def verify(self, text: str) -> ApiKey | None:
        """The live key a presented text names (verified once, then held until a revoke)."""
        tag = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()
        key = self._keys.get(tag)
        if key is None:
            with self.lock:
                key = verify(self.project.store, text)
            if key is not None:
                self._keys[tag] = key
        return key

    def forget_keys(self) -> None:
        """Verify every key again from the store (one was revoked)."""
        self._keys.clear()

    def forget_snapshots(self) -> None:
        """Drop what is held of the snapshots (a run wrote one) and hold the newest."""
        with self.lock:
            self.profiles.clear()
            self._dates = None
            self._label_values.clear()
            self._hold_latest()

    def _hold_latest(self) -> None:
        """Load the newest snapshot now rather than at the first lookup after a run."""
        dates = self.snapshot_dates()
        if dates:
            self.profiles.load(dates[-1])

    def label_values(self, as_of: dt.date) -> list[dict[str, Any]]:
        """Per scheme and primary label, customers and paid value of a snapshot
        (`tierwise.store.Store.value_by_label`; computed from its profile once, then held
        until a run ends)."""
        rows = self._label_values.get(as_of)
        if rows is None:
            rows = self._label_values[as_of] = self.project.store.value_by_label(as_of).to_pylist()
        return rows

    def snapshot_dates(self) -> list[dt.date]:
        """As-of days of the stored snapshots, oldest first (held until a run ends)."""
        if self._dates is None:
            self._dates = self.project.store.snapshots()
        return self._dates

    def customer_view(self, customer_id: str, as_of: dt.date | None = None) -> dict[str, Any]:
        """A customer's profile and labels (evidence parsed) of a snapshot, the newest by
        default; ``profile`` is ``None`` for a customer who came after it.

        Raises
        ------
        StoreError
            If the customer or the snapshot is unknown.
        """
        dates = self.snapshot_dates()
        if as_of is not None and as_of not in dates:
            have = ", ".join(map(str, dates)) or "none yet"
            raise StoreError(f"no snapshot as of {as_of}; have {have}")
        as_of = as_of or (dates[-1] if dates else None)
        store = self.project.store
        profile = self.profiles.profile(as_of, customer_id) if as_of else None
        if profile is None and not store.customer_exists(customer_id):
            raise StoreError(f"no customer {customer_id!r}")
        labels = self.profiles.labels(as_of, customer_id) if profile else []
        for lab in labels:
            lab["evidence"] = json.loads(lab["evidence"])
        return {"customer_id": customer_id, "as_of": as_of if profile else None,
                "profile": profile, "labels": labels}  # fmt: skip

    def close(self) -> None:
        """Wait for a running run and backtest and close the store (when the service opened
        it)."""
        self.runs.wait()
        if self.backtests is not None:
            self.backtests.wait()
        if self._owns_project:
            self.project.close()


class BodyLimit:
    """Refuse request bodies larger than a limit with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen = 0
        refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    refused = True
                    await self._refuse(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def watch(message: Message) -> None:
            if not refused:  # once refused, the application's own answer is dropped
                await send(message)

        await self.app(scope, counted, watch)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        await JSONResponse(
            {"detail": f"request body larger than {self.limit:,} bytes; send smaller batches"},
            status_code=413,
        )(scope, receive, send)


def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        e = next(e for e in errors if e.get("type") == "json_invalid")
        where = e.get("loc", [None, None])[-1]
        why = (e.get("ctx") or {}).get("error", "invalid JSON")
        return JSONResponse(
            {"detail": f"malformed JSON at character {where}: {why}"}, status_code=400
        )
    problems = [
        {"where": ".".join(str(p) for p in e.get("loc", ())), "reason": e.get("msg", "")}
        for e in errors
    ]
    first = problems[0] if problems else {"where": "request", "reason": "invalid"}
    return JSONResponse(
        {"detail": f"{first['where']}: {first['reason']}", "problems": problems},
        status_code=422,
    )


def _store_error(_request: Request, exc: Exception) -> JSONResponse:
    text = str(exc)
    code = 404 if text.startswith("no ") else 409
    return JSONResponse({"detail": text}, status_code=code)


def _tierwise_error(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=422)


def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = getattr(exc, "headers", None)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


def create_app(
    settings: ServiceSettings | None = None, *, project: Project | None = None
) -> FastAPI:
    """The service for a project: the API under ``/v1``, OpenAPI at ``/docs``, the
    dashboard at ``/``.

    Parameters
    ----------
    settings : ServiceSettings, optional
        Project folder and limits (read from ``TIERWISE_SERVICE_*`` by default).
    project : Project, optional
        An already open project to serve.
    """
    from tierwise.service.flows import FlowDelivery, flows_router
    from tierwise.service.models import Backtests, models_router
    from tierwise.service.plans import plans_router
    from tierwise.service.routes import router

    settings = settings or ServiceSettings()
    service = Service(settings, project)
    delivery = FlowDelivery(service)
    backtests = Backtests(service.project)
    service.backtests = backtests

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        delivery.start()
        yield
        delivery.stop()
        service.close()

    app = FastAPI(
        title="tierwise",
        lifespan=lifespan,
        version=__version__,
        summary="Customer tiering as a service: events in, profiles, labels and intention out.",
        description=(
            "Send an API key as `Authorization: Bearer tw_…` (or `X-API-Key`). Keys are made "
            "with `tierwise keys create --scope …`; each route names the scope it needs."
        ),
    )
    app.state.service = service
    app.include_router(router)
    app.include_router(flows_router)
    app.state.flow_delivery = delivery
    app.include_router(plans_router)
    app.include_router(models_router)
    app.state.backtests = backtests
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StoreError, _store_error)
    app.add_exception_handler(TierwiseError, _tierwise_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    static = str(STATIC_DIR)
    app.mount("/static", StaticFiles(directory=static), name="static")

    @app.get("/", include_in_schema=False)
    def dashboard() -> Any:
        return FileResponse(f"{static}/index.html")

    return app
