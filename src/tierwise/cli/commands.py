"""The project commands: init, run, show, export, snapshots, demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tierwise.cli._app import app
from tierwise.cli._common import (
    AsJson,
    AsOf,
    Format,
    ProjectDir,
    Wait,
    command,
    emit,
    fail,
    human,
    open_project,
    out,
    parse_date,
    people_summary,
    progress,
)
from tierwise.cli._i18n import t


@command(
    app,
    help=t(
        "Make a project folder with a commented config file and an embedded DuckDB store.",
        "创建项目目录：带注释的配置文件和内嵌 DuckDB 存储。",
    ),
)
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create.")] = Path("."),
    force: Annotated[bool, typer.Option(help="Start over if a project is there.")] = False,
) -> None:
    """Make a project folder with a commented config file and an embedded DuckDB store."""
    from tierwise.project import Project

    p = Project.init(directory, force=force)
    out.print(f"created {p.directory / 'tierwise.yaml'} and {p.directory / 'tierwise.duckdb'}")


@command(
    app,
    help=t(
        "Compute every customer's features and labels as of a day; store the snapshot.",
        "计算截至某日每位客户的特征与标签，并保存为快照。",
    ),
)
def run(
    project: ProjectDir = None,
    as_of: AsOf = None,
    engine: Annotated[str, typer.Option(help="duckdb (embedded) or spark.")] = "duckdb",
    spark_master: Annotated[
        str, typer.Option(help="Spark master: local[N], spark://host:7077, yarn, k8s://…")
    ] = "local[2]",
    source: Annotated[
        str | None, typer.Option(help="Parquet folder the Spark cluster reads (export tables).")
    ] = None,
    reuse_fit: Annotated[
        str | None,
        typer.Option(
            help="Reuse the RFM edges, CLV parameters and quadrant lines of the "
            "snapshot of this day (or 'latest')."
        ),
    ] = None,
    refit: Annotated[
        bool, typer.Option("--refit", help="Learn everything anew (overrides run.fit).")
    ] = False,
    as_json: AsJson = False,
    fmt: Format = "table",
    all_columns: Annotated[
        bool,
        typer.Option(
            "--all-columns",
            help="Compute every feature column, not only those the config, segments and "
            "playbooks read.",
        ),
    ] = False,
) -> None:
    """Compute every customer's features and labels as of a day; store the snapshot."""
    fit_from = reuse_fit if reuse_fit in (None, "latest") else parse_date(reuse_fit, "--reuse-fit")
    with open_project(project) as p, out.status("starting…") as status:
        spark = None
        if engine == "spark":
            from tierwise.backends import spark_session

            status.update("[bold]starting Spark…")
            spark = spark_session(spark_master)
        result = p.run(
            parse_date(as_of), engine=engine, spark=spark, source=source,
            fit_from=fit_from, refit=refit, progress=progress(status), all_columns=all_columns,
        )  # fmt: skip
        summary = p.summary(result.as_of, format="arrow").to_pylist()
    if as_json or fmt != "table":
        emit("", summary, fmt=fmt, as_json=as_json)
        return
    title = t(f"snapshot as of {result.as_of}: {result.num_customers:,} customers",
              f"{result.as_of} 快照：{result.num_customers:,} 位客户")  # fmt: skip
    emit(title, people_summary(summary))
    for name, entry in result.fitted.items():
        if entry.get("reused"):
            out.print(f"{name}: reused the state fitted on {entry['fitted_on']}", highlight=False)
    for note in result.notes:
        out.print(f"note: {note}", highlight=False, markup=False)


