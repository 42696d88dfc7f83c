"""Models in the service: the CLV fit of a snapshot (parameters, standard errors), and a
backtest run on demand in the background (``profiles:read``; nothing is stored)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel

from tierwise.service.keys import ApiKey
from tierwise.service.routes import _ERRORS, _plain, _service, require

__all__ = ["BacktestJob", "Backtests", "models_router"]

models_router = APIRouter()

Reader = Annotated[ApiKey, Depends(require("profiles:read"))]


@dataclass
class BacktestJob:
    """A backtest started through the service: its cut, state and figures."""

    cut: dt.date
    until: dt.date
    status: str = "running"  # running, done, failed
    started_at: str = ""
    finished_at: str | None = None
    seconds: float | None = None
    step: str = ""
    error: str | None = None
    result: dict[str, Any] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-friendly)."""
        return _plain({
            "status": self.status, "cut": self.cut, "until": self.until,
            "started_at": self.started_at, "finished_at": self.finished_at,
            "seconds": self.seconds, "step": self.step, "error": self.error,
            "result": self.result,
        })  # fmt: skip


class Backtests:
    """One backtest at a time, on a sibling connection, in a background thread; the last
    one is kept (in memory) for the page to show."""

    def __init__(self, project: Any) -> None:
        self.project = project
        self.last: BacktestJob | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self, cut: dt.date, until: dt.date) -> BacktestJob:
        """Start a backtest, or raise `RuntimeError` while one is running."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise RuntimeError(f"a backtest as of {self.last and self.last.cut} is running")
            job = BacktestJob(cut, until, started_at=_now())
            self.last = job
            self._thread = threading.Thread(target=self._work, args=(job,),
                                            name="tw-backtest", daemon=True)  # fmt: skip
            self._thread.start()
        return job

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the running backtest to end."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _work(self, job: BacktestJob) -> None:
        t0 = time.perf_counter()

        def say(msg: str) -> None:
            job.step = msg

        try:
            with self.project.sibling() as p:
                data = p.backtest(job.cut, job.until, progress=say).to_dict()
                for row in data["labels"]:
                    spec = p.config.schemes.get(row["scheme"])
                    row["zh"], row["en"] = (spec.display(row["label"]) if spec
                                            else (row["label"], row["label"]))  # fmt: skip
            job.result = data
            job.status = "done"
        except Exception as exc:  # reported through the job
            job.status = "failed"
            job.error = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        finally:
            job.finished_at = _now()
            job.seconds = round(time.perf_counter() - t0, 2)


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


def _backtests(request: Request) -> Backtests:
    return request.app.state.backtests


@models_router.get("/v1/models/clv", tags=["models"], responses=_ERRORS)
def clv_model(request: Request, _key: Reader, as_of: dt.date | None = None) -> dict[str, Any]:
    """What a snapshot's CLV step fitted (newest by default): the purchase and spend
    models with parameters and standard errors, the note, the quadrant lines."""
    from tierwise.report._gather import _clv

    svc = _service(request)
    with svc.lock:
        dates = svc.snapshot_dates()
        if not dates:
            raise HTTPException(404, "no snapshot yet: start a run")
        if as_of is not None and as_of not in dates:
            have = ", ".join(map(str, dates))
            raise HTTPException(404, f"no snapshot as of {as_of}; have {have}")
        as_of = as_of or dates[-1]
        clv = _clv(svc.project, as_of, None)
        lines = (svc.project.fitted_state(as_of).get("quadrant_lines") or {}).get("state")
    return _plain({"as_of": as_of, "snapshots": dates, "fitted": bool(clv.get("model")),
                   **clv, "quadrant_lines": lines or None})  # fmt: skip


class BacktestRequest(BaseModel):
    """The backtest's cut and the end of its holdout (defaults: the snapshot before the
    newest, else 90 days before it; the newest snapshot)."""

    cut: dt.date | None = None
    until: dt.date | None = None


_BUSY = {**_ERRORS, 409: {"description": "A backtest is running."}}


@models_router.post("/v1/models/backtest", tags=["models"], status_code=202, responses=_BUSY)
def start_backtest(
    request: Request, _key: Reader, body: BacktestRequest | None = None
) -> dict[str, Any]:
    """Start a backtest in the background (a run as of the cut computed in memory, its
    labels and CLV checked on the holdout); poll ``GET /v1/models/backtest``."""
    from tierwise.report._gather import _backtest_cut

    svc = _service(request)
    body = body or BacktestRequest()
    with svc.lock:
        dates = svc.snapshot_dates()
        if not dates:
            raise HTTPException(404, "no snapshot yet: start a run")
        until = body.until or dates[-1]
        earlier = [d for d in dates if d < until]
        cut = _backtest_cut(svc.project, until, earlier[-1] if earlier else None, body.cut)
        oldest = svc.project.store.oldest_data_day()
    if cut is None:
        raise HTTPException(422, "no data old enough for a backtest cut; give `cut`")
    if until <= cut:
        raise HTTPException(422, f"until: the holdout must end after the cut ({until} is "
                                 f"not after {cut})")  # fmt: skip
    if oldest is None or oldest > cut:
        raise HTTPException(422, f"cut: no data up to {cut}; the oldest data is of {oldest}")
    try:
        job = _backtests(request).start(cut, until)
    except RuntimeError as exc:
        raise HTTPException(409, str(exc)) from None
    return job.to_dict()


@models_router.get("/v1/models/backtest", tags=["models"], responses=_ERRORS)
def last_backtest(request: Request, _key: Reader) -> dict[str, Any]:
    """The last backtest started through this service: running, done (with its figures:
    labels, checks, CLV and P(alive) by decile, calibration) or failed; 404 if none."""
    job = _backtests(request).last
    if job is None:
        raise HTTPException(404, "no backtest in this service yet: POST /v1/models/backtest")
    return job.to_dict()
