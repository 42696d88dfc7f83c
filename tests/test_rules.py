"""The rule language: what it accepts, what it refuses, how it treats missing values."""

from __future__ import annotations

import ibis
import pytest

from tierwise.errors import ConfigError
from tierwise.schemes.rules import Condition

T = ibis.memtable(
    {
        "orders": [0, 1, 3, None],
        "recency_days": [None, 10.0, 400.0, 5.0],
        "ch": ["a", "b", "c", "a"],
    }
)


def holds(text: str, **params: object) -> list[bool]:
    return Condition(text).compile(T, params).to_pyarrow().to_pylist()


def test_comparisons_params_and_logic():
    assert holds("orders >= 1 and recency_days <= churn", churn=180) == [False, True, False, False]
    assert holds("orders == 0 or recency_days > 300") == [True, False, True, False]
    # a comparison with a missing value is false, so its negation holds
    assert holds("not orders >= 1") == [True, False, False, True]
    assert holds("1 <= orders < 3") == [False, True, False, False]


def test_missing_values_make_a_comparison_false():
    assert holds("recency_days < 100") == [False, True, False, True]
    assert holds("coalesce(recency_days, 0) < 100") == [True, True, False, True]
    assert holds("is_null(orders)") == [False, False, False, True]


def test_membership_and_arithmetic():
    assert holds("ch in ('a', 'c')") == [True, False, True, True]
    assert holds("ch not in ('a',)") == [False, True, True, False]
    assert holds("orders * 2 + 1 > 5") == [False, False, True, False]


def test_boolean_params_switch_a_rule():
    assert holds("flag and orders == 0", flag=True) == [True, False, False, False]
    assert holds("flag and orders == 0", flag=False) == [False, False, False, False]


def test_names_lists_features_and_params_not_functions():
    assert Condition("coalesce(a, 0) > b and c in ('x',)").names() == {"a", "b", "c"}


def test_unknown_name_is_named_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"here: unknown name 'ordrs' .*did you mean orders\?"):
        Condition("ordrs > 1", "here").compile(T, {})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("orders.__class__", "Attribute is not allowed"),
        ("__import__('os')", "unknown function"),
        ("orders >", "cannot parse"),
        ("[x for x in orders]", "ListComp is not allowed"),
    ],
)
def test_code_is_refused(text, message):
    with pytest.raises(ConfigError, match=message):
        Condition(text).tree  # noqa: B018


def test_a_number_is_not_a_condition():
    with pytest.raises(ConfigError, match="is not a true/false condition"):
        Condition("orders + 1").compile(T, {})