@command(
    app,
    help=t(
        "One customer's profile: features, every label and the evidence for each.",
        "单个客户的画像：特征、全部标签及每个标签的依据。",
    ),
)
def show(
    customer_id: Annotated[str, typer.Argument(help="Customer id.")],
    project: ProjectDir = None,
    as_of: AsOf = None,
    as_json: AsJson = False,
    wait: Wait = 0.0,
    absent: Annotated[
        bool,
        typer.Option(
            "--absent", help="Also list the feature columns the snapshot did not compute."
        ),
    ] = False,
) -> None:
    """One customer's profile: features, every label and the evidence for each."""
    with open_project(project, read_only=True, wait=wait) as p:
        prof = p.show(customer_id, parse_date(as_of), absent=absent)
    if as_json:
        typer.echo(json.dumps(prof.to_dict(), ensure_ascii=False, default=str))
        return
    feats = [{"feature": k, "value": v} for k, v in prof.features.items() if v not in (None, 0)]
    emit(f"{customer_id} as of {prof.as_of}: features (zero/empty omitted)", feats)
    if prof.absent:
        out.print(
            t(f"not computed (nothing reads them; `tierwise run --all-columns`): "
              f"{', '.join(prof.absent)}",
              f"未计算（没有规则或步骤读取；可用 `tierwise run --all-columns`）："
              f"{', '.join(prof.absent)}"),
            highlight=False, markup=False,
        )  # fmt: skip
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
        out.print(f"    figures: {_pairs(ev['figures'])}", highlight=False, markup=False)
        if ev["params"]:
            out.print(f"    params:  {_pairs(ev['params'])}", highlight=False, markup=False)


def _pairs(values: dict) -> str:
    """``name=value`` pairs, numbers rounded for people."""
    return ", ".join(f"{k}={human(v, k) if v is not None else 'missing'}"
                     for k, v in values.items())  # fmt: skip


@command(
    app,
    help=t(
        "Write the profile table (or the labels with evidence) to a file.",
        "把画像表（或带依据的标签）导出到文件。",
    ),
)
def export(
    what: Annotated[str, typer.Argument(help="profiles or labels.")],
    path: Annotated[Path, typer.Argument(help="OUT.csv, OUT.xlsx or OUT.parquet.")],
    project: ProjectDir = None,
    as_of: AsOf = None,
    wait: Wait = 0.0,
) -> None:
    """Write the profile table (or the labels with evidence) to a file."""
    if what not in ("profiles", "labels"):
        raise fail(f"export takes profiles or labels, not {what!r}")
    with open_project(project, read_only=True, wait=wait) as p:
        written = p.export(what, path, as_of=parse_date(as_of))  # type: ignore[arg-type]
    out.print(f"wrote {written}")


@command(app, help=t("List the stored snapshots.", "列出已保存的快照。"))
def snapshots(project: ProjectDir = None, as_json: AsJson = False, wait: Wait = 0.0) -> None:
    """List the stored snapshots."""
    with open_project(project, read_only=True, wait=wait) as p:
        dates = p.snapshots()
    if as_json:
        typer.echo(json.dumps([d.isoformat() for d in dates]))
        return
    for d in dates:
        out.print(d.isoformat())


@command(
    app,
    help=t(
        "Generate a demo shop, import it, run the tiering and print a summary.",
        "生成演示店铺、导入、分层并打印汇总。",
    ),
)
def demo(
    directory: Annotated[Path, typer.Argument(help="Project folder to create.")] = Path(
        "demo-shop"
    ),
    customers: Annotated[int, typer.Option(help="Number of customers.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    force: Annotated[bool, typer.Option(help="Start over if the folder holds a project.")] = False,
) -> None:
    """Generate a demo shop, import it, run the tiering and print a summary."""
    from tierwise.demo.run import run_demo

    with out.status("starting…") as status:
        result = run_demo(
            directory, n_customers=customers, seed=seed, force=force, progress=progress(status)
        )
    for report in result.reports:
        out.print(report.summary(), highlight=False)
    emit(t(f"demo shop as of {result.as_of}: {result.customers:,} customers",
           f"演示店铺 {result.as_of}：{result.customers:,} 位客户"),
         people_summary(result.summary))  # fmt: skip
    if result.recovery:
        emit("planted truth recovered (precision / recall / F1)", result.recovery)
    if result.identity:
        i = result.identity
        out.print(t(f"accounts merged into persons: precision {i['precision']:.3f}, recall "
                    f"{i['recall']:.3f} over {i['pairs_true']:,} planted pairs",
                    f"账号合并：精确率 {i['precision']:.3f}，召回率 {i['recall']:.3f}"
                    f"（{i['pairs_true']:,} 对植入的同人账号）"), highlight=False)  # fmt: skip
    out.print(f"try: tierwise show {result.example_customer} -p {directory}")
