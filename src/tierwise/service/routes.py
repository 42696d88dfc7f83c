"""The routes: thin, each checks its scope and calls the library."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from typing import Annotated, Any

import pyarrow as pa
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from tierwise import __version__
from tierwise.errors import ImportValidationError, TierwiseError
from tierwise.service.keys import SCOPES, ApiKey, create_key, list_keys, revoke_key
from tierwise.service.runs import RunBusy
from tierwise.service.wording import because

__all__ = ["router"]

router = APIRouter()

_header_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")
_bearer_key = HTTPBearer(auto_error=False, description="An API key as a bearer token.")
MASK = "•••"

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, unknown or revoked API key."},
    403: {"description": "The key lacks the scope this route needs."},
    413: {"description": "Body or batch too large."},
    422: {"description": "The request does not fit the route (which part, why)."},
}


def _service(request: Request) -> Any:
    return request.app.state.service


def _key(
    request: Request,
    header: Annotated[str | None, Security(_header_key)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer_key)] = None,
) -> ApiKey:
    text = header or (bearer.credentials if bearer is not None else None)
    if not text:
        raise HTTPException(
            401,
            "missing API key: send `Authorization: Bearer tw_…` or `X-API-Key: tw_…`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    key = _service(request).verify(text)
    if key is None:
        raise HTTPException(
            401, "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"}
        )
    return key


def require(scope: str) -> Callable[..., ApiKey]:
    """A dependency giving the caller's key once it is known to carry ``scope``."""

    def check(key: Annotated[ApiKey, Depends(_key)]) -> ApiKey:
        if not key.allows(scope):
            have = ", ".join(sorted(key.scopes))
            raise HTTPException(403, f"this key lacks the scope {scope} (it has: {have})")
        return key

    return check


Writer = Annotated[ApiKey, Depends(require("events:write"))]
Reader = Annotated[ApiKey, Depends(require("profiles:read"))]
Admin = Annotated[ApiKey, Depends(require("admin"))]


def _plain(value: Any) -> Any:
    """A value JSON can carry (NaN is null, times are ISO text)."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _mask(rows: list[dict[str, Any]], fields: list[str], key: ApiKey) -> list[str]:
    """Mask personal fields in place unless the key may read them; the fields touched."""
    touched = sorted({f for r in rows for f in fields if r.get(f) is not None})
    if not key.allows("pii:read"):
        for r in rows:
            for f in fields:
                if r.get(f) is not None:
                    r[f] = MASK
    return touched


def _audit(svc: Any, key: ApiKey, action: str, target: str, detail: dict[str, Any]) -> None:
    with svc.lock:
        svc.project.store.append_audit(key.key_id, action, target, detail)


# -- health -------------------------------------------------------------------------------
@router.get("/healthz", tags=["service"])
def healthz(request: Request) -> dict[str, Any]:
    """Whether the service is up, and the snapshots it serves (no key needed)."""
    svc = _service(request)
    with svc.lock:
        dates = svc.snapshot_dates()
    return {"status": "ok", "version": __version__, "snapshots": len(dates),
            "newest_snapshot": dates[-1].isoformat() if dates else None}  # fmt: skip


@router.get("/v1/keys/me", tags=["service"], responses=_ERRORS)
def whoami(key: Annotated[ApiKey, Depends(_key)]) -> dict[str, Any]:
    """The calling key's id, name and scopes."""
    return {"key_id": key.key_id, "name": key.name, "scopes": sorted(key.scopes)}


# -- ingest -------------------------------------------------------------------------------
class EventBatch(BaseModel):
    """Events to import, as objects with the canonical columns (README, "Canonical tables"):
    ``event_id``, ``customer_id``, ``occurred_at``, ``event_type``, ``channel``, ``text``,
    ``target_customer_id``; other keys are kept in ``attributes``."""

    events: list[dict[str, Any]] = Field(
        examples=[[{"event_id": "e1", "customer_id": "c1", "occurred_at":
                    "2025-06-01T10:00:00", "event_type": "comment", "channel": "douyin"}]]
    )  # fmt: skip


