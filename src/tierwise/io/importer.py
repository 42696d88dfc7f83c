"""Import files and data frames into the store: validate, quarantine, write atomically."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from tierwise.errors import ConfigError, ImportValidationError
from tierwise.export import neutralise_formulas, restore_formulas
from tierwise.io.import_plan import (
    ImportPlan,
    _q,
    _span,
    aggregate_select,
    build_plan,
    clean_expr,
    describe,
    finish_select,
    ident,
    literal_select,
    mapped_expr,
    parse_select,
    typed_literal,
)
from tierwise.io.mapping import ColumnMapping, MappingError, load_mapping
from tierwise.io.options import ImportOptions
from tierwise.io.readers import RawData, frame_to_raw, read_file
from tierwise.io.report import LOG_PROBLEMS, ImportRejected, ImportReport, Problem
from tierwise.io.returns import net_returns
from tierwise.schema import CUSTOMERS, IDENTITIES, Entity
from tierwise.schema import entity as entity_by_name
from tierwise.store import Store

__all__ = ["import_file", "import_frame"]

IMPORTED, UPDATED, DUPLICATE, QUARANTINED = 1, 2, 3, 4
_DETAILED_CONFLICTS = 1000
STEPS = ("reading", "parsing", "classifying", "writing", "committing")
"""The steps reported to ``ImportOptions.progress`` as ``(step, index, len(STEPS))``."""


def _step(opts: ImportOptions, name: str) -> None:
    if opts.progress is not None:
        k = STEPS.index(name) if name in STEPS else len(STEPS)
        opts.progress(name, k, len(STEPS))


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


def import_file(
    store: Store,
    entity: str,
    path: str | Path,
    *,
    mapping: ColumnMapping | str | Path | None = None,
    options: ImportOptions | dict[str, Any] | None = None,
) -> ImportReport:
    """Import a CSV/TSV, Excel (.xlsx), Parquet or JSON Lines file into the store.

    Parameters
    ----------
    store : Store
        The open store.
    entity : str
        customers, orders or events.
    path : str or Path
        The file; its format comes from the suffix (``.gz`` is decompressed first).
    mapping : ColumnMapping or path, optional
        How the file's columns map onto the entity (a YAML file path is loaded).
    options : ImportOptions or dict, optional
        Encoding, conflict policy, unknown columns/customers, quarantine directory, ...

    Returns
    -------
    ImportReport
        Counts, column notes, problems and the quarantine file.

    Raises
    ------
    ImportValidationError
        The file cannot be imported at all (unreadable, empty, missing a required column);
        the store is untouched.
    ImportRejected
        More rows were quarantined than ``options.max_quarantined`` allows; no row was
        written, the quarantine file was (``exc.report`` says what was found).
    MappingError
        The mapping is invalid.
    ConfigError
        An option is invalid.
    """
    ent = _entity(entity)
    opts = ImportOptions.coerce(options)
    cmap = load_mapping(mapping)
    cmap.check(ent.name)
    _step(opts, "reading")
    raw = read_file(
        path,
        encoding=opts.encoding,
        delimiter=opts.delimiter,
        sheet=opts.sheet,
        timezone=opts.timezone,
    )
    return _import(store, ent, raw, cmap, opts, str(Path(path).resolve()))


def import_frame(
    store: Store,
    entity: str,
    data: Any,
    *,
    source: str = "frame",
    mapping: ColumnMapping | str | Path | None = None,
    options: ImportOptions | dict[str, Any] | None = None,
) -> ImportReport:
    """Import a pandas / polars DataFrame or a pyarrow Table (see :func:`import_file`).

    Typed columns are written out as text first and parsed with the same rules as files;
    rows are numbered from 1. ``source`` names the data in the report and provenance.
    """
    ent = _entity(entity)
    opts = ImportOptions.coerce(options)
    cmap = load_mapping(mapping)
    cmap.check(ent.name)
    raw = frame_to_raw(data, source, opts.timezone)
    return _import(store, ent, raw, cmap, opts, source)


def _entity(name: str) -> Entity:
    try:
        return entity_by_name(name)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


# -- the pipeline -------------------------------------------------------------------------
def _import(
    store: Store, ent: Entity, raw: RawData, cmap: ColumnMapping, opts: ImportOptions, source: str
) -> ImportReport:
    restored = 0
    if "_reasons" in raw.table.column_names:  # a quarantine file, fixed and imported again
        raw.table, restored = restore_formulas(raw.table)
    try:
        plan = build_plan(ent, raw.table.column_names, cmap, opts, raw.name, raw.float_columns)
    except ImportValidationError as exc:
        if not raw.warnings:
            raise
        raise ImportValidationError(f"{exc}; {'; '.join(raw.warnings)}") from None
    con = store.con
    _resolve_literals(con, plan, cmap)
    _drop_blank_rows(raw)
    now = dt.datetime.now(dt.UTC)
    import_id = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    report = ImportReport(
        file=raw.name,
        entity=ent.name,
        format=raw.format,
        import_id=import_id,
        encoding=raw.encoding,
        file_sha256=raw.sha256,
        rows_read=raw.table.num_rows,
        columns_mapped=dict(plan.mapped),
        columns_kept=list(plan.kept),
        columns_ignored=list(plan.ignored),
        notes=[*raw.notes, *plan.notes],
        warnings=list(raw.warnings),
        dry_run=opts.dry_run,
    )
    if not opts.dry_run:
        swept = _sweep_stale(_quarantine_dir(store, opts))
        if swept:
            report.notes.append(
                f"removed {swept} temporary quarantine file(s) left by an interrupted import"
            )
    if restored:
        report.notes.append(
            f"{restored} cells of this quarantine file lost the apostrophe that kept them "
            "from being read as formulas"
        )
    if raw.table.num_rows == 0:
        report.notes.append("no data rows")
    _step(opts, "parsing")
    run = _Run(con, plan, raw, opts, report)
    run.parse()
    if ent.name == IDENTITIES.name:
        from tierwise.identity import protect_records

        store.ensure_table(ent.name)  # empty table and salt are kept even by a dry run
        salt = store.identity_salt()
        run.records, note = protect_records(
            run.records, salt, clear_types=opts.clear_identifier_types,
            rehash_key=bool(plan.computed_id),
        )  # fmt: skip
        if note:
            report.notes.append(note)
    names: list[str] = []
    qfile: Path | None = None
    tmp: Path | None = None
    try:
        with store.transaction():
            try:
                _step(opts, "classifying")
                run.classify(names)
                _step(opts, "writing")
                run.write(names, import_id)
                run.finish_counts()
                if run.quarantined.any() and not opts.dry_run:
                    qfile = _quarantine_path(store, opts, ent.name, raw.name, now)
                    tmp = qfile.with_name(f".{qfile.name}.{os.getpid()}.tmp")
                    _write_quarantine(tmp, raw, run.quarantined, run.row_reasons)
                    report.quarantine_path = str(qfile)
                report.check()
                _check_limit(report, opts)
                if opts.dry_run:
                    raise _DryRun
                _log_import(con, report, source, now)
                _step(opts, "committing")
            finally:
                for n in names:
                    con.unregister(n)
    except _DryRun:
        report.import_id = None
    except ImportRejected:
        report.import_id = None
        report.customers_created = 0
        if tmp is not None and qfile is not None:
            os.replace(tmp, qfile)
        raise
    except BaseException:
        if tmp is not None and tmp.exists():
            tmp.unlink()
        raise
    if tmp is not None and qfile is not None:
        os.replace(tmp, qfile)
    _step(opts, "done")
    return report


def _check_limit(report: ImportReport, opts: ImportOptions) -> None:
    """Raise :class:`ImportRejected` when more rows were quarantined than allowed."""
    limit = opts.max_quarantined
    if limit is None or report.quarantined_share <= limit:
        return
    report.rejected = True
    share = report.quarantined_share
    why = (
        f"{report.file}: {report.rows_quarantined:,} of {report.rows_read:,} rows "
        f"({share:.1%}) quarantined, above max_quarantined {limit:.1%}; nothing was written"
    )
    if report.quarantine_path:
        why += f" (reasons in {report.quarantine_path})"
    raise ImportRejected(why, report)


class _Run:
    """State of one import between parsing and writing."""

    def __init__(
        self, con: Any, plan: ImportPlan, raw: RawData, opts: ImportOptions, report: ImportReport
    ) -> None:
        self.con = con
        self.plan = plan
        self.raw = raw
        self.opts = opts
        self.report = report
        n = raw.table.num_rows
        self.n = n
        self.row_reasons: dict[int, list[str]] = {}
        self.quarantined = np.zeros(n, dtype=bool)
        self.row_outcome = np.zeros(n, dtype=np.int8)
        self.problems: list[tuple[int, Problem]] = []

    # -- helpers ----------------------------------------------------------------------
    def _problem(self, i: int, column: str | None, value: str | None, reason: str) -> None:
        row = int(self.raw.rows[i])
        self.problems.append((i, Problem(self.raw.name, row, column, value, reason)))
        self.row_reasons.setdefault(i, []).append(reason)
        self.quarantined[i] = True

    def _problems(self, idx: list[int], reasons: list[str]) -> None:
        """Many whole-row problems at once (record-level reasons)."""
        rows = self.raw.rows[idx].tolist() if idx else []
        name = self.raw.name
        self.problems.extend(
            (i, Problem(name, row, None, None, why))
            for i, row, why in zip(idx, rows, reasons, strict=True)
        )
        get = self.row_reasons.setdefault
        for i, why in zip(idx, reasons, strict=True):
            get(i, []).append(why)
        self.quarantined[idx] = True

    def _register(self, names: list[str], name: str, table: pa.Table) -> None:
        self.con.register(name, table)
        names.append(name)

    # -- parse ------------------------------------------------------------------------
    def parse(self) -> None:
        """Parse and check every row (one SQL pass) and combine line items."""
        plan, raw, con = self.plan, self.raw, self.con
        n = self.n
        cols: dict[str, Any] = {
            "_i": pa.array(np.arange(n, dtype=np.int64)),
            "_row": pa.array(raw.rows, pa.int64()),
        }
        cleans = []
        for j, header in enumerate(plan.inputs):
            c = raw.table.column(header)
            if n:
                c = pc.utf8_trim_whitespace(c)
            unwrap = bool(n) and bool(pc.any(pc.starts_with(c, '="')).as_py())
            cols[f"c{j}"] = c
            cleans.append(f"{clean_expr(f'c{j}', unwrap)} AS c{j}")
        self.input = pa.table(cols)
        clean = f"(SELECT _i, _row{''.join(', ' + c for c in cleans)} FROM _tw_in)"
        xs = []
        for xname, sql, err_sql in plan.computed_sql:
            xs.append(f"nullif({sql}, '') AS {xname}")
            if err_sql:
                xs.append(f"{err_sql} AS {xname}e")
        self.x_cols = [x.rsplit(" AS ", 1)[1] for x in xs]
        self.clean_src = f"(SELECT *{''.join(', ' + x for x in xs)} FROM {clean})" if xs else clean
        names: list[str] = []
        try:
            self._register(names, "_tw_in", self.input)
            grouped = plan.line_items is not None
            rows_sql = parse_select(plan, self.clean_src, grouped=grouped)
            if grouped or plan.returns is not None:
                self.rows_tbl = con.sql(rows_sql).to_arrow_table()
                self._register(names, "_tw_rows", self.rows_tbl)
                rows_src = "_tw_rows"
            else:
                rows_src = f"({rows_sql})"
            rec_src = f"({aggregate_select(plan, rows_src)})" if grouped else rows_src
            self.records = con.sql(finish_select(plan, rec_src, grouped=grouped)).to_arrow_table()
            self._row_problems(grouped)
            self._record_notes(grouped)
            if plan.returns is not None:
                self.records, notes = net_returns(
                    con, plan, self.rows_tbl, self.records, self.row_rec, self.rec_bad
                )
                self.report.notes.extend(notes)
        finally:
            for name in names:
                con.unregister(name)

    def _record_notes(self, grouped: bool) -> None:
        """Notes on records combined within the time tolerance and identical rows kept apart."""
        plan, recs = self.plan, self.records
        good = ~self.rec_bad
        spread = [c for c in recs.column_names if c.startswith("_spread_")]
        if spread:
            hit = np.zeros(recs.num_rows, dtype=bool)
            for c in spread:
                hit |= recs.column(c).to_numpy(zero_copy_only=False).astype(bool)
            n = int((hit & good).sum())
            if n:
                cols = ", ".join(c[len("_spread_") :] for c in spread)
                self.report.notes.append(
                    f"{n:,} {plan.entity.name[:-1]}(s) had line items at different times ({cols}) "
                    f"within the tolerance of {_span(plan.time_tolerance)}; each takes the "
                    "earliest"
                )
        if plan.computed_id and plan.identical == "keep":
            n = int((recs.column("_ord").to_numpy(zero_copy_only=False) > 0).sum())
            if n:
                self.report.notes.append(
                    f"{n:,} row(s) identical to an earlier row in every column of the computed "
                    f"id ({', '.join(plan.computed_id)}) were kept apart: their {plan.key} "
                    "also hashes their ordinal among the identical rows"
                )

    def _row_problems(self, grouped: bool) -> None:
        plan, raw = self.plan, self.raw
        recs = self.records
        nrec = recs.num_rows
        rec_i = recs.column("_i").to_numpy()
        # record of each row
        row_rec = np.full(self.n, -1, dtype=np.int64)
        if grouped:
            ri = self.rows_tbl.column("_i").to_numpy()
            keys = self.rows_tbl.column("v_" + plan.key)
            pos = pc.fill_null(pc.index_in(keys, value_set=recs.column(plan.key)), -1)
            row_rec[ri] = pos.to_numpy(zero_copy_only=False).astype(np.int64)
            row_err = self.rows_tbl.column("_err")
            row_err_i = ri
            self.pos_of_i = np.empty(self.n, dtype=np.int64)
            self.pos_of_i[ri] = np.arange(len(ri))
            self.report.rows_combined = int(pc.sum(recs.column("_n")).as_py() or 0) - nrec
        else:
            row_rec[rec_i] = np.arange(nrec)
            row_err = recs.column("_err")
            row_err_i = rec_i
        self.row_rec = row_rec
        self.rec_first = rec_i
        self._order = np.argsort(row_rec, kind="stable")
        self._sorted = row_rec[self._order]
        # read-level problems
        for i, why in raw.read_problems.items():
            self._problem(i, None, None, why)
        # parse problems, row by row (only rows that have any)
        bad = pc.is_valid(row_err).to_numpy(zero_copy_only=False)
        bad_i = row_err_i[bad]
        bad_codes = row_err.filter(pa.array(bad)).to_pylist()
        if len(bad_i):
            self._describe_rows(bad_i, bad_codes)
        # a record with any bad row is bad
        rec_bad = np.zeros(nrec, dtype=bool)
        rr = row_rec[np.flatnonzero(self.quarantined)]
        rec_bad[rr[rr >= 0]] = True
        if grouped:
            # record-level problems (disagreements, empty after filling) of otherwise good records
            rerr = recs.column("_err")
            rb = pc.is_valid(rerr).to_numpy(zero_copy_only=False) & ~rec_bad
            if rb.any():
                self._describe_records(np.flatnonzero(rb), rerr.filter(pa.array(rb)).to_pylist())
            rec_bad |= rb
        # the other rows of a bad record are quarantined, each with the record's reason
        if grouped and rec_bad.any():
            first_bad: dict[int, int] = {}
            for i in np.flatnonzero(self.quarantined & (row_rec >= 0)).tolist():
                first_bad.setdefault(int(row_rec[i]), i)
            member = (row_rec >= 0) & rec_bad[np.clip(row_rec, 0, None)] & ~self.quarantined
            keyvals = recs.column(plan.key)
            for i in np.flatnonzero(member).tolist():
                r = int(row_rec[i])
                j = first_bad.get(r, int(rec_i[r]))
                first = self.row_reasons.get(j, ["it has problems"])[0]
                k = keyvals[r].as_py()
                self._problem(
                    i,
                    None,
                    None,
                    f"{plan.key} {_q(k)} rejected because row {int(raw.rows[j])}: {first}",
                )
        self.rec_bad = rec_bad

    def _describe_rows(self, idx: np.ndarray, codes: list[str]) -> None:
        """Turn ``col:code`` lists into Problems, with the text as read."""
        plan, con = self.plan, self.con
        fed = [cp for cp in plan.columns.values() if cp.fed]
        m_cols = "".join(f", {mapped_expr(cp)} AS {ident('m_' + cp.name)}" for cp in fed)
        c_cols = "".join(f", c{j}" for j in range(len(plan.inputs)))
        c_cols += "".join(f", {x}" for x in self.x_cols)
        con.register("_tw_bad", pa.table({"_i": pa.array(idx, pa.int64())}))
        try:
            rows = (
                con.sql(
                    f"SELECT _i{c_cols}{m_cols} FROM {self.clean_src} "
                    f"WHERE _i IN (SELECT _i FROM _tw_bad)"
                )
                .to_arrow_table()
                .to_pylist()
            )
        finally:
            con.unregister("_tw_bad")
        by_i = {r["_i"]: r for r in rows}
        for i, code_list in zip(idx.tolist(), codes, strict=True):
            if i in self.raw.read_problems:
                continue  # the read problem explains the row
            r = by_i[i]
            items = [item.split(":", 1) for item in code_list.split("|")]
            parsed_bad = {col for col, code in items if code != "empty"}
            for col, code in items:
                if code == "empty" and col in parsed_bad:
                    continue  # already explained by the parse problem
                cp = plan.columns[col]
                if code == "operand" and cp.operand_error:
                    header, text = str(r[cp.operand_error]).split("\x1f", 1)
                    why = f"{cp.sources[0][0]}: {header} {_q(text)} is not a number"
                    self._problem(i, header, text, why)
                    continue
                header, text = col, None
                for h, c in cp.sources:
                    if r[c] is not None:
                        header, text = h, r[c]
                        break
                else:
                    if cp.sources:
                        header = cp.sources[0][0]
                mapped = r.get("m_" + col)
                self._problem(i, header, text, describe(plan, col, code, text, mapped))

    def _describe_records(self, recs_idx: np.ndarray, codes: list[str]) -> None:
        plan, raw = self.plan, self.raw
        rows_tbl = self.rows_tbl
        keys = self.records.column(plan.key)
        for r, code_list in zip(recs_idx.tolist(), codes, strict=True):
            i = int(self.rec_first[r])
            k = keys[r].as_py()
            for item in code_list.split("|"):
                col, code = item.split(":", 1)
                header = plan.header_of(col)
                if code == "disagree":
                    members = np.sort(self._rows_of(r))
                    pos = pa.array(self.pos_of_i[members])
                    vals = rows_tbl.column("v_" + col).take(pos).to_pylist()
                    if "p_" + col in rows_tbl.column_names:
                        prio = rows_tbl.column("p_" + col).take(pos).to_pylist()
                        best = min((p for p in prio if p is not None), default=None)
                        vals = [v if p == best else None for v, p in zip(vals, prio, strict=True)]
                    seen = [
                        f"{_q(_fmt(v))} at row {int(raw.rows[m])}"
                        for m, v in zip(members.tolist(), vals, strict=True)
                        if v is not None
                    ]
                    apart = ""
                    if plan.columns[col].kind == "timestamp" and plan.time_tolerance:
                        apart = f" by more than {_span(plan.time_tolerance)}"
                    reason = (
                        f"{col}: line-item rows of {plan.key} {_q(k)} disagree{apart} "
                        f"({', '.join(seen[:5])})"
                    )
                    self._problem(i, header, None, reason)
                else:
                    self._problem(i, header, None, describe(plan, col, code, None, None))

    # -- classify against the file and the store -------------------------------------------
    def _set_rec(self, names: list[str], **state: np.ndarray) -> None:
        """(Re-)register the records with state columns, so SQL can filter without copies."""
        t = self.records
        for name, arr in state.items():
            t = t.append_column(name, pa.array(arr))
        if "_tw_rec" in names:
            self.con.unregister("_tw_rec")
        else:
            names.append("_tw_rec")
        self.con.register("_tw_rec", t)

    def classify(self, names: list[str]) -> None:
        """Decide per good record: insert, update, duplicate or quarantine."""
        plan, con, opts = self.plan, self.con, self.opts
        ent = plan.entity
        kq = ident(plan.key)
        canon = ent.column_names
        nrec = self.records.num_rows
        rec_ids = np.arange(nrec, dtype=np.int64)
        outcome = np.zeros(nrec, dtype=np.int8)
        outcome[self.rec_bad] = QUARANTINED
        rec_reason: dict[int, str] = {}
        rep = np.zeros(nrec, dtype=bool)
        unknown = np.zeros(nrec, dtype=bool)
        is_found = np.zeros(nrec, dtype=bool)
        same_a = np.zeros(nrec, dtype=bool)
        auto_a = np.zeros(nrec, dtype=bool)
        auto_cust = np.zeros(nrec, dtype=bool)  # the customer is a bare auto-created row
        if (outcome == 0).any():
            # one pass: repeated keys, unknown customers, and the stored row if any
            self._set_rec(names, _rec=rec_ids, _q=outcome != 0)
            same = " AND ".join(f"g.{ident(c)} IS NOT DISTINCT FROM t.{ident(c)}" for c in canon)
            if ent.name == CUSTOMERS.name:
                unk, auto_c, join = "false", "false", ""
            else:
                unk = "c.customer_id IS NULL"
                auto_c = "coalesce(c._row IS NULL AND starts_with(c._source, 'auto:'), false)"
                join = "LEFT JOIN customers c ON c.customer_id = g.customer_id"
            flags = con.sql(
                f"WITH r AS (SELECT {kq} FROM _tw_rec WHERE NOT _q GROUP BY {kq} "
                f"HAVING count(*) > 1) "
                f"SELECT g._rec, g.{kq} IN (SELECT {kq} FROM r) AS rep, {unk} AS unk, "
                f"{auto_c} AS auto_c, "
                f"t.{kq} IS NOT NULL AS found, coalesce({same}, false) AS same, "
                f"coalesce(t._row IS NULL AND starts_with(t._source, 'auto:'), false) AS auto "
                f"FROM _tw_rec g LEFT JOIN {ident(ent.name)} t ON g.{kq} = t.{kq} {join} "
                f"WHERE NOT g._q"
            ).to_arrow_table()
            at = flags.column("_rec").to_numpy()
            for arr, name in (
                (rep, "rep"),
                (unknown, "unk"),
                (is_found, "found"),
                (same_a, "same"),
                (auto_a, "auto"),
                (auto_cust, "auto_c"),
            ):
                arr[at] = flags.column(name).to_numpy(zero_copy_only=False)
        # repeated keys within the file: identical copies follow the first, others are conflicts
        followers: dict[int, int] = {}
        if rep.any():
            self._register(names, "_tw_rep", pa.table({"_rec": pa.array(np.flatnonzero(rep))}))
            reps = (
                con.sql(
                    f"SELECT {kq} AS k, list(_rec ORDER BY _i) AS recs, "
                    "list(_row ORDER BY _i) AS rows, "
                    f"count(DISTINCT ({', '.join(ident(c) for c in canon)})) AS nd FROM _tw_rec "
                    f"WHERE _rec IN (SELECT _rec FROM _tw_rep) GROUP BY {kq}"
                )
                .to_arrow_table()
                .to_pylist()
            )
            for g in reps:
                if g["nd"] == 1:
                    for r in g["recs"][1:]:
                        followers[r] = g["recs"][0]
                        outcome[r] = DUPLICATE
                    continue
                shown = ", ".join(map(str, g["rows"][:10])) + (
                    ", ..." if len(g["rows"]) > 10 else ""
                )
                why = (
                    f"{plan.key} {_q(g['k'])} appears {len(g['recs'])} times in this file "
                    f"with different values (rows {shown})"
                )
                for r in g["recs"]:
                    outcome[r] = QUARANTINED
                    rec_reason[r] = why
        # customers the store does not know
        if opts.unknown_customers == "quarantine":
            unk_q = np.flatnonzero(unknown & (outcome == 0))
            cids = self.records.column("customer_id").take(pa.array(unk_q)).to_pylist()
            for r, cid in zip(unk_q.tolist(), cids, strict=True):
                outcome[r] = QUARANTINED
                rec_reason[r] = (
                    f"customer_id {_q(cid)} is not in the store (import customers "
                    "first, or use unknown_customers='create')"
                )
        # compare with stored rows
        pending = outcome == 0
        ins = pending & ~is_found
        rep_auto = pending & is_found & auto_a
        dup = pending & is_found & ~auto_a & same_a
        conflict = pending & is_found & ~auto_a & ~same_a
        action = np.zeros(nrec, dtype=np.int8)  # 1 insert, 2 update, 3 replace an auto row
        action[ins] = 1
        action[rep_auto] = 3
        outcome[ins | rep_auto] = IMPORTED
        outcome[dup] = DUPLICATE
        if opts.on_conflict == "update":
            action[conflict] = 2
            outcome[conflict] = UPDATED
        else:
            outcome[conflict] = QUARANTINED
            self._conflict_reasons(names, np.flatnonzero(conflict), rec_reason)
        for r, first in followers.items():
            if outcome[first] == QUARANTINED:
                outcome[r] = QUARANTINED
                rec_reason[r] = rec_reason.get(first, "same as a quarantined row")
        if rep_auto.any():
            self.report.notes.append(
                f"{int(rep_auto.sum())} customer(s) created earlier from orders/events "
                "were filled in"
            )
        self.rec_outcome = outcome
        self.action = action
        self.unknown = unknown
        self.auto_customer = auto_cust
        if rec_reason:
            mark = np.zeros(nrec, dtype=bool)
            mark[np.fromiter(rec_reason, dtype=np.int64, count=len(rec_reason))] = True
            hit = np.flatnonzero((self.row_rec >= 0) & mark[np.clip(self.row_rec, 0, None)])
            recs = self.row_rec[hit].tolist()
            self._problems(hit.tolist(), [rec_reason[r] for r in recs])
        has_rec = self.row_rec >= 0
        self.row_outcome[has_rec] = outcome[self.row_rec[has_rec]]
        self.row_outcome[self.quarantined] = QUARANTINED

    def _rows_of(self, r: int) -> np.ndarray:
        """Row indices of record ``r``."""
        lo = np.searchsorted(self._sorted, r, side="left")
        hi = np.searchsorted(self._sorted, r, side="right")
        return self._order[lo:hi]

    def _conflict_reasons(self, names: list[str], recs: np.ndarray, out: dict[int, str]) -> None:
        if not len(recs):
            return
        plan, con = self.plan, self.con
        ent = plan.entity
        kq = ident(plan.key)
        detailed = recs[:_DETAILED_CONFLICTS]
        cols = [c for c in ent.column_names if c != plan.key]
        sel = ", ".join(
            f"g.{ident(c)} AS {ident('f_' + c)}, t.{ident(c)} AS {ident('s_' + c)}" for c in cols
        )
        self._register(names, "_tw_conf", pa.table({"_rec": pa.array(detailed, pa.int64())}))
        rows = (
            con.sql(
                f"SELECT g._rec, g.{kq} AS k, {sel} FROM _tw_rec g "
                f"JOIN {ident(ent.name)} t ON g.{kq} = t.{kq} "
                "WHERE g._rec IN (SELECT _rec FROM _tw_conf)"
            )
            .to_arrow_table()
            .to_pylist()
        )
        for r in rows:
            diffs = [
                f"{c}: stored {_q(_fmt(r['s_' + c]), 30)}, file {_q(_fmt(r['f_' + c]), 30)}"
                for c in cols
                if r["f_" + c] != r["s_" + c]
            ]
            more = f" and {len(diffs) - 3} more" if len(diffs) > 3 else ""
            out[r["_rec"]] = (
                f"{plan.key} {_q(r['k'])} is already stored with different values "
                f"({'; '.join(diffs[:3])}{more}); use on_conflict='update' to replace it"
            )
        for r in recs[_DETAILED_CONFLICTS:].tolist():
            out[r] = (
                f"{plan.key} is already stored with different values; "
                "use on_conflict='update' to replace it"
            )

    # -- write ------------------------------------------------------------------------
    def write(self, names: list[str], import_id: str) -> None:
        """Insert new rows, update changed ones, create unknown customers."""
        plan, con = self.plan, self.con
        ent = plan.entity
        kq = ident(plan.key)
        canon = ent.column_names
        cols = ", ".join(ident(c) for c in canon)
        act = self.action
        keep = np.isin(self.rec_outcome, (IMPORTED, UPDATED, DUPLICATE))
        self._set_rec(names, _act=act, _keep=keep, _unk=self.unknown, _autoc=self.auto_customer)
        source = self.raw.name
        if (act == 1).any():
            con.execute(
                f"INSERT INTO {ident(ent.name)} ({cols}, _source, _row, _import_id) "
                f"SELECT {cols}, ?, _row, ? FROM _tw_rec WHERE _act = 1",
                [source, import_id],
            )
        if (act >= 2).any():
            sets = ", ".join(f"{ident(c)} = u.{ident(c)}" for c in canon if c != plan.key)
            con.execute(
                f"UPDATE {ident(ent.name)} AS t SET {sets}, _source = ?, _row = u._row, "
                f"_import_id = ? FROM (SELECT * FROM _tw_rec WHERE _act >= 2) u "
                f"WHERE t.{kq} = u.{kq}",
                [source, import_id],
            )
        if ent.name == CUSTOMERS.name:
            return
        tcol = ident(ent.time_column)
        if self.opts.unknown_customers == "create" and (keep & self.unknown).any():
            created = con.execute(
                f"INSERT INTO customers (customer_id, first_seen, _source, _row, _import_id) "
                f"SELECT customer_id, min({tcol}), ?, NULL, ? FROM _tw_rec "
                f"WHERE _keep AND _unk GROUP BY customer_id",
                [f"auto:{ent.name}:{source}", import_id],
            ).fetchall()
            self.report.customers_created = int(created[0][0]) if created else 0
        if (keep & self.auto_customer).any():
            # customers created from earlier files start at their earliest known order/event
            con.execute(
                f"UPDATE customers AS c SET first_seen = s.fs FROM "
                f"(SELECT customer_id, min({tcol}) AS fs FROM _tw_rec WHERE _keep AND _autoc "
                f"GROUP BY customer_id) s "
                "WHERE c.customer_id = s.customer_id AND c._row IS NULL "
                "AND starts_with(c._source, 'auto:') "
                "AND (c.first_seen IS NULL OR s.fs < c.first_seen)"
            )

    def finish_counts(self) -> None:
        """Fill the report's counts and problems from the row outcomes."""
        rep = self.report
        oc = self.row_outcome
        rep.rows_imported = int((oc == IMPORTED).sum())
        rep.rows_updated = int((oc == UPDATED).sum())
        rep.rows_duplicate = int((oc == DUPLICATE).sum())
        rep.rows_quarantined = int((oc == QUARANTINED).sum())
        self.problems.sort(key=lambda p: p[0])
        rep.problems = [p for _, p in self.problems]


