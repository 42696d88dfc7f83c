"""What a report shows, read from a project: plain data, one block per section."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tierwise.errors import TierwiseError

if TYPE_CHECKING:
    from tierwise.project import Project

__all__ = ["SECTIONS", "ReportData", "gather_report"]

SECTIONS = (
    "tiers",
    "moves",
    "quadrant",
    "clv",
    "tags",
    "plan",
    "backtest",
    "entrance",
    "path",
    "members",
    "satisfaction",
    "identity",
)
"""The sections of a report, in order."""

_MAX_POINTS = 5000
_TOP_TAGS = 8
_TOP_DISTRIBUTORS = 20


def _plain(value: Any) -> Any:
    """A JSON-friendly value (NaN and infinities become None, dates ISO text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


@dataclass
class ReportData:
    """The figures of a report, section by section.

    Attributes
    ----------
    as_of : datetime.date
        The snapshot reported on.
    previous : datetime.date or None
        The snapshot before it (movements are counted from there).
    sections : dict
        Section name (`SECTIONS`) to its data (JSON-friendly), or None when the project
        holds nothing for it; ``absent`` says why.
    absent : dict
        Section name to the reason it is empty (English; the page words it per language).
    """

    as_of: dt.date
    previous: dt.date | None
    customers: int
    sections: dict[str, Any] = field(default_factory=dict)
    absent: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-friendly)."""
        return _plain({
            "as_of": self.as_of, "previous": self.previous, "customers": self.customers,
            "sections": self.sections, "absent": self.absent,
        })  # fmt: skip


def _tiers(project: Project, as_of: dt.date) -> dict[str, Any]:
    rows = project.store.value_by_label(as_of).to_pylist()
    schemes: dict[str, Any] = {}
    for name, spec in project.config.schemes.items():
        mine = [r for r in rows if r["scheme"] == name]
        if not mine:
            continue
        schemes[name] = {
            "zh": spec.zh, "en": spec.en,
            "labels": [{
                "label": r["label"], "zh": r["label_zh"], "en": r["label_en"],
                "customers": r["customers"], "customer_share": r["customer_share"],
                "value": r["value"], "value_share": r["value_share"],
            } for r in mine],
        }  # fmt: skip
    total = rows[0] if rows else {"all_customers": 0, "all_value": 0.0}
    return {
        "customers": total["all_customers"],
        "value": total["all_value"],
        "schemes": schemes,
    }


def _moves(project: Project, previous: dt.date, as_of: dt.date) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, spec in project.config.schemes.items():
        cells = project.moves(name, previous, as_of, format="arrow").to_pylist()
        if not cells:
            continue
        stayed = sum(c["customers"] for c in cells if c["from_label"] == c["to_label"])
        total = sum(c["customers"] for c in cells)
        out[name] = {
            "zh": spec.zh, "en": spec.en, "cells": cells,
            "customers": total, "moved": total - stayed,
        }  # fmt: skip
    return out


def _quadrant(project: Project, as_of: dt.date, profiles: Any) -> dict[str, Any] | None:
    if "quadrant" not in project.config.schemes or "quadrant" not in profiles.columns:
        return None
    spec = project.config.schemes["quadrant"]
    frame = profiles[["customer_id", "expected_loyalty", "potential_profit", "quadrant"]]
    frame = frame.dropna(subset=["expected_loyalty", "potential_profit", "quadrant"])
    if frame.empty:
        return None
    counts = frame["quadrant"].value_counts()
    shown = frame
    if len(frame) > _MAX_POINTS:
        shown = frame.sample(_MAX_POINTS, random_state=0).sort_values("customer_id")
    lines = (project.fitted_state(as_of).get("quadrant_lines") or {}).get("state") or {}
    labels = []
    for lab in spec.labels:
        part = shown[shown["quadrant"] == lab.id]
        labels.append({
            "label": lab.id, "zh": lab.zh, "en": lab.en, "note": lab.note or "",
            "customers": int(counts.get(lab.id, 0)),
            "points": [[round(float(x), 4), round(float(y), 2)]
                       for x, y in zip(part["expected_loyalty"], part["potential_profit"],
                                       strict=True)],
        })  # fmt: skip
    return {
        "customers": len(frame),
        "shown": len(shown),
        "loyalty_threshold": lines.get("loyalty_threshold"),
        "profit_threshold": lines.get("profit_threshold"),
        "labels": labels,
    }


def _clv(project: Project, as_of: dt.date, backtest: dict[str, Any] | None) -> dict[str, Any]:
    meta = project.clv_meta(as_of)
    out: dict[str, Any] = {}
    for key in ("model", "spend_model"):
        model = meta.get(key)
        if model:
            out[key] = {
                "name": model.get("name"),
                "params": model.get("params") or {},
                "standard_errors": model.get("standard_errors") or {},
            }
    if meta.get("note"):
        out["note"] = meta["note"]
    if backtest is not None:
        out["cut"] = backtest["cut"]
        out["until"] = backtest["until"]
        out["calibration"] = backtest["calibration"]
        out["clv_deciles"] = backtest["clv_deciles"]
        out["p_alive_deciles"] = backtest["p_alive_deciles"]
    return out


def _tags(project: Project, as_of: dt.date) -> dict[str, Any] | None:
    from tierwise.tags import default_lexicon

    if "tags" not in project.store.profile_columns(as_of):
        return None
    rows = project.tag_distribution("lifecycle", as_of=as_of, format="arrow").to_pylist()
    if not rows:
        return None
    lex = default_lexicon()
    spec = project.config.schemes.get("lifecycle")
    segments: dict[str, Any] = {}
    for r in rows:
        seg = segments.setdefault(r["segment"], {"size": r["segment_size"], "tags": []})
        if len(seg["tags"]) >= _TOP_TAGS:
            continue
        major, _, minor = r["tag"].partition("/")
        rule = lex.rules.get((major, minor))
        seg["tags"].append({
            "tag": r["tag"], "zh": rule.zh if rule else r["tag"],
            "en": rule.en if rule else r["tag"], "customers": r["n_customers"],
            "share": r["share"],
        })  # fmt: skip
    order = [lab.id for lab in spec.labels] if spec is not None else []
    out = []
    for name in sorted(segments, key=lambda s: (order.index(s) if s in order else len(order), s)):
        zh, en = spec.display(name) if spec is not None and name in order else (name, name)
        out.append({"segment": name, "zh": zh, "en": en, **segments[name]})
    return {"by": "lifecycle", "segments": out}


def _plans(project: Project, as_of: dt.date) -> dict[str, Any] | None:
    runs = [r for r in project.store.plan_runs() if r["as_of"] <= as_of]
    if not runs:
        return None
    day = max(r["as_of"] for r in runs)
    newest = sorted((r for r in runs if r["as_of"] == day),
                    key=lambda r: (r["playbook"] != "default", r["playbook"]))  # fmt: skip
    return {"as_of": day, "plans": [_plan(project, run) for run in newest]}


def _plan(project: Project, run: dict[str, Any]) -> dict[str, Any]:
    plan = project.store.read_plan(run["as_of"], run["playbook"]).to_pandas()
    book = (run["settings"] or {}).get("playbook") or {}
    groups = plan.assign(
        planned=plan["status"].eq("planned") & ~plan["control"].astype(bool),
        held_out=plan["control"].astype(bool),
        suppressed=plan["status"].ne("planned") & ~plan["control"].astype(bool),
        planned_cost=plan["cost"].where(plan["status"].eq("planned") & ~plan["control"], 0.0),
    ).groupby(["rule", "segment", "action", "channel"], sort=True)
    rules = [
        {"rule": k[0], "segment": k[1], "action": k[2], "channel": k[3],
         "planned": int(g["planned"].sum()), "control": int(g["held_out"].sum()),
         "suppressed": int(g["suppressed"].sum()), "cost": float(g["planned_cost"].sum())}
        for k, g in groups
    ]  # fmt: skip
    reasons = plan[plan["status"].ne("planned")]["reason"].fillna("").value_counts()
    out: dict[str, Any] = {
        "as_of": run["as_of"], "playbook": run["playbook"], "send_at": run["send_at"],
        "zh": book.get("zh") or run["playbook"], "en": book.get("en") or run["playbook"],
        "rows": run["rows_total"], "planned": int(sum(r["planned"] for r in rules)),
        "customers": int(plan.loc[plan["status"].eq("planned"), "customer_id"].nunique()),
        "rules": rules,
        "reasons": [{"reason": k or "-", "rows": int(v)} for k, v in reasons.items()],
    }  # fmt: skip
    try:
        uplift = project.uplift(run["playbook"], since=run["as_of"])
    except TierwiseError as exc:
        out["uplift"] = None
        out["uplift_absent"] = str(exc)
    else:
        out["uplift"] = {"since": uplift.since, "window_days": uplift.window_days,
                         "level": uplift.level, "rows": uplift.rows,
                         "notes": uplift.notes}  # fmt: skip
    return out


def _records(frame: Any) -> list[dict[str, Any]]:
    return _plain(frame.to_dict("records"))


def _filled(profiles: Any, column: str) -> bool:
    """Whether the snapshot holds ``column`` with a value (a skipped step leaves it empty)."""
    return column in profiles.columns and bool(profiles[column].notna().any())


def _entrance(project: Project, as_of: dt.date, profiles: Any) -> dict[str, Any] | None:
    if not _filled(profiles, "entrance_kind"):
        return None
    columns = list(profiles.columns)
    out: dict[str, Any] = {"kinds": _records(project.entrance_report("kind", as_of))}
    quad = project.config.schemes.get("quadrant")
    seen = {k for r in out["kinds"] for k in r["quadrant_mix"]}
    order = [lab.id for lab in quad.labels] if quad is not None else []
    names = {q: quad.display(q) for q in order} if quad is not None else {}
    names["none"] = ("无象限", "No quadrant")
    out["quadrants"] = [
        {"label": q, "zh": names.get(q, (q, q))[0], "en": names.get(q, (q, q))[1]}
        for q in [*order, *sorted(seen - set(order))] if q in seen
    ]  # fmt: skip
    if "entrance_segment" in columns:
        names = {s.id: (s.zh, s.en) for s in project.config.entrance.segments}
        rows = _records(project.entrance_report("segment", as_of))
        for r in rows:
            r["zh"], r["en"] = names.get(r["segment"], (r["segment"], r["segment"]))
        out["segments"] = rows
    else:
        out["segments"] = None
    out["distributors"] = None
    if not project.config.distributors.enabled:
        out["distributors_absent"] = "distributors are off (distributors.enabled: false)"
        return out
    try:
        dist = project.distributors_report(as_of)
    except TierwiseError as exc:
        out["distributors_absent"] = str(exc)
        return out
    if dist.empty:
        out["distributors_absent"] = "no order is attributed to a distributor"
        return out
    out["distributors"] = {
        "count": len(dist),
        "customers": int(dist["customers"].sum()),
        "orders": int(dist["orders"].sum()),
        "revenue": float(dist["revenue"].sum()),
        "commission": float(dist["commission"].sum()),
        "top": _records(dist.head(_TOP_DISTRIBUTORS)),
    }
    return out


def _path(project: Project, as_of: dt.date) -> tuple[dict[str, Any] | None, str]:
    from tierwise.funnel import FunnelError

    try:
        rows = project.funnel(as_of, format="arrow").to_pylist()
    except FunnelError as exc:
        return None, str(exc)
    if not rows:
        return None, "no customer on the path's stages"
    return {"scheme": project.config.funnel.scheme, "stages": rows}, ""


def _members(
    project: Project, as_of: dt.date, previous: dt.date | None, customers: int
) -> dict[str, Any]:
    cfg = project.config.members
    levels = project.member_levels(as_of, format="arrow").to_pylist()
    out: dict[str, Any] = {
        "levels": levels,
        "members": sum(r["customers"] for r in levels),
        "non_members": customers - sum(r["customers"] for r in levels),
        "recorded": [r for r in project.member_moves(format="arrow").to_pylist()
                     if r["as_of"] <= as_of],
        "previous": previous,
        "changes": None,
        "cells": None,
    }  # fmt: skip
    if previous is None or "member_level" not in project.store.profile_columns(previous):
        return out
    cells = project.moves("member_level", previous, as_of, format="arrow").to_pylist()
    changes = dict.fromkeys(("stayed", "upgrade", "downgrade", "joined", "left"), 0)
    for c in cells:
        a, b = cfg.rank(c["from_label"]), cfg.rank(c["to_label"])
        key = ("stayed" if a == b else "joined" if a == 0 else "left" if b == 0
               else "upgrade" if b > a else "downgrade")  # fmt: skip
        if a == b == 0:
            continue
        changes[key] += c["customers"]
    out["changes"], out["cells"] = changes, cells
    return out


def _satisfaction(project: Project, as_of: dt.date, profiles: Any) -> dict[str, Any] | None:
    if not _filled(profiles, "satisfaction_grade"):
        return None
    cfg = project.config.satisfaction
    grade = profiles["satisfaction_grade"]
    score = profiles.get("satisfaction_score")
    rows = []
    for g in cfg.grades:
        mine = grade == g.id
        rows.append({
            "grade": g.id, "zh": g.zh, "en": g.en, "min_score": g.min_score,
            "customers": int(mine.sum()), "share": float(mine.mean()) if len(grade) else None,
            "mean_score": float(score[mine].mean()) if score is not None and mine.any()
            else None,
        })  # fmt: skip
    out: dict[str, Any] = {
        "grades": rows,
        "graded": int(grade.notna().sum()),
        "ungraded": int(grade.isna().sum()),
        "mean_score": float(score.mean()) if score is not None and score.notna().any() else None,
        "segment": "dissatisfied_valuable",
        "segment_customers": None,
    }
    try:
        count = project.segment_count("dissatisfied_valuable", as_of, sample=0)
    except TierwiseError as exc:
        out["segment_absent"] = str(exc)
    else:
        out["segment_customers"] = count.customers
        out["segment_expr"] = count.segment.expr
    return out


def _identity(project: Project) -> dict[str, Any] | None:
    stats = project.resolve_identities().stats
    if not stats.get("links"):
        return None
    return dict(stats)


def _backtest_cut(
    project: Project, as_of: dt.date, previous: dt.date | None, cut: dt.date | None
) -> dt.date | None:
    if cut is not None:
        return cut
    if previous is not None:
        return previous
    oldest = project.store.oldest_data_day()
    guess = as_of - dt.timedelta(days=90)
    return guess if oldest is not None and oldest < guess else None


def gather_report(
    project: Project,
    as_of: dt.date | None = None,
    *,
    backtest: bool = True,
    backtest_cut: dt.date | None = None,
    progress: Any = None,
) -> ReportData:
    """Read every figure a report shows from a project.

    Parameters
    ----------
    project : Project
        A project with at least one snapshot.
    as_of : datetime.date, optional
        The snapshot (newest by default).
    backtest : bool
        Run the backtest (and the CLV checks on its holdout); it computes a run in memory.
    backtest_cut : datetime.date, optional
        The backtest's cut; by default the previous snapshot, else 90 days before ``as_of``.
        The holdout ends on ``as_of``.
    progress : callable, optional
        Called with a short description before each section.

    Returns
    -------
    ReportData
    """
    say = progress or (lambda _msg: None)
    days = project.snapshots()
    if not days:
        raise TierwiseError("the project has no snapshot yet; run `tierwise run` first")
    as_of = as_of or days[-1]
    if as_of not in days:
        have = ", ".join(map(str, days))
        raise TierwiseError(f"no snapshot as of {as_of}; have {have}")
    earlier = [d for d in days if d < as_of]
    previous = earlier[-1] if earlier else None
    profiles = project.profiles(as_of)
    data = ReportData(as_of=as_of, previous=previous, customers=len(profiles))
    sec, absent = data.sections, data.absent

    say("tiers and value share")
    sec["tiers"] = _tiers(project, as_of)
    say("movements since the previous snapshot")
    if previous is None:
        sec["moves"], absent["moves"] = None, "no earlier snapshot"
    else:
        sec["moves"] = {"from": previous, "to": as_of, "schemes": _moves(project, previous, as_of)}
    say("quadrant map")
    sec["quadrant"] = _quadrant(project, as_of, profiles)
    if sec["quadrant"] is None:
        absent["quadrant"] = "no quadrant labels in the snapshot"
    bt = None
    cut = _backtest_cut(project, as_of, previous, backtest_cut) if backtest else None
    if not backtest:
        absent["backtest"] = "backtest not asked for"
    elif cut is None:
        absent["backtest"] = "no data old enough for a backtest cut"
    else:
        say(f"backtest as of {cut}")
        bt = project.backtest(cut, as_of, progress=say).to_dict()
        for row in bt["labels"]:
            spec = project.config.schemes.get(row["scheme"])
            row["zh"], row["en"] = (
                spec.display(row["label"]) if spec else (row["label"], row["label"])
            )
    sec["backtest"] = bt
    say("CLV checks")
    sec["clv"] = _clv(project, as_of, bt) or None
    if sec["clv"] is None:
        absent["clv"] = "no CLV model in the snapshot"
    say("tag portraits")
    sec["tags"] = _tags(project, as_of)
    if sec["tags"] is None:
        absent["tags"] = "no tags in the snapshot"
    say("playbook plan and uplift")
    sec["plan"] = _plans(project, as_of)
    if sec["plan"] is None:
        absent["plan"] = "no plan yet"
    say("entrances and distributors")
    sec["entrance"] = _entrance(project, as_of, profiles)
    if sec["entrance"] is None:
        absent["entrance"] = "no entrance columns in the snapshot"
    say("the path's funnel")
    sec["path"], why = _path(project, as_of)
    if sec["path"] is None:
        absent["path"] = why
    say("member levels")
    if not project.config.members.enabled or not _filled(profiles, "member_rank"):
        sec["members"], absent["members"] = None, "the members step is off"
    else:
        sec["members"] = _members(project, as_of, previous, data.customers)
    say("satisfaction")
    sec["satisfaction"] = _satisfaction(project, as_of, profiles)
    if sec["satisfaction"] is None:
        absent["satisfaction"] = "no satisfaction grades in the snapshot"
    say("identities")
    sec["identity"] = _identity(project)
    if sec["identity"] is None:
        absent["identity"] = "no identities imported"
    data.sections = _plain(sec)
    return data