class OrderBatch(BaseModel):
    """Orders to import: ``order_id``, ``customer_id``, ``paid_at``, ``amount``, ``status``,
    ``channel``, ``gross_margin``, ``cost``, ``coupon_used``, ``item_count``."""

    orders: list[dict[str, Any]] = Field(
        examples=[[{"order_id": "o1", "customer_id": "c1", "paid_at": "2025-06-01T10:00:00",
                    "amount": 99.5, "status": "paid"}]]
    )  # fmt: skip


def _text(value: Any) -> str | None:
    """A JSON value as the text an import reads (as for JSON Lines files)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def _rows_table(rows: list[dict[str, Any]]) -> pa.Table:
    keys: dict[str, None] = {}
    for r in rows:
        keys.update(dict.fromkeys(r))
    return pa.table({k: pa.array([_text(r.get(k)) for r in rows], pa.string()) for k in keys})


def _ingest(svc: Any, key: ApiKey, entity: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    limit = svc.settings.max_batch
    if len(rows) > limit:
        raise HTTPException(413, f"{len(rows):,} {entity} in one batch; send at most {limit:,}")
    if not rows:
        raise HTTPException(422, f"{entity}: the batch is empty")
    table = _rows_table(rows)
    if table.num_columns == 0:
        raise HTTPException(422, f"{entity}: every record is empty")
    try:
        with svc.lock:
            report = svc.project.import_frame(entity, table, source=f"api:{key.key_id}")
            crossings = (
                svc.tracker.apply_import(report.import_id)
                if entity == "events" and report.import_id and report.rows_imported
                else []
            )
    except ImportValidationError as exc:
        raise HTTPException(422, str(exc)) from None
    problems = [
        {"index": p.row - 1 if p.row is not None else None, "column": p.column,
         "value": p.value, "reason": p.reason}
        for p in report.problems
    ]  # fmt: skip
    return {
        "import_id": report.import_id,
        "received": report.rows_read,
        "imported": report.rows_imported,
        "updated": report.rows_updated,
        "duplicate": report.rows_duplicate,
        "quarantined": report.rows_quarantined,
        "customers_created": report.customers_created,
        "quarantine_file": report.quarantine_path and report.quarantine_path.rsplit("/", 1)[-1],
        "problems": problems,
        "crossings": _plain(crossings),
    }


@router.post("/v1/events", tags=["ingest"], responses=_ERRORS)
def post_events(batch: EventBatch, key: Writer, request: Request) -> dict[str, Any]:
    """Import up to `max_batch` events, validated like a file import.

    Bad rows are quarantined and answered one by one (``index`` in the batch, ``column``,
    ``reason``); an event id already stored with the same values counts as ``duplicate``, so
    a batch can be sent again safely. Each new event updates its customer's intention score;
    ``crossings`` lists the grade thresholds it crossed.
    """
    return _ingest(_service(request), key, "events", batch.events)


@router.post("/v1/orders", tags=["ingest"], responses=_ERRORS)
def post_orders(batch: OrderBatch, key: Writer, request: Request) -> dict[str, Any]:
    """Import up to `max_batch` orders, validated like a file import (see POST /v1/events)."""
    return _ingest(_service(request), key, "orders", batch.orders)


# -- customers ----------------------------------------------------------------------------
@router.get("/v1/customers", tags=["customers"], responses=_ERRORS)
def find_customers(
    key: Reader,
    request: Request,
    prefix: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """Customer ids starting with a prefix."""
    svc = _service(request)
    with svc.lock:
        ids = svc.project.store.customer_ids_like(prefix, limit)
    return {"customer_ids": ids}


@router.get("/v1/customers/{customer_id}", tags=["customers"], responses=_ERRORS)
def customer(
    customer_id: str,
    key: Reader,
    request: Request,
    as_of: dt.date | None = None,
    at: Annotated[
        dt.datetime | None, Query(description="When to score intention (default: now).")
    ] = None,
) -> JSONResponse:
    """A customer's profile (newest snapshot by default), labels with their evidence in
    words, and the intention score now (events up to this moment, decayed to it)."""
    svc = _service(request)
    when = at.replace(tzinfo=None) if at is not None else dt.datetime.now()
    with svc.lock:
        view = svc.customer_view(customer_id, as_of)
        live = svc.tracker.score_at(customer_id, when)
    profile = view["profile"]
    masked = _mask([profile], svc.settings.pii_fields, key) if profile else []
    if masked and key.allows("pii:read"):
        _audit(svc, key, "unmask", customer_id, {"fields": masked})
    labels = [
        {**_plain(lab), "because": {"en": because(lab, "en"), "zh": because(lab, "zh")}}
        for lab in view["labels"]
    ]
    return JSONResponse(
        {  # already plain: no second encoding pass
            "customer_id": customer_id,
            "as_of": _plain(view["as_of"]),
            "profile": _plain(profile),
            "masked": [] if key.allows("pii:read") else masked,
            "labels": labels,
            "intention": {
                "at": when.isoformat(timespec="seconds"),
                "score": live.score,
                "grade": live.grade,
                "thresholds": dict(svc.tracker.thresholds),
            },
        }
    )


@router.get("/v1/customers/{customer_id}/timeline", tags=["customers"], responses=_ERRORS)
def timeline(
    customer_id: str,
    key: Reader,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """A customer's orders and events, newest first (event text is personal: masked)."""
    svc = _service(request)
    with svc.lock:
        if not svc.project.store.customer_exists(customer_id):
            raise HTTPException(404, f"no customer {customer_id!r}")
        rows = svc.project.store.customer_timeline(customer_id, limit).to_pylist()
    masked = _mask(rows, svc.settings.pii_fields, key)
    if masked and key.allows("pii:read"):
        _audit(svc, key, "unmask", customer_id, {"fields": masked, "timeline": len(rows)})
    return {"customer_id": customer_id, "items": _plain(rows)}


