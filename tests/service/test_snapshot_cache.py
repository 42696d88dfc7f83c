"""Label evidence rebuilt from a held profile row reads as the store's JSON does."""

from __future__ import annotations

import json

import duckdb
import pytest

from tierwise.service.profiles import _json_value

VALUES = [
    "TIMESTAMP '2025-06-01 10:00:00'", "TIMESTAMP '2025-06-01 10:00:00.123'",
    "TIMESTAMP '2025-06-01 10:00:00.123456'", "TIMESTAMP '1999-12-31 23:59:59.5'",
    "DATE '2025-06-01'", "1.5::DECIMAL(38,4)", "123456.0001::DECIMAL(18,4)", "0.1::DOUBLE",
    "1e300::DOUBLE", "-0.000123456789::DOUBLE", "42::BIGINT", "true", "NULL::DOUBLE",
    "'他说\"好\"\\n'", "'nan'::DOUBLE",
]  # fmt: skip


@pytest.mark.parametrize("sql", VALUES)
def test_a_rebuilt_figure_equals_the_stored_json(sql):
    con = duckdb.connect()
    stored = con.execute(f"SELECT json_object('v', {sql})::VARCHAR").fetchall()[0][0]
    value = con.execute(f"SELECT {sql}").fetchall()[0][0]
    want = json.loads(stored)["v"]
    got = json.loads(json.dumps({"v": _json_value(value)}, ensure_ascii=False))["v"]
    if isinstance(want, float) and want != want:
        assert got != got
    else:
        assert got == want and type(got) is type(want)
