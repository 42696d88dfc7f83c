"""A tierwise project: a folder with a config file and an embedded store."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from tierwise.config import Config, default_config_text, load_config
from tierwise.errors import StoreError, TierwiseError
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

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-friendly)."""
        return {
            "customer_id": self.customer_id,
            "as_of": self.as_of.isoformat(),
            "features": {k: _jsonable(v) for k, v in self.features.items()},
            "labels": self.labels,
        }


def _margin_rates(store: Store, as_of: dt.date) -> Any:
    """Gross-margin rate of each customer's paid orders with a known margin, up to a day."""
    cutoff = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    rates = store.arrow(
        """SELECT customer_id, sum(coalesce(gross_margin, amount - cost)) / sum(amount) AS rate
           FROM orders WHERE status = 'paid' AND paid_at < ?
             AND coalesce(gross_margin, amount - cost) IS NOT NULL
           GROUP BY customer_id HAVING sum(amount) > 0""",
        [cutoff],
    ).to_pandas()
    rate = rates.set_index("customer_id").rate
    return rate.where(rate.between(0, 1))


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
        progress: Progress | None = None,
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
            Parquet folder for Spark (see `tierwise.engine.spark_tables`).
        rfm : RFMBinner, optional
            Score on these fitted edges instead of fitting new ones.
        progress : callable, optional
            Called with a short description before each step.
        """
        say = progress or (lambda _msg: None)
        as_of = as_of or self.default_as_of()
        if engine == "duckdb":
            from tierwise.engine import duckdb_tables

            tables = duckdb_tables(self.store)
        elif engine == "spark":
            from tierwise.engine import spark_session, spark_tables

            say("starting Spark")
            session = spark or spark_session()
            if source is not None:
                tables = spark_tables(session, source=source)
            else:
                tables = spark_tables(session, store=self.store)
        else:
            raise ValueError(f"engine must be duckdb or spark, not {engine!r}")
        say(f"computing features, scores and labels as of {as_of} on {engine}")
        result = compute_profiles(
            tables["customers"], tables["orders"], tables["events"], as_of, self.config,
            rfm=rfm, base_dir=self.directory,
        )  # fmt: skip
        say("writing the snapshot and the evidence of every label")
        self.store.write_snapshot(
            as_of,
            result.profiles,
            labels_query=lambda name: labels_query(name, result.config, result.rfm),
            meta=result.meta(),
        )
        return result

    # -- read ---------------------------------------------------------------------------
    def snapshots(self) -> list[dt.date]:
        """As-of dates of the stored snapshots."""
        return self.store.snapshots()

    def fitted_rfm(self, as_of: dt.date | None = None) -> RFMBinner:
        """The RFM binner a snapshot was scored with, to score another run on the same edges."""
        meta = self.store.snapshot_meta(as_of or self.store.latest_snapshot())
        binner = RFMBinner(quantiles=self.config.rfm.quantiles)
        binner.edges_ = meta["rfm_edges"]
        binner.n_buyers_ = None
        return binner

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

    def show(self, customer_id: str, as_of: dt.date | None = None) -> CustomerProfile:
        """One customer's features, labels and the evidence of each label."""
        as_of = as_of or self.store.latest_snapshot()
        features = self.store.customer_profile(as_of, customer_id)
        if features is None:
            raise StoreError(f"no customer {customer_id!r} in the snapshot as of {as_of}")
        labels = self.store.read_labels(as_of, customer_id).to_pylist()
        for lab in labels:
            lab["evidence"] = json.loads(lab["evidence"])
        return CustomerProfile(customer_id, as_of, features, labels)

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
        from tierwise.engine import duckdb_tables
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
        plots_dir: str | Path | None = None,
    ) -> Any:
        """Fit a purchase model on the calibration period and check it on the holdout.

        Parameters
        ----------
        calibration_end, observation_end : datetime.date
            Last day of calibration, and of the holdout (default: the newest order).
        model : str, optional
            ``paretonbd``, ``bgnbd`` or ``mbgnbd``; default ``clv.model`` of the config.
        plots_dir : path, optional
            Write the model-check plots there as PNG: frequency histogram, cumulative and
            weekly repeat purchases, conditional expectations, P(alive) matrix.

        Returns
        -------
        tierwise.clv.CalibrationHoldoutReport
        """
        from tierwise.clv import calibration_holdout_report

        report = calibration_holdout_report(
            self.store.paid_orders(observation_end).to_pandas(), calibration_end, observation_end,
            model=model or self.config.clv.model, freq=self.config.clv.time_unit,
        )  # fmt: skip
        if plots_dir is not None:
            from tierwise.clv_plots import write_model_checks

            write_model_checks(report, plots_dir)
        return report

    def clv_fit(self, as_of: dt.date | None = None, *, model: str | None = None) -> Any:
        """Fit the purchase model (and Gamma-Gamma) on every buyer as of a day.

        Returns
        -------
        tierwise.lifetime_value.CLVResult
            Per-customer predictions, the fitted models (parameters, standard errors,
            confidence intervals) and the learned quadrant thresholds.
        """
        from tierwise.engine import duckdb_tables
        from tierwise.lifetime_value import clv_inputs, fit_clv

        as_of = as_of or self.default_as_of()
        cfg = self.config.clv.model_copy(update={"model": model} if model else {})
        inputs = clv_inputs(duckdb_tables(self.store)["orders"], as_of).to_pandas()
        return fit_clv(inputs, _margin_rates(self.store, as_of), cfg)

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

    # -- service ------------------------------------------------------------------------
    def sibling(self) -> Project:
        """The same project on a second connection to this process's open store, for
        another thread (a run started by the service while it keeps answering)."""
        twin = Project(self.directory, read_only=self.read_only)
        twin._store = self.store.sibling()
        return twin
