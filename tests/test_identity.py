"""Identity unification: storage, import, resolution, per-person runs, guards."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from tierwise.config import Config
from tierwise.identity import hash_identifier, normalise_identifier, resolve
from tierwise.project import Project

LINKS = """customer_id,id_type,identifier,platform
c1,phone,+86 138-0000-0001,taobao
c2,phone,13800000001,wechat
c2,wechat_unionid,U1,wechat
c3,wechat_unionid,U1,youzan
c4,email,A@x.com,youzan
c5,email,a@x.com ,taobao
c6,phone,,taobao
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "ids.csv").write_text(LINKS, encoding="utf-8")
    p = Project.init(tmp_path / "p")
    yield p
    p.close()


def test_import_hashes_phones_and_emails_and_quarantines_empty(project, tmp_path):
    rep = project.import_file("identities", tmp_path / "ids.csv")
    assert (rep.rows_imported, rep.rows_quarantined) == (6, 1)
    assert rep.problems[0].row == 8 and "identifier" in rep.problems[0].reason
    ids = project.store.read("identities").to_pylist()
    phones = [r for r in ids if r["id_type"] == "phone"]
    assert all(r["hashed"] and r["identifier"].startswith("h:") for r in phones)
    assert len({r["identifier"] for r in phones}) == 1  # +86 and dashes normalised away
    emails = {r["identifier"] for r in ids if r["id_type"] == "email"}
    assert len(emails) == 1  # case and spaces normalised
    text = repr(ids)
    assert "13800000001" not in text and "a@x.com" not in text.lower()
    assert {r["identifier"] for r in ids if r["id_type"] == "wechat_unionid"} == {"U1"}


def test_import_is_idempotent(project, tmp_path):
    project.import_file("identities", tmp_path / "ids.csv")
    again = project.import_file("identities", tmp_path / "ids.csv")
    assert (again.rows_imported, again.rows_duplicate) == (0, 6)
    assert project.store.count("identities") == 6


def test_salt_is_per_project_and_stable(tmp_path):
    (tmp_path / "ids.csv").write_text(LINKS, encoding="utf-8")
    hashes = []
    for name in ("a", "b"):
        with Project.init(tmp_path / name) as p:
            p.import_file("identities", tmp_path / "ids.csv")
            salt = p.store.identity_salt()
            assert p.store.identity_salt() == salt
            got = {r["identifier"] for r in p.store.read("identities").to_pylist()}
            assert hash_identifier(salt, "phone", "13800000001") in got
            hashes.append(got)
    assert hashes[0] != hashes[1]


def test_clear_types_opt_in(tmp_path):
    (tmp_path / "ids.csv").write_text(LINKS, encoding="utf-8")
    p = Project.init(tmp_path / "p")
    (tmp_path / "p" / "tierwise.yaml").write_text("identity:\n  clear_types: [email]\n")
    p = Project(tmp_path / "p")
    p.import_file("identities", tmp_path / "ids.csv")
    rows = p.store.read("identities").to_pylist()
    assert {r["identifier"] for r in rows if r["id_type"] == "email"} == {"a@x.com"}
    assert all(r["hashed"] for r in rows if r["id_type"] == "phone")
    p.close()


def test_store_without_identities_reads_empty(project):
    assert project.store.count("identities") == 0
    assert project.store.read("identities").num_rows == 0


def test_normalise():
    assert normalise_identifier("phone", "0086 138 0000 0001") == "13800000001"
    assert normalise_identifier("email", " Bob@X.COM ") == "bob@x.com"
    assert normalise_identifier("taobao_nick", " Bob ") == "Bob"


# -- resolution ---------------------------------------------------------------------------
def links(rows: list[tuple[str, str, str]]) -> pa.Table:
    cid, typ, ident = zip(*rows, strict=True)
    return pa.table(
        {
            "customer_id": list(cid),
            "id_type": list(typ),
            "identifier": list(ident),
            "hashed": [False] * len(rows),
        }
    )


RULES = Config.default().identity


def test_cycle_is_one_person_with_smallest_id():
    res = resolve(
        links([("b", "phone", "1"), ("c", "phone", "1"), ("c", "email", "e"),
               ("a", "email", "e"), ("a", "wechat_unionid", "u"), ("b", "wechat_unionid", "u")]),
        RULES,
    )  # fmt: skip
    assert res.person_map() == {"a": "a", "b": "a", "c": "a"}
    ev = res.evidence("a")
    assert [e["id_type"] for e in ev] == ["wechat_unionid", "phone", "email"]  # priority
    assert {tuple(e["accounts"]) for e in ev} == {("a", "b"), ("b", "c"), ("a", "c")}


