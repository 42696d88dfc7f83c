"""The ``tierwise`` command: thin commands that call the library."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tierwise.errors import TierwiseError
from tierwise.project import Project

app = typer.Typer(
    name="tierwise",
    help="Customer tiering: lifecycle, RFM, value, behaviour and intention labels with evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class _Console:
    """A Rich console made at each use, so it sizes to the terminal (or COLUMNS) of that call."""

    def __init__(self, *, stderr: bool = False) -> None:
        self.stderr = stderr

    def __getattr__(self, name: str) -> Any:
        return getattr(Console(stderr=self.stderr), name)


out = _Console()
err = _Console(stderr=True)

ProjectDir = Annotated[
    Path, typer.Option("--project", "-p", envvar="TIERWISE_PROJECT", help="Project folder.")
]
AsOf = Annotated[
    str | None, typer.Option("--as-of", help="Day as YYYY-MM-DD (default: newest snapshot/data).")
]


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise TierwiseError(f"--as-of {value!r} is not a date like 2025-12-31") from None


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def _table(title: str, rows: list[dict[str, Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    for col in rows[0] if rows else []:
        table.add_column(str(col), overflow="fold")
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row.values()])
    return table


def _progress(status: Any) -> Any:
    return lambda msg: status.update(f"[bold]{msg}…")


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create.")] = Path("."),
    force: Annotated[bool, typer.Option(help="Start over if a project is there.")] = False,
) -> None:
    """Make a project folder with a commented config file and an embedded DuckDB store."""
    try:
        p = Project.init(directory, force=force)
    except TierwiseError as exc:
        raise _fail(exc) from None
    out.print(f"created {p.directory / 'tierwise.yaml'} and {p.directory / 'tierwise.duckdb'}")


@app.command("import")
def import_(
    entity: Annotated[str, typer.Argument(help="customers, orders or events.")],
    file: Annotated[Path, typer.Argument(help="CSV, .xlsx, .parquet or .jsonl file.")],
    project: ProjectDir = Path("."),
    mapping: Annotated[Path | None, typer.Option(help="YAML column/value mapping.")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: detect).")] = None,
    unknown_columns: Annotated[str, typer.Option(help="keep or ignore.")] = "keep",
    unknown_customers: Annotated[str, typer.Option(help="create or quarantine.")] = "create",
    on_conflict: Annotated[str, typer.Option(help="quarantine or update.")] = "quarantine",
) -> None:
    """Load a file into the store; rejected rows go to a quarantine file with the reason."""
    try:
        with Project(project) as p:
            report = p.import_file(
                entity, file, mapping=mapping, encoding=encoding,
                unknown_columns=unknown_columns, unknown_customers=unknown_customers,
                on_conflict=on_conflict,
            )  # fmt: skip
    except (TierwiseError, ValueError) as exc:
        raise _fail(exc) from None
    out.print(report.summary(), highlight=False)
    for problem in report.problems[:20]:
        err.print(f"  {problem}", highlight=False)
    if len(report.problems) > 20:
        err.print(f"  … {len(report.problems) - 20} more in {report.quarantine_path}")


@app.command()
def run(
    project: ProjectDir = Path("."),
    as_of: AsOf = None,
    engine: Annotated[str, typer.Option(help="duckdb (embedded) or spark.")] = "duckdb",
    spark_master: Annotated[
        str, typer.Option(help="Spark master: local[N], spark://host:7077, yarn, k8s://…")
    ] = "local[2]",
    source: Annotated[
        str | None, typer.Option(help="Parquet folder the Spark cluster reads (export tables).")
    ] = None,
) -> None:
    """Compute every customer's features and labels as of a day; store the snapshot."""
    try:
        with Project(project) as p, out.status("starting…") as status:
            spark = None
            if engine == "spark":
                from tierwise.engine import spark_session

                status.update("[bold]starting Spark…")
                spark = spark_session(spark_master)
            result = p.run(
                _date(as_of), engine=engine, spark=spark, source=source,
                progress=_progress(status),
            )  # fmt: skip
            summary = p.summary(result.as_of, format="arrow").to_pylist()
    except (TierwiseError, ValueError) as exc:
        raise _fail(exc) from None
    out.print(
        _table(f"snapshot as of {result.as_of}: {result.profiles.num_rows} customers", summary)
    )


