"""``tierwise flows``: list, show, test, enqueue, deliveries, deliver, retry; zh and en."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from tierwise.cli import app
from tierwise.store import Store

from .receiver import Receiver

runner = CliRunner()
SECRET = "cli-secret"


def tw(*args, **env):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "160", **env})


@pytest.fixture(scope="module")
def shop(flow_shop, tmp_path_factory):
    d = tmp_path_factory.mktemp("cli") / "shop"
    shutil.copytree(flow_shop, d)
    return d


def test_list_and_show(shop):
    r = tw("flows", "list", "-p", shop, "--json")
    assert r.exit_code == 0, r.output
    rows = {x["flow"]: x for x in json.loads(r.output)}
    assert set(rows) == {"intention_rise", "vip_welcome", "contact_removed", "new_repeat",
                         "first_order_30d"}  # fmt: skip
    assert rows["intention_rise"]["pending"] > 0
    assert rows["intention_rise"]["action"] == "webhook, default.high_intention_hard_sell"
    r = tw("flows", "show", "contact_removed", "-p", shop, "--json")
    data = json.loads(r.output)
    assert data["definition"]["when"] == "orders >= 1"
    assert sum(data["deliveries"].values()) == len(
        [x for x in json.loads(tw("flows", "deliveries", "-p", shop, "--flow", "contact_removed",
                                  "--limit", "1000", "--json").output)])  # fmt: skip
    zh = tw("--lang", "zh", "flows", "show", "contact_removed", "-p", shop)
    assert "删除企业微信好友或取关" in zh.output and "投递" in zh.output


def test_unknown_flow_is_one_line_error(shop):
    r = tw("flows", "show", "contact_remove", "-p", shop)
    assert r.exit_code == 1
    assert "no flow 'contact_remove'; did you mean 'contact_removed'?" in r.output


def test_test_is_a_dry_run(shop):
    before = json.loads(tw("flows", "deliveries", "-p", shop, "--limit", "5000", "--json").output)
    r = tw("flows", "test", "new_repeat", "-p", shop, "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["counts"]["crossings"] == data["counts"]["already"] > 0  # all stored by the run
    after = json.loads(tw("flows", "deliveries", "-p", shop, "--limit", "5000", "--json").output)
    assert before == after
    r = tw("flows", "enqueue", "-p", shop, "--json")
    assert json.loads(r.output)["added"] == 0


def test_deliver_once_and_retry(shop, monkeypatch):
    with Receiver(SECRET) as rx:
        with Store(shop / "tierwise.duckdb") as s:
            s.con.execute("UPDATE flow_outbox SET url = ?", [rx.url])
            due = s.one("SELECT count(*) FROM flow_outbox WHERE status = 'pending' "
                        "AND due_at <= now()::TIMESTAMP")[0]  # fmt: skip
            first = s.one("SELECT min(idempotency_key) FROM flow_outbox "
                          "WHERE status = 'pending' AND due_at <= now()::TIMESTAMP")[0]  # fmt: skip
        rx.refuse, rx.refuse_code = {first}, 410
        r = tw("flows", "deliver", "--once", "-p", shop)
        assert r.exit_code == 1 and "TIERWISE_FLOWS_SECRET" in r.output
        r = tw("flows", "deliver", "--once", "-p", shop, "--json", TIERWISE_FLOWS_SECRET=SECRET)
        assert r.exit_code == 0, r.output
        run = json.loads(r.output)
        assert run["sent"] == due - 1 and run["dead"] == 1
        assert len(rx.processed) == due - 1
        dead = json.loads(tw("flows", "deliveries", "-p", shop, "--status", "dead",
                             "--json").output)  # fmt: skip
        assert len(dead) == 1 and dead[0]["last_error"] == "HTTP 410"
        r = tw("flows", "retry", dead[0]["delivery_id"], "-p", shop)
        assert r.exit_code == 0, r.output
        r = tw("flows", "retry", dead[0]["delivery_id"], "-p", shop)
        assert r.exit_code == 1 and "pending, not dead" in r.output
        rx.refuse = set()
        r = tw("flows", "deliver", "--once", "-p", shop, TIERWISE_FLOWS_SECRET=SECRET)
        assert r.exit_code == 0 and "sent 1," in r.output
        assert len(rx.processed) == due