def _fmt(v: Any) -> str:
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    return "" if v is None else str(v)


# -- constants and defaults ---------------------------------------------------------------
def _resolve_literals(con: Any, plan: ImportPlan, cmap: ColumnMapping) -> None:
    """Parse constants/defaults once with their column's rules into typed SQL literals."""
    where = f"mapping {cmap.source}" if cmap.source else "mapping"
    for cp in plan.columns.values():
        for kind in ("constant", "default"):
            text = getattr(cp, kind)
            if text is None:
                continue
            value, err = con.execute(literal_select(plan, cp, text)).fetchall()[0]
            if err is not None:
                why = describe(plan, cp.name, err, text, None)
                raise MappingError(f"{where}: {kind}s.{cp.name}: {why}")
            setattr(cp, kind + "_sql", typed_literal(cp.kind, value))


def _drop_blank_rows(raw: RawData) -> None:
    """Skip rows with no text at all (blank lines, ``,,,,``) and say so."""
    t = raw.table
    if not t.num_rows or not t.num_columns:
        return
    total = None
    for col in t.columns:
        ln = pc.fill_null(pc.binary_length(col), 0)
        total = ln if total is None else pc.add(total, ln)
    keep = pc.greater(total, 0).to_numpy(zero_copy_only=False)
    if raw.read_problems:
        keep[list(raw.read_problems)] = True
    if keep.all():
        return
    idx = np.flatnonzero(keep)
    remap = {int(o): k for k, o in enumerate(idx)}
    raw.table = t.take(pa.array(idx))
    raw.rows = raw.rows[idx]
    raw.read_problems = {remap[i]: v for i, v in raw.read_problems.items()}
    raw.record_text = {remap[i]: v for i, v in raw.record_text.items()}
    raw.notes.append(f"skipped {len(keep) - len(idx)} empty row(s)")


