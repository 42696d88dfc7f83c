"""Control groups: a deterministic, engine-neutral hash decides who is held out.

A customer is in the control group of a playbook when

    int(sha256(f"{customer_id}|{playbook}|{salt}")[:8 bytes], big-endian) / 2**64 < share

i.e. the first 16 hex digits of the SHA-256 of the UTF-8 text, read as an unsigned 64-bit
number and divided by 2**64, fall below ``share`` (the float, taken exactly: the integer is
compared with ``ceil(share * 2**64)``). The same customer, playbook and salt give the
same answer on every run, machine and engine. The global control group uses the playbook name
``*global*``. The comparison is made on the hex text (equal-length lower-case hex strings
sort like the numbers they write), so it needs only SHA-256 and string comparison from the
engine.
"""

from __future__ import annotations

import hashlib
import math
from fractions import Fraction

import ibis
import ibis.expr.types as ir

__all__ = ["GLOBAL", "control_threshold", "in_control", "in_control_expr"]

GLOBAL = "*global*"
"""Playbook name used in the hash of the global control group."""


def control_threshold(share: float) -> str:
    """``ceil(share * 2**64)`` (share taken exactly) as 16 lower-case hex digits."""
    if not 0 <= share < 1:
        raise ValueError(f"control share must be in [0, 1), got {share}")
    return f"{math.ceil(Fraction(share) * 2**64):016x}"


def _key(customer_id: str, playbook: str, salt: str) -> bytes:
    return f"{customer_id}|{playbook}|{salt}".encode()


def in_control(customer_id: str, playbook: str, salt: str, share: float) -> bool:
    """Whether a customer is held out (the reference implementation, in Python)."""
    head = hashlib.sha256(_key(customer_id, playbook, salt)).hexdigest()[:16]
    return head < control_threshold(share)


def in_control_expr(
    customer_id: ir.StringValue, playbook: str, salt: str, share: float
) -> ir.BooleanValue:
    """`in_control` as an Ibis expression over a customer-id column."""
    if share <= 0:
        return ibis.literal(False)
    text = customer_id + ibis.literal(f"|{playbook}|{salt}")
    return text.hexdigest("sha256").lower().substr(0, 16) < ibis.literal(control_threshold(share))
