"""The one contract every step of a run follows.

A step takes the profile built so far (an Ibis table), the run's context (canonical tables, as-of
day, config) and — when a later run reuses it on purpose — the fitted state of an earlier run;
it returns the profile with its columns added, its own fitted state (plain data, stored with the
snapshot) and notes for people. A step never writes the config: what it learns for a rule
scheme (the quadrant's lines) it hands over as ``scheme_params``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import ibis
import ibis.expr.types as ir

from tierwise.config import Config

__all__ = ["PreviousSnapshot", "Step", "StepContext", "StepResult"]


@dataclass(frozen=True)
class PreviousSnapshot:
    """The snapshot before this run's as-of day: its profile columns and stored state.

    ``read`` gives the named profile columns (those the snapshot has, with ``customer_id``)
    as a pyarrow table; ``fitted`` is the fitted state stored with it, ``meta`` all it was
    stored with.
    """

    as_of: dt.date
    columns: tuple[str, ...]
    read: Any
    fitted: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    """Everything stored with the snapshot (config, where its features came from)."""
    table: Any = None
    """A callable giving its profile as an Ibis table on the store (``None``: not stored)."""
    carried: Any = None
    """A callable giving, by step name, the state that step kept beside the snapshot for
    the next run (`StepResult.carry` or ``carry_columns``) as an Ibis table on the store, or
    ``None``."""

    def profile(self, columns: list[str]) -> Any:
        """The named columns that the snapshot has, with ``customer_id`` first."""
        have = ["customer_id", *[c for c in columns if c in self.columns and c != "customer_id"]]
        return self.read(have)


@dataclass(frozen=True)
class StepContext:
    """What every step may read: the canonical tables, the as-of day, the whole config."""

    tables: dict[str, ir.Table]
    as_of: dt.date
    config: Config
    base_dir: Path | None = None
    scheme_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Params that earlier steps learned for rule schemes (scheme -> name -> value)."""
    previous: PreviousSnapshot | None = None
    """The newest stored snapshot before ``as_of`` (``None``: none, or not given)."""
    earlier: dict[str, Any] = field(default_factory=dict)
    """What earlier steps of this run handed over (`StepResult.extra` by step name)."""
    held: list = field(default_factory=list)
    """Temporary engine tables the run drops when its profile is written
    (`tierwise.steps.frames.engine_table`)."""


@dataclass
class StepResult:
    """What a step gives back."""

    profile: ir.Table
    state: dict[str, Any] | None = None
    """Fitted state (JSON-able), ``None`` for a step that learns nothing."""
    notes: list[str] = field(default_factory=list)
    """Skipped, degraded or retried parts, in words; printed in the run summary."""
    scheme_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra: Any = None
    """Rich Python objects for API users (fitted models); not stored."""
    carry: ir.Table | None = None
    """Per-customer state for the next run as a table of its own (``customer_id`` and the
    state), which a store keeps beside the snapshot (`PreviousSnapshot.carried`)."""
    carry_columns: tuple[str, ...] = ()
    """Columns of ``profile`` that are not profile columns but per-customer state for the
    next run to carry over, kept as ``carry`` is: the runner takes them out of the profile.
    Only for a step whose profile the runner caches (``features``): they are read from the
    cached table."""


class Step:
    """Base class of a step. Subclasses set ``name`` and ``section`` and implement `run`.

    ``section`` names the config block the step reads (``None``: none); a stored state is
    reusable only under the same block, so a changed block asks for a refit.
    """

    name: ClassVar[str]
    section: ClassVar[str | None] = None
    learns: ClassVar[bool] = False
    columns: ClassVar[dict[str, str]] = {}
    """Columns the step adds (name -> type), added empty when the step is off."""
    reads_rows: ClassVar[bool] = False
    """Whether the step reads many rows into Python (texts, orders): the engine hands back
    the memory of earlier reads first."""

    def enabled(self, config: Config) -> bool:
        """Whether the step runs under ``config`` (a block with ``enabled: false`` skips it)."""
        block = self.config_block(config)
        return bool(getattr(block, "enabled", True))

    def config_block(self, config: Config) -> Any:
        """The step's config block, or ``None``."""
        return getattr(config, self.section) if self.section else None

    def skip(self, profile: ir.Table, ctx: StepContext) -> StepResult:
        """What a step that is off leaves: its columns, empty, so every rule still compiles."""
        missing = {c: t for c, t in self.columns.items() if c not in profile.columns}
        return StepResult(profile.mutate(**{c: ibis.null(t) for c, t in missing.items()}))

    def run(
        self, profile: ir.Table, ctx: StepContext, state: dict[str, Any] | None
    ) -> StepResult:  # pragma: no cover - interface
        """Add the step's columns; fit when ``state`` is ``None``, else reuse it."""
        raise NotImplementedError
