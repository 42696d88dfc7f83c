"""The plan builder on a hand-made snapshot: every check, in order, with its reason."""

from __future__ import annotations

import datetime as dt
import json

import ibis
import pytest

from tierwise.config import Config
from tierwise.playbooks import (
    PlanInputs,
    SnapshotVocabulary,
    build_plan,
    in_control,
    load_playbooks,
    plan_summary,
)

D = dt.date(2025, 12, 31)
SEND = dt.datetime(2026, 1, 1, 22, 30)  # in the quiet hours of sms and wechat_official


def _rule(id_, when, action, priority, **kw):
    return {"id": id_, "when": when, "action": {"id": id_, "message": f"msg.{id_}", **action},
            "priority": priority, **kw}  # fmt: skip


def _playbook(control=0.0):
    q = lambda label: {"scheme": "quadrant", "label": label}  # noqa: E731
    i = lambda label: {"scheme": "intention", "label": label}  # noqa: E731
    b = lambda label: {"scheme": "behaviour", "label": label}  # noqa: E731
    return {"playbooks": {"t": {
        "control": {"share": control, "salt": "t"},
        "caps": [{"id": "sms_week", "channel": "sms", "max": 1, "days": 7},
                 {"id": "all_month", "channel": "all", "max": 2, "days": 30}],
        "exclusions": [
            {"id": "silent", "when": i("long_silent"), "reason": "do not wake"},
            {"id": "no_spend", "when": q("stranger"), "allow": {"max_cost": 0}, "reason": "r"},
            {"id": "own", "when": b("self_directed"), "reason": "r",
             "allow": {"offers": ["product_info"], "channel_column": "main_channel"}},
            {"id": "no_disc", "when": b("kol"), "block": {"offers": ["promotion"]}, "reason": "r"},
        ],
        "rules": [
            _rule("news", b("self_directed"), {"channel_column": "main_channel",
                                               "offer": "product_info"}, 95),
            _rule("invite", b("kol"), {"channel": "wecom", "offer": "invitation"}, 90),
            _rule("hard", i("high"), {"channel": "sms", "offer": "promotion", "cost": 2}, 75),
            _rule("promo", q("butterfly"), {"channel": "sms", "offer": "promotion", "cost": 10},
                  70),
            _rule("nudge", i(["medium", "high"]), {"channel": "wechat_official",
                                                   "offer": "content"}, 50),
            _rule("care", q("true_friend"), {"channel": "wecom", "offer": "care", "cost": 20}, 40,
                  budget=30, rank_by="clv"),
        ],
    }}}  # fmt: skip


PROFILE = [  # customer, quadrant, intention, behaviour_all, main_channel, clv
    ("a", "butterfly", "high", None, "store", 1.0),
    ("b", "stranger", "high", None, None, 1.0),
    ("c", "butterfly", "long_silent", None, None, 1.0),
    ("d", None, "high", "self_directed", "deal", 1.0),
    ("e", None, "high", "kol;creator", None, 1.0),
    ("f", "butterfly", "low", None, None, 1.0),
    ("g", "true_friend", "medium", None, None, 500.0),
    ("h", "butterfly", "low", None, None, 1.0),
    ("i", "butterfly", "high", None, None, 1.0),
    ("j", "true_friend", "low", None, None, 100.0),
    ("k", "true_friend", "low", None, None, 50.0),
    ("l", "true_friend", "low", None, None, 10.0),
    ("m", "butterfly", "low", None, None, 1.0),
    ("n", "butterfly", "low", None, None, 1.0),
]


def _send(cid, at, channel, **attrs):
    return {"customer_id": cid, "occurred_at": at, "event_type": "campaign_send",
            "channel": channel, "attributes": json.dumps(attrs) if attrs else None}  # fmt: skip


def _plan_row(as_of, cid, channel, send_at):
    return {"as_of": as_of, "playbook": "t", "customer_id": cid, "rule": "promo",
            "channel": channel, "status": "planned", "send_at": send_at}  # fmt: skip


@pytest.fixture(scope="module")
def tables():
    cols = ["customer_id", "quadrant", "intention", "behaviour_all", "main_channel", "clv"]
    profile = ibis.memtable([dict(zip(cols, r, strict=True)) for r in PROFILE])
    profile = profile.mutate(behaviour=profile.behaviour_all.split(";")[0])
    events = ibis.memtable([
        _send("h", dt.datetime(2025, 12, 29, 10), "sms"),           # inside sms_week
        _send("i", dt.datetime(2025, 12, 10, 10), "wecom"),         # two inside all_month
        _send("i", dt.datetime(2025, 12, 20, 10), "wecom"),
        _send("a", dt.datetime(2025, 11, 1, 10), "sms"),            # outside every window
        _send("zz", dt.datetime(2025, 12, 28, 9, 5), "wecom", playbook="t", plan="2025-12-27",
              action="promo"),                                      # plan of 12-27 came back
    ])  # fmt: skip
    plans = ibis.memtable([
        _plan_row(dt.date(2025, 12, 27), "m", "sms", dt.datetime(2025, 12, 28, 9)),
        _plan_row(dt.date(2025, 12, 29), "n", "sms", dt.datetime(2025, 12, 30, 9)),
        _plan_row(D, "a", "sms", dt.datetime(2026, 1, 1, 9)),       # the plan being replaced
    ])  # fmt: skip
    consent = ibis.memtable([
        {"customer_id": "f", "channel": "sms", "kind": "opt_out"},
        {"customer_id": "f", "channel": "wecom", "kind": "opt_out"},
        {"customer_id": "g", "channel": "all", "kind": "do_not_contact"},
    ])  # fmt: skip
    vocab = SnapshotVocabulary.from_config(Config.default(), profile.columns)
    return profile, PlanInputs(events=events, plans=plans, consent=consent), vocab


