"""Planted campaign effects for the demo shop: sends and the orders that follow, with known truth.

Given a plan of the demo shop, `simulate_campaign` sends the planned actions (``campaign_send``
events carrying playbook, rule, action and plan in their attributes) and draws the orders of the
following ``window_days`` for every planned and control customer. Each rule has a planted
`PlantedEffect`: a base conversion rate, a lift for treated customers, an order value and a
margin rate (a discount lowers the margin rate). `PlantedEffect.truth` gives the true differences
uplift should recover: conversion (points), revenue and margin per customer.

The effects hold exactly for customers with one action per plan, which the ``demo`` playbook
ensures with an all-channel cap of one send a week; it is the default playbook plus one rule the
seeds warn against — a discount to KOLs and creators (`demo_playbooks`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from tierwise.errors import ConfigError
from tierwise.schema import EVENTS, ORDERS

__all__ = [
    "DEMO_EFFECTS",
    "DEMO_PLAYBOOK",
    "CampaignOutcome",
    "PlantedEffect",
    "demo_playbooks",
    "simulate_campaign",
    "write_demo_campaign",
]


@dataclass(frozen=True)
class PlantedEffect:
    """The planted response of one rule's customers.

    A customer converts within the window with probability ``base_conversion`` (control, or
    planned but not sent) or ``base_conversion + conversion_lift`` (sent), with one order of
    ``order_value * U(0.5, 1.5)`` (times ``1 + value_lift`` when sent) whose margin is
    ``margin_rate`` of the amount (``+ margin_rate_change`` when sent).
    """

    base_conversion: float
    conversion_lift: float
    order_value: float
    value_lift: float = 0.0
    margin_rate: float = 0.35
    margin_rate_change: float = 0.0

    def truth(self) -> dict[str, float]:
        """True treated-minus-control differences: conversion, revenue and margin per customer."""
        p0, p1 = self.base_conversion, self.base_conversion + self.conversion_lift
        v0, v1 = self.order_value, self.order_value * (1 + self.value_lift)
        r0, r1 = self.margin_rate, self.margin_rate + self.margin_rate_change
        return {
            "conversion": p1 - p0,
            "revenue": p1 * v1 - p0 * v0,
            "margin": p1 * v1 * r1 - p0 * v0 * r0,
        }


DEMO_EFFECTS: dict[str, PlantedEffect] = {
    "kol_discount": PlantedEffect(0.60, 0.00, 1200, margin_rate=0.40, margin_rate_change=-0.25),
    "self_directed_channel_news": PlantedEffect(0.30, 0.00, 80, margin_rate=0.30),
    "kol_cocreation": PlantedEffect(0.40, 0.10, 500),
    "sharer_referral": PlantedEffect(0.20, 0.05, 200),
    "true_friend_care": PlantedEffect(0.45, 0.10, 1500),
    "high_intention_hard_sell": PlantedEffect(0.20, 0.15, 300, margin_rate=0.30),
    "butterfly_promotion": PlantedEffect(
        0.15, 0.12, 2000, value_lift=-0.10, margin_rate_change=-0.05
    ),
    "new_welcome": PlantedEffect(0.10, 0.06, 150),
    "barnacle_coupon": PlantedEffect(0.40, 0.10, 60, margin_rate=0.30, margin_rate_change=-0.05),
    "medium_intention_nudge": PlantedEffect(0.08, 0.04, 200),
    "churned_winback": PlantedEffect(0.04, 0.06, 150, margin_rate=0.30, margin_rate_change=-0.05),
    "low_intention_soft_touch": PlantedEffect(0.03, 0.00, 100),
}
"""Planted effects of the ``demo`` playbook's rules. Two have none (self-directed buyers buy
on their own; a greeting to the silent majority moves nothing) and one hurts: a discount to
KOLs and creators leaves conversion alone and cuts the margin of what they would have bought
anyway."""

DEMO_PLAYBOOK = "demo"

_KOL_DISCOUNT = {
    "id": "kol_discount",
    "when": {"scheme": "behaviour", "label": ["kol", "creator"]},
    "action": {"id": "discount_ad", "channel": "sms", "offer": "discount",
               "message": "promo.discount", "cost": 0},
    "priority": 99,
    "note": "what the seeds warn against (seed 000): discount ads to those who share",
}  # fmt: skip


def demo_playbooks(control_share: float = 0.3) -> dict[str, Any]:
    """The ``demo`` playbook as playbook-file data: the default playbook with a discount to
    KOLs and creators (no exclusion blocks it), one send per customer per week, and a larger
    control group so every rule's uplift has an interval worth reading."""
    from tierwise.playbooks import default_playbooks_text

    default = yaml.safe_load(default_playbooks_text())["playbooks"]["default"]
    demo = dict(default)
    demo["zh"], demo["en"] = "演示运营手册", "Demo playbook (planted effects)"
    demo["note"] = "The default playbook plus a discount to KOLs, for the uplift demo."
    demo["control"] = {"share": control_share, "salt": "demo"}
    demo["caps"] = [{"id": "one_per_week", "channel": "all", "max": 1, "days": 7}]
    demo["exclusions"] = [e for e in default["exclusions"] if e["id"] != "sharers_no_discounts"]
    demo["rules"] = [_KOL_DISCOUNT, *default["rules"]]
    return {"playbooks": {DEMO_PLAYBOOK: demo}}