def test_guard_keeps_front_desk_phone_apart():
    rows = [(f"c{i}", "phone", "front-desk") for i in range(10)]
    rows += [("c1", "email", "e1"), ("x1", "email", "e1")]
    res = resolve(links(rows), RULES)
    assert res.person_map() == {"c1": "c1", "x1": "c1"}
    assert res.guarded.to_pylist() == [
        {"id_type": "phone", "identifier": "front-desk", "hashed": False,
         "n_accounts": 10, "limit": 5}
    ]  # fmt: skip
    per_type = RULES.model_copy(update={"max_accounts": {"phone": 20}})
    assert resolve(links(rows), per_type).stats["largest_person"] == 11


def test_thousands_of_accounts_on_one_identifier_are_kept_and_reported():
    rows = [(f"a{i:05d}", "phone", "shared") for i in range(5000)]
    res = resolve(links(rows), RULES)
    assert res.stats["persons"] == 5000 and res.stats["merged_persons"] == 0
    assert res.guarded.column("n_accounts").to_pylist() == [5000]


def test_long_chain_is_left_apart_and_reported():
    rows = [(f"a{i:03d}", "taobao_nick", f"n{i}") for i in range(60)]
    rows += [(f"a{i + 1:03d}", "taobao_nick", f"n{i}") for i in range(59)]
    res = resolve(links(rows), RULES)
    assert res.stats["merged_persons"] == 0 and res.split.num_rows == 60
    loose = RULES.model_copy(update={"max_accounts_per_person": 100})
    assert resolve(links(rows), loose).stats["largest_person"] == 60


def test_changing_rules_splits():
    rows = [("a", "phone", "1"), ("b", "phone", "1"), ("b", "youzan_id", "y"),
            ("c", "youzan_id", "y"), ("d", "note", "z"), ("e", "note", "z")]  # fmt: skip
    res = resolve(links(rows), RULES)
    assert res.person_map() == {"a": "a", "b": "a", "c": "a"}  # note is not a merge type
    no_phone = RULES.model_copy(update={"merge_types": ["youzan_id"]})
    assert resolve(links(rows), no_phone).person_map() == {"b": "b", "c": "b"}
    assert resolve(links(rows), no_phone).person_of("a") == "a"


def test_resolution_is_deterministic_under_row_order():
    rows = [("b", "phone", "1"), ("a", "phone", "1"), ("c", "email", "e"), ("b", "email", "e")]
    one = resolve(links(rows), RULES)
    two = resolve(links(rows[::-1]), RULES)
    assert one.persons.equals(two.persons) and one.joins.equals(two.joins)


def test_empty_links():
    res = resolve(links([("a", "phone", "1")]).slice(0, 0), RULES)
    assert res.stats["persons"] == 0 and res.person_map() == {}


# -- per-person runs ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def merged_run(tmp_path_factory):
    from tierwise.demo import generate_shop

    shop = generate_shop(300, seed=7)
    p = Project.init(tmp_path_factory.mktemp("run") / "p")
    for e in ("customers", "orders", "events"):
        p.import_frame(e, getattr(shop, e))
    ids = links([("C000001", "phone", "13800000001"), ("C000002", "phone", "138 0000 0001"),
                 ("W1", "phone", "+8613800000001"), ("C000003", "email", "x@y.z")])  # fmt: skip
    p.import_frame("identities", ids.drop_columns(["hashed"]))
    yield p, shop, p.run(shop.as_of)
    p.close()


def test_per_person_run_adds_up_the_accounts(merged_run):
    _, shop, run = merged_run
    prof = run.profiles.to_pandas().set_index("customer_id")
    assert len(prof) == 300 + 1 - 2  # W1 created by the import, two accounts folded in
    row = prof.loc["C000001"]
    assert (row["person_id"], row["n_accounts"]) == ("C000001", 3)
    assert row["accounts"] == '["C000001", "C000002", "W1"]'
    orders = shop.orders.to_pandas()
    paid = orders[orders.customer_id.isin(["C000001", "C000002"]) & (orders.status == "paid")]
    assert row["orders"] == len(paid)
    assert row["monetary_total"] == pytest.approx(paid.amount.sum())
    assert "C000002" not in prof.index
    assert '"id_type": "phone"' in row["identity_evidence"]
    assert "13800000001" not in row["identity_evidence"]
    assert prof.loc["C000005", "n_accounts"] == 1
    assert merged_run[0].show("W1").customer_id == "C000001"  # an account shows its person


