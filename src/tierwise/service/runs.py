"""Runs started through the service: one at a time, in a background thread, polled by id."""

from __future__ import annotations

import datetime as dt
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from tierwise.project import Project

__all__ = ["RunBusy", "RunRecord", "Runs"]


class RunBusy(Exception):
    """A run is already going on."""


@dataclass
class RunRecord:
    """What a run is doing or did."""

    run_id: str
    as_of: str | None
    status: str = "queued"  # queued, running, done, failed
    step: str = ""
    started_at: str | None = None
    finished_at: str | None = None
    customers: int | None = None
    error: str | None = None
    steps: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return asdict(self)


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


class Runs:
    """Starts runs of a project on their own connection and keeps their records.

    Parameters
    ----------
    project : Project
        The served project; each run uses a sibling connection to its store.
    on_done : callable, optional
        Called after each run that wrote a snapshot.
    """

    def __init__(self, project: Project, on_done: Callable[[], None] | None = None) -> None:
        self.project = project
        self.on_done = on_done
        self._records: dict[str, RunRecord] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self, as_of: dt.date | None) -> RunRecord:
        """Start a run in the background.

        Raises
        ------
        RunBusy
            If a run is still going on.
        """
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                busy = next(r for r in self._records.values() if r.status in ("queued", "running"))
                raise RunBusy(f"run {busy.run_id} is still {busy.status}")
            rec = RunRecord(run_id=uuid.uuid4().hex[:12], as_of=as_of and as_of.isoformat())
            self._records[rec.run_id] = rec
            self._thread = threading.Thread(
                target=self._work, args=(rec, as_of), name=f"run-{rec.run_id}", daemon=True
            )
            self._thread.start()
        return rec

    def get(self, run_id: str) -> RunRecord | None:
        """A run's record, or ``None``."""
        return self._records.get(run_id)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the current run to end."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _work(self, rec: RunRecord, as_of: dt.date | None) -> None:
        rec.status, rec.started_at = "running", _now()

        def say(msg: str) -> None:
            rec.step = msg
            rec.steps.append(msg)

        try:
            with self.project.sibling() as p:
                result = p.run(as_of, progress=say)
            rec.customers = result.num_customers
            rec.as_of = result.as_of.isoformat()
            if self.on_done is not None:
                self.on_done()
            rec.status = "done"
        except Exception as exc:  # reported through the run's record
            rec.status = "failed"
            rec.error = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            rec.steps.append(traceback.format_exception_only(exc)[-1].strip())
        finally:
            rec.finished_at = _now()
