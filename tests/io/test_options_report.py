"""Options are validated with one-line errors; reports print and serialise."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from io_testkit import ORDERS_HEADER, write

from tierwise.errors import ConfigError
from tierwise.io import ImportOptions, ImportReport, Problem, import_file


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"unknown_columns": "drop"},
            "import option unknown_columns: Input should be 'keep' or 'ignore'",
        ),
        (
            {"on_conflict": "merge"},
            "import option on_conflict: Input should be 'quarantine' or 'update'",
        ),
        ({"encoding": "klingon"}, "import option encoding: unknown encoding 'klingon'"),
        ({"timezone": "Mars/Base"}, "import option timezone: unknown time zone 'Mars/Base'"),
        ({"delimiter": ";;"}, "import option delimiter: ';;' is not a single separator character"),
        (
            {"future_tolerance": dt.timedelta(hours=-1)},
            "import option future_tolerance: must not be negative",
        ),
        ({"colour": "red"}, "import option colour: unknown option"),
    ],
)
def test_invalid_options_are_one_line_config_errors(kwargs, message):
    with pytest.raises(ConfigError) as exc:
        ImportOptions(**kwargs)
    assert str(exc.value).startswith(message)
    assert "\n" not in str(exc.value)


def test_options_from_dict_and_defaults(tmp_path, store):
    o = ImportOptions.coerce(
        {
            "delimiter": "tab",
            "reference_time": "2024-06-01T12:00:00+00:00",
            "timezone": "Asia/Shanghai",
        }
    )
    assert o.delimiter == "\t"
    assert o.now() == dt.datetime(2024, 6, 1, 20, 0)
    d = ImportOptions()
    assert (d.unknown_columns, d.unknown_customers, d.on_conflict) == (
        "keep",
        "create",
        "quarantine",
    )
    assert d.future_tolerance == dt.timedelta(days=1)
    f = write(tmp_path / "o.csv", ORDERS_HEADER + "o1,c1,2024-03-05,1,paid\n")
    with pytest.raises(ConfigError, match="import option on_conflict"):
        import_file(store, "orders", f, options={"on_conflict": "nope"})


def test_report_printing(tmp_path, store, opts):
    f = write(
        tmp_path / "o.csv", ORDERS_HEADER + "o1,c1,2024-03-05,1,paid\no2,c1,2024-03-05,-1,paid\n"
    )
    rep = import_file(store, "orders", f, options=opts)
    line = rep.summary()
    assert "\n" not in line
    assert line.startswith(
        "o.csv -> orders: 2 read, 1 imported, 0 updated, 0 duplicate, 1 quarantined; "
        "1 customers created; quarantine: "
    )
    table = dict(rep.table_rows())
    assert table["format"] == "csv (utf-8)" and table["quarantined"] == "1"
    d = json.loads(json.dumps(rep.to_dict()))
    assert d["problems"][0] == {
        "file": "o.csv",
        "row": 3,
        "column": "amount",
        "value": "-1",
        "reason": "amount: '-1' is negative",
    }
    assert str(rep.problems[0]) == "o.csv row 3: amount: '-1' is negative"
    assert rep.to_dict(max_problems=0)["problems_truncated"] is True
    assert not rep.ok


def test_report_check_catches_bad_counts():
    rep = ImportReport(file="x", entity="orders", format="csv", rows_read=2, rows_imported=1)
    with pytest.raises(AssertionError, match="do not add up"):
        rep.check()
    assert str(Problem("x", None, None, None, "why")) == "x file: why"


def test_unknown_entity(tmp_path, store):
    with pytest.raises(
        ConfigError,
        match=r"^unknown entity 'shops'; expected one of customers, orders, events, identities$",
    ):
        import_file(store, "shops", tmp_path / "x.csv")