def test_per_account_run_names_the_person(merged_run, tmp_path):
    p, shop, _ = merged_run
    p.config = p.config.with_overrides({"identity": {"per_person": False}})
    try:
        run = p.run(shop.as_of)
    finally:
        p.config = p.config.with_overrides({"identity": {"per_person": True}})
    prof = run.profiles.to_pandas().set_index("customer_id")
    assert len(prof) == 301
    assert prof.loc["C000002", "person_id"] == "C000001"
    assert prof.loc["C000002", "n_accounts"] == 3


# -- command line and Project API ---------------------------------------------------------
FRONT_DESK = "".join(f"d{i},phone,021-5555-0000,store\n" for i in range(7)) + (
    "c1,phone,021 5555 0000,store\n"
)


def cli(*args: object) -> tuple[int, str]:
    from typer.testing import CliRunner

    from tierwise.cli import app

    res = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    return res.exit_code, res.output


def test_cli_import_show_and_stats(tmp_path):
    (tmp_path / "ids.csv").write_text(LINKS + FRONT_DESK, encoding="utf-8")
    d = tmp_path / "p"
    assert cli("init", d)[0] == 0
    code, text = cli("import", "identities", tmp_path / "ids.csv", "-p", d)
    assert code == 0 and "14 imported" in text and "1 quarantined" in text
    code, text = cli("identity", "show", "c3", "-p", d)
    assert code == 0 and "c3 belongs to person c1 (3 account(s)): c1, c2, c3" in text
    assert "wechat_unionid" in text and "shared by 8 accounts" in text
    code, text = cli("--lang", "zh", "identity", "show", "c4", "-p", d)
    assert code == 0 and "c4 属于 c4（共 2 个账号）" in text
    code, text = cli("identity", "show", "c1", "-p", d, "--json")
    data = json.loads(text)[0]
    assert data["person_id"] == "c1" and data["not_merged"][0]["shared_by"] == 8
    code, text = cli("identity", "stats", "-p", d, "--json")
    stats = json.loads(text)[0]
    assert (stats["merged_persons"], stats["guarded_identifiers"]) == (2, 1)
    assert "13800000001" not in text and "5555" not in text
    code, text = cli("identity", "stats", "-p", d)
    assert code == 0 and "identifiers too widely shared" in text


def test_project_api_and_exports_never_show_clear_values(merged_run, tmp_path):
    p, _, _ = merged_run
    ids = p.identities(format="arrow")
    assert ids.num_rows == 4 and all(ids.column("hashed").to_pylist()[:3])
    res = p.resolve_identities({"merge_types": ["email"]})
    assert res.stats["merged_persons"] == 0
    assert p.resolve_identities().stats["merged_persons"] == 1
    with pytest.raises(Exception, match="merge_types"):
        p.resolve_identities({"merge_types": ["Phone!"]})
    out = p.export("profiles", tmp_path / "profiles.csv")
    text = out.read_text(encoding="utf-8-sig")
    for clear in ("13800000001", "x@y.z"):
        assert clear not in text
    assert "C000001" in text and "h:" in text
    shown = json.dumps(p.show("C000001").to_dict(), default=str)
    assert "13800000001" not in shown and '"n_accounts": 3' in shown
    assert p.show("W1").features["person_id"] == "C000001"  # an account leads to its person


# -- planted duplicates -------------------------------------------------------------------
@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    from tierwise.demo import generate_shop
    from tierwise.demo.identities import plant_identities

    shop = plant_identities(generate_shop(3000, seed=7), seed=11)
    p = Project.init(tmp_path_factory.mktemp("planted") / "p")
    rep = p.import_frame("identities", shop.extras["identities"], source="identities")
    assert rep.rows_quarantined == 0
    truth = shop.extras["identity_truth"]
    yield p, dict(zip(truth.column("customer_id").to_pylist(),
                      truth.column("person").to_pylist(), strict=True))  # fmt: skip
    p.close()


