"""The flow file: valid flows load, every mistake is reported with its line and column."""

from __future__ import annotations

import pytest

from tierwise.demo.flows import demo_flows_text
from tierwise.errors import ConfigError
from tierwise.flows import load_flows, parse_wait

GOOD = """\
flows:
  welcome:
    trigger: {kind: segment_entry, segment: vip}
    wait: 2d
    when: "orders >= 2"
    action: {webhook: "http://127.0.0.1:8080/h"}
"""


def test_demo_file_loads():
    f = load_flows(text=demo_flows_text())
    assert set(f.flows) == {
        "intention_rise",
        "vip_welcome",
        "contact_removed",
        "new_repeat",
        "first_order_30d",
    }
    assert f.flows["new_repeat"].wait == 3600
    assert f.delivery.max_attempts == 5


def test_no_file_means_no_flows(tmp_path):
    assert load_flows(tmp_path / "flows.yaml").flows == {}


@pytest.mark.parametrize(
    ("old", "new", "where", "says"),
    [
        (
            "segment_entry",
            "segment_entri",
            "flows.yaml:3:21: flows.welcome.trigger.kind",
            "Input should be",
        ),
        ("wait: 2d", "wait: 2 weeks", "flows.yaml:4:11: flows.welcome.wait", "not a wait"),
        (
            '"http://127.0.0.1:8080/h"',
            "ftp://x",
            "flows.yaml:6:23: flows.welcome.action.webhook",
            "not an http",
        ),
        (
            "kind: segment_entry, segment: vip",
            "kind: segment_entry",
            "flows.yaml:3:14: flows.welcome.trigger",
            "needs segment",
        ),
        (
            '"orders >= 2"',
            '"orders >= 2 and ("',
            "flows.yaml:5:29: flows.welcome.when",
            "ends too early",
        ),
        ('"orders >= 2"', '"orders >> 2"', "flows.yaml:5:20: flows.welcome.when", ""),
        ("  welcome:", "  Welcome:", "flows.yaml:2:3: flows", "lower-case"),
        ("    wait: 2d\n", "    wiat: 2d\n", "flows.yaml:4:11: flows.welcome.wiat", "Extra"),
    ],
)
def test_errors_name_line_column_and_place(old, new, where, says):
    with pytest.raises(ConfigError) as exc:
        load_flows(text=GOOD.replace(old, new))
    assert str(exc.value).startswith(where), str(exc.value)
    assert says in str(exc.value)


def test_bad_yaml_names_the_line():
    with pytest.raises(ConfigError, match=r"^flows.yaml:4:1: not valid YAML"):
        load_flows(text="flows:\n  a:\n    trigger: {kind: [\n")


def test_waits():
    assert parse_wait("90s") == 90 and parse_wait("30m") == 1800 and parse_wait("2d") == 172800
    assert parse_wait(5) == 5
    with pytest.raises(ValueError):
        parse_wait("-1d")


def test_live_is_for_intention_only():
    text = GOOD.replace("kind: segment_entry, segment: vip", "kind: churn_signal, live: true")
    with pytest.raises(ConfigError, match=r"flows\.welcome\.trigger: live: true is for intention"):
        load_flows(text=text)
    ok = GOOD.replace("kind: segment_entry, segment: vip", "kind: intention_up, live: true")
    assert load_flows(text=ok).flows["welcome"].trigger.live
