"""Flows as data: a trigger, an optional wait and conditions, and an action.

A project's ``flows.yaml`` holds the flows and how their webhooks are delivered::

    delivery: {max_attempts: 5, backoff_seconds: 30, timeout_seconds: 10}
    flows:
      welcome_back:
        trigger: {kind: segment_entry, segment: lapsed_vip}
        wait: 2d
        when: "orders >= 2"
        action: {webhook: "http://127.0.0.1:8080/hooks"}
        playbook: default

Every error names the file, the line and column, and the place, e.g.
``flows.yaml:7:15: flows.welcome_back.trigger.kind: ...``; an error inside a condition points
at the character of the condition that is wrong.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tierwise.errors import ConfigError
from tierwise.segments.language import SegmentError, parse

__all__ = [
    "CHURN_EVENTS",
    "FLOWS_FILE",
    "TRIGGER_KINDS",
    "Delivery",
    "Flow",
    "FlowAction",
    "FlowFile",
    "Trigger",
    "load_flows",
    "parse_wait",
]

FLOWS_FILE = "flows.yaml"
"""A project's flow file."""

TRIGGER_KINDS = (
    "segment_entry", "segment_exit", "label_change", "intention_up", "churn_signal", "date",
)  # fmt: skip
"""What can start a flow."""

CHURN_EVENTS = ("contact_removed", "unfollow")
"""Event types read as churn signals by default: the customer removed the shop's WeChat/WeCom
contact, or unfollowed an account."""

_IDENT = r"^[a-z][a-z0-9_]*$"


