"""Playbooks as data: rules (selector -> action), exclusions, caps, control groups, channels.

The packaged ``defaults/playbooks.yaml`` holds the seeds' strategies; a project's
``playbooks.yaml`` is merged over it (mappings key by key, lists replaced whole) and validated.
Every error names the file and the place, e.g.
``playbooks.yaml: playbooks.default.caps[1].days: must be greater than 0``.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tierwise.config import merge_mappings
from tierwise.errors import ConfigError
from tierwise.playbooks._selectors import Selector, _closest, parse_selector

__all__ = [
    "PLAYBOOKS_FILE",
    "Action",
    "ActionFilter",
    "Cap",
    "Channel",
    "ControlGroup",
    "Exclusion",
    "Offer",
    "Playbook",
    "PlaybookFile",
    "Rule",
    "default_playbooks_text",
    "load_playbooks",
]

PLAYBOOKS_FILE = "playbooks.yaml"
"""A project's playbook file, merged over the defaults when present."""

_IDENT = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _clock(value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, int) and 0 <= value < 24 * 60:  # YAML reads 09:00 as 540 minutes
        return dt.time(value // 60, value % 60)
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", str(value).strip())
    if m is None or int(m[1]) > 23 or int(m[2]) > 59:
        raise ValueError(f"{value!r} is not a time like 09:00")
    return dt.time(int(m[1]), int(m[2]))


class Channel(_Strict):
    """A channel actions may use, and when it may send (shop-local times).

    ``send_window: [start, end]``: sends only between start and end (end may be past
    midnight); outside is quiet hours, and an action falling there is scheduled at the next
    start. ``null`` sends at any hour.
    """

    zh: str = ""
    en: str = ""
    send_window: tuple[dt.time, dt.time] | None = None

    @field_validator("send_window", mode="before")
    @classmethod
    def _window(cls, v: Any) -> Any:
        if v is None:
            return None
        if not isinstance(v, list | tuple) or len(v) != 2:
            raise ValueError("send_window is [start, end], e.g. ['09:00', '21:00']")
        start, end = (_clock(x) for x in v)
        if start == end:
            raise ValueError("send_window start and end are the same time; use null for always")
        return (start, end)

    def scheduled(self, at: dt.datetime) -> dt.datetime:
        """The first moment at or after ``at`` inside the send window."""
        if self.send_window is None:
            return at
        start, end = self.send_window
        t = at.time()
        inside = start <= t < end if start < end else (t >= start or t < end)
        if inside:
            return at
        day = at.date() if t < start else at.date() + dt.timedelta(days=1)
        return dt.datetime.combine(day, start)


class Offer(_Strict):
    """A kind of offer (coupon, promotion, care …) with display names."""

    zh: str = ""
    en: str = ""


class Action(_Strict):
    """What a rule does: a message of an offer kind on a channel, at a cost per send.

    ``channel`` names a channel; ``channel_column`` takes each customer's channel from a
    profile column instead (e.g. ``main_channel``), ``channel`` then being the fallback for
    customers without one (none: they get no action).
    """

    id: str = Field(pattern=_IDENT)
    channel: str | None = None
    channel_column: str | None = None
    offer: str
    message: str
    cost: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _some_channel(self) -> Action:
        if self.channel is None and self.channel_column is None:
            raise ValueError("give channel or channel_column")
        return self


class Rule(_Strict):
    """Customers a selector picks get an action; higher priority wins a channel.

    ``budget``: total cost this rule may spend in one plan; customers are served in order of
    ``rank_by`` (a profile column, largest first) until the budget is spent.
    """

    id: str = Field(pattern=_IDENT)
    when: Any
    action: Action
    priority: int = 0
    budget: float | None = Field(default=None, gt=0)
    rank_by: str | None = None
    note: str = ""


class ActionFilter(_Strict):
    """Which actions an exclusion is about: every field given must match."""

    offers: list[str] | None = None
    channels: list[str] | None = None
    channel_column: str | None = None
    max_cost: float | None = Field(default=None, ge=0)


class Exclusion(_Strict):
    """Customers a selector picks are held back from some or all actions.

    Neither ``block`` nor ``allow``: every action is held back. ``block``: the actions matching
    it are. ``allow``: every action *not* matching it is.
    """

    id: str = Field(pattern=_IDENT)
    when: Any
    reason: str
    block: ActionFilter | None = None
    allow: ActionFilter | None = None

    @model_validator(mode="after")
    def _one_filter(self) -> Exclusion:
        if self.block is not None and self.allow is not None:
            raise ValueError("give block or allow, not both")
        return self


class Cap(_Strict):
    """At most ``max`` sends in any ``days`` days, on a channel (``all``: every channel),
    optionally only of one rule's action."""

    id: str = Field(pattern=_IDENT)
    channel: str = "all"
    rule: str | None = None
    max: int = Field(ge=0)
    days: int = Field(gt=0)


class ControlGroup(_Strict):
    """A held-out share of customers, drawn by a hash (see `tierwise.playbooks.in_control`)."""

    share: float = Field(default=0.10, ge=0, lt=1)
    salt: str = ""


class Playbook(_Strict):
    """One playbook: rules, exclusions, caps and its control group."""

    zh: str = ""
    en: str = ""
    note: str = ""
    control: ControlGroup = ControlGroup()
    caps: list[Cap] = []
    exclusions: list[Exclusion] = []
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Playbook:
        for what, items in (("rule", self.rules), ("exclusion", self.exclusions),
                            ("cap", self.caps)):  # fmt: skip
            ids = [x.id for x in items]
            dup = sorted({i for i in ids if ids.count(i) > 1})
            if dup:
                raise ValueError(f"{what} ids must be unique, repeated: {', '.join(dup)}")
        return self


class PlaybookFile(_Strict):
    """The whole playbook file: channels, offer kinds, the global control group, playbooks."""

    channels: dict[str, Channel]
    offers: dict[str, Offer]
    global_control: ControlGroup = ControlGroup(share=0.0, salt="global")
    playbooks: dict[str, Playbook]
    source: str = "playbooks"

    @field_validator("channels", "offers", "playbooks")
    @classmethod
    def _names(cls, v: dict[str, Any]) -> dict[str, Any]:
        for name in v:
            if not re.match(_IDENT, name) or name == "all":
                raise ValueError(f"name {name!r}: use lower-case letters, digits and _ (not all)")
        return v

    @model_validator(mode="after")
    def _references(self) -> PlaybookFile:
        for name, pb in self.playbooks.items():
            rules = {r.id for r in pb.rules}
            for i, r in enumerate(pb.rules):
                at = f"playbooks.{name}.rules[{i}].action"
                self._known(r.action.channel, self.channels, f"{at}.channel", "channel")
                self._known(r.action.offer, self.offers, f"{at}.offer", "offer")
            for i, e in enumerate(pb.exclusions):
                for kind, flt in (("block", e.block), ("allow", e.allow)):
                    at = f"playbooks.{name}.exclusions[{i}].{kind}"
                    for ch in (flt.channels or []) if flt else []:
                        self._known(ch, self.channels, f"{at}.channels", "channel")
                    for off in (flt.offers or []) if flt else []:
                        self._known(off, self.offers, f"{at}.offers", "offer")
            for i, c in enumerate(pb.caps):
                at = f"playbooks.{name}.caps[{i}]"
                if c.channel != "all":
                    self._known(c.channel, self.channels, f"{at}.channel", "channel")
                if c.rule is not None and c.rule not in rules:
                    raise ValueError(
                        f"{at}.rule: no rule {c.rule!r} in playbook {name}{_closest(c.rule, rules)}"
                    )
        return self

    def _known(self, value: str | None, known: dict, at: str, what: str) -> None:
        if value is not None and value not in known:
            raise ValueError(
                f"{at}: unknown {what} {value!r}{_closest(value, known)}; declare it under {what}s:"
            )

    def playbook(self, name: str) -> Playbook:
        """The playbook called ``name`` (the error suggests the closest)."""
        if name not in self.playbooks:
            raise ConfigError(
                f"{self.source}: no playbook {name!r}{_closest(name, self.playbooks)}; "
                f"have {', '.join(self.playbooks)}"
            )
        return self.playbooks[name]

    @cached_property
    def selectors(self) -> dict[tuple[str, str, str], Selector]:
        """Parsed selectors by (playbook, "rules" or "exclusions", id)."""
        out: dict[tuple[str, str, str], Selector] = {}
        for name, pb in self.playbooks.items():
            for kind, items in (("rules", pb.rules), ("exclusions", pb.exclusions)):
                for i, item in enumerate(items):
                    where = f"{self.source}: playbooks.{name}.{kind}[{i}].when"
                    out[(name, kind, item.id)] = parse_selector(item.when, where)
        return out

    def channel(self, name: str) -> Channel:
        """A channel's settings (a channel taken from a profile column may be undeclared:
        it then sends at any hour)."""
        return self.channels.get(name, Channel())


def default_playbooks_text() -> str:
    """The commented default playbook file."""
    return resources.files("tierwise").joinpath("defaults/playbooks.yaml").read_text("utf-8")


def _where(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def load_playbooks(path: str | Path | None = None, *, data: dict | None = None) -> PlaybookFile:
    """The default playbooks, with a YAML file (or ``data``) merged over them.

    Raises
    ------
    ConfigError
        On invalid YAML or an invalid value; the message names the file and the place.
    """
    merged = yaml.safe_load(default_playbooks_text())
    source = "default playbooks"
    over = data
    if path is not None:
        source = str(path)
        try:
            over = yaml.safe_load(Path(path).read_text("utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: not valid YAML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read: {exc.strerror}") from None
    elif data is not None:
        source = "playbooks"
    if over is not None:
        if not isinstance(over, dict):
            raise ConfigError(f"{source}: expected a mapping at the top level")
        merged = merge_mappings(merged, over)
    merged["source"] = source
    try:
        parsed = PlaybookFile.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        msg = first["msg"].removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        where = _where(first["loc"])
        raise ConfigError(f"{source}: {where + ': ' if where else ''}{msg}{more}") from None
    parsed.selectors  # noqa: B018 - parse now so a bad selector fails at load time
    return parsed