@app.command()
def show(
    customer_id: Annotated[str, typer.Argument(help="Customer id.")],
    project: ProjectDir = Path("."),
    as_of: AsOf = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One customer's profile: features, every label and the evidence for each."""
    try:
        with Project(project) as p:
            prof = p.show(customer_id, _date(as_of))
    except TierwiseError as exc:
        raise _fail(exc) from None
    if as_json:
        out.print_json(json.dumps(prof.to_dict(), ensure_ascii=False, default=str))
        return
    feats = [{"feature": k, "value": v} for k, v in prof.features.items() if v not in (None, 0)]
    out.print(_table(f"{customer_id} as of {prof.as_of}: features (zero/empty omitted)", feats))
    out.print("[bold]labels and evidence[/bold]")
    for lab in prof.labels:
        primary = " [green](primary)[/green]" if lab["is_primary"] else ""
        out.print(
            f"[bold]{lab['scheme']}[/bold]: {lab['label']}  {lab['label_zh']} / "
            f"{lab['label_en']}{primary}",
            highlight=False,
        )
        ev = lab["evidence"]
        out.print(f"    rule:    {lab['rule']}", highlight=False, markup=False)
        out.print(f"    figures: {json.dumps(ev['figures'], ensure_ascii=False)}", markup=False)
        if ev["params"]:
            out.print(f"    params:  {json.dumps(ev['params'], ensure_ascii=False)}", markup=False)


@app.command()
def export(
    what: Annotated[str, typer.Argument(help="profiles or labels.")],
    path: Annotated[Path, typer.Argument(help="OUT.csv, OUT.xlsx or OUT.parquet.")],
    project: ProjectDir = Path("."),
    as_of: AsOf = None,
) -> None:
    """Write the profile table (or the labels with evidence) to a file."""
    if what not in ("profiles", "labels"):
        raise _fail(ValueError(f"export takes profiles or labels, not {what!r}"))
    try:
        with Project(project) as p:
            written = p.export(what, path, as_of=_date(as_of))  # type: ignore[arg-type]
    except TierwiseError as exc:
        raise _fail(exc) from None
    out.print(f"wrote {written}")


@app.command()
def snapshots(project: ProjectDir = Path(".")) -> None:
    """List the stored snapshots."""
    try:
        with Project(project) as p:
            dates = p.snapshots()
    except TierwiseError as exc:
        raise _fail(exc) from None
    for d in dates:
        out.print(d.isoformat())


intention_app = typer.Typer(help="Intention grades (seed 001).", no_args_is_help=True)
app.add_typer(intention_app, name="intention")


@intention_app.command("risers")
def intention_risers(
    project: ProjectDir = Path("."),
    as_of: AsOf = None,
    since: Annotated[
        str | None, typer.Option(help="Crossings after this day (default: previous snapshot).")
    ] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Also write to a file.")] = None,
) -> None:
    """Customers whose intention score rose past a grade threshold: switch to a hard sell."""
    try:
        with Project(project) as p:
            table = p.intention_risers(since=_date(since), as_of=_date(as_of), format="arrow")
            if out_file is not None:
                from tierwise.export import write_table

                write_table(table, out_file)
    except TierwiseError as exc:
        raise _fail(exc) from None
    rows = table.to_pylist()
    out.print(_table(f"{len(rows)} rises past an intention threshold", rows[:50]))
    if len(rows) > 50:
        out.print(f"… {len(rows) - 50} more (use --out FILE)")


tags_app = typer.Typer(help="Precise tags from comment text (seed 001, 003).", no_args_is_help=True)
app.add_typer(tags_app, name="tags")


@tags_app.command("text")
def tags_text(
    file: Annotated[Path, typer.Argument(help="CSV, .xlsx, .parquet or .jsonl file.")],
    column: Annotated[str, typer.Option(help="Column holding the text.")] = "text",
    lexicon: Annotated[
        list[Path] | None, typer.Option(help="Extra lexicon file (repeatable).")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: detect).")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write every tag found.")] = None,
) -> None:
    """Tag the texts of a file; print how often each tag was found."""
    from tierwise.tags.files import tag_file

    try:
        hits = tag_file(file, column=column, lexicons=lexicon or [], encoding=encoding)
        if out_file is not None:
            import pyarrow as pa

            from tierwise.export import write_table

            write_table(pa.Table.from_pandas(hits, preserve_index=False), out_file)
    except (TierwiseError, ValueError) as exc:
        raise _fail(exc) from None
    counts = (
        hits.groupby(["major", "minor", "minor_zh", "minor_en"], observed=True)
        .size()
        .sort_values(ascending=False)
        .reset_index(name="texts")
    )
    out.print(_table(f"tags in {file.name}", counts.to_dict("records")))