_CACHE: dict = {}


def _plan(tables, control=0.0):
    if control in _CACHE:
        return _CACHE[control]
    profile, inputs, vocab = tables
    pf = load_playbooks(data=_playbook(control))
    expr = build_plan(profile, pf, "t", as_of=D, send_at=SEND, inputs=inputs, vocab=vocab)
    table = expr.to_pyarrow()
    _CACHE[control] = ({(r["customer_id"], r["rule"]): r for r in table.to_pylist()}, table)
    return _CACHE[control]


def test_every_candidate_gets_its_status_and_reason(tables):
    plan, _ = _plan(tables)
    got = {k: (r["status"], r["reason"]) for k, r in plan.items()}
    planned = ("planned", None)
    expected = {
        ("a", "hard"): planned, ("a", "promo"): ("suppressed", "outranked"),
        ("a", "nudge"): planned,
        ("b", "hard"): ("suppressed", "exclusion"), ("b", "nudge"): planned,
        ("c", "promo"): ("suppressed", "exclusion"),
        ("d", "news"): planned, ("d", "hard"): ("suppressed", "exclusion"),
        ("d", "nudge"): ("suppressed", "exclusion"),
        ("e", "invite"): planned, ("e", "hard"): ("suppressed", "exclusion"),
        ("e", "nudge"): planned,
        ("f", "promo"): ("suppressed", "opt_out"),
        ("g", "care"): ("suppressed", "do_not_contact"),
        ("g", "nudge"): ("suppressed", "do_not_contact"),
        ("h", "promo"): ("suppressed", "cap"),
        ("i", "hard"): ("suppressed", "cap"), ("i", "promo"): ("suppressed", "outranked"),
        ("i", "nudge"): ("suppressed", "cap"),
        ("j", "care"): planned, ("k", "care"): ("suppressed", "budget"),
        ("l", "care"): ("suppressed", "budget"),
        ("m", "promo"): planned,
        ("n", "promo"): ("suppressed", "cap"),
    }  # fmt: skip
    assert got == expected


def test_reasons_carry_their_evidence(tables):
    plan, _ = _plan(tables)
    assert plan[("a", "promo")]["detail"] == "outranked on sms by hard (priority 75)"
    assert plan[("c", "promo")]["detail"] == "exclusion silent"
    assert plan[("d", "hard")]["detail"] == "exclusion own"
    assert plan[("f", "promo")]["detail"] == "opt_out on sms"
    assert plan[("g", "care")]["detail"] == "do_not_contact on all channels"
    assert plan[("h", "promo")]["detail"] == "cap sms_week: 1 sent in 7 days, max 1"
    assert plan[("i", "hard")]["detail"] == "cap all_month: 2 sent in 30 days, max 2"
    assert plan[("n", "promo")]["detail"] == "cap sms_week: 1 sent in 7 days, max 1"
    assert plan[("k", "care")]["detail"] == "budget 30 of care spent"
    assert plan[("a", "hard")]["segment"] == "intention = high"
    assert plan[("b", "nudge")]["segment"] == "intention = medium|high"


def test_one_action_per_customer_and_channel(tables):
    _, rows = _plan(tables)
    planned = [(r["customer_id"], r["channel"]) for r in rows.to_pylist()
               if r["status"] == "planned"]  # fmt: skip
    assert len(planned) == len(set(planned))


def test_channel_from_a_profile_column_and_quiet_hours(tables):
    plan, _ = _plan(tables)
    assert plan[("d", "news")]["channel"] == "deal"
    assert plan[("d", "news")]["send_at"] == SEND  # the deal channel sends at any hour
    assert plan[("a", "hard")]["send_at"] == dt.datetime(2026, 1, 2, 9)  # sms: 09:00-21:00
    assert plan[("a", "nudge")]["send_at"] == dt.datetime(2026, 1, 2, 8)  # 08:00-22:00


def test_control_group_holds_out_exactly_the_hashed_customers(tables):
    base, _ = _plan(tables)
    plan, rows = _plan(tables, control=0.5)
    held = {c for c, _ in plan if in_control(c, "t", "t", 0.5)}
    assert 0 < len(held) < len(PROFILE)
    for key, r in plan.items():
        assert r["control"] is (key[0] in held)
        if base[key]["status"] == "planned":
            assert r["status"] == ("control" if key[0] in held else "planned")
            assert r["action"] == base[key]["action"]
        else:
            assert (r["status"], r["reason"]) == (base[key]["status"], base[key]["reason"])
    summary = {s["rule"]: s for s in plan_summary(rows)}
    assert sum(s["control"] for s in summary.values()) == sum(
        r["status"] == "control" for r in plan.values()
    )


def test_without_inputs_no_cap_or_list_applies(tables):
    profile, _, vocab = tables
    pf = load_playbooks(data=_playbook())
    rows = build_plan(profile, pf, "t", as_of=D, send_at=SEND, vocab=vocab).to_pyarrow()
    reasons = set(rows.column("reason").to_pylist())
    assert reasons == {None, "exclusion", "outranked", "budget"}
