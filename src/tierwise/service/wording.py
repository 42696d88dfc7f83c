"""A label's evidence in words, in Chinese and English."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["because"]


def _value(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e6 else f"{v:,.0f}"
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return str(v)


def because(label: dict[str, Any], lang: str = "en") -> str:
    """One sentence: the label, the rule that gave it and the figures and params it read.

    Parameters
    ----------
    label : dict
        A row of the labels table with ``evidence`` parsed (``figures``, ``params``).
    lang : {"en", "zh"}
    """
    ev = label.get("evidence") or {}
    figures = ", ".join(f"{k} = {_value(v)}" for k, v in (ev.get("figures") or {}).items())
    params = ", ".join(f"{k} = {_value(v)}" for k, v in (ev.get("params") or {}).items())
    rule = label.get("rule") or ""
    if lang == "zh":
        name = label.get("label_zh") or label.get("label")
        text = f"{name}：规则 {rule}"
        if figures:
            text += f"；数据 {figures}"
        if params:
            text += f"；参数 {params}"
        return text + "。"
    name = label.get("label_en") or label.get("label")
    text = f"{name} because {rule}"
    if figures:
        text += f"; figures: {figures}"
    if params:
        text += f"; params: {params}"
    return text + "."
