"""Run the configured steps in order, fitting or reusing each one's state."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis.expr.types as ir

from tierwise.backends import release_memory
from tierwise.config import Config
from tierwise.errors import ConfigError, FittedStateError
from tierwise.steps.base import PreviousSnapshot, Step, StepContext

__all__ = [
    "STATE_VERSION",
    "StepsOutcome",
    "known_steps",
    "load_step",
    "run_steps",
    "state_entry",
]

STATE_VERSION = 1
"""Layout of the stored fitted state; a state of another layout is refused."""


def known_steps() -> list[str]:
    """Names of the steps shipped in `tierwise.steps` (one module each)."""
    import tierwise.steps as package

    skip = {"base", "frames", "runner"}
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name not in skip)


def load_step(name: str) -> Step:
    """The step of that name: module ``tierwise.steps.<name>``, attribute ``STEP``."""
    if name not in known_steps():
        raise ConfigError(f"run.steps: unknown step {name!r}; known: {', '.join(known_steps())}")
    return importlib.import_module(f"tierwise.steps.{name}").STEP


@dataclass
class StepsOutcome:
    """The profile expression and what the steps learned and said."""

    profile: ir.Table
    fitted: dict[str, dict[str, Any]]
    notes: list[str]
    scheme_params: dict[str, dict[str, Any]]
    extras: dict[str, Any] = field(default_factory=dict)
    cached: list[Any] = field(default_factory=list)
    """Cached and temporary tables (each with a ``release`` method) the profile reads."""
    carry: dict[str, ir.Table] = field(default_factory=dict)
    """Per step, the state it keeps for the next run (``customer_id`` and its columns)."""

    def release(self) -> None:
        """Drop the cached and temporary intermediate tables."""
        for table in self.cached:
            table.release()
        self.cached.clear()


def _block(step: Step, config: Config) -> Any:
    block = step.config_block(config)
    return None if block is None else json.loads(json.dumps(block.model_dump(), default=str))


def state_entry(
    name: str,
    config: Config,
    state: dict[str, Any],
    *,
    fitted_on: str | None,
    reused: bool = False,
) -> dict[str, Any]:
    """A step's fitted state as stored with a snapshot."""
    return {
        "version": STATE_VERSION,
        "config": _block(load_step(name), config),
        "state": state,
        "fitted_on": fitted_on,
        "reused": reused,
    }


def _reusable(step: Step, config: Config, entry: dict[str, Any] | None, source: str
              ) -> dict[str, Any]:  # fmt: skip
    if entry is None or "state" not in entry:
        raise FittedStateError(
            f"{source} has no fitted state for step {step.name!r}; run with --refit "
            "(Project.run(fit_from=None)) to learn it anew"
        )
    if entry.get("version") != STATE_VERSION:
        raise FittedStateError(
            f"{source}: the fitted state of step {step.name!r} has layout "
            f"{entry.get('version')}, this tierwise reads {STATE_VERSION}; run with --refit"
        )
    if entry.get("config") != _block(step, config):
        raise FittedStateError(
            f"{source}: step {step.name!r} was fitted under another `{step.section}` config "
            "block than the one in force; run with --refit, or restore that block"
        )
    return entry


def run_steps(
    tables: dict[str, ir.Table],
    as_of: dt.date,
    config: Config,
    *,
    base_dir: Path | None = None,
    fitted: dict[str, dict[str, Any]] | None = None,
    reuse: set[str] | None = None,
    fitted_source: str = "the reused snapshot",
    cache: bool = True,
    previous: PreviousSnapshot | None = None,
) -> StepsOutcome:
    """Chain the steps of ``config.run.steps`` into one profile expression.

    Parameters
    ----------
    tables : dict
        ``customers``, ``orders``, ``events`` as Ibis tables on one backend.
    as_of : datetime.date
        Nothing stamped after this day is read.
    config : Config
        The whole configuration; each step reads its own block.
    fitted : dict, optional
        Stored state per step (``ProfileRun.fitted`` of an earlier run).
    reuse : set of str, optional
        Steps that must reuse their state from ``fitted`` instead of fitting (``None``: all
        steps that learn, when ``fitted`` is given).
    fitted_source : str
        Where ``fitted`` comes from, for error messages.
    cache : bool
        Compute the features once and keep them while the later steps read them (off: one
        lazy expression, e.g. to look at its SQL).
    previous : PreviousSnapshot, optional
        The snapshot before ``as_of``, for steps that carry something over (member levels).
    """
    if reuse is None:
        steps = [load_step(n) for n in config.run.steps]
        reuse = set() if fitted is None else {
            s.name for s in steps if s.learns and s.enabled(config)}  # fmt: skip
    outcome = StepsOutcome(profile=None, fitted={}, notes=[], scheme_params={})  # type: ignore[arg-type]
    try:
        profile: ir.Table | None = None
        for name in config.run.steps:
            step = load_step(name)
            ctx = StepContext(tables, as_of, config, base_dir, dict(outcome.scheme_params),
                              previous, dict(outcome.extras), outcome.cached)  # fmt: skip
            entry = None
            if step.learns and step.name in reuse:
                entry = _reusable(step, config, (fitted or {}).get(step.name), fitted_source)
            state_in = entry["state"] if entry else None
            if step.enabled(config):
                if profile is not None and step.reads_rows:
                    release_memory(profile)  # what the steps before read
                result = step.run(profile, ctx, state_in)
            else:
                result = step.skip(profile, ctx)
            profile = result.profile
            if step.name == "features" and cache:
                profile = profile.cache()
                outcome.cached.append(profile)
                release_memory(profile)  # the raw and rollup blocks read for the features
            if result.carry_columns:
                outcome.carry[step.name] = profile.select("customer_id", *result.carry_columns)
                profile = profile.drop(*result.carry_columns)
            elif result.carry is not None:
                outcome.carry[step.name] = result.carry
            if step.learns and result.state is not None:
                fitted_on = entry.get("fitted_on") if entry else as_of.isoformat()
                outcome.fitted[step.name] = state_entry(
                    step.name, config, result.state, fitted_on=fitted_on, reused=entry is not None
                )
            outcome.notes += result.notes
            for scheme, params in result.scheme_params.items():
                outcome.scheme_params.setdefault(scheme, {}).update(params)
            if result.extra is not None:
                outcome.extras[step.name] = result.extra
    except BaseException:
        outcome.release()
        raise
    if profile is None:
        raise ConfigError("run.steps must start with the features step")
    outcome.profile = profile
    return outcome