def test_planted_duplicates_are_found(planted):
    from tierwise.demo.identities import pair_scores

    p, truth = planted
    scores = pair_scores(p.resolve_identities().person_map(), truth)
    assert scores["pairs_true"] > 1000
    assert scores["precision"] >= 0.99 and scores["recall"] >= 0.99


def test_planted_front_desk_phone_never_merges(planted):
    from tierwise.demo.identities import FRONT_DESK_PHONE, pair_scores

    p, truth = planted
    res = p.resolve_identities()
    salt = p.store.identity_salt()
    desk = hash_identifier(salt, "phone", FRONT_DESK_PHONE)
    assert res.guarded.column("identifier").to_pylist() == [desk]
    assert res.guarded.column("n_accounts").to_pylist() == [40]
    ids = p.identities(format="arrow").to_pylist()
    holders = {r["customer_id"] for r in ids if r["identifier"] == desk}
    persons = {res.person_of(c) for c in holders}
    assert len(persons) == len({truth[c] for c in holders}) == 40
    assert not any(desk == j["identifier"] for j in res.joins.to_pylist())
    # with the guard lifted the phone glues strangers together: the person-size guard
    # leaves that component apart; with both lifted, precision drops
    lifted = p.resolve_identities({"max_accounts_per_identifier": 1000})
    assert lifted.stats["accounts_left_apart"] > 40
    assert pair_scores(lifted.person_map(), truth)["precision"] == 1.0
    both = {"max_accounts_per_identifier": 1000, "max_accounts_per_person": 10_000}
    loose = pair_scores(p.resolve_identities(both).person_map(), truth)
    assert loose["precision"] < 0.9 and loose["recall"] == 1.0


def test_planted_rules_change_splits(planted):
    from tierwise.demo.identities import pair_scores

    p, truth = planted
    full = p.resolve_identities()
    no_union = p.resolve_identities({"merge_types": ["phone", "email"]})
    assert no_union.stats["merged_persons"] < full.stats["merged_persons"]
    scores = pair_scores(no_union.person_map(), truth)
    assert scores["precision"] == 1.0 and scores["recall"] < 0.99
    moved = [c for c, pid in full.person_map().items() if no_union.person_of(c) != pid]
    assert moved and all(
        any(j["id_type"] == "wechat_unionid" for j in full.evidence(full.person_of(c)))
        for c in moved
    )


def test_identifiers_in_a_customer_file_become_links_by_mapping(tmp_path):
    (tmp_path / "members.csv").write_text(
        "会员ID,手机,城市\nY1,+86 139 0000 0002,上海\nY2,,北京\n", encoding="utf-8"
    )
    (tmp_path / "phones.yaml").write_text(
        "entity: identities\ncolumns:\n  会员ID: customer_id\n  手机: identifier\n"
        "constants:\n  id_type: phone\n  platform: youzan\n",
        encoding="utf-8",
    )
    with Project.init(tmp_path / "p") as p:
        rep = p.import_file(
            "identities", tmp_path / "members.csv", mapping=tmp_path / "phones.yaml",
            unknown_columns="ignore",
        )  # fmt: skip
        assert (rep.rows_imported, rep.rows_quarantined) == (1, 1)
        (row,) = p.identities(format="arrow").to_pylist()
        salt = p.store.identity_salt()
        assert row["identifier"] == hash_identifier(salt, "phone", "13900000002")
        assert (row["customer_id"], row["platform"], row["hashed"]) == ("Y1", "youzan", True)


def test_dry_run_writes_no_links_and_prehashed_values_are_kept(tmp_path):
    (tmp_path / "ids.csv").write_text(
        "customer_id,id_type,identifier,hashed\nc1,phone,h:abc123,true\nc2,phone,h:abc123,true\n",
        encoding="utf-8",
    )
    with Project.init(tmp_path / "p") as p:
        rep = p.import_file("identities", tmp_path / "ids.csv", dry_run=True)
        assert rep.rows_imported == 2 and p.store.count("identities") == 0
        p.import_file("identities", tmp_path / "ids.csv")
        rows = p.identities(format="arrow").to_pylist()
        assert {r["identifier"] for r in rows} == {"h:abc123"}
        assert p.resolve_identities().person_map() == {"c1": "c1", "c2": "c1"}
