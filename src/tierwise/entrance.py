"""Entrance channels: where each customer came in, and which entrances bring customers who stay.

`entrance_touches` reads the touches the ``entrance.sources`` of the config name (a channel
live-code scanned, a UTM parameter, a distributor or referral link, a livestream, an offline
store) from the canonical tables; `first_and_latest` keeps each customer's earliest and newest
one with its evidence; `signup_answers` reads the sign-up answers of the customers'
``attributes``. `entrance_report` compares the entrances (or entrance segments) of a stored
snapshot: customers, conversion to a first order, repeat rate, mean CLV and quadrant mix.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tierwise.config import EntranceConfig, EntranceSource
from tierwise.errors import ConfigError

_JSON = json.JSONEncoder(ensure_ascii=False)

__all__ = [
    "ENTRANCE_COLUMNS",
    "UNKNOWN",
    "entrance_report",
    "entrance_touches",
    "first_and_latest",
    "signup_answers",
    "touched_customers",
]

UNKNOWN = "unknown"
"""Channel, kind and segment of a customer without any entrance touch."""

ENTRANCE_COLUMNS = {
    "entrance_channel": "string",
    "entrance_kind": "string",
    "entrance_at": "timestamp",
    "latest_channel": "string",
    "latest_channel_at": "timestamp",
    "entrance_segment": "string",
    "entrance_evidence": "string",
}
"""Profile columns of the entrance step (``KIND:VALUE`` channels, evidence as JSON)."""

_TIME = {"customers": "first_seen", "orders": "paid_at", "events": "occurred_at"}
_KEY = {"customers": "customer_id", "orders": "order_id", "events": "event_id"}
_TOUCH = ["customer_id", "at", "kind", "channel", "value", "source", "row", "rank"]


# no code point above U+3000 is white space to Python
_SPACE = "".join(f"\\x{{{ord(c):x}}}" for c in map(chr, range(0x3001)) if c.isspace())
_OUTER_SPACE = f"^[{_SPACE}]+|[{_SPACE}]+$"
"""Leading or trailing white space as `str.strip` sees it, as a regular expression (RE2 and
Java read the ``\\x{..}`` escapes alike)."""


def _describe(src: EntranceSource) -> str:
    types = f"[{', '.join(src.event_types)}]" if src.event_types else ""
    return f"{src.table}{types}.{src.field}"


def _source_condition(src: EntranceSource, table: ir.Table, cutoff: Any, where: str
                      ) -> tuple[ir.BooleanValue, ir.Value]:  # fmt: skip
    """Which rows of ``table`` are candidates of one source, and their raw value."""
    time = _TIME[src.table]
    if src.field.startswith("attributes."):
        key = src.field.split(".", 1)[1]
        raw = table.attributes
        mention = json.dumps(key, ensure_ascii=False)
        cond = table.attributes.notnull() & table.attributes.contains(mention)
    else:
        if src.field not in table.columns:
            raise ConfigError(
                f"{where}.field: {src.table} has no column {src.field!r} "
                f"(columns: {', '.join(table.columns)}; or attributes.KEY)"
            )
        # the value as the touch keeps it (Python's strip): a blank value or one the source
        # does not list is no candidate, so it cannot hide the first or newest touch
        raw = table[src.field].cast("string").re_replace(_OUTER_SPACE, "")
        cond = table[src.field].notnull() & (raw != "")
        if src.values:
            cond &= raw.isin(src.values)
    if src.who not in table.columns:
        raise ConfigError(f"{where}.who: {src.table} has no column {src.who!r}")
    cond &= table[src.who].notnull()
    cond &= table[time].isnull() | (table[time] < cutoff)
    if src.event_types:
        cond &= table.event_type.isin(src.event_types)
    if src.table == "orders":
        cond &= table.status == "paid"
    return cond, raw


def _plain_rows(
    sources: Sequence[EntranceSource], indexes: list[int], table: ir.Table, cutoff: Any,
    only: ir.Table | None,
) -> pd.DataFrame:  # fmt: skip
    """Each customer's first and newest candidate row of each plain-column source
    ``sources[i]`` (``i`` of ``indexes``; one table) in one read: the source (``_src``: ``i``),
    who, when, the raw value and the row's key (of the customers in ``only`` when given)."""
    conds, raws = {}, {}
    for i in indexes:
        conds[i], raws[i] = _source_condition(sources[i], table, cutoff, f"entrance.sources[{i}]")
    name = sources[indexes[0]].table
    candidate = ibis.or_(*conds.values())
    if only is not None:
        # the customers asked for first: the rows of everyone else are not carried further
        who = sorted({sources[i].who for i in indexes})
        candidate &= ibis.or_(*(table[w].isin(only.customer_id) for w in who))
    base = table.filter(candidate).select(
        _at=table[_TIME[name]], _row=table[_KEY[name]],
        **{f"_w{i}": table[sources[i].who] for i in indexes},
        **{f"_v{i}": raws[i] for i in indexes},
        **{f"_m{i}": conds[i] for i in indexes},
    )  # fmt: skip
    parts = []
    for i in indexes:
        rows = base.filter(base[f"_m{i}"]).select(
            customer_id=base[f"_w{i}"], at=base._at, raw=base[f"_v{i}"], row=base._row
        )
        if only is not None:
            rows = rows.semi_join(only, "customer_id")
        # only each customer's first and newest row can matter
        w_first = ibis.window(group_by="customer_id", order_by=[rows.at, rows.row])
        w_last = ibis.window(group_by="customer_id",
                             order_by=[ibis.desc(rows.at), ibis.desc(rows.row)])  # fmt: skip
        ranked = rows.mutate(_a=ibis.row_number().over(w_first),
                             _b=ibis.row_number().over(w_last))  # fmt: skip
        first_or_newest = ranked.filter((ranked._a == 0) | (ranked._b == 0)).drop("_a", "_b")
        parts.append(first_or_newest.mutate(_src=ibis.literal(i, "int64")))
    return ibis.union(*parts, distinct=False).to_pandas()


