"""Member levels: the level table, growth value, upgrades, keeps and downgrades with grace,
the level history, comparison with imported levels; the path and its funnel."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from tierwise.config import load_config
from tierwise.errors import ConfigError
from tierwise.members import MemberLevelError, MembersConfig, assign_levels
from tierwise.project import CONFIG_FILE, Project
from tinyshop import insert, order, ts

LEVELS = [
    {"id": "v1", "zh": "普通会员", "en": "Member", "threshold": 100, "keep": 50},
    {"id": "v2", "zh": "白银会员", "en": "Silver", "threshold": 1000, "keep": 600},
    {"id": "v3", "zh": "黄金会员", "en": "Gold", "threshold": 3000, "keep": 2000},
]
MEMBERS = {"enabled": True, "window_days": 365, "period_days": 90, "grace_days": 10,
           "growth": {"per_yuan": 1.0, "per_order": 0, "events": {"referral": 100}},
           "levels": LEVELS}  # fmt: skip


def test_overlapping_and_unsorted_thresholds_are_refused():
    cfg = load_config(None)
    overlap = [LEVELS[0], {**LEVELS[1], "threshold": 100, "keep": 50}]
    with pytest.raises(ConfigError, match=r"'v1' and 'v2' overlap: both start at growth 100"):
        cfg.with_overrides({"members": {"levels": overlap}})
    unsorted = [LEVELS[1], LEVELS[0]]
    with pytest.raises(ConfigError, match=r"not sorted: 'v1' \(threshold 100\) comes after 'v2'"):
        cfg.with_overrides({"members": {"levels": unsorted}})
    with pytest.raises(ConfigError, match="keep 200 is above its threshold 100"):
        cfg.with_overrides({"members": {"levels": [{**LEVELS[0], "keep": 200}]}})
    with pytest.raises(ConfigError, match="aliases name unknown level"):
        cfg.with_overrides({"members": {"levels": LEVELS, "aliases": {"金卡": "gold"}}})


def _growth(values: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": list(values), "growth": list(values.values()),
                         "growth_spend": list(values.values()), "growth_orders": 0.0,
                         "growth_actions": 0.0})  # fmt: skip


def test_upgrade_at_once_keep_until_due_then_renew_or_downgrade():
    cfg = MembersConfig(**MEMBERS)
    d0 = dt.date(2024, 1, 1)
    first = assign_levels(_growth({"a": 1500, "b": 50, "c": 3500}), None, d0, cfg)
    assert first.set_index("customer_id")["member_level"].to_dict() == {
        "a": "v2", "b": None, "c": "v3"}  # fmt: skip
    assert list(first["member_move"]) == ["new", "none", "new"]
    assert first.loc[0, "member_valid_until"] == d0 + dt.timedelta(days=90)
    # a reaches gold 30 days later: upgraded at once; c's growth falls but c is not yet due
    d1 = d0 + dt.timedelta(days=30)
    second = assign_levels(_growth({"a": 3200, "b": 60, "c": 100}), first, d1, cfg)
    s = second.set_index("customer_id")
    assert (s.loc["a", "member_level"], s.loc["a", "member_move"]) == ("v3", "upgrade")
    assert s.loc["a", "member_level_since"] == d1
    assert (s.loc["c", "member_level"], s.loc["c", "member_move"]) == ("v3", "keep")
    # day 95: due (90 days) but inside the 10 grace days: still kept
    d2 = d0 + dt.timedelta(days=95)
    third = assign_levels(_growth({"a": 3200, "b": 60, "c": 100}), second, d2, cfg)
    assert third.set_index("customer_id").loc["c", "member_move"] == "keep"
    # day 100: evaluated; c keeps only v1 (growth 100 >= keep 50 of v1, < 600 of v2)
    d3 = d0 + dt.timedelta(days=100)
    fourth = assign_levels(_growth({"a": 3200, "b": 60, "c": 100}), third, d3, cfg)
    f = fourth.set_index("customer_id")
    assert (f.loc["c", "member_level"], f.loc["c", "member_move"]) == ("v1", "downgrade")
    ev = json.loads(f.loc["c", "member_evidence"])
    assert ev["from"] == "v3" and ev["keep_of_previous"] == 2000 and ev["figures"]["growth"] == 100
    assert ev["evaluated_after"] == "2024-04-10"
    # a, upgraded on day 30, is due on day 120 + 10: renewed with growth 2100 >= keep 2000
    d4 = d1 + dt.timedelta(days=100)
    fifth = assign_levels(_growth({"a": 2100, "b": 60, "c": 100}), fourth, d4, cfg)
    g = fifth.set_index("customer_id")
    assert (g.loc["a", "member_level"], g.loc["a", "member_move"]) == ("v3", "renew")
    assert g.loc["a", "member_level_since"] == d1
    assert g.loc["a", "member_valid_until"] == d1 + dt.timedelta(days=180)
    assert g.loc["b", "member_level"] is None and g.loc["b", "member_rank"] == 0


@pytest.fixture
def shop(tmp_path):
    p = Project.init(tmp_path / "shop")
    (p.directory / CONFIG_FILE).write_text(
        "members:\n" + "\n".join(f"  {k}: {json.dumps(v)}" for k, v in MEMBERS.items()) + "\n",
        encoding="utf-8")  # fmt: skip
    p = Project(p.directory)
    insert(p.store, "customers", [
        {"customer_id": "big", "first_seen": ts("2023-01-01"), "member_level": "白银会员"},
        {"customer_id": "mid", "first_seen": ts("2023-01-01"), "member_level": "v2"},
        {"customer_id": "small", "first_seen": ts("2023-01-01"), "member_level": "v1"},
        {"customer_id": "fan", "first_seen": ts("2023-01-01")},
    ])  # fmt: skip
    insert(p.store, "orders", [
        order("o1", "big", "2024-01-05 10:00", 1200.0, channel="store"),
        order("o2", "big", "2024-03-01 10:00", 2500.0, channel="store"),
        order("o3", "mid", "2024-01-06 10:00", 150.0, channel="livestream"),
        order("o4", "small", "2024-02-20 10:00", 40.0, channel="deal"),
        order("o5", "small", "2024-02-25 10:00", 80.0, channel="deal"),
    ])  # fmt: skip
    yield p
    p.close()


def test_levels_move_across_snapshots_with_history_and_moves(shop):
    for day in ("2024-01-31", "2024-03-15"):
        shop.run(dt.date.fromisoformat(day))
    prof = shop.profiles().set_index("customer_id")
    assert prof["member_level"].fillna("-").to_dict() == {"big": "v3", "mid": "v1",
                                                          "small": "v1", "fan": "-"}  # fmt: skip
    assert prof.loc["big", "member_level_since"] == dt.date(2024, 3, 15)
    assert prof.loc["mid", "member_level_since"] == dt.date(2024, 1, 31)
    assert prof["member_level_imported"].to_dict()["big"] == "白银会员"
    hist = shop.member_history("big")
    assert list(hist["move"]) == ["new", "upgrade"] and list(hist["to_level"]) == ["v2", "v3"]
    assert list(hist["from_level"])[1] == "v2" and list(hist["growth"]) == [1200.0, 3700.0]
    moves = shop.member_moves()
    assert moves.to_dict("records") == [
        {"as_of": dt.date(2024, 1, 31), "new": 2, "upgrade": 0, "downgrade": 0},
        {"as_of": dt.date(2024, 3, 15), "new": 1, "upgrade": 1, "downgrade": 0},
    ]
    cells = shop.moves("member_level", dt.date(2024, 1, 31), dt.date(2024, 3, 15))
    got = {(r["from_label"], r["to_label"]): r["customers"] for r in cells.to_dict("records")}
    assert got == {("v2", "v3"): 1, ("v1", "v1"): 1, ("(none)", "v1"): 1, ("(none)", "(none)"): 1}
    levels = shop.member_levels().set_index("level")["customers"].to_dict()
    assert levels == {"v1": 2, "v2": 0, "v3": 1}


def test_compare_lists_where_computed_and_imported_levels_disagree(shop, tmp_path):
    shop.run(dt.date(2024, 3, 15))
    diff = shop.member_compare().set_index("customer_id")
    assert diff["computed"].to_dict() == {"big": "v3", "mid": "v1"}
    assert diff["imported"].to_dict() == {"big": "v2", "mid": "v2"}
    assert diff["direction"].to_dict() == {"big": "computed_higher", "mid": "computed_lower"}
    path = tmp_path / "levels.csv"
    path.write_text("customer_id,level\nbig,v3\nsmall,钻石\n", encoding="utf-8")
    with pytest.raises(MemberLevelError, match=r"levels.csv column level: unknown level '钻石' "
                       r"for customer small .*levels: v1, v2, v3"):  # fmt: skip
        shop.member_compare(path)
    path.write_text("customer_id,level\nbig,v3\nsmall,v2\n", encoding="utf-8")
    assert shop.member_compare(path)["customer_id"].tolist() == ["small"]


def test_funnel_counts_reached_stages_conversion_and_days(shop):
    shop.run(dt.date(2024, 1, 5))
    shop.run(dt.date(2024, 1, 31))
    shop.run(dt.date(2024, 3, 15))
    f = shop.funnel().set_index("stage")
    # on 03-15 the three buyers hold a level; fan has no order
    assert f["at_stage"].to_dict() == {"fan": 1, "customer": 0, "member": 3, "lifetime": 0,
                                       "koc": 0}  # fmt: skip
    assert f["reached"].tolist() == [4, 3, 3, 0, 0]
    assert f.loc["customer", "conversion_rate"] == 0.75
    assert f.loc["member", "conversion_rate"] == 1.0
    # on 01-05 big bought and is a member; mid is a customer and member from 01-31 (26 days
    # after 01-05), small from 03-15 (70 days); big's times are not seen (a member at once)
    assert f.loc["customer", "moved"] == 2
    assert f.loc["customer", "median_days"] == 48.0
    assert f.loc["member", "moved"] == 0 and pd.isna(f.loc["member", "median_days"])
    by = shop.funnel(by="channel")
    store = by[by["group"] == "store"].set_index("stage")
    assert store.loc["member", "reached"] == 1
    assert set(by["group"]) == {"store", "livestream", "deal", "(none)"}


def test_cli_members_funnel_and_moves(shop, tmp_path):
    from typer.testing import CliRunner

    from tierwise.cli import app

    shop.run(dt.date(2024, 1, 31))
    shop.run(dt.date(2024, 3, 15))
    shop.close()
    where = ["--project", str(shop.directory)]
    run = CliRunner().invoke
    res = run(app, ["members", "levels", *where, "--json"])
    assert res.exit_code == 0, res.output
    assert {r["level"]: r["customers"] for r in json.loads(res.output)} == {
        "v1": 2, "v2": 0, "v3": 1}  # fmt: skip
    res = run(app, ["members", "history", "big", *where, "--json"])
    assert [r["move"] for r in json.loads(res.output)] == ["new", "upgrade"]
    res = run(app, ["members", "moves", *where, "--json"])
    assert json.loads(res.output)[1] == {"as_of": "2024-03-15", "new": 1, "upgrade": 1,
                                         "downgrade": 0}  # fmt: skip
    res = run(app, ["members", "compare", *where, "--json"])
    assert {r["customer_id"] for r in json.loads(res.output)} == {"big", "mid"}
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,level\nbig,platinum\n", encoding="utf-8")
    res = run(app, ["members", "compare", str(bad), *where])
    assert res.exit_code != 0 and "unknown level 'platinum' for customer big" in res.output
    res = run(app, ["moves", "member_level", "--from", "2024-01-31", "--to", "2024-03-15",
                    *where, "--json"])  # fmt: skip
    assert {"from_label": "v2", "to_label": "v3"}.items() <= json.loads(res.output)[0].items()
    res = run(app, ["funnel", *where, "--by", "entrance", "--json"])
    assert res.exit_code == 0, res.output
    groups = {r["group"] for r in json.loads(res.output)}
    assert groups == {"store", "livestream", "deal", "(unknown)"}
    res = run(app, ["funnel", *where, "--by", "nowhere"])
    assert res.exit_code != 0 and "--by nowhere" in res.output


def test_an_imported_level_of_a_run_without_members_is_not_a_previous_level(shop):
    on = shop.config
    shop.config = on.with_overrides({"members": {"enabled": False}})
    off = shop.run(dt.date(2024, 1, 31))
    assert off.profiles.column("member_level").to_pylist()[0] == "白银会员"  # imported, as is
    assert "members: " not in " ".join(off.notes)
    shop.config = on
    run = shop.run(dt.date(2024, 3, 15))
    prof = run.profiles.to_pandas().set_index("customer_id")
    assert prof.loc["mid", "member_move"] == "new" and prof.loc["mid", "member_level"] == "v1"
    assert "the snapshot of 2024-01-31 has no computed levels" in " ".join(run.notes)
    assert shop.member_history("mid")["move"].tolist() == ["new"]
