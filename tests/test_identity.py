"""Identity unification: storage, import, resolution, per-person runs, guards."""

from __future__ import annotations

import pytest

from tierwise.identity import hash_identifier, normalise_identifier
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
