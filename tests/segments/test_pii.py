"""Masking of personal data in audience exports."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from tierwise.config import Config
from tierwise.segments.pii import (
    mask_address,
    mask_attributes,
    mask_email,
    mask_name,
    mask_other,
    mask_phone,
    mask_table,
    pii_kind,
)

PATTERNS = Config.default().audience.pii_columns


@pytest.mark.parametrize(
    ("fn", "value", "masked"),
    [
        (mask_phone, "13812341234", "138****1234"),
        (mask_phone, "138-1234-1234", "138****1234"),
        (mask_phone, "+86 138 1234 1234", "138****1234"),
        (mask_phone, "12345", "*****"),
        (mask_name, "张三", "张*"),
        (mask_name, "欧阳娜娜", "欧***"),
        (mask_name, "Alice", "A****"),
        (mask_name, "李", "*"),
        (mask_email, "alice@example.com", "a***@example.com"),
        (mask_email, "not-an-email", "n**********l"),
        (mask_address, "浙江省杭州市西湖区文三路 1 号", "浙江省杭州市****"),
        (mask_other, "330106199001011234", "3****************4"),
    ],
)
def test_masks(fn, value, masked):
    assert fn(value) == masked


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        ("phone", "phone"), ("mobile_no", "phone"), ("手机号", "phone"), ("tel", "phone"),
        ("name", "name"), ("real_name", "name"), ("姓名", "name"), ("nickname", "name"),
        ("email", "email"), ("E_Mail", "email"), ("邮箱", "email"),
        ("address", "address"), ("收货地址", "address"), ("id_card", "other"),
        ("customer_id", None), ("orders", None), ("hotel", None), ("city", None),
        ("quadrant", None), ("tags", None), ("persona", None), ("lifecycle_rule", None),
    ],
)  # fmt: skip
def test_which_columns_are_personal(column, kind):
    assert pii_kind(column, PATTERNS) == kind


def test_attributes_json_keeps_other_keys():
    raw = json.dumps({"phone": "13812341234", "姓名": "张三", "size": "L", "n": 3})
    assert json.loads(mask_attributes(raw, PATTERNS)) == {
        "phone": "138****1234", "姓名": "张*", "size": "L", "n": 3,
    }  # fmt: skip


def test_mask_table_keeps_ids_and_missing_values():
    table = pa.table({
        "customer_id": ["c1", "c2"], "phone": ["13812341234", None],
        "attributes.email": ["bob@x.cn", None], "orders": [1, 2],
    })  # fmt: skip
    masked, cols = mask_table(table, PATTERNS)
    assert cols == ["phone", "attributes.email"]
    assert masked.to_pydict() == {
        "customer_id": ["c1", "c2"], "phone": ["138****1234", None],
        "attributes.email": ["b***@x.cn", None], "orders": [1, 2],
    }  # fmt: skip


def test_patterns_are_configurable():
    cfg = Config.default().with_overrides({"audience": {"pii_columns": {"other": ["^vip_code$"]}}})
    assert pii_kind("vip_code", cfg.audience.pii_columns) == "other"
    assert pii_kind("phone", cfg.audience.pii_columns) == "phone"  # other kinds stay