def _plain_source(tables: dict[str, ir.Table], name: str, sources: Sequence[EntranceSource],
                  rollups: bool) -> ir.Table:  # fmt: skip
    """The table the plain-column ``sources`` of table ``name`` read: with ``rollups``, the
    events of their event types from the store's rollup when each names some; else the table
    itself."""
    if rollups and name == "events" and all(s.event_types for s in sources):
        from tierwise.rollups import typed_events

        typed = typed_events(tables["events"], [t for s in sources for t in s.event_types])
        if typed is not None:
            return typed
    return tables[name]


def _attribute_rows(
    sources: Sequence[EntranceSource], indexes: list[int], table: ir.Table, cutoff: Any,
    only: ir.Table | None,
) -> pd.DataFrame:  # fmt: skip
    """The candidate rows of the ``attributes.KEY`` sources ``sources[i]`` (``i`` of
    ``indexes``; one table and customer column) in one read: who, when, the raw attributes,
    the row's key and, per source, whether the row is one of its candidates (``_m<i>``)."""
    conds = {i: _source_condition(sources[i], table, cutoff, f"entrance.sources[{i}]")[0]
             for i in indexes}  # fmt: skip
    src = sources[indexes[0]]
    rows = table.filter(ibis.or_(*conds.values())).select(
        customer_id=table[src.who], at=table[_TIME[src.table]], raw=table.attributes,
        row=table[_KEY[src.table]], **{f"_m{i}": c for i, c in conds.items()},
    )  # fmt: skip
    if only is not None:
        rows = rows.semi_join(only, "customer_id")
    return rows.to_pandas()


def _attribute(raw: Any, key: str) -> Any:
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return None
    return value.get(key) if isinstance(value, dict) else None


