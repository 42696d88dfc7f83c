"""The outbox: crossings written to the store's ``flow_outbox`` table, once each."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tierwise.config import Config
from tierwise.flows.model import FLOWS_FILE, FlowFile, load_flows
from tierwise.flows.triggers import FlowPass, evaluate_flows, outbox_table
from tierwise.playbooks import project_playbooks
from tierwise.store import Store

__all__ = ["enqueue_crossings", "project_flows"]


def project_flows(directory: str | Path) -> FlowFile:
    """The project's ``flows.yaml`` (no file: no flows), checked."""
    return load_flows(Path(directory) / FLOWS_FILE)


def enqueue_crossings(
    store: Store,
    config: Config,
    directory: str | Path,
    as_of: dt.date | None = None,
    *,
    flows: FlowFile | None = None,
    only: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[FlowPass, int]:
    """Evaluate the flows on a snapshot and add their rows to the outbox.

    Returns the pass and how many rows were new: a crossing already in the outbox (same
    flow, customer, trigger and reference) is not added again, so evaluating a snapshot
    twice sends nothing twice.
    """
    flows = flows if flows is not None else project_flows(directory)
    result = evaluate_flows(store, config, directory, flows, project_playbooks(directory),
                            as_of, only=only, now=now)  # fmt: skip
    added = store.enqueue_flow_rows(outbox_table(result.rows)) if result.rows else 0
    return result, added