# -- snapshots ----------------------------------------------------------------------------
@router.get("/v1/snapshots", tags=["snapshots"], responses=_ERRORS)
def snapshots(key: Reader, request: Request) -> dict[str, Any]:
    """The as-of days of the stored snapshots, oldest first."""
    svc = _service(request)
    with svc.lock:
        dates = svc.snapshot_dates()
    return {"snapshots": [d.isoformat() for d in dates]}


@router.get("/v1/overview", tags=["snapshots"], responses=_ERRORS)
def overview(key: Reader, request: Request, as_of: dt.date | None = None) -> dict[str, Any]:
    """Per scheme, customers and paid value of each primary label (newest snapshot by
    default)."""
    svc = _service(request)
    with svc.lock:
        as_of = as_of or svc.project.store.latest_snapshot()
        rows = svc.label_values(as_of)
    schemes: dict[str, dict[str, Any]] = {}
    for r in rows:
        cfg = svc.project.config.schemes.get(r["scheme"])
        s = schemes.setdefault(r["scheme"], {
            "scheme": r["scheme"], "zh": cfg.zh if cfg else r["scheme"],
            "en": cfg.en if cfg else r["scheme"], "labels": [],
        })  # fmt: skip
        s["labels"].append(
            {k: r[k] for k in r if k not in ("scheme", "all_customers", "all_value")}
        )
    return _plain({
        "as_of": as_of,
        "customers": rows[0]["all_customers"] if rows else 0,
        "value": rows[0]["all_value"] if rows else 0.0,
        "schemes": list(schemes.values()),
    })  # fmt: skip


# -- segments and plans ---------------------------------------------------------------------
@router.get("/v1/segments/{name}/members", tags=["segments"], responses=_ERRORS)
def segment_members(
    name: str,
    key: Reader,
    request: Request,
    as_of: dt.date | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1)] = 100,
) -> dict[str, Any]:
    """One page of a saved segment's members (or of a segment expression), by customer id."""
    from tierwise.segments import SegmentError

    svc = _service(request)
    limit = min(limit, svc.settings.page_limit)
    try:
        with svc.lock:
            table = svc.project.segment(name, as_of, format="arrow")
    except SegmentError as exc:
        raise HTTPException(404 if "unknown" in str(exc) else 422, str(exc)) from None
    rows = table.slice(offset, limit).to_pylist()
    masked = _mask(rows, svc.settings.pii_fields, key)
    _audit(svc, key, "export", f"segment:{name}",
           {"offset": offset, "rows": len(rows), "unmasked": masked if key.allows("pii:read")
            else []})  # fmt: skip
    return _plain({"segment": name, "total": table.num_rows, "members": rows,
                   "offset": offset, "limit": limit})  # fmt: skip


