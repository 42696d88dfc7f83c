"""Mask personal data in audience exports: phones 138****1234, names 张*, emails a***@x.com."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping

import pyarrow as pa

__all__ = [
    "MASKS",
    "mask_address",
    "mask_attributes",
    "mask_email",
    "mask_name",
    "mask_other",
    "mask_phone",
    "mask_table",
    "pii_kind",
]


def mask_phone(value: str) -> str:
    """``13812341234`` → ``138****1234``: the first 3 and last 4 digits stay."""
    digits = re.sub(r"\D", "", value)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) < 8:
        return "*" * len(digits) if digits else "*" * len(value)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(value: str) -> str:
    """``张三`` → ``张*``, ``Alice`` → ``A****``: only the first character stays."""
    value = value.strip()
    if len(value) <= 1:
        return "*"
    return value[0] + "*" * (len(value) - 1)


def mask_email(value: str) -> str:
    """``alice@x.com`` → ``a***@x.com``: the first character and the domain stay."""
    local, at, domain = value.strip().partition("@")
    if not at or not local:
        return mask_other(value)
    return f"{local[0]}***@{domain}"


def mask_address(value: str) -> str:
    """An address keeps its first 6 characters (province and city), then ``****``."""
    value = value.strip()
    keep = 6 if len(value) > 8 else min(2, len(value) - 1)
    return value[: max(keep, 0)] + "****"


def mask_other(value: str) -> str:
    """Any other identifier keeps its first and last character."""
    if len(value) <= 2:
        return "*" * len(value)
    return value[0] + "*" * (len(value) - 2) + value[-1]


MASKS: dict[str, Callable[[str], str]] = {
    "phone": mask_phone,
    "name": mask_name,
    "email": mask_email,
    "address": mask_address,
    "other": mask_other,
}
"""How each kind of personal data is masked."""


def pii_kind(name: str, patterns: Mapping[str, list[str]]) -> str | None:
    """The kind of personal data a column (or attribute key) name holds, or ``None``."""
    for kind, regexes in patterns.items():
        if any(re.search(rx, name, flags=re.IGNORECASE) for rx in regexes):
            return kind
    return None


def mask_attributes(value: str, patterns: Mapping[str, list[str]]) -> str:
    """An ``attributes`` JSON object with the values of personal keys masked."""
    try:
        data = json.loads(value)
    except ValueError:
        return mask_other(value)
    if not isinstance(data, dict):
        return value
    for key, item in data.items():
        kind = pii_kind(str(key), patterns)
        if kind is not None and item is not None:
            data[key] = MASKS[kind](str(item))
    return json.dumps(data, ensure_ascii=False)


def mask_table(table: pa.Table, patterns: Mapping[str, list[str]]) -> tuple[pa.Table, list[str]]:
    """Mask every personal column of ``table``; also say which columns were masked.

    A column is personal when its name matches a pattern; a column named ``attributes`` (or
    ``*.attributes``) is a JSON object whose personal keys are masked. ``customer_id`` is a
    pseudonymous key and stays. Missing values stay missing.
    """
    masked: list[str] = []
    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = None if name == "customer_id" else pii_kind(name, patterns)
        if name == "attributes" or name.endswith(".attributes"):
            fn: Callable[[str], str] | None = lambda v: mask_attributes(v, patterns)  # noqa: E731
        elif name.startswith("attributes.") and kind is None:
            key_kind = pii_kind(name.split(".", 1)[1], patterns)
            fn = MASKS[key_kind] if key_kind else None
        else:
            fn = MASKS[kind] if kind else None
        if fn is None:
            columns.append(column)
            continue
        values = [None if v is None else fn(str(v)) for v in column.to_pylist()]
        columns.append(pa.array(values, pa.string()))
        masked.append(name)
    return pa.Table.from_arrays(columns, names=table.column_names), masked
