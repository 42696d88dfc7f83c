"""The ``funnel:`` block: which scheme is the path, its stages in order, and the breakdowns."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["FunnelConfig"]


class FunnelConfig(BaseModel):
    """The path's stages from the first to the last, and the columns a funnel splits by.

    ``by`` maps a breakdown's name to a profile column; ``entrance`` is the channel of a
    customer's first touch (event or order), computed from the store.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    scheme: str = "path"
    stages: list[str] = Field(
        default_factory=lambda: ["fan", "customer", "member", "lifetime", "koc"], min_length=2
    )
    by: dict[str, str] = {"channel": "main_channel", "entrance": "entrance"}

    @field_validator("stages")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"a stage is listed twice: {v}")
        return v
