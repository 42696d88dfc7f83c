"""A tierwise project: a folder with a config file and an embedded store."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from tierwise.config import Config, default_config_text, load_config
from tierwise.errors import FittedStateError, StoreError, TierwiseError
from tierwise.evidence import labels_query
from tierwise.pipeline import ProfileRun, compute_profiles
from tierwise.schemes.rfm import RFMBinner
from tierwise.store import Store

__all__ = ["CONFIG_FILE", "STORE_FILE", "CustomerProfile", "Project"]

CONFIG_FILE = "tierwise.yaml"
STORE_FILE = "tierwise.duckdb"

TableFormat = Literal["arrow", "pandas", "polars"]
Progress = Callable[[str], None]


def _convert(table: pa.Table, fmt: TableFormat) -> Any:
    if fmt == "arrow":
        return table
    if fmt == "pandas":
        return table.to_pandas()
    if fmt == "polars":
        import polars as pl

        return pl.from_arrow(table)
    raise ValueError(f"format must be arrow, pandas or polars, not {fmt!r}")


@dataclass(frozen=True)
class CustomerProfile:
    """One customer as of a snapshot: features, labels and each label's evidence."""

    customer_id: str
    as_of: dt.date
    features: dict[str, Any]
    labels: list[dict[str, Any]]
    absent: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-friendly); ``absent`` only when asked for (`Project.show`)."""
        out = {
            "customer_id": self.customer_id,
            "as_of": self.as_of.isoformat(),
            "features": {k: _jsonable(v) for k, v in self.features.items()},
            "labels": self.labels,
        }
        if self.absent:
            out["absent"] = list(self.absent)
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


class Project:
    """A project folder: ``tierwise.yaml`` (config) and ``tierwise.duckdb`` (store).

    Parameters
    ----------
    directory : str or Path
        The folder made by `Project.init` (or ``tierwise init``).

    Examples
    --------
    >>> p = Project.init("shop")                                   # doctest: +SKIP
    >>> p.import_file("orders", "orders.csv")                       # doctest: +SKIP
    >>> p.run(as_of=datetime.date(2025, 12, 31))                    # doctest: +SKIP
    >>> p.profiles(format="polars")                                  # doctest: +SKIP
    """

    def __init__(
        self, directory: str | Path, *, read_only: bool = False, wait: float = 0.0
    ) -> None:
        self.directory = Path(directory)
        self.read_only = read_only
        self.wait = wait
        if not (self.directory / CONFIG_FILE).exists():
            raise TierwiseError(
                f"{self.directory} is not a tierwise project (no {CONFIG_FILE}); "
                "run `tierwise init` first"
            )
        self.config: Config = load_config(self.directory / CONFIG_FILE)
        self._store: Store | None = None

    @classmethod
    def init(cls, directory: str | Path, *, force: bool = False) -> Project:
        """Make a project folder with a commented config file and an empty store."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        cfg, db = d / CONFIG_FILE, d / STORE_FILE
        if (cfg.exists() or db.exists()) and not force:
            raise TierwiseError(f"{d} already holds a tierwise project; use force to start over")
        if force:
            for path in (db, d / f"{STORE_FILE}.wal"):
                path.unlink(missing_ok=True)
        cfg.write_text(default_config_text(), encoding="utf-8")
        Store(db).close()
        return cls(d)

    # -- store --------------------------------------------------------------------------
    @property
    def store(self) -> Store:
        """The project's store (opened on first use)."""
        if self._store is None:
            self._store = Store(
                self.directory / STORE_FILE, read_only=self.read_only, wait=self.wait
            )
        return self._store

    def close(self) -> None:
        """Close the store."""
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- import -------------------------------------------------------------------------
    def _options(self, options: dict[str, Any]) -> Any:
        from tierwise.io import ImportOptions

        options.setdefault("quarantine_dir", self.directory / "quarantine")
        # identifier types the project keeps in clear (only identities files carry them)
        options.setdefault("clear_identifier_types", tuple(self.config.identity.clear_types))
        return ImportOptions(**options)

    def import_file(
        self, entity: str, path: str | Path, *, mapping: Any = None, **options: Any
    ) -> Any:
        """Import a CSV/Excel/Parquet/JSON Lines file; see `tierwise.io.import_file`."""
        from tierwise.io import import_file

        return import_file(
            self.store, entity, path, mapping=mapping, options=self._options(options)
        )

    def import_frame(
        self, entity: str, data: Any, *, source: str = "frame", mapping: Any = None, **options: Any
    ) -> Any:
        """Import a pandas/polars DataFrame or Arrow table; see `tierwise.io.import_frame`."""
        from tierwise.io import import_frame

        return import_frame(
            self.store, entity, data, source=source, mapping=mapping,
            options=self._options(options),
        )  # fmt: skip

    # -- run ----------------------------------------------------------------------------
    def default_as_of(self) -> dt.date:
        """The day of the newest order or event in the store (the default as-of date)."""
        day = self.store.newest_data_day()
        if day is None:
            raise TierwiseError("the store has no orders or events yet; import data first")
        return day

    def run(
        self,
        as_of: dt.date | None = None,
        *,
        engine: Literal["duckdb", "spark"] = "duckdb",
        spark: Any = None,
        source: str | Path | None = None,
        rfm: RFMBinner | None = None,
        fit_from: dt.date | Literal["latest"] | None = None,
        refit: bool = False,
        progress: Progress | None = None,
        all_columns: bool = False,
    ) -> ProfileRun:
        """Compute every customer's features and labels as of a day and store the snapshot.

        Parameters
        ----------
        as_of : datetime.date, optional
            Defaults to the day of the newest order or event.
        engine : {"duckdb", "spark"}
            Where to compute. Spark reads the store's tables (or ``source``, a Parquet folder
            reachable by the cluster) and the result is stored here.
        spark : SparkSession, optional
            The session for ``engine="spark"``; a local one by default.
        source : str or Path, optional
            Parquet folder for Spark (see `tierwise.backends.spark_tables`).
        rfm : RFMBinner, optional
            Score on these fitted edges instead of fitting new ones.
        fit_from : datetime.date or "latest", optional
            Reuse the fitted state (RFM edges, CLV parameters, quadrant lines) stored with
            that snapshot ("latest": the newest one before ``as_of``), so moves between days
            are moves of customers. By default ``run.fit`` of the config decides.
        refit : bool
            Learn everything anew even when ``run.fit`` is ``reuse_latest``.
        progress : callable, optional
            Called with a short description before each step.
        all_columns : bool
            Compute every feature column, not only those the config, the saved segments and
            the playbooks read (`tierwise.columns_read`).

        Raises
        ------
        FittedStateError
            When the state to reuse is missing or was learned under another config block.
        """
        say = progress or (lambda _msg: None)
        as_of = as_of or self.default_as_of()
        if source is None:  # a Parquet source need not be in the store
            first = self.store.oldest_data_day()
            if first is None:
                raise TierwiseError("the store has no orders or events yet; import data first")
            if as_of < first:
                raise TierwiseError(
                    f"--as-of {as_of} is before the first order or event ({first}): the "
                    "snapshot would be empty; nothing was stored"
                )
        fitted, fitted_source = self._fitted_state(as_of, fit_from, refit)
        if engine == "duckdb":
            from tierwise.backends import duckdb_tables

            tables = duckdb_tables(self.store)
        elif engine == "spark":
            from tierwise.backends import spark_session, spark_tables

            say("starting Spark")
            session = spark or spark_session()
            if source is not None:
                tables = spark_tables(session, source=source)
            else:
                tables = spark_tables(session, store=self.store)
        else:
            raise ValueError(f"engine must be duckdb or spark, not {engine!r}")
        resolution = self.resolve_identities() if self.store.count("identities") else None
        per_person = resolution is not None and self.config.identity.per_person
        config = self.run_config(all_columns=all_columns)
        if per_person:
            from tierwise.identity import apply_persons

            say("merging accounts into persons (identity)")
            tables = apply_persons(tables, resolution)
        say(f"computing features, scores and labels as of {as_of} on {engine}")
        result = compute_profiles(
            tables["customers"], tables["orders"], tables["events"], as_of,
            config, rfm=rfm, fitted=fitted,
            fitted_source=fitted_source, base_dir=self.directory,
            previous=self._previous_snapshot(as_of),
            store=self.store if resolution is None else None,
        )  # fmt: skip
        if resolution is not None:
            from dataclasses import replace

            from tierwise.identity import annotate_profiles

            st = resolution.stats
            result = replace(
                result,
                profile_data=annotate_profiles(result.profiles, resolution, per_person),
                notes=[
                    *result.notes,
                    f"identity: {st['accounts']:,} linked accounts form {st['persons']:,} "
                    f"persons ({st['merged_persons']:,} merged; "
                    f"{st['guarded_identifiers']:,} identifiers too widely shared to merge); "
                    + ("labels are per person" if per_person else "labels are per account"),
                ],
            )
        say("writing the snapshot: profiles and label rows (evidence is read from the profiles)")
        self.store.write_snapshot(
            as_of,
            result.profile_data,
            labels_query=lambda name, evidence=True: labels_query(
                name, result.config, result.rfm, result.scheme_params, evidence=evidence
            ),
            meta=result.meta(),
        )
        self._record_member_levels(as_of, result)
        self.record_segments(as_of, progress=say)
        try:
            self.enqueue_flows(as_of, progress=say)
        except TierwiseError as exc:
            raise TierwiseError(
                f"the snapshot as of {as_of} is stored, but its flows were not evaluated: "
                f"{exc}; fix it and run `tierwise flows enqueue --as-of {as_of}`"
            ) from None
        return result

    def _fitted_state(
        self, as_of: dt.date, fit_from: dt.date | str | None, refit: bool
    ) -> tuple[dict[str, Any] | None, str]:
        """The stored state a run reuses (``None``: fit anew) and where it comes from."""
        if refit:
            return None, ""
        if fit_from is None and self.config.run.fit == "reuse_latest":
            fit_from = "latest"
        if fit_from is None:
            return None, ""
        if fit_from == "latest":
            earlier = [d for d in self.store.snapshots() if d < as_of]
            if not earlier:
                return None, ""  # the first run of a shop learns what later runs reuse
            fit_from = earlier[-1]
        meta = self.store.snapshot_meta(fit_from)  # says so when there is no such snapshot
        if "fitted" not in meta:
            raise FittedStateError(
                f"the snapshot as of {fit_from} has no stored fitted state (made by an older "
                "tierwise); run with --refit"
            )
        return meta["fitted"], f"the snapshot as of {fit_from}"

    # -- read ---------------------------------------------------------------------------
    def snapshots(self) -> list[dt.date]:
        """As-of dates of the stored snapshots."""
        return self.store.snapshots()

    def fitted_rfm(self, as_of: dt.date | None = None) -> RFMBinner:
        """The RFM binner a snapshot was scored with, to score another run on the same edges."""
        meta = self.store.snapshot_meta(as_of or self.store.latest_snapshot())
        state = (meta.get("fitted") or {}).get("rfm", {}).get("state") or {
            "edges": meta["rfm_edges"]
        }
        binner = RFMBinner(quantiles=self.config.rfm.quantiles)
        binner.edges_ = state["edges"]
        binner.n_buyers_ = state.get("n_buyers")
        return binner

    def fitted_state(self, as_of: dt.date | None = None) -> dict[str, Any]:
        """What each learning step of a snapshot learned (or reused), as stored data."""
        return self.store.snapshot_meta(as_of or self.store.latest_snapshot()).get("fitted", {})

    def profiles(self, as_of: dt.date | None = None, *, format: TableFormat = "pandas") -> Any:
        """The profile table of a snapshot (newest by default)."""
        return _convert(self.store.read_profiles(as_of), format)

    def labels(
        self,
        as_of: dt.date | None = None,
        *,
        customer_id: str | None = None,
        format: TableFormat = "pandas",
    ) -> Any:
        """Every label with its rule and evidence (one row per customer and label)."""
        as_of = as_of or self.store.latest_snapshot()
        return _convert(self.store.read_labels(as_of, customer_id), format)

    def show(
        self, customer_id: str, as_of: dt.date | None = None, *, absent: bool = False
    ) -> CustomerProfile:
        """One customer's features, labels and the evidence of each label; with ``absent``
        also the feature columns the snapshot did not compute (nothing read them)."""
        as_of = as_of or self.store.latest_snapshot()
        features = self.store.customer_profile(as_of, customer_id)
        if features is None and self.store.count("identities"):
            person = self.resolve_identities().person_of(customer_id)  # an account of a person
            if person != customer_id:
                customer_id = person
                features = self.store.customer_profile(as_of, customer_id)
        if features is None:
            raise StoreError(f"no customer {customer_id!r} in the snapshot as of {as_of}")
        labels = self.store.read_labels(as_of, customer_id).to_pylist()
        for lab in labels:
            lab["evidence"] = json.loads(lab["evidence"])
        missing = self.absent_columns(as_of) if absent else []
        return CustomerProfile(customer_id, as_of, features, labels, missing)

    def summary(self, as_of: dt.date | None = None, *, format: TableFormat = "pandas") -> Any:
        """Customers per label of every scheme, with zh/en names.

        ``customers`` counts those for whom the label is the primary one of its scheme,
        ``carrying`` everyone who carries it (they differ in multi-label schemes), ``share``
        is ``carrying`` over all customers of the snapshot.
        """
        return _convert(self.store.label_summary(as_of or self.store.latest_snapshot()), format)

    def tag_distribution(
        self, by: str = "lifecycle", *, as_of: dt.date | None = None, format: TableFormat = "pandas"
    ) -> Any:
        """Per segment (a profile column such as ``lifecycle``), how many customers carry
        each precise tag: ``n_customers``, ``segment_size`` and their ``share``."""
        as_of = as_of or self.store.latest_snapshot()
        return _convert(self.store.tag_distribution(as_of, by), format)

    def intention_risers(
        self,
        *,
        since: dt.date | None = None,
        as_of: dt.date | None = None,
        format: TableFormat = "pandas",
    ) -> Any:
        """Customers whose intention score rose past a grade threshold: switch to a hard sell.

        Parameters
        ----------
        since : datetime.date, optional
            Crossings after this day; by default the snapshot before ``as_of`` (or 7 days).
        as_of : datetime.date, optional
            The last day looked at; by default the newest snapshot or data day.

        Returns
        -------
        table
            One row per crossing: when, which grade, the score before and after, the event
            that crossed it and the events of the week before (see
            `tierwise.intention.intention_crossings`). Thresholds are the ``high`` and
            ``medium`` params of the ``intention`` scheme.
        """
        from tierwise.backends import duckdb_tables
        from tierwise.intention import intention_crossings

        dates = self.store.snapshots()
        as_of = as_of or (dates[-1] if dates else self.default_as_of())
        if since is None:
            earlier = [d for d in dates if d < as_of]
            since = earlier[-1] if earlier else as_of - dt.timedelta(days=7)
        params = self.config.schemes["intention"].params
        thresholds = {g: float(params[g]) for g in ("high", "medium") if g in params}
        expr = intention_crossings(
            duckdb_tables(self.store)["events"], since=since, as_of=as_of,
            cfg=self.config.features.intention, thresholds=thresholds,
        )  # fmt: skip
        return _convert(expr.to_pyarrow(), format)

    def clv_validate(
        self,
        calibration_end: dt.date,
        observation_end: dt.date | None = None,
        *,
        model: str | None = None,
        penalizer: float | None = None,
        plots_dir: str | Path | None = None,
    ) -> Any:
        """Fit a purchase model on the calibration period and check it on the holdout.

        Parameters
        ----------
        calibration_end, observation_end : datetime.date
            Last day of calibration, and of the holdout (default: the newest order).
        model : str, optional
            ``paretonbd``, ``bgnbd`` or ``mbgnbd``; default ``clv.model`` of the config.
        penalizer : float, optional
            L2 penalty on the log-parameters; default ``clv.penalizer`` of the config.
        plots_dir : path, optional
            Write the model-check plots there as PNG: frequency histogram, cumulative and
            weekly repeat purchases, conditional expectations, P(alive) matrix.

        Returns
        -------
        tierwise.clv.CalibrationHoldoutReport
        """
        from tierwise.clv import calibration_holdout_report, make_model

        estimator = make_model(model or self.config.clv.model)
        estimator.penalizer = self.config.clv.penalizer if penalizer is None else penalizer
        report = calibration_holdout_report(
            self.store.paid_orders(observation_end).to_pandas(), calibration_end, observation_end,
            model=estimator, freq=self.config.clv.time_unit,
        )  # fmt: skip
        if plots_dir is not None:
            from tierwise.clv_plots import write_model_checks

            write_model_checks(report, plots_dir)
        return report

    def clv_fit(self, as_of: dt.date | None = None, *, model: str | None = None) -> Any:
        """Fit the purchase model (and Gamma-Gamma) on every buyer as of a day.

        Returns
        -------
        tierwise.steps.clv.CLVResult
            Per-customer predictions, the fitted models (parameters, standard errors,
            confidence intervals) and the learned quadrant thresholds.
        """
        from tierwise.backends import duckdb_tables
        from tierwise.steps.clv import clv_inputs, fit_clv

        as_of = as_of or self.default_as_of()
        cfg = self.config.clv.model_copy(update={"model": model} if model else {})
        inputs = clv_inputs(duckdb_tables(self.store)["orders"], as_of).to_pandas()
        return fit_clv(inputs, cfg)

    def clv_meta(self, as_of: dt.date | None = None) -> dict[str, Any]:
        """What a snapshot's CLV step fitted: models, parameters, thresholds, notes."""
        return self.store.snapshot_meta(as_of or self.store.latest_snapshot()).get("clv") or {}

    def export(
        self, what: Literal["profiles", "labels"], path: str | Path, *, as_of: dt.date | None = None
    ) -> Path:
        """Write the profile or label table to .csv (UTF-8 with BOM), .xlsx or .parquet."""
        from tierwise.export import write_table

        table = (
            self.store.read_profiles(as_of)
            if what == "profiles"
            else self.store.read_labels(as_of or self.store.latest_snapshot())
        )
        return write_table(table, path)

    # -- segments, moves, audiences ------------------------------------------------------
    def segment_book(self) -> Any:
        """The saved segments of this project (``segments.yaml``); see `tierwise.segments`."""
        from tierwise.segments import SegmentBook

        return SegmentBook(self.directory)

    def segment_context(self, as_of: dt.date | None = None) -> Any:
        """The context segment expressions are evaluated in, on a snapshot (newest default).

        Pass it with an expression to `tierwise.segments.segment_filter` to get a boolean Ibis
        expression over ``context.profiles``.
        """
        from tierwise.segments import store_context

        return store_context(
            self.store, self.config, as_of, segments=self.segment_book().expressions(),
            base_dir=self.directory,
        )  # fmt: skip

    def segment(
        self,
        name_or_expr: str,
        as_of: dt.date | None = None,
        *,
        columns: list[str] | None = None,
        format: TableFormat = "pandas",
    ) -> Any:
        """The profile rows of a segment's members (a saved segment's name or an expression).

        Examples
        --------
        >>> p.segment("orders > 2 and last_order_at > -30d")                # doctest: +SKIP
        >>> p.segment("vip_churn_risk", format="polars")                     # doctest: +SKIP
        """
        from tierwise.segments import resolve_segment, segment_members

        seg = resolve_segment(name_or_expr, self.segment_book())
        members = segment_members(seg, self.segment_context(as_of), columns)
        return _convert(members.to_pyarrow(), format)

    def segment_count(
        self, name_or_expr: str, as_of: dt.date | None = None, *, sample: int = 10
    ) -> Any:
        """How many customers a segment holds, with a sample; see `SegmentCount`."""
        from tierwise.segments import count_segment, resolve_segment

        seg = resolve_segment(name_or_expr, self.segment_book())
        return count_segment(seg, self.segment_context(as_of), sample=sample)

    def add_segment(self, name: str, expr: str, *, description: str = "") -> Any:
        """Check a segment on the newest snapshot (its syntax only without one) and save it.

        Nothing is saved when the expression is malformed, names an unknown column, label,
        tag or segment, or makes segments refer to each other in a cycle.
        """
        from tierwise.segments import ResolvedSegment, count_segment

        book = self.segment_book()
        if self.store.snapshots():
            ctx = self.segment_context()
            ctx.segments = {**ctx.segments, name: expr}
            count_segment(ResolvedSegment(expr, name), ctx, sample=0)
        return book.put(name, expr, description)

    def remove_segment(self, name: str) -> Any:
        """Delete a saved segment (its recorded membership history stays in the store)."""
        return self.segment_book().remove(name)

    def record_segments(
        self, as_of: dt.date | None = None, *, progress: Progress | None = None
    ) -> list[Any]:
        """Record every saved segment's members on a snapshot (done by each `run`)."""
        from tierwise.segments.saved import SEGMENTS_FILE

        if not (self.directory / SEGMENTS_FILE).exists():
            return []
        from tierwise.segments import record_memberships

        as_of = as_of or self.store.latest_snapshot()
        return record_memberships(self.store, self.config, self.directory, as_of,
                                  progress=progress)  # fmt: skip

    def segment_changes(
        self, name: str, *, since: dt.date | None = None, format: TableFormat = "pandas"
    ) -> Any:
        """Per recorded day: a saved segment's size, who entered and who exited."""
        self.segment_book().get(name)
        return _convert(self.store.segment_changes(name, since), format)

    def moves(
        self, scheme: str, from_: dt.date, to: dt.date, *, format: TableFormat = "pandas"
    ) -> Any:
        """The transition matrix of a scheme's labels between two snapshots (long form):
        customers, share of the from-row and revenue between the days per cell."""
        from tierwise.segments import transition_matrix

        if scheme == "member_level" and scheme not in self.config.schemes:
            from tierwise.members_report import level_transitions

            return _convert(level_transitions(self.store, self.config, from_, to), format)
        return _convert(transition_matrix(self.store, self.config, scheme, from_, to), format)

    def export_audience(
        self,
        name_or_expr: str,
        path: str | Path,
        *,
        columns: list[str] | None = None,
        as_of: dt.date | None = None,
        encoding: str = "utf-8-sig",
        unmask_pii: bool = False,
    ) -> Any:
        """Write a segment's members (personal data masked) with a manifest; log the export."""
        from tierwise.segments import export_audience

        return export_audience(
            self.store, self.config, self.directory, name_or_expr, path, columns=columns,
            as_of=as_of, encoding=encoding, unmask_pii=unmask_pii,
        )  # fmt: skip

    def backtest(
        self,
        cut: dt.date,
        until: dt.date | None = None,
        *,
        progress: Progress | None = None,
    ) -> Any:
        """Run as of ``cut`` on the data up to it, then measure every label after it.

        Nothing is stored: the run as of the cut is computed in memory (it reads only data
        stamped up to the end of ``cut``) and its labels and predictions are compared with
        each customer's paid orders in (cut, until].

        Parameters
        ----------
        cut : datetime.date
            The as-of day of the run under test.
        until : datetime.date, optional
            Last day of the holdout; by default the day of the newest order or event.
        progress : callable, optional
            Called with a short description before each step.

        Returns
        -------
        tierwise.backtest.Backtest
            Tables (pandas) per label, the declared orderings checked, CLV and P(alive) by
            decile, and ``.contradictions``.
        """
        from tierwise.backends import duckdb_tables
        from tierwise.backtest import backtest

        say = progress or (lambda _msg: None)
        until = until or self.default_as_of()
        first = self.store.oldest_data_day()
        if until <= cut:
            raise TierwiseError(f"the holdout must end after the cut: {until} is not after {cut}")
        if first is None or first > cut:
            raise TierwiseError(f"no data up to the cut {cut}; the oldest data is of {first}")
        say(f"computing features, scores and labels as of {cut}")
        tables = duckdb_tables(self.store)
        run = compute_profiles(
            tables["customers"], tables["orders"], tables["events"], cut, self.config,
            base_dir=self.directory,
        )  # fmt: skip
        say(f"reading the orders from {cut + dt.timedelta(days=1)} to {until}")
        holdout = self.store.holdout_outcomes(
            cut, until, default_margin_rate=self.config.clv.default_margin_rate
        ).to_pandas()
        clv = run.clv
        return backtest(
            run.profiles.to_pandas(), holdout, run.config.schemes, cut=cut, until=until,
            clv_model=clv.model if clv is not None else None,
            time_unit=run.config.clv.time_unit, note=clv.note if clv is not None else "",
        )  # fmt: skip

    # -- playbooks ----------------------------------------------------------------------
    def playbooks(self) -> Any:
        """The playbooks: the defaults with the project's ``playbooks.yaml`` merged over them."""
        from tierwise.playbooks._run import project_playbooks

        return project_playbooks(self.directory)

    def plan(
        self,
        as_of: dt.date | None = None,
        *,
        playbook: str = "default",
        send_at: dt.datetime | None = None,
        segment_resolver: Any = None,
        write: bool = True,
    ) -> Any:
        """Apply a playbook to a snapshot: one action per customer and channel, with caps,
        opt-outs, exclusions and control groups; store the plan (see docs/playbooks.md).

        Parameters
        ----------
        as_of : datetime.date, optional
            The snapshot (newest by default).
        playbook : str
            A playbook of `playbooks`.
        send_at : datetime.datetime, optional
            When the plan goes out (default: the start of the day after ``as_of``); actions
            in their channel's quiet hours are scheduled after them.
        segment_resolver : callable, optional
            ``resolver(name, profile_table) -> boolean expression`` for ``{segment: NAME}``.
        write : bool
            Store the plan (caps of later plans count it).

        Returns
        -------
        tierwise.playbooks.PlanResult
        """
        from tierwise.playbooks._run import make_plan

        return make_plan(
            self.store, self.config, self.directory, as_of=as_of, playbook=playbook,
            send_at=send_at, segment_resolver=segment_resolver, write=write,
        )  # fmt: skip

    def import_consent(self, path: str | Path, **options: Any) -> Any:
        """Import an opt-out or do-not-contact list (see `tierwise.playbooks.import_consent`)."""
        from tierwise.playbooks._run import import_consent

        options.setdefault("quarantine_dir", self.directory / "quarantine")
        return import_consent(self.store, self.playbooks(), path, **options)

    def import_sends(self, path: str | Path, **options: Any) -> Any:
        """Import a send log as ``campaign_send`` events (see `tierwise.playbooks.import_sends`)."""
        from tierwise.playbooks._run import import_sends

        options.setdefault("quarantine_dir", self.directory / "quarantine")
        return import_sends(self.store, self.playbooks(), path, **options)

    def uplift(
        self,
        playbook: str = "default",
        *,
        since: dt.date,
        window_days: int = 30,
        level: float = 0.95,
        plan_day: dt.date | None = None,
    ) -> Any:
        """Treated vs control per segment x action for the playbook's plans since a day (or
        the plan of ``plan_day``); plans with no send are left out, said in the notes.

        Returns
        -------
        tierwise.playbooks.UpliftResult
        """
        from tierwise.playbooks._run import uplift

        return uplift(self.store, self.config, playbook=playbook, since=since,
                      window_days=window_days, level=level, plan_day=plan_day)  # fmt: skip

    # -- service ------------------------------------------------------------------------
    def sibling(self) -> Project:
        """The same project on a second connection to this process's open store, for
        another thread (a run started by the service while it keeps answering)."""
        twin = Project(self.directory, read_only=self.read_only)
        twin._store = self.store.sibling()
        return twin

    # -- the columns a run computes ------------------------------------------------------
    def run_config(self, *, all_columns: bool = False) -> Config:
        """The config a run computes with: every feature column (``all_columns``), or the
        saved segments' and playbooks' columns added to ``features.keep_columns``."""
        from tierwise.columns_read import project_columns_read

        if all_columns:
            return self.config.with_overrides({"features": {"profile_columns": "all"}})
        if self.config.features.profile_columns == "all":
            return self.config
        extra = project_columns_read(self.directory) - set(self.config.features.keep_columns)
        if not extra:
            return self.config
        keep = [*self.config.features.keep_columns, *sorted(extra)]
        return self.config.with_overrides({"features": {"keep_columns": keep}})

    def absent_columns(self, as_of: dt.date | None = None) -> list[str]:
        """Feature columns a snapshot does not hold: nothing its run read them (compute them
        with ``tierwise run --all-columns``)."""
        from tierwise.features import feature_columns

        have = set(self.store.profile_columns(as_of or self.store.latest_snapshot()))
        return [c for c in feature_columns(self.config.features) if c not in have]

    # -- report -------------------------------------------------------------------------
    def report(
        self,
        path: str | Path,
        as_of: dt.date | None = None,
        *,
        lang: Literal["zh", "en"] = "zh",
        backtest: bool = True,
        backtest_cut: dt.date | None = None,
        progress: Progress | None = None,
    ) -> Any:
        """Write one self-contained HTML report of a snapshot (see `tierwise.report`).

        Parameters
        ----------
        path : str or Path
            The HTML file to write.
        as_of : datetime.date, optional
            The snapshot (newest by default); movements count from the one before it.
        lang : {"zh", "en"}
            The page's language.
        backtest : bool
            Include the backtest and the CLV holdout checks (a run computed in memory).
        backtest_cut : datetime.date, optional
            The backtest's cut: by default the previous snapshot, else 90 days before.

        Returns
        -------
        tierwise.report.ReportFile
        """
        from tierwise.report import write_report

        return write_report(
            self, path, as_of=as_of, lang=lang, backtest=backtest, backtest_cut=backtest_cut,
            progress=progress,
        )  # fmt: skip

    # -- flows ------------------------------------------------------------------------------
    def flows(self) -> Any:
        """The project's checked ``flows.yaml`` (no file: no flows).

        Returns
        -------
        tierwise.flows.FlowFile
        """
        from tierwise.flows import project_flows

        return project_flows(self.directory)

    def enqueue_flows(
        self,
        as_of: dt.date | None = None,
        *,
        only: str | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> Any:
        """Evaluate the flows on a snapshot (newest by default) and add their crossings to
        the outbox, once each (done by each `run` when ``flows.yaml`` has flows).

        Returns
        -------
        tierwise.flows.FlowPass or None
            ``None`` without flows.
        """
        from tierwise.flows import enqueue_crossings

        flows = self.flows()
        if not flows.flows:
            return None
        as_of = as_of or self.store.latest_snapshot()
        say = progress or (lambda _msg: None)
        say(f"evaluating {len(flows.flows)} flow(s)")
        result, added = enqueue_crossings(self.store, self.config, self.directory, as_of,
                                          flows=flows, only=only)  # fmt: skip
        result.added = added
        return result

    # -- entrance channels and distributors ------------------------------------------------
    def entrance_report(self, by: str = "channel", as_of: dt.date | None = None) -> Any:
        """Which entrances bring customers who stay, on a snapshot (newest by default).

        ``by``: ``channel``, ``kind``, ``segment`` or ``latest``; see
        `tierwise.entrance.entrance_report`. Returns a pandas DataFrame.
        """
        from tierwise.entrance import entrance_report

        return entrance_report(self.store.read_profiles(as_of).to_pandas(), by)

    def distributor_orders(self, as_of: dt.date | None = None) -> Any:
        """Every paid order up to ``as_of`` (default: the newest snapshot, else the newest
        data) with its distributor and commission; see `tierwise.distributors`."""
        from tierwise.backends import duckdb_tables
        from tierwise.distributors import attribute_orders
        from tierwise.features import cutoff_of

        as_of = as_of or (self.store.latest_snapshot() if self.snapshots() else None)
        as_of = as_of or self.default_as_of()
        return attribute_orders(duckdb_tables(self.store), cutoff_of(as_of),
                                self.config.distributors)  # fmt: skip

    def distributors_report(self, as_of: dt.date | None = None) -> Any:
        """Per distributor: customers brought, revenue, repurchase rate, commission, with the
        influence scores of the snapshot as of that day when there is one (pandas)."""
        from tierwise.distributors import distributor_report

        as_of = as_of or (self.store.latest_snapshot() if self.snapshots() else None)
        as_of = as_of or self.default_as_of()
        influence = None
        if as_of in self.snapshots():
            prof = self.store.read_profiles(as_of)
            cols = ["customer_id", "influence_score", "influence_reach"]
            if all(c in prof.column_names for c in cols):
                influence = prof.select(cols).to_pandas()
        return distributor_report(self.distributor_orders(as_of), influence)

    # -- identity -----------------------------------------------------------------------
    def identities(self, *, format: TableFormat = "pandas") -> Any:
        """The stored identifier links (phones and emails as salted hashes)."""
        return _convert(self.store.read("identities"), format)

    def resolve_identities(self, rules: Any = None) -> Any:
        """Merge accounts into persons under the config's ``identity`` rules (or ``rules``,
        an `IdentityConfig` or a dict of overrides); see `tierwise.identity.resolve`."""
        from tierwise.config import IdentityConfig
        from tierwise.identity import resolve

        if rules is None:
            rules = self.config.identity
        elif isinstance(rules, dict):
            rules = self.config.with_overrides({"identity": rules}).identity
        elif not isinstance(rules, IdentityConfig):
            raise TypeError("rules must be an IdentityConfig or a dict of identity settings")
        return resolve(self.store.read("identities"), rules)

    # -- member levels and the path -------------------------------------------------------
    def _previous_snapshot(self, as_of: dt.date) -> Any:
        """The newest stored snapshot before ``as_of`` for the steps (``None``: none)."""
        from tierwise.pipeline import previous_snapshot

        return previous_snapshot(self.store, as_of)

    def _record_member_levels(self, as_of: dt.date, result: ProfileRun) -> None:
        """Store the level changes of a run that computed member levels."""
        if "member_move" not in result.columns or not self.config.members.enabled:
            return
        from tierwise.members_report import HISTORY_SOURCE_COLUMNS, history_rows

        profiles = result.read(HISTORY_SOURCE_COLUMNS)
        self.store.write_member_history(as_of, history_rows(profiles))

    def member_history(
        self, customer_id: str | None = None, *, format: TableFormat = "pandas"
    ) -> Any:
        """Recorded level changes (new, upgrade, downgrade) with their evidence."""
        return _convert(self.store.member_history(customer_id), format)

    def member_moves(self, *, format: TableFormat = "pandas") -> Any:
        """Upgrades, downgrades and new members per snapshot day."""
        from tierwise.members_report import move_counts

        return _convert(move_counts(self.store), format)

    def member_levels(self, as_of: dt.date | None = None, *, format: TableFormat = "pandas"
                      ) -> Any:  # fmt: skip
        """The level table with customers per level on a snapshot and each level's benefits."""
        from tierwise.members_report import level_counts

        day = as_of or self.store.latest_snapshot()
        return _convert(level_counts(self.store, self.config, day), format)

    def member_compare(
        self,
        imported: str | Path | None = None,
        *,
        as_of: dt.date | None = None,
        format: TableFormat = "pandas",
    ) -> Any:
        """Customers whose computed level differs from the merchant's own (a file with
        ``customer_id`` and a level column, a customers column, or the configured source)."""
        from tierwise.members_report import compare_levels

        day = as_of or self.store.latest_snapshot()
        return _convert(compare_levels(self.store, self.config, day, imported), format)

    def funnel(
        self,
        as_of: dt.date | None = None,
        *,
        by: str | None = None,
        format: TableFormat = "pandas",
    ) -> Any:
        """The path's funnel on a snapshot: customers per stage, conversion to the next stage
        and the median days to reach it (from the snapshot history), optionally per breakdown."""
        from tierwise.funnel import funnel

        day = as_of or self.store.latest_snapshot()
        return _convert(funnel(self.store, self.config, day, by=by), format)
