"""Playbooks on a project's store: make and store a plan, import lists and sends, uplift."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from tierwise.errors import StoreError
from tierwise.playbooks._files import BadRows, CheckedFile, read_consent_file, read_sends_file
from tierwise.playbooks._model import PLAYBOOKS_FILE, PlaybookFile, load_playbooks
from tierwise.playbooks._plan import PlanInputs, build_plan, plan_summary
from tierwise.playbooks._selectors import SegmentResolver, SnapshotVocabulary
from tierwise.playbooks._uplift import uplift_customers, uplift_table
from tierwise.store import Store

__all__ = [
    "PlanResult",
    "UpliftResult",
    "import_consent",
    "import_sends",
    "make_plan",
    "project_playbooks",
    "project_segment_resolver",
    "snapshot_vocabulary",
    "uplift",
]


def project_playbooks(directory: str | Path) -> PlaybookFile:
    """The defaults with the project's ``playbooks.yaml`` merged over them (when present)."""
    path = Path(directory) / PLAYBOOKS_FILE
    return load_playbooks(path if path.exists() else None)


def project_segment_resolver(
    store: Store, config: Any, directory: Path, as_of: dt.date | None = None
) -> SegmentResolver:
    """The resolver of ``{segment: NAME}`` selectors: the project's saved segments.

    ``resolver(name, profile_table)`` compiles the saved segment ``name`` (or, failing that,
    ``name`` read as a segment expression) with the segment language over the plan's
    profile table of the snapshot ``as_of``.
    """
    from tierwise.errors import ConfigError
    from tierwise.segments import SegmentError, segment_filter
    from tierwise.segments.evaluate import store_context
    from tierwise.segments.saved import SegmentBook

    def resolve(name: str, profiles: Any) -> Any:
        saved = SegmentBook(directory).load()
        try:
            ctx = store_context(store, config, as_of, base_dir=directory,
                                segments={k: v.expr for k, v in saved.items()})  # fmt: skip
            ctx = replace(ctx, profiles=profiles)
            if name in saved:
                return segment_filter(saved[name].expr, ctx, name=name)
            return segment_filter(name, ctx)
        except SegmentError as exc:
            known = ", ".join(sorted(saved)) or "none saved (tierwise segment add)"
            raise ConfigError(f"segment {name!r}: {exc}; saved segments: {known}") from None

    return resolve


def snapshot_vocabulary(
    store: Store, config: Any, directory: Path, as_of: dt.date
) -> SnapshotVocabulary:
    """Columns, scheme labels and known precise tags of a snapshot, for checking playbooks."""
    tags: list[str] = []
    if config.tags.enabled:
        from tierwise.tags import load_lexicon

        lexicon = load_lexicon(*[directory / p for p in config.tags.lexicons])
        tags = [f"{r.major}/{r.id}" for r in lexicon.tags]
    return SnapshotVocabulary.from_config(config, store.profile_columns(as_of), tags)


def _ibis(store: Store) -> Any:
    return ibis.duckdb.from_connection(store.con)


def _table(store: Store, name: str) -> ir.Table | None:
    return _ibis(store).table(name) if store.has_table(name) else None


@dataclass
class PlanResult:
    """A plan: every row with its status and reason, and the summary of actions x counts."""

    as_of: dt.date
    playbook: str
    send_at: dt.datetime
    rows: pa.Table
    summary: list[dict[str, Any]]
    counts: dict[str, int] = field(default_factory=dict)

    def reasons(self) -> list[dict[str, Any]]:
        """Rows per status and reason, largest first."""
        df = self.rows.select(["status", "reason"]).to_pandas()
        df["reason"] = df["reason"].fillna("")
        n = df.value_counts().rename("rows").reset_index()
        return n.sort_values(["status", "rows"], ascending=[True, False]).to_dict("records")


def make_plan(
    store: Store,
    config: Any,
    directory: Path,
    *,
    as_of: dt.date | None = None,
    playbook: str = "default",
    send_at: dt.datetime | None = None,
    playbooks: PlaybookFile | None = None,
    segment_resolver: SegmentResolver | None = None,
    write: bool = True,
) -> PlanResult:
    """Build the plan of a playbook on a snapshot and store it (see `build_plan`)."""
    as_of = as_of or store.latest_snapshot()
    pf = playbooks or project_playbooks(directory)
    resolver = segment_resolver or project_segment_resolver(store, config, directory, as_of)
    send_at = send_at or dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    vocab = snapshot_vocabulary(store, config, directory, as_of)
    con = _ibis(store)
    inputs = PlanInputs(
        events=con.table("events"),
        plans=_table(store, "plans"),
        consent=_table(store, "consent"),
        send_types=config.features.campaign_send_types,
    )
    expr = build_plan(
        con.table(store.profile_table_name(as_of)), pf, playbook, as_of=as_of, send_at=send_at,
        inputs=inputs, vocab=vocab, segment_resolver=resolver,
    )  # fmt: skip
    rows = expr.to_pyarrow()
    summary = plan_summary(rows)
    vc = rows.column("status").value_counts()
    counts = dict(zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist(), strict=True))
    if write:
        pb = pf.playbook(playbook)
        store.write_plan(as_of, playbook, rows, {
            "send_at": send_at, "playbook": pb.model_dump(mode="json"),
            "global_control": pf.global_control.model_dump(), "source": pf.source,
            "counts": counts,
        })  # fmt: skip
    return PlanResult(as_of, playbook, send_at, rows, summary, counts)


