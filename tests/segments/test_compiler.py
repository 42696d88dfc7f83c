"""Segments compiled to Ibis select exactly the customers worked out by hand."""

from __future__ import annotations

import ibis
import pytest
from handmade import AS_OF, EVENTS, KNOWN, ORDERS, PROFILES, SAVED, SNAPSHOTS

from tierwise.config import Config
from tierwise.segments import SegmentContext, SegmentError, scheme_labels, segment_filter


def make_context(con, segments=None, register=None) -> SegmentContext:
    """The hand-made tables on an Ibis backend (``register(name, table)`` puts them there)."""
    tables = {
        "profiles": PROFILES, "events": EVENTS, "orders": ORDERS,
        **{f"snap_{d:%Y%m%d}": t for d, t in SNAPSHOTS.items()},
    }  # fmt: skip
    for name, table in tables.items():
        if register is None:
            con.create_table(name, table, overwrite=True)
        else:
            register(name, table)
    return SegmentContext(
        profiles=con.table("profiles"),
        as_of=AS_OF,
        events=con.table("events"),
        orders=con.table("orders"),
        snapshot=lambda day: con.table(f"snap_{day:%Y%m%d}"),
        snapshot_days=sorted(SNAPSHOTS),
        schemes=scheme_labels(Config.default()),
        segments=SAVED if segments is None else segments,
        known_tags=lambda: {"concern/price_sensitive", "concern/quality", "persona/parent"},
    )


@pytest.fixture(scope="module")
def ctx() -> SegmentContext:
    return make_context(ibis.duckdb.connect())


def members(ctx: SegmentContext, expr: str) -> set[str]:
    table = ctx.profiles.filter(segment_filter(expr, ctx)).select("customer_id")
    return set(table.to_pyarrow()["customer_id"].to_pylist())


@pytest.mark.parametrize("expr", list(KNOWN))
def test_known_answers(ctx, expr):
    assert members(ctx, expr) == KNOWN[expr]


def test_a_saved_segment_may_not_refer_to_itself(ctx):
    saved = {"a": "segment('b')", "b": "orders > 1 or segment('a')"}
    cyc = make_context(ibis.duckdb.connect(), saved)
    with pytest.raises(SegmentError, match=r"cycle: a -> b -> a"):
        segment_filter("segment('a')", cyc)
    with pytest.raises(SegmentError, match=r"cycle: b -> a -> b"):
        segment_filter("segment('a')", cyc, name="b")


@pytest.mark.parametrize(
    ("expr", "words", "suggestion"),
    [
        ("ordres > 2", "unknown column 'ordres'", "orders"),
        ("quadrant = 'butterfy'", "quadrant has no label 'butterfy'", "butterfly"),
        ("quadrant in ('butterfly', 'strangr')", "no label 'strangr'", "stranger"),
        ("has_label('behavior', 'kol')", "unknown scheme 'behavior'", "behaviour"),
        ("has_label('behaviour', 'koll')", "no label 'koll'", "kol"),
        ("has_tag('price_sensitiv')", "unknown tag 'price_sensitiv'", "price_sensitive"),
        ("event('comment') > 1", "unknown function 'event'", "events"),
        ("events('comment', chanel='x') > 1", "takes no argument 'chanel'", "channel"),
        ("segment('bigg')", "unknown segment 'bigg'", "big"),
        ("previous('quadrnt') = 'x'", "has no column 'quadrnt'", "quadrant"),
        ("moved('intention', from='lo')", "no label 'lo'", "low"),
    ],
)
def test_unknown_names_are_refused_with_the_closest(ctx, expr, words, suggestion):
    with pytest.raises(SegmentError) as info:
        segment_filter(expr, ctx)
    assert words in str(info.value)
    assert info.value.suggestion == suggestion


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        ("orders > 'x'", "orders is a number"),
        ("city_tier = 1", "city_tier holds text; quote the value: '1'"),
        ("orders > -30d", "orders is not a date"),
        ("last_order_at > 3", "last_order_at is a date"),
        ("last_order_at > '2024-13-01'", "not a day like '2025-01-01'"),
        ("orders", "orders is not a true/false condition"),
        ("events('comment') > 'many'", "compare events(…) with a number"),
        ("events('comment')", "not a true/false condition"),
        ("1 = 2", "not two values"),
        ("moved('intention')", "needs from= or to="),
        ("moved('intention', to='high', since=-60d)", "no snapshot at or before 2024-05-01"),
        ("previous('quadrant') = quadrant", "compare previous('quadrant') with a value"),
        ("has_label('behaviour')", "needs a scheme and a label"),
        ("events('comment', since=-3d, until=-5d) > 0", "since 2024-06-27 is after until"),
        ("segment('big') > 1", "is a condition, not a value"),
    ],
)
def test_misuse_is_explained(ctx, expr, words):
    with pytest.raises(SegmentError) as info:
        segment_filter(expr, ctx)
    assert words in str(info.value)


def test_error_positions_point_at_the_culprit(ctx):
    with pytest.raises(SegmentError) as info:
        segment_filter("orders > 1 and quadrant = 'butterfy'", ctx)
    assert info.value.position == len("orders > 1 and quadrant = ")
    with pytest.raises(SegmentError) as info:
        segment_filter("orders > 1 and ordrs < 3", ctx)
    assert info.value.position == len("orders > 1 and ")


@pytest.mark.parametrize(
    "expr", ["__import__('os').system('true')", "open('/etc/passwd') = 'x'", "orders.__class__"]
)
def test_python_is_refused_not_run(ctx, expr):
    with pytest.raises(SegmentError):
        segment_filter(expr, ctx)