@tags_app.command("segments")
def tags_segments(
    project: ProjectDir = Path("."),
    by: Annotated[str, typer.Option(help="Profile column to segment by.")] = "lifecycle",
    as_of: AsOf = None,
    top: Annotated[int, typer.Option(help="Tags shown per segment.")] = 5,
) -> None:
    """How many customers of each segment carry each tag (from a snapshot)."""
    try:
        with Project(project) as p:
            dist = p.tag_distribution(by, as_of=_date(as_of))
    except TierwiseError as exc:
        raise _fail(exc) from None
    shown = dist.groupby("segment", sort=True).head(top)
    out.print(_table(f"tags by {by}", shown.to_dict("records")))


clv_app = typer.Typer(help="Lifetime value: fit, validate, show.", no_args_is_help=True)
app.add_typer(clv_app, name="clv")


@clv_app.command("fit")
def clv_fit(
    project: ProjectDir = Path("."),
    as_of: AsOf = None,
    model: Annotated[str | None, typer.Option(help="paretonbd, bgnbd or mbgnbd.")] = None,
) -> None:
    """Fit the purchase and spend models on every buyer; print parameters and errors."""
    try:
        with Project(project) as p:
            result = p.clv_fit(_date(as_of), model=model)
    except (TierwiseError, ValueError) as exc:
        raise _fail(exc) from None
    if result.model is None:
        raise _fail(TierwiseError(result.note))
    for m in (result.model, result.spend_model):
        if m is not None:
            rows = m.summary().reset_index().to_dict("records")
            title = f"{type(m).__name__}: log-likelihood {m.log_likelihood_:.1f}"
            out.print(_table(title, rows))
    out.print(f"quadrant thresholds: {result.quadrant_thresholds}")
    if result.note:
        out.print(f"note: {result.note}")


@clv_app.command("validate")
def clv_validate(
    calibration_end: Annotated[str, typer.Argument(help="Last day of calibration.")],
    project: ProjectDir = Path("."),
    observation_end: Annotated[
        str | None, typer.Option(help="Last day of the holdout (default: newest order).")
    ] = None,
    model: Annotated[str | None, typer.Option(help="paretonbd, bgnbd or mbgnbd.")] = None,
    plots: Annotated[Path | None, typer.Option(help="Write the model-check PNGs here.")] = None,
) -> None:
    """Calibration/holdout check: predicted vs actual repeat purchases."""
    try:
        with Project(project) as p:
            report = p.clv_validate(
                _date(calibration_end), _date(observation_end), model=model, plots_dir=plots
            )
    except (TierwiseError, ValueError) as exc:
        raise _fail(exc) from None
    figures = report.to_dict()
    rows = [{"figure": k, "value": v} for k, v in figures.items() if not isinstance(v, dict)]
    out.print(_table(f"{report.model}: calibration to {calibration_end}", rows))
    if plots is not None:
        out.print(f"plots written to {plots}")


@clv_app.command("show")
def clv_show(project: ProjectDir = Path("."), as_of: AsOf = None) -> None:
    """What a snapshot's CLV step fitted: models, parameters, quadrant thresholds."""
    try:
        with Project(project) as p:
            day = _date(as_of) or p.store.latest_snapshot()
            meta = p.store.snapshot_meta(day).get("clv") or {}
    except TierwiseError as exc:
        raise _fail(exc) from None
    out.print_json(json.dumps(meta, ensure_ascii=False))


@app.command()
def demo(
    directory: Annotated[Path, typer.Argument(help="Project folder to create.")] = Path(
        "demo-shop"
    ),
    customers: Annotated[int, typer.Option(help="Number of customers.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    force: Annotated[bool, typer.Option(help="Start over if the folder holds a project.")] = False,
) -> None:
    """Generate a demo shop, import it, run the tiering and print a summary."""
    from tierwise.demo_run import run_demo

    try:
        with out.status("starting…") as status:
            result = run_demo(
                directory, n_customers=customers, seed=seed, force=force,
                progress=_progress(status),
            )  # fmt: skip
    except (TierwiseError, ValueError) as exc:
        raise _fail(exc) from None
    for report in result.reports:
        out.print(report.summary(), highlight=False)
    out.print(
        _table(f"demo shop as of {result.as_of}: {result.customers} customers", result.summary)
    )
    if result.recovery:
        out.print(_table("planted truth recovered (precision / recall / F1)", result.recovery))
    out.print(f"try: tierwise show {result.example_customer} -p {directory}")


def main() -> None:
    """Entry point of the ``tierwise`` command."""
    app()


if __name__ == "__main__":
    main()