def entrance_touches(
    tables: dict[str, ir.Table], cutoff: Any, cfg: EntranceConfig, only: ir.Table | None = None,
    *, rollups: bool = False,
) -> pd.DataFrame:  # fmt: skip
    """Every entrance touch the sources find before ``cutoff`` (of the customers in ``only``,
    a table of ``customer_id``, when given).

    With ``rollups``, the plain-column sources of the events that name their event types read
    those types' rows from the store's rollup of them (`tierwise.rollups.typed_events`)
    when the events are the store's own, instead of scanning every event.

    Returns
    -------
    DataFrame
        ``customer_id``, ``at``, ``kind``, ``channel`` (``KIND:VALUE``), ``value``,
        ``source`` (table and field), ``row`` (the row's key) and ``rank`` (the source's
        place in the config, to break ties).
    """
    # the sources reading the attributes of one table for the same customer column share one
    # read of the table: each scan of the JSON texts of a big table costs; so do the sources
    # reading plain columns of one table
    shared: dict[tuple[str, str], list[int]] = {}
    plain: dict[str, list[int]] = {}
    for i, src in enumerate(cfg.sources):
        if src.field.startswith("attributes."):
            shared.setdefault((src.table, src.who), []).append(i)
        else:
            plain.setdefault(src.table, []).append(i)
    read = {
        group: _attribute_rows(cfg.sources, members, tables[group[0]], cutoff, only)
        for group, members in shared.items()
    }
    firsts = {}
    for name, members in plain.items():
        table = _plain_source(tables, name, [cfg.sources[i] for i in members], rollups)
        firsts[name] = _plain_rows(cfg.sources, members, table, cutoff, only)
    frames = []
    for i, src in enumerate(cfg.sources):
        if src.field.startswith("attributes."):
            rows = read[(src.table, src.who)]
            rows = rows[rows[f"_m{i}"]][["customer_id", "at", "raw", "row"]].copy()
            key = src.field.split(".", 1)[1]
            rows["value"] = rows.raw.map(lambda r, k=key: _attribute(r, k))
            rows = rows[rows.value.notna()]
            rows["value"] = rows.value.map(lambda v: str(v).strip())
            rows = rows[rows.value != ""]
            if src.values:
                rows = rows[rows.value.isin(src.values)]
        else:
            # stripped, not blank and listed already (`_source_condition`)
            rows = firsts[src.table]
            rows = rows[rows._src == i][["customer_id", "at", "raw", "row"]].copy()
            rows["value"] = rows.raw
        frames.append(
            rows.assign(
                kind=src.kind, channel=src.channel or (src.kind + ":" + rows.value),
                source=_describe(src),
                rank=i,
            )[_TOUCH]
        )  # fmt: skip
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in _TOUCH})
    return pd.concat(frames, ignore_index=True)


def touched_customers(
    tables: dict[str, ir.Table], since: Any, cutoff: Any, cfg: EntranceConfig,
    imports: Mapping[str, Sequence[str]],
) -> ir.Table:  # fmt: skip
    """Customers (``customer_id``) with a new touch before ``cutoff``: one a source row names
    that is stamped from ``since`` on or came in one of ``imports`` (import ids by table;
    back-filled or undated rows); and customers whose own row came in one of them (their
    sign-up answers).

    Touches that a row changed in place took away are not among them: a caller adds the
    customers whose rows changed (the rollups' change log).
    """
    parts = []
    for i, src in enumerate(cfg.sources):
        table = tables[src.table]
        cond, _ = _source_condition(src, table, cutoff, f"entrance.sources[{i}]")
        # apart, so that each filter skips the blocks it cannot match
        fresh = [table[_TIME[src.table]] >= since]
        if imports.get(src.table):
            fresh.append(table._import_id.isin(list(imports[src.table])))
        parts += [table.filter(cond & f).select(customer_id=table[src.who]) for f in fresh]
    customers = tables["customers"]
    if imports.get("customers"):
        own = customers.filter(customers._import_id.isin(list(imports["customers"])))
        parts.append(own.select("customer_id"))
    return ibis.union(*parts, distinct=True)