def parse_wait(value: Any) -> float:
    """Seconds of a wait written ``90s``, ``30m``, ``12h``, ``2d`` (or a number of seconds)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise ValueError("a wait cannot be negative")
        return float(value)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", str(value))
    if m is None:
        raise ValueError(f"{value!r} is not a wait like 30m, 12h or 2d")
    return float(m[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m[2]]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Trigger(_Strict):
    """What starts a flow for a customer.

    - ``segment_entry`` / ``segment_exit``: ``segment`` (a saved segment's name or an
      expression) holds the customer on the newest snapshot and not on the previous one, or
      the other way round;
    - ``label_change``: the customer's primary label of ``scheme`` changed, optionally only
      ``from`` some labels and/or ``to`` some labels;
    - ``intention_up``: the intention grade rose to one of ``to`` (default medium, high);
      with ``live: true`` the crossings the service saw as events came in (since the previous
      snapshot's day) instead of the snapshots' grades;
    - ``churn_signal``: an event of ``events`` (default contact_removed, unfollow), on
      ``channels`` when given, happened since the previous snapshot;
    - ``date``: the date in profile ``column`` or customer ``attribute`` (e.g. birthday)
      plus ``after_days`` fell since the previous snapshot; ``yearly`` repeats it each year.
    """

    kind: Literal[
        "segment_entry", "segment_exit", "label_change", "intention_up", "churn_signal", "date"
    ]
    segment: str | None = None
    scheme: str | None = None
    from_: list[str] | None = Field(default=None, alias="from")
    to: list[str] | None = None
    events: list[str] | None = None
    channels: list[str] | None = None
    column: str | None = None
    attribute: str | None = None
    after_days: int = 0
    yearly: bool = False
    lookback_days: int = Field(default=7, gt=0)
    live: bool = False

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("from_", "to", "events", "channels", mode="before")
    @classmethod
    def _listed(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _fields(self) -> Trigger:
        need = {"segment_entry": "segment", "segment_exit": "segment", "label_change": "scheme"}
        if self.kind in need and getattr(self, need[self.kind]) is None:
            raise ValueError(f"a {self.kind} trigger needs {need[self.kind]}:")
        if self.live and self.kind != "intention_up":
            raise ValueError("live: true is for intention_up triggers only")
        if self.kind == "date" and (self.column is None) == (self.attribute is None):
            raise ValueError("a date trigger needs column: or attribute: (one of them)")
        return self


class FlowAction(_Strict):
    """What a flow does: post to a ``webhook`` URL, and/or take a ``playbook`` rule's action
    (its channel, offer and message go into the payload; without a webhook the action is
    recorded in the outbox for export)."""

    webhook: str | None = None
    rule: str | None = None

    @field_validator("webhook")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^\s/]+", v):
            raise ValueError(f"webhook {v!r} is not an http:// or https:// URL")
        return v

    @model_validator(mode="after")
    def _something(self) -> FlowAction:
        if self.webhook is None and self.rule is None:
            raise ValueError("give webhook: (a URL) or rule: (a playbook rule), or both")
        return self


class Flow(_Strict):
    """One flow: trigger, optional wait and conditions, action; caps and the control group
    are those of ``playbook``."""

    zh: str = ""
    en: str = ""
    trigger: Trigger
    wait: float = 0.0
    when: str | None = None
    action: FlowAction
    playbook: str = "default"
    enabled: bool = True

    @field_validator("wait", mode="before")
    @classmethod
    def _wait(cls, v: Any) -> float:
        return parse_wait(v)


class Delivery(_Strict):
    """How webhooks are delivered: attempts before the dead letter, backoff, timeouts."""

    max_attempts: int = Field(default=5, ge=1)
    backoff_seconds: float = Field(default=30.0, gt=0)
    max_backoff_seconds: float = Field(default=3600.0, gt=0)
    timeout_seconds: float = Field(default=10.0, gt=0)
    lease_seconds: float = Field(default=60.0, gt=0)
    batch: int = Field(default=64, ge=1)
    workers: int = Field(default=8, ge=1, le=64)

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` failed ones (doubling, capped)."""
        return min(self.backoff_seconds * 2 ** max(attempts - 1, 0), self.max_backoff_seconds)


class FlowFile(_Strict):
    """The whole flow file."""

    delivery: Delivery = Delivery()
    flows: dict[str, Flow] = {}
    source: str = "flows"

    @field_validator("flows")
    @classmethod
    def _names(cls, v: dict[str, Flow]) -> dict[str, Flow]:
        for name in v:
            if not re.match(_IDENT, name):
                raise ValueError(f"flow name {name!r}: use lower-case letters, digits and _")
        return v

    def flow(self, name: str) -> Flow:
        """The flow called ``name`` (the error suggests the closest)."""
        if name not in self.flows:
            from tierwise.segments.language import closest

            near = closest(name, self.flows)
            hint = f"; did you mean {near!r}?" if near else ""
            have = ", ".join(self.flows) or "none"
            raise ConfigError(f"{self.source}: no flow {name!r}{hint} (have {have})")
        return self.flows[name]


def _marks(node: yaml.Node, path: tuple = ()) -> dict[tuple, tuple[int, int, yaml.Node]]:
    """Where each value of a composed YAML document starts: path -> (line, column, node)."""
    out = {path: (node.start_mark.line + 1, node.start_mark.column + 1, node)}
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            out.update(_marks(v, (*path, k.value)))
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            out.update(_marks(v, (*path, i)))
    return out


def _place(loc: tuple) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def load_flows(path: str | Path | None = None, *, text: str | None = None) -> FlowFile:
    """Read and check a flow file (``text`` instead of a file for tests); no file: no flows.

    Raises
    ------
    ConfigError
        On invalid YAML, an invalid value or a malformed condition; the message names the
        file, line, column and place.
    """
    source = str(path) if path is not None else FLOWS_FILE
    if text is None:
        if path is None or not Path(path).exists():
            return FlowFile(source=source)
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read: {exc.strerror}") from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source}{where}: not valid YAML: {problem}") from None
    if data is None:
        return FlowFile(source=source)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}:1:1: expected a mapping with flows: at the top level")
    marks = _marks(node)

    def at(loc: tuple) -> str:
        for n in range(len(loc), -1, -1):
            if loc[:n] in marks:
                line, col, _ = marks[loc[:n]]
                return f"{source}:{line}:{col}"
        return source

    try:
        parsed = FlowFile.model_validate({**data, "source": source})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple("from" if p == "from_" else p for p in first["loc"])
        msg = first["msg"].removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{at(loc)}: {_place(loc)}: {msg}{more}") from None
    for name, flow in parsed.flows.items():
        if flow.when is None:
            continue
        try:
            parse(flow.when)
        except SegmentError as exc:
            loc = ("flows", name, "when")
            where = at(loc)
            if loc in marks and exc.position is not None:
                line, col, value = marks[loc]
                style = getattr(value, "style", None)
                if value.start_mark.line == value.end_mark.line:
                    where = f"{source}:{line}:{col + exc.position + (1 if style else 0)}"
            raise ConfigError(f"{where}: flows.{name}.when: {exc.reason}") from None
    return parsed