@dataclass(frozen=True)
class CampaignOutcome:
    """What the simulated campaign produced.

    Attributes
    ----------
    sends : pyarrow.Table
        ``campaign_send`` events (canonical events columns).
    orders : pyarrow.Table
        Paid orders in the window after the sends (canonical orders columns).
    truth : pyarrow.Table
        Per rule: the planted true differences (conversion, revenue, margin per customer).
    """

    sends: pa.Table
    orders: pa.Table
    truth: pa.Table


def simulate_campaign(
    plan: pa.Table,
    *,
    playbook: str,
    as_of: dt.date,
    effects: dict[str, PlantedEffect] | None = None,
    seed: int = 0,
    window_days: int = 30,
    send_rate: float = 0.97,
) -> CampaignOutcome:
    """Send a plan's planned actions and draw the orders that follow, with planted effects.

    Parameters
    ----------
    plan : pyarrow.Table
        Rows of a plan (`tierwise.playbooks.PlanResult.rows` or a stored plan).
    playbook : str
        The plan's playbook (written into each send's attributes).
    as_of : datetime.date
        The plan's day.
    effects : dict of str to PlantedEffect, optional
        Per rule; default :data:`DEMO_EFFECTS`. A rule without one has no orders.
    seed : int
        Random seed.
    window_days : int
        Orders fall within this many days after the send (or, for control customers, after
        the time the action would have been sent).
    send_rate : float
        Share of planned sends that go out (the rest fail and are not treated).
    """
    effects = DEMO_EFFECTS if effects is None else effects
    rng = np.random.default_rng(seed)
    rows = plan.filter(pc.is_in(plan.column("status"), pa.array(["planned", "control"])))
    df = rows.select(["customer_id", "rule", "action", "channel", "status", "send_at"])
    # the same draws for the same plan, whatever order the engine returned its rows in
    df = df.to_pandas().sort_values(["customer_id", "rule", "action"], ignore_index=True)
    n = len(df)
    planned = (df.status == "planned").to_numpy()
    sent = planned & (rng.random(n) < send_rate)
    base = df.send_at.to_numpy().astype("datetime64[us]")
    jitter = (rng.random(n) * 2 * 3600e6).astype("timedelta64[us]")
    start = np.where(sent, base + jitter, base)

    def per_rule(attr: str, default: float) -> np.ndarray:
        return df.rule.map(
            lambda r: getattr(effects[r], attr) if r in effects else default
        ).to_numpy(float)

    p = per_rule("base_conversion", 0.0) + np.where(sent, per_rule("conversion_lift", 0.0), 0)
    converts = rng.random(n) < np.clip(p, 0, 1)
    value = per_rule("order_value", 0.0) * np.where(sent, 1 + per_rule("value_lift", 0.0), 1)
    rate = per_rule("margin_rate", 0.0) + np.where(sent, per_rule("margin_rate_change", 0.0), 0)
    amount = np.round(value * rng.uniform(0.5, 1.5, n), 2)
    margin = np.round(amount * rate, 2)
    window_us = window_days * 86400e6
    paid_at = start + (rng.random(n) * window_us * 0.999).astype("timedelta64[us]")

    idx = np.flatnonzero(sent)
    attrs = [
        json.dumps({"playbook": playbook, "rule": r, "action": a, "plan": as_of.isoformat()},
                   sort_keys=True)
        for r, a in zip(df.rule.to_numpy()[idx], df.action.to_numpy()[idx], strict=True)
    ]  # fmt: skip
    sends = pa.Table.from_arrays(
        [
            pa.array([f"SEND-{as_of:%Y%m%d}-{seed}-{i:07d}" for i in range(idx.size)]),
            pa.array(df.customer_id.to_numpy()[idx], pa.string()),
            pa.array(start[idx], pa.timestamp("us")),
            pa.array(np.full(idx.size, "campaign_send"), pa.string()),
            pa.array(df.channel.to_numpy()[idx], pa.string()),
            pa.nulls(idx.size, pa.string()),
            pa.nulls(idx.size, pa.string()),
            pa.array(attrs, pa.string()),
        ],
        schema=EVENTS.arrow_schema(),
    )
    k = np.flatnonzero(converts)
    orders = pa.Table.from_arrays(
        [
            pa.array([f"POST-{as_of:%Y%m%d}-{seed}-{i:07d}" for i in range(k.size)]),
            pa.array(df.customer_id.to_numpy()[k], pa.string()),
            pa.array(paid_at[k], pa.timestamp("us")),
            pa.array(amount[k]),
            pa.array(margin[k]),
            pa.array(np.round(amount[k] - margin[k], 2)),
            pa.array(np.full(k.size, "store"), pa.string()),
            pa.array(np.zeros(k.size, bool)),
            pa.array(np.ones(k.size, np.int64)),
            pa.array(np.full(k.size, "paid"), pa.string()),
            pa.nulls(k.size, pa.string()),
        ],
        schema=ORDERS.arrow_schema(),
    )
    truth = pa.Table.from_pylist(
        [{"rule": r, **effects[r].truth()} for r in sorted(set(df.rule)) if r in effects]
    )
    return CampaignOutcome(sends, orders, truth)


