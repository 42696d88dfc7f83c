"""Automated flows: a trigger, an optional wait and conditions, an action, delivered through
an outbox.

- `model`: flows as data in the project's ``flows.yaml``, checked with line and column;
- `triggers`: who each flow fires for between two snapshots, with conditions, caps and
  control groups (those of the flow's playbook);
- `outbox`: firings stored once each in the ``flow_outbox`` table;
- `deliver`: signed webhook posts with leases, retries with backoff and a dead letter.

See ``docs/flows.md``.
"""

from tierwise.flows.deliver import SECRET_ENV, Deliverer, DeliveryRun, sign, verify_signature
from tierwise.flows.model import (
    CHURN_EVENTS,
    FLOWS_FILE,
    TRIGGER_KINDS,
    Delivery,
    Flow,
    FlowAction,
    FlowFile,
    Trigger,
    load_flows,
    parse_wait,
)
from tierwise.flows.outbox import enqueue_crossings, project_flows
from tierwise.flows.triggers import Crossing, FlowPass, crossings, evaluate_flows, idempotency_key

__all__ = [
    "CHURN_EVENTS",
    "FLOWS_FILE",
    "SECRET_ENV",
    "TRIGGER_KINDS",
    "Crossing",
    "Deliverer",
    "Delivery",
    "DeliveryRun",
    "Flow",
    "FlowAction",
    "FlowFile",
    "FlowPass",
    "Trigger",
    "crossings",
    "enqueue_crossings",
    "evaluate_flows",
    "idempotency_key",
    "load_flows",
    "parse_wait",
    "project_flows",
    "sign",
    "verify_signature",
]
