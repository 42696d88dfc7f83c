"""`tierwise demo`: generate a shop, import its files, run the tiering, measure recovery."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tierwise.demo import BEHAVIOUR_TYPES, generate_shop
from tierwise.demo.entrance import plant_entrance
from tierwise.demo.identities import pair_scores, plant_identities
from tierwise.metrics import label_recovery, multilabel_recovery
from tierwise.project import CONFIG_FILE, Project

__all__ = ["DemoResult", "recovery", "run_demo"]


def recovery(truth: pd.DataFrame, profiles: pd.DataFrame) -> pd.DataFrame:
    """Precision, recall and F1 of lifecycle stages, behaviour types and intention grades
    against the planted truth (both frames indexed by customer id, same order)."""
    behaviour = (
        profiles["behaviour_all"]
        .fillna("")
        .map(lambda v: ";".join(x for x in v.split(";") if x in BEHAVIOUR_TYPES))
    )
    parts = {
        "lifecycle": label_recovery(truth["lifecycle_stage"], profiles["lifecycle"]),
        "behaviour": multilabel_recovery(truth["behaviour_types"], behaviour),
        "intention": label_recovery(truth["intention_grade"], profiles["intention"]),
    }
    return pd.concat([df.assign(scheme=k) for k, df in parts.items()], ignore_index=True)[
        ["scheme", "label", "precision", "recall", "f1", "support"]
    ]


@dataclass
class DemoResult:
    """What the demo did: import reports, the snapshot summary and recovery of the truth."""

    project: Path
    as_of: dt.date
    customers: int
    reports: list[Any]
    summary: list[dict[str, Any]]
    recovery: list[dict[str, Any]] = field(default_factory=list)
    example_customer: str = ""
    identity: dict[str, Any] = field(default_factory=dict)


def run_demo(
    directory: str | Path,
    *,
    n_customers: int = 20_000,
    seed: int = 7,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Make a project at ``directory`` holding a generated shop, tiered as of its last day."""
    say = progress or (lambda _msg: None)
    say(f"generating a demo shop of {n_customers} customers")
    shop = plant_entrance(generate_shop(n_customers, seed=seed), seed=seed)
    shop = plant_identities(shop, seed=seed)
    project = Project.init(directory, force=force)
    cfg = project.directory / CONFIG_FILE  # the demo shows member levels: turn them on
    text = cfg.read_text("utf-8")
    text = text.replace("members:\n  enabled: false", "members:\n  enabled: true")
    text = text.replace("  aliases: {}", "  aliases: {银卡会员: v2, 金卡会员: v3}")
    cfg.write_text(text, encoding="utf-8")
    project = Project(project.directory)
    files = shop.write(project.directory / "data", format="parquet")
    reports = []
    with project:
        for entity in ("customers", "orders", "events", "identities"):
            say(f"importing {files[entity].name}")
            reports.append(project.import_file(entity, files[entity]))
        ids = shop.extras["identity_truth"]
        identity = pair_scores(
            project.resolve_identities().person_map(),
            dict(zip(ids.column("customer_id").to_pylist(), ids.column("person").to_pylist(),
                     strict=True)),
        )  # fmt: skip
        run = project.run(shop.as_of, progress=say)
        summary = project.summary(run.as_of, format="arrow").to_pylist()
        truth = shop.truth.to_pandas().set_index("customer_id")
        prof = run.profiles.to_pandas().set_index("customer_id").loc[truth.index]
        rec = recovery(truth, prof)
        champion = prof[prof["lifecycle"] == "high_value"].index
        example = str(champion[0] if len(champion) else prof.index[0])
    return DemoResult(
        project=project.directory,
        as_of=run.as_of,
        customers=run.num_customers,
        reports=reports,
        summary=summary,
        recovery=rec.to_dict("records"),
        example_customer=example,
        identity=identity,
    )
