"""`tierwise run` on a real Spark standalone cluster (a master and two workers on 127.0.0.1)
reads the demo shop from Parquet and stores the same profiles as DuckDB."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from test_spark import assert_same_profiles
from tierwise.backends import export_tables
from tierwise.project import Project
from tierwise.spark_cluster import ClusterError, SparkCluster, driver_env, stop_recorded

pytestmark = [pytest.mark.spark, pytest.mark.cluster]


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory) -> SparkCluster:
    """Two workers of one core and 2 GiB each; stopped after the module, pass or fail."""
    c = SparkCluster(
        workers=2,
        cores=1,
        memory="2g",
        directory=tmp_path_factory.mktemp("spark-cluster"),
        stop_with_parent=True,
    )
    request.addfinalizer(c.stop)
    return c.start()


@pytest.fixture(scope="module")
def duckdb_run(demo_shop, tmp_path_factory):
    """The demo shop imported into a project and run on DuckDB; its tables as Parquet."""
    base = tmp_path_factory.mktemp("duckdb-shop")
    files = demo_shop.write(base / "files", format="parquet")
    with Project.init(base / "project") as p:
        for entity in ("customers", "orders", "events"):
            p.import_file(entity, files[entity])
        p.run(demo_shop.as_of)
        export_tables(p.store, base / "parquet")
        profiles = p.profiles(demo_shop.as_of, format="arrow")
        labels = p.labels(demo_shop.as_of, format="arrow")
    return base / "parquet", profiles, labels


def _tierwise_command() -> list[str]:
    """The venv's ``tierwise`` command (the same interpreter and sources as this test)."""
    script = Path(sys.executable).parent / "tierwise"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from tierwise.cli import main; main()"]


def _sorted_labels(table: pa.Table) -> pa.Table:
    return table.sort_by([("customer_id", "ascending"), ("scheme", "ascending"),
                          ("label", "ascending")])  # fmt: skip


def test_cluster_binds_to_loopback_and_registers_both_workers(cluster):
    state = cluster.status()
    assert cluster.master_url.startswith("spark://127.0.0.1:")
    assert state["aliveworkers"] == 2
    assert state["cores"] == 2
    assert all(w["host"] == "127.0.0.1" for w in state["workers"])


def test_run_on_the_cluster_stores_the_duckdb_profiles(cluster, demo_shop, duckdb_run, tmp_path):
    parquet, duck_profiles, duck_labels = duckdb_run
    project = tmp_path / "spark-project"
    Project.init(project).close()
    before = {app["id"] for app in cluster.status()["completedapps"]}
    env = {**os.environ, **driver_env(cluster.host)}
    done = subprocess.run(
        [*_tierwise_command(), "run", "-p", str(project),
         "--engine", "spark", "--spark-master", cluster.master_url,
         "--source", str(parquet), "--as-of", str(demo_shop.as_of)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"snapshot as of {demo_shop.as_of}: 3,000 customers" in done.stdout

    # the application ran on the cluster: the master lists it, both workers ran its executors
    apps = [a for a in cluster.status()["completedapps"] if a["id"] not in before]
    assert [a["name"] for a in apps] == ["tierwise"]
    assert apps[0]["state"] == "FINISHED"
    executors = [
        e for w in cluster.worker_status() for e in w["finishedexecutors"]
        if e["appid"] == apps[0]["id"]
    ]  # fmt: skip
    assert len({e["appid"] + str(e["id"]) for e in executors}) >= 2
    assert all(len([e for e in w["finishedexecutors"] if e["appid"] == apps[0]["id"]]) >= 1
               for w in cluster.worker_status())  # fmt: skip

    with Project(project) as p:
        assert p.snapshots() == [demo_shop.as_of]
        spark_profiles = p.profiles(demo_shop.as_of, format="arrow")
        spark_labels = p.labels(demo_shop.as_of, format="arrow")
    assert spark_profiles.num_rows == 3000
    assert_same_profiles(duck_profiles, spark_profiles)
    assert _sorted_labels(spark_labels).equals(_sorted_labels(duck_labels))


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0]
    except OSError:
        return "Z"


def test_a_worker_that_fails_to_start_is_an_error_quoting_its_log(tmp_path):
    c = SparkCluster(workers=1, memory="not-a-size", directory=tmp_path, stop_with_parent=True)
    with pytest.raises(ClusterError, match=r"worker-1\.out exited|did not start|registered"):
        c.start(timeout=60)
    assert c.pids == []


def test_a_recorded_cluster_is_stopped_by_its_pid_file(cluster):
    """Last in this module: it stops the module's cluster the way `make spark-cluster-stop`
    does, from the ids recorded in its folder."""
    cluster.record()
    pids = cluster.pids
    assert len(pids) == 3
    assert stop_recorded(cluster.directory) == list(reversed(pids))
    assert not (cluster.directory / "cluster.json").exists()
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "Z" in _state(pid)
    assert stop_recorded(cluster.directory) == []