# -- quarantine and log -------------------------------------------------------------------
_SAFE = re.compile(r"[^\w.-]+")


_TMP_NAME = re.compile(r"^\..+\.csv(?:\.(\d+))?\.tmp$")


def _quarantine_dir(store: Store, opts: ImportOptions) -> Path:
    if opts.quarantine_dir is not None:
        return Path(opts.quarantine_dir)
    if store.path == ":memory:":
        return Path(tempfile.gettempdir()) / "tierwise-quarantine"
    return Path(store.path).resolve().parent / "quarantine"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_stale(qdir: Path) -> int:
    """Remove temporary quarantine files (``.NAME.csv.PID.tmp``) of processes that died
    before renaming them (a kill -9 mid-import); files of running processes stay."""
    if not qdir.is_dir():
        return 0
    removed = 0
    for p in qdir.glob(".*.tmp"):
        m = _TMP_NAME.match(p.name)
        if m is None:
            continue
        pid = int(m.group(1)) if m.group(1) else None
        if pid is not None and (pid == os.getpid() or _alive(pid)):
            continue
        try:
            p.unlink()
        except FileNotFoundError:
            continue
        removed += 1
    return removed


def _quarantine_path(
    store: Store, opts: ImportOptions, entity: str, name: str, now: dt.datetime
) -> Path:
    qdir = _quarantine_dir(store, opts)
    qdir.mkdir(parents=True, exist_ok=True)
    stem = _SAFE.sub("_", Path(name).stem).strip("_") or "data"
    base = f"{entity}-{now:%Y%m%dT%H%M%SZ}-{stem}"
    path = qdir / f"{base}.csv"
    k = 2
    while path.exists():
        path = qdir / f"{base}-{k}.csv"
        k += 1
    return path


