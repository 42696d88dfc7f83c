"""The segment language's parser: tree shapes, precedence and errors with their place."""

from __future__ import annotations

import pytest

from tierwise.segments.language import (
    And,
    Call,
    Compare,
    InList,
    IsNull,
    Literal,
    Name,
    Not,
    Or,
    RelDay,
    SegmentError,
    Tuple,
    names_used,
    parse,
    segments_used,
)


def cmp(name: str, op: str, value: object) -> Compare:
    return Compare(op, Name(name), Literal(value))


def test_and_binds_tighter_than_or():
    tree = parse("a = 1 or b = 2 and c = 3")
    assert tree == Or((cmp("a", "=", 1), And((cmp("b", "=", 2), cmp("c", "=", 3)))))


def test_parentheses_override_precedence():
    tree = parse("(a = 1 or b = 2) and c = 3")
    assert tree == And((Or((cmp("a", "=", 1), cmp("b", "=", 2))), cmp("c", "=", 3)))


def test_not_binds_tighter_than_and_and_keywords_ignore_case():
    tree = parse("NOT a = 1 AND b = 2 Or c")
    assert tree == Or((And((Not(cmp("a", "=", 1)), cmp("b", "=", 2))), Name("c")))


def test_operators_literals_and_relative_days():
    tree = parse("x == 1.5 and y <> 'it''s' and z >= -90d and w != true and v < -3 and u <= 0d")
    ops = [(c.op, c.right) for c in tree.items]
    assert ops == [
        ("=", Literal(1.5)), ("!=", Literal("it's")), (">=", RelDay(-90)),
        ("!=", Literal(True)), ("<", Literal(-3)), ("<=", RelDay(0)),
    ]  # fmt: skip


def test_in_not_in_and_null_checks():
    assert parse("q in ('a', \"b\")") == InList(Name("q"), (Literal("a"), Literal("b")))
    assert parse("q not in (1, 2)") == InList(Name("q"), (Literal(1), Literal(2)), True)
    assert parse("q is null") == IsNull(Name("q"))
    assert parse("q IS NOT NULL") == IsNull(Name("q"), True)


def test_calls_with_positional_keyword_and_list_arguments():
    tree = parse("events('comment', channel=('douyin', 'weibo'), since=-30d) >= 3")
    assert tree == Compare(
        ">=",
        Call(
            "events",
            (Literal("comment"),),
            (("channel", Tuple((Literal("douyin"), Literal("weibo")))), ("since", RelDay(-30))),
        ),
        Literal(3),
    )
    assert parse("has_tag('x')") == Call("has_tag", (Literal("x"),))


def test_positions_are_kept():
    tree = parse("orders > 2 and  quadrant = 'b'")
    assert [c.pos for c in tree.items] == [0, 16]
    assert tree.items[1].right.pos == 27


def test_names_and_segments_used():
    tree = parse("orders > 1 and has_label('behaviour', 'kol') and segment('vip') or has_tag('x')")
    assert names_used(tree) == ["orders", "behaviour", "tags"]
    assert segments_used(tree) == ["vip"]


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("orders > 'x", 10, "unclosed string"),
        ("last_order_at < -30days", 17, "bad relative day '-30days'"),
        ("last_order_at < -1.5d", 17, "bad relative day"),
        ("last_order_at < 30d", 17, "write -30d"),
        ("orders > 2 && x = 1", 12, "did you mean and?"),
        ("orders > 2 x = 1", 12, "join conditions with and / or"),
        ("orders >", 9, "ends too early"),
        ("(orders > 2", 12, "expected ')'"),
        ("orders = null", 10, "did you mean is null?"),
        ("orders != null", 11, "is not null"),
        ("q in 'a'", 6, "expected '('"),
        ("q is 3", 6, "expected null after is"),
        ("", 1, "empty expression"),
        ("f(a=1, 2)", 8, "positional argument cannot follow"),
        ("f(a=1, a=2)", 8, "given twice"),
        ("x = ;", 5, "unexpected character ';'"),
        ("x > and", 5, "expected a value"),
    ],
)
def test_errors_say_where_and_why(text, column, words):
    with pytest.raises(SegmentError) as info:
        parse(text)
    assert info.value.position == column - 1
    assert words in str(info.value)
    if text:
        assert f"column {column} of {text!r}" in str(info.value)
