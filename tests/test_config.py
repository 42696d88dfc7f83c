"""Config: defaults, merging, validation messages, rules as data."""

from __future__ import annotations

import pytest

from tierwise.config import Config, default_config_text, load_config
from tierwise.errors import ConfigError


def test_defaults_load_and_name_every_lifecycle_stage():
    cfg = Config.default()
    stages = [lab.id for lab in cfg.schemes["lifecycle"].labels]
    assert stages == ["long_silent", "churned", "high_value", "repeat", "new", "potential"]
    assert cfg.schemes["lifecycle"].mode == "multi"
    assert all(lab.zh and lab.en for s in cfg.schemes.values() for lab in s.labels)


def test_shopify_groups_are_all_there():
    ids = {lab.id for lab in Config.default().schemes["rfm_group"].labels}
    assert ids >= {
        "champions",
        "loyal",
        "active",
        "new",
        "promising",
        "needs_attention",
        "at_risk",
        "previously_loyal",
        "almost_lost",
        "dormant",
        "prospects",
    }


def test_the_init_file_is_commented(tmp_path):
    text = default_config_text()
    assert text.count("#") > 20 and "interaction_counts_as_new" in text


def test_a_project_file_merges_over_defaults(tmp_path):
    f = tmp_path / "t.yaml"
    f.write_text("schemes:\n  lifecycle:\n    params:\n      churn_days: 90\n", encoding="utf-8")
    cfg = load_config(f)
    assert cfg.schemes["lifecycle"].params["churn_days"] == 90
    assert cfg.schemes["lifecycle"].params["long_silent_days"] == 365  # kept from defaults


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("features:\n  windows: [0, 7]\n", r"features\.windows: Value error, windows must be"),
        ("rfm:\n  quantiles: [0.5, 0.2]\n", r"rfm\.quantiles: Value error"),
        ("schemes:\n  lifecycle:\n    mode: sometimes\n", r"schemes\.lifecycle\.mode"),
        (
            "schemes:\n  x:\n    zh: a\n    en: b\n    mode: multi\n    labels:\n"
            "      - {id: a, zh: a, en: a, when: 'orders >'}\n",
            r"schemes\.x\.labels\[0\]\.when",
        ),
        ("- just a list\n", "expected a mapping"),
        ("features: {windows: [7\n", "not valid YAML"),
        ("featurs: {}\n", r"featurs: Extra inputs are not permitted"),
    ],
)
def test_mistakes_are_named(tmp_path, yaml_text, message):
    f = tmp_path / "bad.yaml"
    f.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(f)


def test_duplicate_label_ids_are_refused():
    with pytest.raises(ConfigError, match="label ids must be unique, repeated: a"):
        Config.default().with_overrides(
            {
                "schemes": {
                    "s": {
                        "zh": "s",
                        "en": "s",
                        "mode": "exclusive",
                        "labels": [{"id": "a", "zh": "a", "en": "a", "when": "orders > 0"}] * 2,
                    }
                }
            }
        )