def _write_quarantine(
    path: Path, raw: RawData, mask: np.ndarray, reasons: dict[int, list[str]]
) -> None:
    """Original columns + ``_row`` + ``_reasons`` (+ ``_text``), UTF-8 with BOM.

    Cells are neutralised against formula injection (`tierwise.export.safe_cell`): a
    quarantine file holds exactly the rows nobody has vetted, and it is opened in Excel.
    """
    idx = np.flatnonzero(mask)
    t = raw.table.take(pa.array(idx)) if raw.table.num_columns else pa.table({})
    cols = {name: t.column(name) for name in t.column_names}
    cols["_row"] = pa.array(raw.rows[idx])
    cols["_reasons"] = pa.array(["; ".join(reasons.get(int(i), [])) for i in idx], pa.string())
    if raw.record_text and any(int(i) in raw.record_text for i in idx):
        cols["_text"] = pa.array([raw.record_text.get(int(i)) for i in idx], pa.string())
    table = neutralise_formulas(pa.table(cols))
    with open(path, "wb") as fh:
        fh.write(b"\xef\xbb\xbf")
        pcsv.write_csv(table, fh, write_options=pcsv.WriteOptions(quoting_style="needed"))


def _log_import(con: Any, report: ImportReport, source: str, now: dt.datetime) -> None:
    """Record the import in the ``imports`` table (same transaction as the rows)."""
    con.execute(
        "INSERT INTO imports (import_id, entity, source, file_sha256, imported_at, rows_read, "
        "rows_imported, rows_updated, rows_quarantined, rows_duplicate, customers_created, "
        "report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            report.import_id,
            report.entity,
            source,
            report.file_sha256,
            now.replace(tzinfo=None),
            report.rows_read,
            report.rows_imported,
            report.rows_updated,
            report.rows_quarantined,
            report.rows_duplicate,
            report.customers_created,
            json.dumps(report.to_dict(max_problems=LOG_PROBLEMS), ensure_ascii=False, default=str),
        ],
    )
