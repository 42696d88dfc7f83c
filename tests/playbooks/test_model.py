"""Playbook files: defaults, validation with the place of the mistake, selectors, control hash."""

from __future__ import annotations

import hashlib

import ibis
import pytest

from tierwise.config import Config
from tierwise.errors import ConfigError
from tierwise.playbooks import (
    SnapshotVocabulary,
    check_playbook,
    control_threshold,
    in_control,
    in_control_expr,
    load_playbooks,
    parse_selector,
)

RULE = {"id": "x", "when": {"scheme": "quadrant", "label": "butterfly"},
        "action": {"id": "a", "channel": "sms", "offer": "coupon", "message": "m"}}  # fmt: skip


def _vocab(columns=("customer_id", "quadrant", "behaviour", "behaviour_all", "tags",
                    "intention", "intention_score", "main_channel")):  # fmt: skip
    return SnapshotVocabulary.from_config(
        Config.default(), columns, ["concern/price_sensitive", "persona/parent"]
    )


def test_default_playbook_holds_the_seeds_strategies():
    pf = load_playbooks()
    pb = pf.playbook("default")
    rules = {r.id: r for r in pb.rules}
    assert rules["barnacle_coupon"].action.offer == "coupon"
    assert rules["barnacle_coupon"].budget > 0
    assert rules["self_directed_channel_news"].action.channel_column == "main_channel"
    excl = {e.id: e for e in pb.exclusions}
    assert excl["long_silent"].block is None and excl["long_silent"].allow is None
    assert "discount" in excl["sharers_no_discounts"].block.offers
    assert pb.control.share == 0.10
    assert {(c.channel, c.max, c.days) for c in pb.caps} >= {("sms", 1, 7), ("all", 3, 30)}
    assert pf.selectors[("default", "rules", "butterfly_promotion")].describe() == (
        "quadrant = butterfly"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"caps": [{"id": "c", "channel": "sms", "max": 1, "days": -7}]},
         r"playbooks.default.caps\[0\].days: Input should be greater than 0"),
        ({"caps": [{"id": "c", "channel": "smss", "max": 1, "days": 7}]},
         r"caps\[0\].channel: unknown channel 'smss' \(did you mean sms\?\)"),
        ({"rules": [{**RULE, "action": {**RULE["action"], "offer": "cupon"}}], "caps": []},
         r"rules\[0\].action.offer: unknown offer 'cupon' \(did you mean coupon\?\)"),
        ({"rules": [{**RULE, "when": {"schem": "quadrant"}}], "caps": []},
         r"rules\[0\].when: unknown selector key 'schem' \(did you mean scheme\?\)"),
        ({"rules": [{**RULE, "when": {"column": "orders", "op": "=>", "value": 1}}], "caps": []},
         r"rules\[0\].when.op: unknown operator '=>'"),
        ({"rules": [RULE], "caps": [{"id": "c", "rule": "y", "max": 1, "days": 7}]},
         r"caps\[0\].rule: no rule 'y' in playbook default"),
        ({"exclusions": [{"id": "e", "when": {"tag": "x"}, "reason": "r",
                          "block": {"offers": ["coupon"]}, "allow": {"max_cost": 0}}]},
         r"exclusions\[0\]: give block or allow, not both"),
    ],
)  # fmt: skip
def test_invalid_playbooks_name_the_place(data, message):
    with pytest.raises(ConfigError, match=message):
        load_playbooks(data={"playbooks": {"default": data}})