def json_texts(values: Sequence[Any] | pd.Series) -> np.ndarray:
    """The JSON text of each value (an object array; missing values are ``null``), each
    distinct value encoded once."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object))
    encoded = np.array([_JSON.encode(u) for u in uniques] + ["null"], dtype=object)
    return encoded[codes]


def _json_of_rows(values: pd.Series, rows: list[np.ndarray]) -> list[pa.Array]:
    """The JSON text of ``values`` at each array of row positions (each distinct value encoded
    once; missing values are ``null``)."""
    codes, uniques = pd.factorize(values)
    encoded = pa.array([_JSON.encode(u) for u in uniques.tolist()] + ["null"], pa.string())
    return [encoded.take(pa.array(codes[r])) for r in rows]


def _iso_json(values: pd.Series) -> pa.Array:
    """``"<ISO time>"`` of each time, as `pandas.Timestamp.isoformat` writes it (fractions
    only when there are any, the offset of an aware time), ``null`` where missing."""
    naive = isinstance(values.dtype, np.dtype) and values.dtype.kind == "M"
    at = values.to_numpy("datetime64[ns]") if naive else None
    ticks = None if at is None else at.view("int64")[~np.isnat(at)]
    if at is None or (ticks < 0).any() or (ticks % 1000).any():
        # aware, before 1970 or finer than microseconds
        texts = [None if pd.isna(a) else pd.Timestamp(a).isoformat() for a in values]
        iso = pa.array(texts, pa.string())
    else:
        # Arrow writes "YYYY-MM-DD HH:MM:SS.ffffff" (missing stays missing)
        stamps = pa.array(at.astype("datetime64[us]"), pa.timestamp("us"), from_pandas=True)
        micro = pc.utf8_replace_slice(pc.cast(stamps, pa.string()), 10, 11, "T")
        whole = pc.equal(pc.utf8_slice_codeunits(micro, 20, 26), "000000")
        iso = pc.if_else(whole, pc.utf8_slice_codeunits(micro, 0, 19), micro)
    return pc.fill_null(pc.binary_join_element_wise('"', iso, '"', ""), "null")


def first_and_latest(touches: pd.DataFrame) -> pd.DataFrame:
    """Each customer's earliest touch (the entrance) and newest one (the latest channel).

    Ties in time go to the source listed first, then to the smaller row key; touches without
    a time come after dated ones.

    Returns
    -------
    DataFrame
        ``customer_id`` (sorted), ``entrance_channel``, ``entrance_kind``, ``entrance_at``,
        ``latest_channel``, ``latest_channel_at``, ``touches`` (how many) and ``evidence``
        (JSON text per customer: the first and latest touch and how many).
    """
    cols = ["customer_id", "entrance_channel", "entrance_kind", "entrance_at", "latest_channel",
            "latest_channel_at", "touches", "evidence"]  # fmt: skip
    if touches.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    cust, customers = pd.factorize(touches["customer_id"], sort=True)
    times = pd.to_datetime(touches["at"]).reset_index(drop=True)
    at = times.to_numpy("datetime64[ns]")
    undated = np.isnat(at)
    ticks = at.view("int64")
    rows = touches["row"].astype(str)
    row_code = pd.factorize(rows, sort=True)[0]
    rank = touches["rank"].to_numpy(dtype="int64")
    # earliest: by customer, time (missing last), source rank, row key
    order = np.lexsort((row_code, rank, ticks, undated, cust))
    starts = np.flatnonzero(np.r_[True, cust[order][1:] != cust[order][:-1]])
    first = order[starts]
    # newest dated one (a customer without any keeps the earliest)
    dated = np.flatnonzero(~undated)
    newest = dated[np.lexsort((row_code[dated], rank[dated], -ticks[dated], cust[dated]))]
    heads = newest[np.flatnonzero(np.r_[True, cust[newest][1:] != cust[newest][:-1]])]
    latest = first.copy()
    latest[cust[heads]] = heads
    counts = np.bincount(cust, minlength=len(customers))
    channel = touches["channel"].to_numpy(dtype=object)
    out = pd.DataFrame({
        "customer_id": np.asarray(customers, dtype=object),
        "entrance_channel": channel[first],
        "entrance_kind": touches["kind"].to_numpy(dtype=object)[first],
        "entrance_at": at[first],
        "latest_channel": channel[latest],
        "latest_channel_at": at[latest],
        "touches": counts.astype("int64"),
    })  # fmt: skip
    fields = {"channel": touches["channel"], "value": touches["value"],
              "source": touches["source"], "row": rows}  # fmt: skip
    parts = {k: _json_of_rows(v, [first, latest]) for k, v in fields.items()}
    touch = []
    for i, which in enumerate((first, latest)):
        items = [f'"{k}": ' if not j else f', "{k}": ' for j, k in enumerate(fields)]
        pieces = [x for k, item in zip(fields, items, strict=True) for x in (item, parts[k][i])]
        touch.append(pc.binary_join_element_wise(
            "{", *pieces, ', "at": ', _iso_json(times.take(which)), "}", ""))  # fmt: skip
    n_text = pc.cast(pa.array(counts), pa.string())
    evidence = pc.binary_join_element_wise(
        '{"first": ', touch[0], ', "latest": ', touch[1], ', "touches": ', n_text, "}", ""
    )
    out["evidence"] = pd.arrays.ArrowExtensionArray(evidence)  # kept as Arrow text
    return out


def _answers_of(raw: str, keys: Sequence[str]) -> tuple[str | None, ...] | None:
    """The answers ``keys`` of one sign-up form, ``None`` when it is not a JSON object."""
    try:
        form = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(form, dict):
        return None
    answers = []
    for k in keys:
        v = form.get(k)
        text = None if v is None or isinstance(v, dict | list) else str(v).strip()
        answers.append(text or None)
    return tuple(answers)


def signup_answers(customers: pd.DataFrame, keys: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """The sign-up answers ``keys`` of each customer's ``attributes`` JSON.

    An empty or missing form gives missing answers; an answer that is empty text is missing
    too. A form that is not a JSON object is read as no answers and named in the notes
    (the customer keeps every other column).

    Returns
    -------
    (DataFrame, list of str)
        ``customer_id`` and ``signup_<key>`` (text) per key; and notes.
    """
    ids = customers.customer_id.to_numpy(dtype=object)
    codes, forms = pd.factorize(customers.attributes)  # each distinct form read once
    no_answers = (None,) * len(keys)
    answers: list[tuple[str | None, ...]] = []
    unreadable = np.zeros(len(forms) + 1, dtype=bool)  # the last one: missing forms
    for j, raw in enumerate(forms):
        read = _answers_of(raw, keys) if isinstance(raw, str) and raw.strip() else no_answers
        unreadable[j] = read is None
        answers.append(no_answers if read is None else read)
    answers.append(no_answers)
    table = np.array(answers, dtype=object).reshape(len(answers), len(keys))
    cols = {f"signup_{k}": table[codes, i] for i, k in enumerate(keys)}
    bad = [str(c) for c in ids[unreadable[codes]]]
    notes = []
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        notes.append(
            f"entrance: customers.attributes of {len(bad)} customer(s) is not a JSON object "
            f"({shown}); read as no sign-up answers"
        )
    return pd.DataFrame({"customer_id": ids, **cols}), notes


def entrance_report(profiles: pd.DataFrame, by: str = "channel") -> pd.DataFrame:
    """Which entrances bring customers who stay, from a snapshot's profile table.

    Parameters
    ----------
    profiles : DataFrame
        A snapshot's profiles (``entrance_*`` columns, ``orders``, ``clv``, ``quadrant``).
    by : {"channel", "kind", "segment", "latest"}
        Group by entrance channel, its kind, the entrance segment or the latest channel.

    Returns
    -------
    DataFrame
        Per group: ``customers``, ``buyers``, ``conversion_rate`` (share with a first order),
        ``repeat_rate`` (buyers with two orders or more), ``mean_clv`` (over the buyers with
        a CLV), ``revenue`` and ``quadrant_mix`` (share of the customers in each quadrant).
        Largest group first.
    """
    columns = {"channel": "entrance_channel", "kind": "entrance_kind",
               "segment": "entrance_segment", "latest": "latest_channel"}  # fmt: skip
    if by not in columns:
        raise ConfigError(f"--by must be one of {', '.join(columns)}, not {by!r}")
    col = columns[by]
    if col not in profiles.columns:
        raise ConfigError(
            f"the snapshot has no {col} column: add `entrance` to run.steps and run again"
        )
    p = profiles
    orders = p["orders"].fillna(0) if "orders" in p else pd.Series(0, index=p.index)
    clv = p["clv"] if "clv" in p else pd.Series(float("nan"), index=p.index)
    revenue = p["monetary_total"].fillna(0) if "monetary_total" in p else orders * 0.0
    quadrant = p["quadrant"] if "quadrant" in p else pd.Series(None, index=p.index, dtype=object)
    frame = pd.DataFrame({
        "group": p[col].fillna(UNKNOWN).astype(str), "orders": orders, "clv": clv,
        "revenue": revenue, "quadrant": quadrant.fillna("none").astype(str),
    })  # fmt: skip
    rows = []
    for group, g in frame.groupby("group", sort=True):
        buyers = int((g.orders >= 1).sum())
        repeat = int((g.orders >= 2).sum())
        mix = g.quadrant.value_counts(normalize=True).sort_index()
        rows.append({
            by: group,
            "customers": len(g),
            "buyers": buyers,
            "conversion_rate": round(buyers / len(g), 4),
            "repeat_rate": round(repeat / buyers, 4) if buyers else None,
            "mean_clv": None if g.clv.notna().sum() == 0 else round(float(g.clv.mean()), 2),
            "revenue": round(float(g.revenue.sum()), 2),
            "quadrant_mix": {k: round(float(v), 4) for k, v in mix.items()},
        })  # fmt: skip
    out = pd.DataFrame(rows, columns=[by, "customers", "buyers", "conversion_rate", "repeat_rate",
                                      "mean_clv", "revenue", "quadrant_mix"])  # fmt: skip
    return out.sort_values(["customers", by], ascending=[False, True]).reset_index(drop=True)
