"""Chinese help for the acting commands (plan, uplift, segments, service, ...)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

GROUPS = [
    "backtest", "plan", "uplift", "demo-campaign", "moves", "serve", "consent", "sends",
    "playbooks", "segment", "audience", "keys",
]  # fmt: skip

_SCRIPT = """
import json, sys
import typer
from typer.testing import CliRunner
from tierwise.cli import app

root = typer.main.get_command(app)
runner = CliRunner()
found = {}
for name in json.loads(sys.argv[1]):
    cmd = root.commands[name]
    paths = [[name]] + [[name, sub] for sub in getattr(cmd, "commands", {})]
    texts, outputs = [], []
    for path in paths:
        node = root
        for part in path:
            node = node.commands[part]
        texts.append(node.help or "")
        texts += [p.help for p in node.params if getattr(p, "help", None)]
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "250"})
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    found[name] = {"texts": texts, "outputs": outputs}
print(json.dumps(found))
"""

_BUILT_IN = {"Show this message and exit."}


def _help(lang: str) -> dict:
    env = {**os.environ, "TIERWISE_LANG": lang, "COLUMNS": "250"}
    env.pop("TIERWISE_PROJECT", None)
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, json.dumps(GROUPS)],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def both() -> tuple[dict, dict]:
    return _help("en"), _help("zh")


@pytest.mark.parametrize("group", GROUPS)
def test_group_help_is_chinese(both, group):
    en, zh = both
    han = re.compile(r"[\u4e00-\u9fff]")
    english = [" ".join(text.split()) for text in en[group]["texts"] if text not in _BUILT_IN]
    assert english and not any(han.search(text) for text in english)
    for en_out, zh_out in zip(en[group]["outputs"], zh[group]["outputs"], strict=True):
        assert not han.search(en_out)
        assert han.search(zh_out)
        flat = " ".join(zh_out.replace("│", " ").split())
        left = [text for text in english if text[:30] in flat]
        assert not left, left
