"""Plans and uplift in the service: the stored plans, one plan's actions per rule and
channel (planned, suppressed with reasons, control, cost), and treated versus control per
segment x action (``profiles:read``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from tierwise.service.keys import ApiKey
from tierwise.service.routes import _ERRORS, _plain, _service, require

__all__ = ["plan_summary", "plans_router"]

plans_router = APIRouter()

Reader = Annotated[ApiKey, Depends(require("profiles:read"))]

STATUSES = ("planned", "suppressed", "control")


def _runs(store: Any) -> list[dict[str, Any]]:
    return sorted(store.plan_runs(), key=lambda r: (r["as_of"], r["playbook"] != "default",
                                                    r["playbook"]))  # fmt: skip


def _pick(runs: list[dict[str, Any]], as_of: dt.date | None,
          playbook: str | None) -> dict[str, Any]:  # fmt: skip
    """The stored plan asked for: the newest day (the ``default`` playbook first) unless
    ``as_of`` or ``playbook`` narrow it."""
    have = ", ".join(f"{r['playbook']}@{r['as_of']}" for r in runs) or "none"
    if not runs:
        raise HTTPException(404, "no stored plan yet; make one with `tierwise plan`")
    mine = [r for r in runs if playbook is None or r["playbook"] == playbook]
    if not mine:
        raise HTTPException(404, f"no stored plan of playbook {playbook!r}; have {have}")
    if as_of is not None:
        mine = [r for r in mine if r["as_of"] == as_of]
        if not mine:
            raise HTTPException(404, f"no stored plan as of {as_of}"
                                     + (f" of playbook {playbook!r}" if playbook else "")
                                     + f"; have {have}")  # fmt: skip
    day = max(r["as_of"] for r in mine)
    return next(r for r in mine if r["as_of"] == day)


def plan_summary(project: Any, run: dict[str, Any]) -> dict[str, Any]:
    """One stored plan per rule, segment, action and channel: rows planned, suppressed (and
    why) and held out as control, and the cost of the planned actions.

    Parameters
    ----------
    project : Project
        The served project.
    run : dict
        A row of ``Store.plan_runs``.
    """
    plan = project.store.read_plan(run["as_of"], run["playbook"]).to_pandas()
    plan["channel"] = plan["channel"].fillna("")
    plan["reason"] = plan["reason"].fillna("")
    book = (run.get("settings") or {}).get("playbook") or {}
    rules = []
    keys = ["rule", "segment", "action", "channel"]
    for k, g in plan.groupby(keys, sort=True, dropna=False):
        status = g["status"]
        planned = status.eq("planned")
        suppressed = g[status.eq("suppressed")]["reason"].value_counts()
        rules.append({
            "rule": k[0], "segment": k[1], "action": k[2], "channel": k[3],
            "priority": int(g["priority"].max()) if g["priority"].notna().any() else None,
            "planned": int(planned.sum()), "suppressed": int(status.eq("suppressed").sum()),
            "control": int(status.eq("control").sum()),
            "reasons": {str(r): int(n) for r, n in suppressed.items()},
            "cost": float(g.loc[planned, "cost"].fillna(0.0).sum()),
        })  # fmt: skip
    rules.sort(key=lambda r: (-(r["priority"] or 0), r["rule"], r["channel"]))
    counts = {s: int(plan["status"].eq(s).sum()) for s in STATUSES}
    reasons = plan.loc[plan["status"].eq("suppressed"), "reason"].value_counts()
    return _plain({
        "as_of": run["as_of"], "playbook": run["playbook"], "send_at": run["send_at"],
        "created_at": run.get("created_at"),
        "zh": book.get("zh") or run["playbook"], "en": book.get("en") or run["playbook"],
        "rows": len(plan), "counts": counts,
        "customers": int(plan.loc[plan["status"].eq("planned"), "customer_id"].nunique()),
        "cost": float(sum(r["cost"] for r in rules)),
        "reasons": {str(r): int(n) for r, n in reasons.items()},
        "rules": rules,
    })  # fmt: skip


@plans_router.get("/v1/plan/runs", tags=["segments"], responses=_ERRORS)
def plan_runs(request: Request, _key: Reader) -> dict[str, Any]:
    """The stored plans, oldest first: day, playbook, rows and planned rows."""
    svc = _service(request)
    with svc.lock:
        runs = _runs(svc.project.store)
    return _plain({"plans": [
        {"as_of": r["as_of"], "playbook": r["playbook"], "send_at": r["send_at"],
         "created_at": r["created_at"], "rows": r["rows_total"], "planned": r["planned"]}
        for r in runs
    ]})  # fmt: skip


@plans_router.get("/v1/plan/summary", tags=["segments"], responses=_ERRORS)
def plan_summary_route(
    request: Request,
    _key: Reader,
    as_of: Annotated[dt.date | None, Query(description="Default: the newest.")] = None,
    playbook: Annotated[str | None, Query(description="Default: `default`, else any.")] = None,
) -> dict[str, Any]:
    """A stored plan per rule and channel: planned, suppressed (with reasons), control, cost."""
    svc = _service(request)
    with svc.lock:
        run = _pick(_runs(svc.project.store), as_of, playbook)
        return plan_summary(svc.project, run)


_SINCE = "Plans made on or after this day (default: the newest plan of the playbook)."


@plans_router.get("/v1/uplift", tags=["segments"], responses=_ERRORS)
def uplift(
    request: Request,
    _key: Reader,
    playbook: str = "default",
    since: Annotated[dt.date | None, Query(description=_SINCE)] = None,
    window_days: Annotated[int, Query(ge=1, le=366)] = 30,
    level: Annotated[float, Query(gt=0, lt=1)] = 0.95,
) -> dict[str, Any]:
    """Treated vs control per segment x action: conversion, revenue and margin per customer,
    the differences with their intervals and the verdict (`Project.uplift`)."""
    svc = _service(request)
    with svc.lock:
        if since is None:
            since = _pick(_runs(svc.project.store), None, playbook)["as_of"]
        result = svc.project.uplift(playbook, since=since, window_days=window_days,
                                    level=level)  # fmt: skip
    return _plain({
        "playbook": result.playbook, "since": result.since, "window_days": result.window_days,
        "level": result.level, "rows": result.rows, "notes": result.notes,
        "sent": int(sum(r["n_treated"] for r in result.rows)),
    })  # fmt: skip
