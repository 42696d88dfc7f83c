"""Evaluate segments on a project's stored snapshots: who is in, how many, a sample."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from tierwise.config import Config
from tierwise.schema import ENTITIES
from tierwise.segments.compiler import SegmentContext, segment_filter
from tierwise.segments.language import Node, SegmentError, names_used, parse
from tierwise.segments.saved import SegmentBook
from tierwise.store import Store

__all__ = [
    "ResolvedSegment",
    "SegmentCount",
    "count_segment",
    "resolve_segment",
    "scheme_labels",
    "segment_members",
    "store_context",
]


def scheme_labels(config: Config) -> dict[str, dict[str, tuple[str, str]]]:
    """``{scheme: {label_id: (zh, en)}}`` of every scheme of a config (default labels too)."""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for name, scheme in config.schemes.items():
        labels = {lab.id: (lab.zh, lab.en) for lab in scheme.labels}
        if scheme.default:
            labels[scheme.default] = scheme.display(scheme.default)
        out[name] = labels
    return out


class _KnownTags(Collection[str]):
    """Tags a ``has_tag`` may name: the snapshot's, then (only if needed) the lexicon's."""

    def __init__(self, store: Store, as_of: dt.date, config: Config, base_dir: Path | None):
        self.store, self.as_of, self.config, self.base_dir = store, as_of, config, base_dir

    @cached_property
    def _snapshot(self) -> set[str]:
        return set(self.store.snapshot_tags(self.as_of))

    @cached_property
    def _lexicon(self) -> set[str]:
        from tierwise.tags import load_lexicon

        paths = [(self.base_dir / p) if self.base_dir else Path(p)
                 for p in self.config.tags.lexicons]  # fmt: skip
        return {f"{r.major}/{r.id}" for r in load_lexicon(*paths).tags}

    def _has(self, tag: str, tags: set[str]) -> bool:
        return tag in tags or any(t.split("/", 1)[-1] == tag for t in tags)

    def __contains__(self, tag: object) -> bool:
        tag = str(tag)
        return self._has(tag, self._snapshot) or self._has(tag, self._lexicon)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._snapshot | self._lexicon))

    def __len__(self) -> int:
        return len(self._snapshot | self._lexicon)


def store_context(
    store: Store,
    config: Config,
    as_of: dt.date | None = None,
    *,
    segments: Mapping[str, str] | None = None,
    base_dir: str | Path | None = None,
) -> SegmentContext:
    """A segment context over a store's snapshot (the newest by default), on DuckDB.

    Parameters
    ----------
    store : Store
        Holds the snapshots and the canonical tables.
    config : Config
        The schemes whose labels comparisons are checked against.
    as_of : datetime.date, optional
        The snapshot to filter; must be stored.
    segments : mapping, optional
        ``{name: expression}`` of saved segments.
    base_dir : path, optional
        Folder that the config's lexicon paths are relative to.
    """
    as_of = as_of or store.latest_snapshot()
    days = store.snapshots()
    if as_of not in days:
        have = ", ".join(map(str, days)) or "none yet (run `tierwise run`)"
        raise SegmentError(f"no snapshot as of {as_of}; have {have}")
    con = ibis.duckdb.from_connection(store.con)
    base = Path(base_dir) if base_dir is not None else None
    return SegmentContext(
        profiles=con.table(store.profile_table_name(as_of)),
        as_of=as_of,
        events=con.table(ENTITIES["events"].name),
        orders=con.table(ENTITIES["orders"].name),
        snapshot=lambda day: con.table(store.profile_table_name(day)),
        snapshot_days=days,
        schemes=scheme_labels(config),
        segments=dict(segments or {}),
        known_tags=lambda: _KnownTags(store, as_of, config, base),
    )


@dataclass(frozen=True)
class ResolvedSegment:
    """What ``NAME_OR_EXPR`` stands for: a saved segment or an expression typed in."""

    expr: str
    name: str | None = None
    description: str = ""

    @cached_property
    def tree(self) -> Node:
        """The parsed expression."""
        return parse(self.expr)

    @property
    def label(self) -> str:
        """The segment's name, or its expression."""
        return self.name or self.expr


def resolve_segment(spec: str, book: SegmentBook) -> ResolvedSegment:
    """A saved segment by name, or else ``spec`` read as an expression."""
    saved = book.load()
    if spec in saved:
        seg = saved[spec]
        return ResolvedSegment(seg.expr, seg.name, seg.description)
    return ResolvedSegment(spec)


def segment_members(
    segment: ResolvedSegment, ctx: SegmentContext, columns: list[str] | None = None
) -> ir.Table:
    """The profile rows of the segment's members (``columns`` only, if given), by id."""
    pred = segment_filter(segment.expr, ctx, name=segment.name)
    members = ctx.profiles.filter(pred)
    if columns is not None:
        members = members.select(*columns)
    return members.order_by("customer_id")


@dataclass(frozen=True)
class SegmentCount:
    """How many customers a segment holds on a snapshot, with a few of them."""

    segment: ResolvedSegment
    as_of: dt.date
    customers: int
    total: int
    sample: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def share(self) -> float:
        """Members over all customers of the snapshot."""
        return self.customers / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-friendly)."""
        return {
            "segment": self.segment.name,
            "expression": self.segment.expr,
            "as_of": self.as_of.isoformat(),
            "customers": self.customers,
            "total": self.total,
            "share": round(self.share, 6),
            "seconds": round(self.seconds, 4),
            "sample": self.sample,
        }


def count_segment(
    segment: ResolvedSegment, ctx: SegmentContext, *, sample: int = 10
) -> SegmentCount:
    """Count a segment's members and fetch a sample (their id and the columns it reads)."""
    start = time.perf_counter()
    pred = segment_filter(segment.expr, ctx, name=segment.name)
    members = ctx.profiles.filter(pred)
    cols = ["customer_id"] + [c for c in names_used(segment.tree)
                              if c in ctx.profiles.columns and c != "customer_id"]  # fmt: skip
    stats = (
        ctx.profiles.aggregate(total=ctx.profiles.count(), customers=pred.cast("int64").sum())
        .to_pyarrow()
        .to_pylist()[0]
    )
    rows: list[dict[str, Any]] = []
    if sample > 0 and stats["customers"]:
        table: pa.Table = members.select(*cols).order_by("customer_id").limit(sample).to_pyarrow()
        rows = [{k: _plain(v) for k, v in r.items()} for r in table.to_pylist()]
    return SegmentCount(
        segment, ctx.as_of, int(stats["customers"] or 0), int(stats["total"] or 0), rows,
        time.perf_counter() - start,
    )  # fmt: skip


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value
