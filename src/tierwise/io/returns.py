"""Cancellations and returns: match each return line to its original order and net it.

A return row (recognised by ``returns:`` in the mapping: an id prefix, a negative amount or a
refund status) is stored as an order of its own with status ``cancelled`` and its amounts
made positive, and ``attributes.return_of`` lists the original orders it was matched to.
Each original order keeps its row; its ``amount`` becomes the amount still paid (gross minus
the matched returns, never below zero), ``attributes`` gains ``gross_amount``,
``refunded_amount`` and ``returns`` (the return orders' ids), and an order refunded in full
takes the status ``returns.full`` (``refunded`` by default). Revenue counted from ``paid``
orders is therefore net of returns, and every step stays visible in the store.

Matching is done line by line, in the order ``returns.original`` lists:

* ``id``: the return's id without the prefix is an order of the same file (``C536379`` →
  ``536379``);
* ``customer_item``: the latest order line of the same customer with the same item code
  (``returns.item``) at or before the return's time.

Only rows without problems take part. A return whose original is not in the file is stored
(status ``cancelled``) without netting, and counted in a note.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from tierwise.io.import_plan import ImportPlan, ident, lit

__all__ = ["net_returns"]

_CENT = 0.005
"""A return within half a cent of the order's amount refunds it in full."""


def net_returns(
    con: Any,
    plan: ImportPlan,
    rows: pa.Table,
    records: pa.Table,
    row_rec: np.ndarray,
    rec_bad: np.ndarray,
) -> tuple[pa.Table, list[str]]:
    """Match return rows to original orders and net the originals' amounts.

    Parameters
    ----------
    con : duckdb connection
        Where the SQL runs.
    plan : ImportPlan
        The import plan (``plan.returns`` is set).
    rows : pyarrow.Table
        Parsed rows (``_i``, ``v_<column>``, ``_ret``, ``_orig``, ``_item``).
    records : pyarrow.Table
        The records built from the rows, in record order.
    row_rec, rec_bad : numpy.ndarray
        Record index of each file row, and which records have problems.

    Returns
    -------
    (pyarrow.Table, list of str)
        The records with returns and originals adjusted (same order), and notes.
    """
    ret = plan.returns
    assert ret is not None
    ri = rows.column("_i").to_numpy()
    rec_of_row = row_rec[ri]
    bad = (rec_of_row < 0) | rec_bad[np.clip(rec_of_row, 0, None)]
    line = pa.table(
        {
            "_rec": pa.array(rec_of_row),
            "_bad": pa.array(bad),
            "k": rows.column("v_" + plan.key),
            "cust": rows.column("v_customer_id"),
            "t": rows.column("v_paid_at"),
            "amt": rows.column("v_amount"),
            "item": rows.column("_item"),
            "orig": rows.column("_orig"),
            "ret": rows.column("_ret"),
            "_i": rows.column("_i"),
        }
    )
    recs = records.append_column("_pos", pa.array(np.arange(records.num_rows, dtype=np.int64)))
    con.register("_tw_lines", line)
    con.register("_tw_recs", recs)
    try:
        matches = []
        for how in ret.original:
            if how == "id":
                matches.append(
                    "(SELECT r._i, s.k AS o FROM rets r "
                    "JOIN (SELECT DISTINCT k FROM sales) s ON s.k = r.orig)"
                )
            else:
                matches.append(
                    "(SELECT r._i, s.k AS o FROM rets r ASOF JOIN sales s "
                    "ON r.cust = s.cust AND r.item = s.item AND r.t >= s.t)"
                )
        joins = " ".join(f"LEFT JOIN {m} m{j} ON m{j}._i = rets._i" for j, m in enumerate(matches))
        found = ", ".join(f"m{j}.o" for j in range(len(matches)))
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _tw_match AS "
            "WITH good AS (SELECT * FROM _tw_lines WHERE NOT _bad), "
            "sales AS (SELECT * FROM good WHERE NOT ret), "
            "rets AS (SELECT * FROM good WHERE ret) "
            f"SELECT rets._i, rets._rec, rets.k, rets.amt, coalesce({found}) AS o "
            f"FROM rets {joins}"
        )
        stats = con.execute(
            "SELECT count(*), count(o), count(DISTINCT _rec), count(DISTINCT o), "
            "coalesce(sum(amt) FILTER (WHERE o IS NOT NULL), 0) FROM _tw_match"
        ).fetchall()[0]
        key = ident(plan.key)
        full = lit(ret.full)
        adjusted = con.sql(
            "WITH refunds AS (SELECT o, round(sum(amt), 9) AS refund, "
            "list(DISTINCT k ORDER BY k) AS returns FROM _tw_match "
            "WHERE o IS NOT NULL GROUP BY o), "
            "origins AS (SELECT _rec, list(DISTINCT o ORDER BY o) FILTER (WHERE o IS NOT NULL) "
            "AS return_of FROM _tw_match GROUP BY _rec) "
            "SELECT r.* REPLACE ("
            "CASE WHEN f.refund IS NOT NULL THEN greatest(round(r.amount - f.refund, 9), 0) "
            "ELSE r.amount END AS amount, "
            f"CASE WHEN r._ret THEN 'cancelled' WHEN f.refund >= r.amount - {_CENT} THEN {full} "
            "ELSE r.status END AS status, "
            "CASE WHEN f.refund IS NOT NULL THEN CAST(json_merge_patch("
            "coalesce(r.attributes, '{}'), json_object('gross_amount', r.amount, "
            "'refunded_amount', f.refund, 'returns', f.returns)) AS VARCHAR) "
            "WHEN r._ret THEN CAST(json_merge_patch(coalesce(r.attributes, '{}'), "
            "json_object('return_of', coalesce(g.return_of, []::VARCHAR[]))) AS VARCHAR) "
            "ELSE r.attributes END AS attributes) "
            f"FROM _tw_recs r LEFT JOIN refunds f ON f.o = r.{key} AND NOT r._ret "
            "LEFT JOIN origins g ON g._rec = r._pos ORDER BY r._pos"
        ).to_arrow_table()
        over = con.execute(
            "SELECT count(*) FROM (SELECT o, sum(amt) AS s FROM _tw_match "
            f"WHERE o IS NOT NULL GROUP BY o) m JOIN _tw_recs r ON r.{key} = m.o "
            f"AND NOT r._ret WHERE m.s > r.amount + {_CENT}"
        ).fetchall()[0][0]
    finally:
        con.unregister("_tw_lines")
        con.unregister("_tw_recs")
        con.execute("DROP TABLE IF EXISTS _tw_match")
    lines, matched, n_ret, n_orig, total = stats
    notes = []
    if lines:
        notes.append(
            f"{n_ret:,} cancellation/return order(s) ({lines:,} rows) stored with "
            f"status cancelled; {matched:,} rows matched {n_orig:,} original order(s), whose "
            f"amount now excludes {total:,.2f} returned (gross amount kept in attributes)"
        )
        if lines > matched:
            notes.append(
                f"{lines - matched:,} return row(s) matched no order of this file "
                f"(by {' then '.join(ret.original)}); stored without netting"
            )
        if over:
            notes.append(
                f"{over:,} order(s) had more returned than paid; their amount is 0, the "
                "returned total is in attributes.refunded_amount"
            )
    return adjusted.drop_columns(["_pos"]), notes