def write_demo_campaign(directory: str | Path, *, seed: int = 0, window_days: int = 30) -> dict:
    """On a demo project: add the ``demo`` playbook, plan it (to go out ten days after the
    snapshot, at 10:00), and write the simulated send log
    and the orders that follow as CSV files to import (``data/sends.csv``,
    ``data/orders_after.csv``). Returns the paths and the plan's day."""
    from tierwise.export import write_table
    from tierwise.playbooks import PLAYBOOKS_FILE
    from tierwise.project import Project

    d = Path(directory)
    pb_file = d / PLAYBOOKS_FILE
    if pb_file.exists():
        data = yaml.safe_load(pb_file.read_text("utf-8")) or {}
        if DEMO_PLAYBOOK not in (data.get("playbooks") or {}):
            raise ConfigError(f"{pb_file} exists without a {DEMO_PLAYBOOK} playbook; add it or "
                              "move the file away")  # fmt: skip
    else:
        pb_file.write_text(
            "# The demo playbook: see tierwise.demo.campaigns.\n"
            + yaml.safe_dump(demo_playbooks(), allow_unicode=True, sort_keys=False),
            encoding="utf-8",
        )
    with Project(d) as project:
        day = project.store.latest_snapshot()
        # ten days on, so sends of a default plan of that day are outside the weekly cap
        result = project.plan(day, playbook=DEMO_PLAYBOOK,
                              send_at=dt.datetime.combine(day + dt.timedelta(days=10),
                                                          dt.time(10)))  # fmt: skip
    outcome = simulate_campaign(result.rows, playbook=DEMO_PLAYBOOK, as_of=result.as_of,
                                seed=seed, window_days=window_days)  # fmt: skip
    sends = outcome.sends
    attrs = [json.loads(a) for a in sends.column("attributes").to_pylist()]
    log = pa.table({
        "customer_id": sends.column("customer_id"),
        "sent_at": pc.strftime(sends.column("occurred_at"), "%Y-%m-%d %H:%M:%S"),
        "channel": sends.column("channel"),
        "playbook": pa.array([a["playbook"] for a in attrs], pa.string()),
        "rule": pa.array([a["rule"] for a in attrs], pa.string()),
        "action": pa.array([a["action"] for a in attrs], pa.string()),
        "plan": pa.array([a["plan"] for a in attrs], pa.string()),
        "event_id": sends.column("event_id"),
    })  # fmt: skip
    data = d / "data"
    data.mkdir(exist_ok=True)
    paths = {
        "sends": write_table(log, data / "sends.csv"),
        "orders": write_table(outcome.orders, data / "orders_after.csv"),
        "truth": write_table(outcome.truth, data / "campaign_truth.csv"),
    }
    return {"as_of": result.as_of, "plan": result, **paths}