def import_consent(
    store: Store,
    playbooks: PlaybookFile,
    path: str | Path,
    *,
    kind: str | None = None,
    bad_rows: BadRows = "refuse",
    quarantine_dir: Path | None = None,
    **read: Any,
) -> CheckedFile:
    """Read an opt-out or do-not-contact file and store its rows (see `read_consent_file`)."""
    checked = read_consent_file(path, playbooks.channels, kind=kind, bad_rows=bad_rows,
                                quarantine_dir=quarantine_dir, **read)  # fmt: skip
    if checked.rows.num_rows:
        store.write_consent(checked.rows)
    return checked


def import_sends(
    store: Store,
    playbooks: PlaybookFile,
    path: str | Path,
    *,
    bad_rows: BadRows = "refuse",
    quarantine_dir: Path | None = None,
    **read: Any,
) -> tuple[CheckedFile, Any]:
    """Read a send log, check it, and import it as ``campaign_send`` events.

    Returns the checked file and the events import's report.
    """
    from tierwise.io import import_frame

    actions = {n: {r.action.id for r in pb.rules} for n, pb in playbooks.playbooks.items()}
    for run in store.plan_runs():
        rules = run["settings"].get("playbook", {}).get("rules", [])
        actions.setdefault(run["playbook"], set()).update(r["action"]["id"] for r in rules)
    checked = read_sends_file(path, known_customers=store.unknown_customers, actions=actions,
                              bad_rows=bad_rows, quarantine_dir=quarantine_dir, **read)  # fmt: skip
    report = None
    if checked.rows.num_rows:
        report = import_frame(
            store, "events", checked.rows, source=Path(path).name,
            options={"unknown_customers": "quarantine", "quarantine_dir": quarantine_dir},
        )  # fmt: skip
    return checked, report


@dataclass
class UpliftResult:
    """Uplift per segment x action, and the customers it was computed from."""

    playbook: str
    since: dt.date
    window_days: int
    level: float
    rows: list[dict[str, Any]]
    customers: Any
    notes: list[str] = field(default_factory=list)


def uplift(
    store: Store,
    config: Any,
    *,
    playbook: str = "default",
    since: dt.date,
    window_days: int = 30,
    level: float = 0.95,
    plan_day: dt.date | None = None,
) -> UpliftResult:
    """Treated vs control for the plans of a playbook made on or after ``since`` (only the
    plan of ``plan_day`` when given). A plan none of whose actions was sent is left out (it
    would add control customers with nothing to compare them with), and the notes say so."""
    if window_days <= 0:
        raise ValueError(f"the window must be a positive number of days, not {window_days}")
    if not 0 < level < 1:
        raise ValueError(f"the interval level must be between 0 and 1, not {level}")
    runs = [r for r in store.plan_runs(playbook)
            if r["as_of"] >= since and plan_day in (None, r["as_of"])]  # fmt: skip
    if not runs:
        have = ", ".join(f"{r['playbook']}@{r['as_of']}" for r in store.plan_runs()) or "none"
        which = f"of {plan_day}" if plan_day else f"since {since}"
        raise StoreError(f"no plan of playbook {playbook!r} {which}; have {have}")
    con = _ibis(store)
    per_customer = uplift_customers(
        con.table("plans"), con.table("events"), con.table("orders"), playbook=playbook,
        since=since, window_days=window_days,
        default_margin_rate=config.clv.default_margin_rate,
        send_types=config.features.campaign_send_types,
    ).to_pandas()  # fmt: skip
    notes = []
    if len(per_customer):
        import pandas as pd

        days = pd.to_datetime(per_customer["as_of"]).dt.date
        sent_days = set(days[per_customer["group"] == "treated"])
        keep = days.isin(sent_days) & ((days == plan_day) if plan_day else True)
        unsent = sorted(set(days[~days.isin(sent_days)]))
        if unsent:
            notes.append(
                "left out, no action of theirs was sent: the plans of "
                + ", ".join(map(str, unsent))
            )
        per_customer = per_customer[keep].reset_index(drop=True)
    newest = store.newest_data_day()
    if len(per_customer) and newest is not None:
        end = per_customer["start"].max() + dt.timedelta(days=window_days)
        if end.date() > newest:
            notes.append(
                f"the newest data is of {newest}, before the end of the last window "
                f"({end.date()}): conversions may still come in"
            )
    rows = uplift_table(per_customer, level=level)
    return UpliftResult(playbook, since, window_days, level, rows, per_customer, notes)
