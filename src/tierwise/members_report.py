"""Reading member levels back: history, moves per day, level counts, imported disagreements."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa

from tierwise.config import Config
from tierwise.members import MemberLevelError, check_imported
from tierwise.store import Store

__all__ = ["compare_levels", "history_rows", "level_counts", "level_transitions", "move_counts"]

_RECORDED = ("new", "upgrade", "downgrade")
HISTORY_SOURCE_COLUMNS = ("customer_id", "member_level", "member_move", "member_growth",
                          "member_evidence")  # fmt: skip
"""The profile columns `history_rows` reads."""
_MARKERS = {"(new)": ("(新出现)", "(new)"), "(gone)": ("(消失)", "(gone)"),
            "(none)": ("(非会员)", "(no level)")}  # fmt: skip


def history_rows(profiles: pa.Table) -> pa.Table:
    """The level changes of one run: ``customer_id, from_level, to_level, move, growth,
    evidence`` for every new member, upgrade and downgrade."""
    cols = profiles.select(list(HISTORY_SOURCE_COLUMNS)).to_pylist()
    rows = []
    for r in cols:
        if r["member_move"] not in _RECORDED:
            continue
        ev = json.loads(r["member_evidence"]) if r["member_evidence"] else {}
        rows.append({"customer_id": r["customer_id"], "from_level": ev.get("from"),
                     "to_level": r["member_level"], "move": r["member_move"],
                     "growth": r["member_growth"], "evidence": r["member_evidence"]})  # fmt: skip
    schema = pa.schema([("customer_id", pa.string()), ("from_level", pa.string()),
                        ("to_level", pa.string()), ("move", pa.string()),
                        ("growth", pa.float64()), ("evidence", pa.string())])  # fmt: skip
    return pa.Table.from_pylist(rows, schema=schema)


def move_counts(store: Store) -> pa.Table:
    """Per recorded day: new members, upgrades and downgrades (one row per day)."""
    counts = store.member_move_counts().to_pylist()
    days: dict[dt.date, dict[str, int]] = {}
    for r in counts:
        days.setdefault(r["as_of"], dict.fromkeys(_RECORDED, 0))[r["move"]] = r["customers"]
    rows = [{"as_of": d, **m} for d, m in sorted(days.items())]
    schema = pa.schema([("as_of", pa.date32()), *[(m, pa.int64()) for m in _RECORDED]])
    return pa.Table.from_pylist(rows, schema=schema)


def level_counts(store: Store, config: Config, as_of: dt.date) -> pa.Table:
    """The level table (threshold, keep, benefits) with customers per level on a snapshot."""
    cfg = config.members
    counts: dict[str | None, int] = {}
    if "member_rank" in store.profile_columns(as_of):
        for r in store.read_profile_columns(as_of, ["customer_id", "member_level"]).to_pylist():
            counts[r["member_level"]] = counts.get(r["member_level"], 0) + 1
    rows = [{"level": lev.id, "zh": lev.zh, "en": lev.en, "threshold": lev.threshold,
             "keep": lev.keep_value, "benefits": "; ".join(lev.benefits),
             "customers": counts.get(lev.id, 0)} for lev in cfg.levels]  # fmt: skip
    schema = pa.schema([("level", pa.string()), ("zh", pa.string()), ("en", pa.string()),
                        ("threshold", pa.float64()), ("keep", pa.float64()),
                        ("benefits", pa.string()), ("customers", pa.int64())])  # fmt: skip
    return pa.Table.from_pylist(rows, schema=schema)


def _imported(store: Store, config: Config, as_of: dt.date, source: str | Path | None
              ) -> tuple[dict[str, str | None], str]:  # fmt: skip
    """Imported levels per customer and where they were read from."""
    import pandas as pd

    cfg = config.members
    if source is not None and Path(source).suffix.lower() in (".csv", ".xlsx", ".parquet"):
        path = Path(source)
        if not path.exists():
            raise MemberLevelError(f"{path}: no such file")
        if path.suffix.lower() == ".csv":
            frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
        elif path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path).astype("string")
        else:
            frame = pd.read_excel(path, dtype=str)
        if "customer_id" not in frame:
            raise MemberLevelError(f"{path}: no customer_id column (columns: "
                                   f"{', '.join(frame.columns)})")  # fmt: skip
        level_cols = [c for c in frame.columns if c != "customer_id"]
        col = "member_level" if "member_level" in frame else (level_cols or [None])[0]
        if col is None:
            raise MemberLevelError(f"{path}: no level column beside customer_id")
        values = frame.set_index("customer_id")[col]
        where = f"{path} column {col}"
        checked = check_imported(values, cfg, where)
        unknown = store.unknown_customers(pa.array(checked.index.astype(str)))
        if unknown:
            raise MemberLevelError(f"{path}: {len(unknown)} customer(s) not in the store, "
                                   f"e.g. {unknown[0]!r}")  # fmt: skip
        return checked.to_dict(), where
    column = str(source) if source is not None else None
    key = None if column else cfg.imported.attributes_key
    column = column or (None if key else cfg.imported.column)
    customers = store.read("customers").to_pandas().set_index("customer_id")
    if key:

        def pick(text: object) -> object:
            try:
                return json.loads(text).get(key) if isinstance(text, str) else None
            except (ValueError, AttributeError):
                return None

        values = customers["attributes"].map(pick) if "attributes" in customers else None
        where = f"customers attributes key {key!r}"
    else:
        if column not in customers:
            raise MemberLevelError(f"customers have no column {column!r} (columns: "
                                   f"{', '.join(customers.columns)})")  # fmt: skip
        values = customers[column]
        where = f"customers column {column!r}"
    if values is None:
        return {}, where
    return check_imported(values, cfg, where).to_dict(), where


def compare_levels(store: Store, config: Config, as_of: dt.date,
                   source: str | Path | None = None) -> pa.Table:  # fmt: skip
    """Customers whose computed level differs from the imported one.

    Returns
    -------
    pyarrow.Table
        ``customer_id, computed, imported, computed_rank, imported_rank, direction``
        (``computed_higher`` / ``computed_lower``), ``growth``, ``source``.

    Raises
    ------
    MemberLevelError
        For an unknown imported level, a file without ``customer_id`` or a level column, or a
        snapshot without computed levels.
    """
    cfg = config.members
    if "member_rank" not in store.profile_columns(as_of):
        raise MemberLevelError(
            f"the snapshot of {as_of} has no computed member levels; turn on members "
            "(members.enabled: true, members in run.steps)"
        )
    imported, where = _imported(store, config, as_of, source)
    rows = []
    for r in store.read_profile_columns(
        as_of, ["customer_id", "member_level", "member_growth"]
    ).to_pylist():
        cid = r["customer_id"]
        if cid not in imported:
            continue
        got, want = r["member_level"], imported[cid]
        want = None if want is None or want != want else want
        if got == want:
            continue
        a, b = cfg.rank(got), cfg.rank(want)
        rows.append({"customer_id": cid, "computed": got, "imported": want,
                     "computed_rank": a, "imported_rank": b,
                     "direction": "computed_higher" if a > b else "computed_lower",
                     "growth": r["member_growth"], "source": where})  # fmt: skip
    schema = pa.schema([("customer_id", pa.string()), ("computed", pa.string()),
                        ("imported", pa.string()), ("computed_rank", pa.int64()),
                        ("imported_rank", pa.int64()), ("direction", pa.string()),
                        ("growth", pa.float64()), ("source", pa.string())])  # fmt: skip
    return pa.Table.from_pylist(rows, schema=schema)


def level_transitions(store: Store, config: Config, start: dt.date, end: dt.date) -> pa.Table:
    """`tierwise.segments.moves.transition_matrix` for ``member_level``: the level table's
    order and names."""
    from tierwise.segments.moves import check_days, shaped_transitions

    check_days(store, start, end)
    cells = store.label_transitions("member_level", start, end).to_pylist()
    levels = {lev.id: lev for lev in config.members.levels}
    order = [*reversed(list(levels)), "(none)", "(new)", "(gone)"]

    def names(label: str) -> tuple[str, str]:
        if label in _MARKERS:
            return _MARKERS[label]
        lev = levels.get(label)
        return (lev.zh or lev.id, lev.en or lev.id) if lev else (label, label)

    return shaped_transitions(cells, order, names)