def test_yaml_file_errors_name_the_file(tmp_path):
    path = tmp_path / "playbooks.yaml"
    path.write_text("channels:\n  sms: {send_window: ['09:00', '25:00']}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"playbooks.yaml: channels.sms.send_window: '25:00'"):
        load_playbooks(path)
    path.write_text("playbooks: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_playbooks(path)


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ({"scheme": "quadrnt", "label": "butterfly"},
         r"when.scheme: unknown scheme 'quadrnt' \(did you mean quadrant\?\)"),
        ({"scheme": "quadrant", "label": "buterfly"},
         r"when.label: quadrant has no label 'buterfly' \(did you mean butterfly\?\)"),
        ({"tag": "price_sensitiv"},
         r"when.tag: unknown tag 'price_sensitiv' \(did you mean price_sensitive\?\)"),
        ({"column": "intention_scor", "op": ">=", "value": 3},
         r"when.column: no column 'intention_scor' in the snapshot \(did you mean "
         r"intention_score\?\)"),
        ({"any": [{"tag": "parent"}, {"segment": "vips"}]},
         r"when.any\[1\].segment: 'vips' names a saved segment, but no segment resolver"),
    ],
)  # fmt: skip
def test_playbook_checked_against_the_snapshot(when, message):
    pf = load_playbooks(data={"playbooks": {"default": {"rules": [{**RULE, "when": when}],
                                                        "caps": []}}})  # fmt: skip
    with pytest.raises(ConfigError, match=message):
        check_playbook(pf, "default", _vocab())


def test_missing_playbook_suggests_the_closest():
    with pytest.raises(ConfigError, match=r"no playbook 'defualt' \(did you mean default\?\)"):
        load_playbooks().playbook("defualt")


def test_selectors_compile_to_the_right_customers():
    t = ibis.memtable({
        "customer_id": ["a", "b", "c", "d"],
        "quadrant": ["butterfly", "stranger", None, "butterfly"],
        "behaviour_all": ["kol;creator", None, "active", "creator"],
        "tags": ["concern/price_sensitive;persona/parent", None, "persona/parent", ""],
        "intention_score": [12.0, 1.0, None, 3.0],
    })  # fmt: skip

    def ids(when, resolver=None):
        expr = parse_selector(when).compile(t, resolver)
        return t.filter(expr).customer_id.to_pyarrow().to_pylist()

    assert ids({"scheme": "quadrant", "label": "butterfly"}) == ["a", "d"]
    assert ids({"scheme": "behaviour", "label": ["kol", "active"]}) == ["a", "c"]
    assert ids({"tag": "price_sensitive"}) == ["a"]
    assert ids({"tag": "persona/parent"}) == ["a", "c"]
    assert ids({"column": "intention_score", "op": ">=", "value": 3}) == ["a", "d"]
    assert ids({"column": "intention_score", "op": "is_null"}) == ["c"]
    assert ids({"not": {"scheme": "quadrant", "label": "butterfly"}}) == ["b", "c"]
    assert ids([{"tag": "parent"}, {"scheme": "behaviour", "label": "active"}]) == ["c"]
    assert ids({"any": [{"tag": "price_sensitive"}, {"column": "customer_id", "op": "in",
                                                     "value": ["b"]}]}) == ["a", "b"]  # fmt: skip
    assert ids({"segment": "big"}, lambda name, tab: tab.intention_score > 2) == ["a", "d"]


def test_control_hash_is_the_documented_one():
    assert control_threshold(0.5) == "8000000000000000"
    assert control_threshold(0.1) == "1999999999999a00"  # 0.1 as a double, exactly
    # the definition written out by hand: first 8 bytes of sha256 as an integer / 2**64
    for cid in ("C000001", "C000002", "客户-7", "x"):
        digest = hashlib.sha256(f"{cid}|default|s".encode()).digest()
        expected = int.from_bytes(digest[:8], "big") / 2**64 < 0.3
        assert in_control(cid, "default", "s", 0.3) is expected


def test_control_expression_matches_python_and_share():
    ids = [f"C{i:06d}" for i in range(5000)]
    t = ibis.memtable({"c": ids})
    got = t.select(x=in_control_expr(t.c, "p", "salt", 0.1)).to_pyarrow().column("x").to_pylist()
    assert got == [in_control(c, "p", "salt", 0.1) for c in ids]
    assert 0.08 < sum(got) / len(ids) < 0.12
    other = [in_control(c, "q", "salt", 0.1) for c in ids]
    assert other != got  # another playbook holds out other customers
