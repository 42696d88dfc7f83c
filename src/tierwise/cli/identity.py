"""``tierwise identity``: which accounts are one person, and why."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tierwise.cli._app import app
from tierwise.cli._common import AsJson, ProjectDir, command, emit, open_project, out
from tierwise.cli._i18n import t

__all__ = ["identity_app"]

identity_app = typer.Typer(
    help=t(
        "Identity unification: accounts that share an identifier are one person.",
        "身份合并：共享标识的多个账号视为同一个人。",
    ),
    no_args_is_help=True,
)
app.add_typer(identity_app, name="identity")


def _short(row: dict[str, Any]) -> str | None:
    from tierwise.identity import short_identifier

    return short_identifier(row["identifier"], row["hashed"])


@command(
    identity_app,
    "show",
    help=t(
        "The person an account belongs to: its accounts and which identifier joined them.",
        "账号所属的人：全部账号，以及是哪个标识把它们连在一起。",
    ),
)
def identity_show(
    customer: Annotated[str, typer.Argument(help=t("A customer id.", "客户编号。"))],
    project: ProjectDir = None,
    as_json: AsJson = False,
) -> None:
    """The person an account belongs to: its accounts and which identifier joined them."""
    with open_project(project, read_only=True) as p:
        res = p.resolve_identities()
        links = p.store.read("identities")
    person = res.person_of(customer)
    accounts = res.accounts(person)
    joins = res.evidence(person)
    import pyarrow as pa
    import pyarrow.compute as pc

    mine = links.filter(
        pc.is_in(links.column("customer_id"), value_set=pa.array(accounts, pa.string()))
    ).to_pylist()
    guarded = {(g["id_type"], g["identifier"]): g for g in res.guarded.to_pylist()}
    held = sorted(
        {
            (r["id_type"], _short(r), guarded[(r["id_type"], r["identifier"])]["n_accounts"])
            for r in mine
            if (r["id_type"], r["identifier"]) in guarded
        }
    )
    data = {
        "customer_id": customer,
        "person_id": person,
        "accounts": accounts,
        "joined_by": [
            {"id_type": j["id_type"], "identifier": _short(j), "accounts": j["accounts"]}
            for j in joins
        ],
        "not_merged": [
            {"id_type": ty, "identifier": ident, "shared_by": n} for ty, ident, n in held
        ],
    }
    if as_json:
        emit("", [data], as_json=True)
        return
    out.print(
        t(
            f"{customer} belongs to person {person} ({len(accounts)} account(s)): "
            + ", ".join(accounts),
            f"{customer} 属于 {person}（共 {len(accounts)} 个账号）：" + "、".join(accounts),
        ),
        highlight=False,
        markup=False,
    )
    if data["joined_by"]:
        emit(
            t("Joined by", "合并依据"),
            [{**j, "accounts": ", ".join(j["accounts"])} for j in data["joined_by"]],
        )
    for g in data["not_merged"]:
        out.print(
            t(
                f"not merged: {g['id_type']} {g['identifier']} is shared by {g['shared_by']} "
                "accounts (over the limit)",
                f"未合并：{g['id_type']} {g['identifier']} 被 {g['shared_by']} 个账号共用"
                "（超过上限）",
            ),
            highlight=False,
            markup=False,
        )


@command(
    identity_app,
    "stats",
    help=t(
        "How many accounts merged into how many persons, and which identifiers were held back.",
        "多少账号合并成多少人，以及哪些标识因共用过多而未合并。",
    ),
)
def identity_stats(project: ProjectDir = None, as_json: AsJson = False) -> None:
    """How many accounts merged into how many persons, and which identifiers were held back."""
    with open_project(project, read_only=True) as p:
        res = p.resolve_identities()
    guarded = [
        {"id_type": g["id_type"], "identifier": _short(g), "accounts": g["n_accounts"],
         "limit": g["limit"]}
        for g in res.guarded.to_pylist()
    ]  # fmt: skip
    stats = {k: v for k, v in res.stats.items() if k not in ("identifier_types", "merge_types")}
    if as_json:
        emit("", [{**res.stats, "guarded": guarded}], as_json=True)
        return
    names = {
        "links": ("links", "关联记录"),
        "links_incomplete": ("links missing a value", "缺值的关联记录"),
        "accounts": ("linked accounts", "有关联的账号"),
        "identifiers": ("identifiers", "标识"),
        "persons": ("persons", "人"),
        "merged_persons": ("persons with several accounts", "多账号的人"),
        "accounts_in_merged_persons": ("accounts in them", "其中的账号"),
        "largest_person": ("most accounts of one person", "单人最多账号"),
        "guarded_identifiers": ("identifiers too widely shared", "共用过多的标识"),
        "accounts_left_apart": ("accounts left apart (chain too long)", "链过长而未合并的账号"),
    }
    emit(
        t("Identity", "身份合并"),
        [{t("what", "项目"): t(*names[k]), t("count", "数量"): v} for k, v in stats.items()],
    )
    if guarded:
        emit(t("Not merged (shared by too many accounts)", "未合并（共用账号过多）"), guarded[:20])
