"""Computed columns: the expression parser, its errors and the SQL it compiles to."""

from __future__ import annotations

import duckdb
import pytest
from io_testkit import rows, write

from tierwise.io import MappingError, import_file
from tierwise.io.expressions import ExpressionError, compile_expression, parse_expression


def _value(expr: str, **cells: str | None):
    """Evaluate a compiled expression with DuckDB over one row of text cells."""
    con = duckdb.connect()
    names = list(cells) or ["_none"]
    values = [cells.get(n) for n in names]
    cols = ", ".join(f'CAST(? AS VARCHAR) AS "{n}"' for n in names)
    sql = compile_expression(expr).sql
    return con.execute(f"SELECT {sql} FROM (SELECT {cols})", values).fetchone()[0]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("1 + 2 * 3", "7.0"),
        ("(1 + 2) * 3", "9.0"),
        ("2 - 3 - 4", "-5.0"),  # left-associative
        ("24 / 4 / 3", "2.0"),
        ("-2 * -3", "6.0"),
        ("2 * 3 || 'x'", "6.0x"),  # || binds looser than arithmetic
        ("1 / 0", None),  # division by zero is empty, not infinite
        ("if(1 < 2 and not 3 < 2, 'yes', 'no')", "yes"),
        ("if(1 < 2 or 1 / 0 > 1, 1, 2)", "1.0"),
    ],
)
def test_precedence_and_associativity(expr, expected):
    assert _value(expr) == expected


def test_columns_numbers_and_text():
    cells = {"Quantity": "6", "UnitPrice": "2.55", "Country": " united kingdom ", "数量": "3"}
    assert _value("Quantity * UnitPrice", **cells) == "15.3"  # rounded: no binary noise
    assert _value('"数量" * `UnitPrice`', **cells) == "7.65"
    assert _value("数量 + 1", **cells) == "4.0"
    assert _value("upper(strip(Country)) || '-' || substr('ABCDEF', 2, 3)", **cells) == (
        "UNITED KINGDOM-BCD"
    )
    assert _value("coalesce(Missing, Quantity)", Missing=None, Quantity="6") == "6"  # text
    assert _value("coalesce(Missing, Quantity, 0)", Missing=None, Quantity="6") == "6.0"
    assert _value("coalesce(Missing, 'none')", Missing=None) == "none"
    assert _value("if(Quantity < 0, 'return', 'sale')", Quantity="-2") == "return"
    assert (
        _value("if(starts_with(Inv, 'C'), abs(Quantity), round(2.567, 2))", Inv="C1", Quantity="-2")
        == "2.0"
    )
    assert _value("replace(lower(x), 'a', 'o') || length(x)", x="BANANA") == "bonono6.0"
    assert _value("'it''s'") == "it's"
    c = compile_expression('"Unit Price" * Quantity - coalesce(Discount, 0)')
    assert c.columns == ["Unit Price", "Quantity", "Discount"]
    assert c.numeric == ["Unit Price", "Quantity", "Discount"]


@pytest.mark.parametrize(
    ("expr", "pos", "why"),
    [
        ("Quantity * ", 12, "expected a value, found the end"),
        ("(Quantity * UnitPrice", 22, "expected ')', found the end"),
        ("Quantity $ 2", 10, "unexpected character '$'"),
        ("'x' * 2", 1, "expected a number, found text"),
        ("eval(Quantity)", 1, "unknown function 'eval'"),
        ("__import__('os')", 1, "unknown function '__import__'"),
        ("a < b < c", 7, "comparisons do not chain"),
        ("substr(a)", 1, "substr() takes 2 to 3 argument(s), got 1"),
        ("if(a, 1, 2)", 4, "expected a condition"),
        ("a b", 3, "unexpected 'b'"),
        ("", 1, "empty expression"),
        ("``", 1, "empty column name"),
    ],
)
def test_errors_name_the_position(expr, pos, why):
    with pytest.raises(ExpressionError) as exc:
        compile_expression(expr)
    assert exc.value.pos + 1 == pos
    assert why in str(exc.value)
    assert str(exc.value).startswith(f"position {pos}: ")


def test_never_evaluated_by_python():
    # Python syntax is not an expression: attribute access and dunders do not parse
    with pytest.raises(ExpressionError, match=r"unexpected character '\.'"):
        parse_expression("().__class__")
    tree = parse_expression("__class__")
    assert (tree.kind, tree.value) == ("col", "__class__")  # a column name, nothing more


def test_mapping_errors_name_the_key_and_position(tmp_path):
    from tierwise.io import ColumnMapping

    with pytest.raises(MappingError, match=r"computed\.amount: position 12: expected a value"):
        ColumnMapping.from_dict({"entity": "orders", "computed": {"amount": "Quantity * "}})
    with pytest.raises(MappingError, match=r"computed\.nope: 'nope' is not a column of orders"):
        ColumnMapping.from_dict({"entity": "orders", "computed": {"nope": "1"}})
    with pytest.raises(MappingError, match=r"computed\.amount: column is also mapped"):
        ColumnMapping.from_dict(
            {"entity": "orders", "columns": {"x": "amount"}, "computed": {"amount": "1"}}
        )


def test_computed_columns_in_an_import(tmp_path, store, opts):
    f = write(
        tmp_path / "lines.csv",
        "inv,who,when,qty,price,note\n"
        "1,c1,2024-03-05 10:00,2,2.55,a\n"
        "2,c2,2024-03-05 11:00,x,1.00,b\n"
        "3,c3,2024-03-05 12:00,3,,c\n",
    )
    mapping = {
        "columns": {"inv": "order_id", "who": "customer_id", "when": "paid_at"},
        "computed": {"amount": "qty * price", "attributes.label": "upper(note) || '-' || inv"},
        "constants": {"status": "paid"},
    }
    rep = import_file(store, "orders", f, mapping=mapping, options=opts)
    rep.check()
    assert (rep.rows_imported, rep.rows_quarantined) == (1, 2)
    assert rows(store, "SELECT order_id, amount, attributes FROM orders") == [
        ("1", 5.1, '{"label":"A-1"}')
    ]
    reasons = {p.row: (p.column, p.value, p.reason) for p in rep.problems}
    assert reasons[3] == ("qty", "x", "amount = qty * price: qty 'x' is not a number")
    assert reasons[4] == ("amount = qty * price", None, "amount is empty")
    assert "qty" not in rep.columns_kept and "price" not in rep.columns_kept


def test_computed_column_needs_its_sources(tmp_path, store, opts):
    from tierwise.errors import ImportValidationError

    f = write(tmp_path / "o.csv", "order_id,customer_id,paid_at,qty\n1,c,2024-01-01,2\n")
    with pytest.raises(ImportValidationError, match=r"needs column.*'price', not in the file"):
        import_file(
            store,
            "orders",
            f,
            mapping={"computed": {"amount": "qty * price"}, "constants": {"status": "paid"}},
            options=opts,
        )