@router.get("/v1/plan", tags=["segments"], responses=_ERRORS)
def plan(
    key: Reader,
    request: Request,
    as_of: dt.date | None = None,
    playbook: str = "default",
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1)] = 100,
) -> dict[str, Any]:
    """A stored plan of a playbook (``tierwise plan`` makes one): counts and one page of rows."""
    svc = _service(request)
    limit = min(limit, svc.settings.page_limit)
    with svc.lock:
        runs = svc.project.store.plan_runs(playbook)
        if not runs:
            raise HTTPException(404, f"no stored plan of playbook {playbook!r}; run tierwise plan")
        day = as_of or runs[-1]["as_of"]
        table = svc.project.store.read_plan(day, playbook)
    status = table.column("status").to_pylist()
    counts = {s: status.count(s) for s in sorted(set(status))}
    return _plain({"playbook": playbook, "as_of": day, "counts": counts,
                   "total": table.num_rows, "rows": table.slice(offset, limit).to_pylist(),
                   "offset": offset, "limit": limit})  # fmt: skip


# -- intention ------------------------------------------------------------------------------
@router.get("/v1/intention/crossings", tags=["intention"], responses=_ERRORS)
def crossings(
    key: Reader,
    request: Request,
    since: Annotated[
        dt.datetime | None, Query(description="Crossings after this time (shop-local).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, Any]:
    """Grade crossings of the intention score seen as events arrived, oldest first."""
    svc = _service(request)
    with svc.lock:
        rows = svc.project.store.live_crossings(
            since.replace(tzinfo=None) if since else None, limit
        ).to_pylist()
    return {"crossings": _plain(rows)}


# -- runs and audit -------------------------------------------------------------------------
class RunRequest(BaseModel):
    """What to run: the as-of day (default: the newest data day)."""

    as_of: dt.date | None = None


@router.post("/v1/runs", tags=["runs"], status_code=202,
             responses={**_ERRORS, 409: {"description": "A run is going on."}})  # fmt: skip
def start_run(key: Admin, request: Request, body: RunRequest | None = None) -> dict[str, Any]:
    """Start a run in the background; poll ``GET /v1/runs/{run_id}``."""
    svc = _service(request)
    try:
        rec = svc.runs.start(body.as_of if body else None)
    except RunBusy as exc:
        raise HTTPException(409, str(exc)) from None
    _audit(svc, key, "run", rec.run_id, {"as_of": rec.as_of})
    return rec.to_dict()


@router.get("/v1/runs/{run_id}", tags=["runs"], responses=_ERRORS)
def run_status(run_id: str, key: Reader, request: Request) -> dict[str, Any]:
    """A run's status: queued, running, done or failed (with the error)."""
    rec = _service(request).runs.get(run_id)
    if rec is None:
        raise HTTPException(404, f"no run {run_id!r} in this service")
    return rec.to_dict()


class KeyRequest(BaseModel):
    """A key to make: its scopes and who uses it."""

    scopes: list[str] = Field(min_length=1, examples=[["events:write"]],
                              description=", ".join(SCOPES))  # fmt: skip
    name: str = Field("", max_length=200)


@router.post("/v1/keys", tags=["service"], status_code=201, responses=_ERRORS)
def make_key(body: KeyRequest, key: Admin, request: Request) -> dict[str, Any]:
    """Make an API key while the service holds the store; the key is shown only here."""
    svc = _service(request)
    with svc.lock:
        text, made = create_key(svc.project.store, body.scopes, body.name)
    _audit(svc, key, "key_create", made.key_id, {"scopes": sorted(made.scopes)})
    return {"key": text, "key_id": made.key_id, "scopes": sorted(made.scopes)}


@router.get("/v1/keys", tags=["service"], responses=_ERRORS)
def keys(key: Admin, request: Request) -> dict[str, Any]:
    """Every key's id, name, scopes and dates (never a secret)."""
    svc = _service(request)
    with svc.lock:
        return {"keys": _plain(list_keys(svc.project.store))}


@router.delete("/v1/keys/{key_id}", tags=["service"], responses=_ERRORS)
def revoke(key_id: str, key: Admin, request: Request) -> dict[str, Any]:
    """Revoke a key at once."""
    svc = _service(request)
    with svc.lock:
        try:
            revoke_key(svc.project.store, key_id)
        except TierwiseError as exc:
            raise HTTPException(404, str(exc)) from None
        svc.forget_keys()
    _audit(svc, key, "key_revoke", key_id, {})
    return {"revoked": key_id}


@router.get("/v1/audit", tags=["service"], responses=_ERRORS)
def audit(
    key: Admin, request: Request, limit: Annotated[int, Query(ge=1, le=10_000)] = 100
) -> dict[str, Any]:
    """Who exported or unmasked what, newest first."""
    svc = _service(request)
    with svc.lock:
        rows = svc.project.store.audit_entries(limit=limit).to_pylist()
    return {"entries": _plain(rows)}


# -- entrance channels and distributors ---------------------------------------------------
@router.get("/v1/entrance", tags=["snapshots"], responses=_ERRORS)
def entrance(
    key: Reader, request: Request, by: str = "channel", as_of: dt.date | None = None
) -> dict[str, Any]:
    """Per entrance channel (``by``: channel, kind, segment, latest): customers, conversion to
    a first order, repeat rate, mean CLV and quadrant mix (newest snapshot by default)."""
    svc = _service(request)
    with svc.lock:
        as_of = as_of or svc.project.store.latest_snapshot()
        table = svc.project.entrance_report(by, as_of=as_of)
    return _plain({"as_of": as_of, "by": by, "rows": table.to_dict("records")})


@router.get("/v1/distributors", tags=["snapshots"], responses=_ERRORS)
def distributors(key: Reader, request: Request, as_of: dt.date | None = None) -> dict[str, Any]:
    """Per distributor: customers brought, revenue, repurchase rate, commission, influence."""
    svc = _service(request)
    with svc.lock:
        as_of = as_of or svc.project.store.latest_snapshot()
        table = svc.project.distributors_report(as_of=as_of)
    return _plain({"as_of": as_of, "rows": table.to_dict("records")})


# -- member levels and the path ------------------------------------------------------------
@router.get("/v1/funnel", tags=["snapshots"], responses=_ERRORS)
def path_funnel(
    key: Reader, request: Request, as_of: dt.date | None = None, by: str | None = None
) -> dict[str, Any]:
    """The path's funnel: customers reaching each stage, conversion from the stage before
    and median days to reach it (`Project.funnel`)."""
    svc = _service(request)
    with svc.lock:
        as_of = as_of or svc.project.store.latest_snapshot()
        try:
            rows = svc.project.funnel(as_of, by=by, format="arrow").to_pylist()
        except TierwiseError as exc:
            raise HTTPException(422, str(exc)) from None
    return _plain({"as_of": as_of, "by": by, "stages": rows})


@router.get("/v1/members/moves", tags=["snapshots"], responses=_ERRORS)
def member_moves(key: Reader, request: Request) -> dict[str, Any]:
    """New members, upgrades and downgrades per snapshot day."""
    svc = _service(request)
    with svc.lock:
        rows = svc.project.member_moves(format="arrow").to_pylist()
    return _plain({"days": rows})


# -- sentiment ------------------------------------------------------------------------------
class SentimentTexts(BaseModel):
    """Texts to score (comments, reviews, messages)."""

    texts: list[str | None] = Field(examples=[["质量很好，非常满意", "太差了，退货"]])


@router.post("/v1/sentiment", tags=["customers"], responses=_ERRORS)
def sentiment(body: SentimentTexts, key: Reader, request: Request) -> dict[str, Any]:
    """How positive each text is (0 negative .. 1 positive), by the shipped sentiment model;
    an empty text gets null. At most `max_batch` texts per request."""
    from tierwise.sentiment import sentiment_scores

    svc = _service(request)
    if len(body.texts) > svc.settings.max_batch:
        raise HTTPException(413, f"{len(body.texts)} texts; at most {svc.settings.max_batch} "
                                 "per request")  # fmt: skip
    scores = sentiment_scores(body.texts) if body.texts else []
    out = [
        None if t is None or not t.strip() else round(float(s), 4)
        for t, s in zip(body.texts, scores, strict=True)
    ]
    return {"sentiment": out}
