"""Record who each saved segment held on a snapshot's day, so entries and exits are known."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tierwise.config import Config
from tierwise.errors import TierwiseError
from tierwise.segments.evaluate import ResolvedSegment, segment_members, store_context
from tierwise.segments.saved import SegmentBook
from tierwise.store import Store

__all__ = ["MembershipRecord", "record_memberships"]


@dataclass(frozen=True)
class MembershipRecord:
    """One saved segment on one day: its size, or why it could not be evaluated."""

    segment: str
    as_of: dt.date
    customers: int | None
    error: str | None = None


def record_memberships(
    store: Store,
    config: Config,
    directory: str | Path,
    as_of: dt.date,
    *,
    progress: Callable[[str], None] | None = None,
) -> list[MembershipRecord]:
    """Evaluate every saved segment on the snapshot of ``as_of`` and store its members.

    A segment that cannot be evaluated (say a column it reads is gone) is recorded with its
    error instead of members; the others are still recorded. Nothing happens without saved
    segments.
    """
    saved = SegmentBook(directory).load(builtin=False)
    if not saved:
        return []
    say = progress or (lambda _msg: None)
    say(f"recording the members of {len(saved)} saved segment(s)")
    ctx = store_context(
        store, config, as_of, segments={n: s.expr for n, s in saved.items()}, base_dir=directory
    )
    rows, out = [], []
    for name, seg in saved.items():
        try:
            ids = segment_members(
                ResolvedSegment(seg.expr, name), ctx, ["customer_id"]
            ).to_pyarrow()
        except TierwiseError as exc:
            rows.append((name, seg.expr, None, str(exc)))
            out.append(MembershipRecord(name, as_of, None, str(exc)))
            say(f"segment {name} not recorded: {exc}")
            continue
        rows.append((name, seg.expr, ids, None))
        out.append(MembershipRecord(name, as_of, ids.num_rows))
    store.write_segment_memberships(as_of, rows)
    return out
