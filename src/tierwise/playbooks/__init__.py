"""Playbooks: act on the tiers.

A playbook maps segments to actions (rules), holds some customers back (exclusions), caps how
often anyone is contacted, respects opt-outs and do-not-contact lists, and holds out a control
group; `build_plan` turns it into a plan with a reason for every action, and `uplift` compares
treated and control customers after the sends come back as ``campaign_send`` events.
See ``docs/playbooks.md``.
"""

from __future__ import annotations

from tierwise.playbooks._control import GLOBAL, control_threshold, in_control, in_control_expr
from tierwise.playbooks._files import CONSENT_KINDS, CheckedFile, read_consent_file, read_sends_file
from tierwise.playbooks._model import (
    PLAYBOOKS_FILE,
    Action,
    ActionFilter,
    Cap,
    Channel,
    ControlGroup,
    Exclusion,
    Offer,
    Playbook,
    PlaybookFile,
    Rule,
    default_playbooks_text,
    load_playbooks,
)
from tierwise.playbooks._plan import (
    PLAN_COLUMNS,
    REASONS,
    PlanInputs,
    build_plan,
    check_playbook,
    plan_summary,
)
from tierwise.playbooks._run import (
    PlanResult,
    UpliftResult,
    import_consent,
    import_sends,
    make_plan,
    project_playbooks,
    project_segment_resolver,
    snapshot_vocabulary,
    uplift,
)
from tierwise.playbooks._selectors import (
    SegmentResolver,
    Selector,
    SnapshotVocabulary,
    parse_selector,
)

__all__ = [
    "CONSENT_KINDS",
    "GLOBAL",
    "PLAN_COLUMNS",
    "PLAYBOOKS_FILE",
    "REASONS",
    "Action",
    "ActionFilter",
    "Cap",
    "Channel",
    "CheckedFile",
    "ControlGroup",
    "Exclusion",
    "Offer",
    "PlanInputs",
    "PlanResult",
    "Playbook",
    "PlaybookFile",
    "Rule",
    "SegmentResolver",
    "Selector",
    "SnapshotVocabulary",
    "UpliftResult",
    "build_plan",
    "check_playbook",
    "control_threshold",
    "default_playbooks_text",
    "import_consent",
    "import_sends",
    "in_control",
    "in_control_expr",
    "load_playbooks",
    "make_plan",
    "parse_selector",
    "plan_summary",
    "project_playbooks",
    "project_segment_resolver",
    "read_consent_file",
    "read_sends_file",
    "snapshot_vocabulary",
    "uplift",
]
