"""A demo of flows: a generated shop tiered on two days, churn signals planted between them,
and a ``flows.yaml`` of five flows posting to a local webhook."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa

from tierwise.demo import generate_shop
from tierwise.project import Project

__all__ = ["DEMO_FLOWS", "demo_flows_text", "plant_demo_flows"]

DEMO_FLOWS = """\
# Demo flows: each posts to the webhook below (start a receiver there, or change the URL).
delivery: {max_attempts: 5, backoff_seconds: 2, timeout_seconds: 5, batch: 64, workers: 8}
flows:
  intention_rise:
    en: Intention rose to high - hand over to sales
    zh: 意向升至高 - 转人工跟进
    trigger: {kind: intention_up, to: [high]}
    action: {webhook: "{url}", rule: high_intention_hard_sell}
  vip_welcome:
    en: Entered the high-value stage
    zh: 进入高价值阶段
    trigger: {kind: segment_entry, segment: vip}
    action: {webhook: "{url}"}
  contact_removed:
    en: Removed the shop's WeCom contact or unfollowed
    zh: 删除企业微信好友或取关
    trigger: {kind: churn_signal, events: [contact_removed, unfollow]}
    when: "orders >= 1"
    action: {webhook: "{url}"}
  new_repeat:
    en: Became a repeat customer
    zh: 成为老客户
    trigger: {kind: label_change, scheme: lifecycle, to: repeat}
    wait: 1h
    action: {webhook: "{url}"}
  first_order_30d:
    en: 30 days after the first order
    zh: 首单后 30 天
    trigger: {kind: date, column: first_order_at, after_days: 30}
    action: {webhook: "{url}"}
"""


def demo_flows_text(url: str = "http://127.0.0.1:8099/hooks") -> str:
    """The demo ``flows.yaml`` posting to ``url``."""
    return DEMO_FLOWS.replace("{url}", url)


def plant_demo_flows(
    directory: str | Path,
    *,
    n_customers: int = 2000,
    seed: int = 7,
    gap_days: int = 30,
    url: str = "http://127.0.0.1:8099/hooks",
    progress: Callable[[str], None] | None = None,
) -> Project:
    """Make a project with the demo flows, tiered ``gap_days`` before the shop's last day and
    on it, so the second run finds crossings and fills the outbox. Churn events
    (``contact_removed`` on wecom, ``unfollow`` on wechat_official) are planted for 3 % of
    the customers between the two days. Returns the open project."""
    say = progress or (lambda _msg: None)
    shop = generate_shop(n_customers, seed=seed)
    rng = np.random.default_rng(seed)
    ids = np.array(shop.customers.column("customer_id").to_pylist())
    who = rng.choice(ids, size=max(1, int(0.03 * len(ids))), replace=False)
    start = dt.datetime.combine(shop.as_of, dt.time()) - dt.timedelta(days=gap_days - 1)
    kinds = rng.random(len(who)) < 0.5
    planted = pa.table({
        "event_id": [f"churn-{i}" for i in range(len(who))],
        "customer_id": who.tolist(),
        "occurred_at": [start + dt.timedelta(hours=int(h))
                        for h in rng.integers(0, 24 * (gap_days - 1), len(who))],
        "event_type": ["contact_removed" if k else "unfollow" for k in kinds],
        "channel": ["wecom" if k else "wechat_official" for k in kinds],
    })  # fmt: skip
    project = Project.init(directory, force=True)
    files = shop.write(project.directory / "data", format="parquet")
    for entity in ("customers", "orders", "events"):
        say(f"importing {files[entity].name}")
        project.import_file(entity, files[entity])
    churn = project.directory / "data" / "churn_events.csv"
    import pyarrow.csv as pacsv

    pacsv.write_csv(planted, churn)
    project.import_file("events", churn)
    project.add_segment("vip", "lifecycle = 'high_value'")
    say(f"tiering as of {shop.as_of - dt.timedelta(days=gap_days)}")
    project.run(shop.as_of - dt.timedelta(days=gap_days), progress=say)
    (project.directory / "flows.yaml").write_text(demo_flows_text(url), encoding="utf-8")
    say(f"tiering as of {shop.as_of}")
    project.run(shop.as_of, progress=say)
    return project
