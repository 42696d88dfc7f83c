"""Segments: turn labels, tags and history into audiences.

- `language`: the condition language operators write, parsed into a tree;
- `compiler`: the tree as one boolean Ibis expression over a profile table (`segment_filter`);
- `saved`: named segments in the project's ``segments.yaml``;
- `evaluate`: members, counts and samples on a stored snapshot;
- `membership`: who each saved segment held on each snapshot's day (entries and exits);
- `moves`: transition matrices of a scheme's labels between two snapshots;
- `pii` and `audience`: exports with masked personal data, a manifest and an audit log.
"""

from tierwise.segments.audience import AudienceExport, export_audience, manifest_path
from tierwise.segments.compiler import FUNCTIONS, SegmentContext, segment_filter
from tierwise.segments.evaluate import (
    ResolvedSegment,
    SegmentCount,
    count_segment,
    resolve_segment,
    scheme_labels,
    segment_members,
    store_context,
)
from tierwise.segments.language import SegmentError, names_used, parse, segments_used
from tierwise.segments.membership import MembershipRecord, record_memberships
from tierwise.segments.moves import transition_matrix
from tierwise.segments.pii import mask_table
from tierwise.segments.saved import SEGMENTS_FILE, SavedSegment, SegmentBook

__all__ = [
    "FUNCTIONS",
    "SEGMENTS_FILE",
    "AudienceExport",
    "MembershipRecord",
    "ResolvedSegment",
    "SavedSegment",
    "SegmentBook",
    "SegmentContext",
    "SegmentCount",
    "SegmentError",
    "count_segment",
    "export_audience",
    "manifest_path",
    "mask_table",
    "names_used",
    "parse",
    "record_memberships",
    "resolve_segment",
    "scheme_labels",
    "segment_filter",
    "segment_members",
    "segments_used",
    "store_context",
    "transition_matrix",
]
