"""Flows in the service: a background deliverer, and the routes that show flows and their
deliveries (``profiles:read``) or put a dead letter back in the queue (``admin``)."""

from __future__ import annotations

import datetime as dt
import os
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from tierwise.errors import TierwiseError
from tierwise.service.keys import ApiKey
from tierwise.service.routes import _ERRORS, _audit, _plain, _service, require

__all__ = ["FlowDelivery", "flows_router"]

flows_router = APIRouter()

STATUSES = ("pending", "sent", "dead", "capped", "control", "recorded")


class FlowDelivery:
    """The deliverer thread of a service: it runs when the project has flows and
    ``TIERWISE_FLOWS_SECRET`` is set, on its own connection to the store."""

    def __init__(self, service: Any, interval: float = 2.0) -> None:
        self.service = service
        self.interval = interval
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.deliverer: Any = None
        self.why_not: str | None = None
        self.live: list[str] = []
        self.detected: dt.datetime | None = None
        self.flows: Any = None

    def start(self) -> None:
        """Start delivering, or note why not."""
        from tierwise.flows import SECRET_ENV, Deliverer

        try:
            flows = self.service.project.flows()
        except TierwiseError as exc:
            self.why_not = str(exc)
            return
        if not flows.flows:
            self.why_not = "no flows in flows.yaml"
            return
        if not os.environ.get(SECRET_ENV):
            self.why_not = f"{SECRET_ENV} is not set"
            return
        store = self.service.project.store
        with self.service.lock:
            store.ensure_flow_tables()
            twin = store.sibling()
        self.deliverer = Deliverer(twin, flows.delivery)
        self.live = [n for n, f in flows.flows.items() if f.enabled and f.trigger.live]
        self.flows = flows
        self.thread = threading.Thread(target=self._loop, name="tw-flow-deliverer",
                                       daemon=True)  # fmt: skip
        self.thread.start()

    def _loop(self) -> None:
        """Each pass: add the live intention crossings of live flows, then deliver."""
        from tierwise.flows import enqueue_crossings

        d = self.deliverer
        project = self.service.project
        while not self.stop_event.is_set():
            try:
                seen = self.detected
                new = d.store.live_intention_crossings(dt.datetime.min, seen) if self.live \
                    else None  # fmt: skip
                if new is not None and new.num_rows and d.store.snapshots():
                    for name in self.live:
                        enqueue_crossings(d.store, project.config, project.directory,
                                          flows=self.flows, only=name)  # fmt: skip
                    self.detected = max(new.column("detected_at").to_pylist())
                d.last_run = d.deliver_once()
                d.last_error = None
            except Exception as exc:  # keep delivering: the rows keep their state
                d.last_error = f"{type(exc).__name__}: {exc}"
            self.stop_event.wait(self.interval)

    def stop(self) -> None:
        """Stop after the pass in progress (its rows are finished or stay leased)."""
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(60)
            self.deliverer.close()
            self.deliverer.store.close()

    def status(self) -> dict[str, Any]:
        """Whether the deliverer runs, its last pass and its last error."""
        d = self.deliverer
        return {
            "running": self.thread is not None and self.thread.is_alive(),
            "why_not": self.why_not,
            "last_run": d.last_run.to_dict() if d is not None and d.last_run else None,
            "last_error": d.last_error if d is not None else None,
            "live_flows": self.live,
        }


Reader = Annotated[ApiKey, Depends(require("profiles:read"))]
Admin = Annotated[ApiKey, Depends(require("admin"))]


@flows_router.get("/v1/flows", tags=["flows"], responses=_ERRORS)
def list_flows(request: Request, _key: Reader) -> dict[str, Any]:
    """Every flow of ``flows.yaml`` with its outbox counts, and the deliverer's state."""
    svc = _service(request)
    flows = svc.project.flows()
    with svc.lock:
        counts: dict[str, dict[str, int]] = {}
        for r in svc.project.store.flow_status_counts().to_pylist():
            counts.setdefault(r["flow"], {})[r["status"]] = r["deliveries"]
    items = []
    for name, f in flows.flows.items():
        items.append({
            "flow": name, "zh": f.zh, "en": f.en, "trigger": f.trigger.kind,
            "wait_seconds": f.wait, "when": f.when, "webhook": f.action.webhook,
            "rule": f.action.rule, "playbook": f.playbook, "enabled": f.enabled,
            "counts": {s: counts.get(name, {}).get(s, 0) for s in STATUSES},
        })  # fmt: skip
    deliverer = getattr(request.app.state, "flow_delivery", None)
    return {"flows": items,
            "deliverer": deliverer.status() if deliverer is not None else None}  # fmt: skip


@flows_router.get("/v1/flows/deliveries", tags=["flows"], responses=_ERRORS)
def list_deliveries(
    request: Request,
    _key: Reader,
    flow: Annotated[str | None, Query(description="Only this flow.")] = None,
    status: Annotated[str | None, Query(description=", ".join(STATUSES))] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """The outbox, newest first (payloads left out)."""
    if status is not None and status not in STATUSES:
        raise HTTPException(422, f"status {status!r}: use one of {', '.join(STATUSES)}")
    svc = _service(request)
    with svc.lock:
        rows = svc.project.store.flow_deliveries(flow=flow, status=status, limit=limit)
    return {"items": [_plain(r) for r in rows.to_pylist()]}


@flows_router.post("/v1/flows/deliveries/{delivery_id}/retry", tags=["flows"],
                   responses=_ERRORS)  # fmt: skip
def retry_delivery(request: Request, delivery_id: int, key: Admin) -> dict[str, Any]:
    """Put a dead-lettered delivery back in the queue."""
    svc = _service(request)
    with svc.lock:
        ok = svc.project.store.retry_flow_delivery(delivery_id, dt.datetime.now())
    if not ok:
        raise HTTPException(409, f"delivery {delivery_id} is not in the dead letter")
    _audit(svc, key, "flows.retry", str(delivery_id), {})
    return {"delivery_id": delivery_id, "status": "pending"}
