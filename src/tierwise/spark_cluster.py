"""A Spark standalone cluster on this machine: one master and N workers on the loopback address.

It runs the master and worker daemons of the PySpark that is installed (``spark-class
org.apache.spark.deploy.master.Master`` and ``…worker.Worker``), each in its own process group
so that stopping a daemon also stops the executors and Python workers it started. Logs, work
and scratch folders live in one folder.

In Python, as a context manager::

    with SparkCluster(workers=2, cores=1, memory="2g") as cluster:
        spark = spark_session(cluster.master_url)
        project.run(engine="spark", spark=spark, source="/data/shop")

From a shell (the daemons stay up until ``stop``)::

    python -m tierwise.spark_cluster start --dir .spark-cluster --port 7077
    python -m tierwise.spark_cluster stop --dir .spark-cluster
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tierwise.errors import TierwiseError

__all__ = [
    "ClusterError",
    "SparkCluster",
    "driver_env",
    "free_port",
    "spark_home",
    "stop_recorded",
]

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
STATE_FILE = "cluster.json"
_PR_SET_PDEATHSIG = 1


class ClusterError(TierwiseError, RuntimeError):
    """The cluster could not start, or a daemon it started failed; the message quotes its log."""


def spark_home() -> Path:
    """The folder of the installed PySpark, which holds ``bin/spark-class`` and the jars."""
    try:
        import pyspark
    except ImportError as exc:
        raise ClusterError(
            "a Spark cluster needs the spark extra: pip install 'tierwise[spark]' (and Java 17)"
        ) from exc
    home = Path(pyspark.__file__).parent
    if not (home / "bin" / "spark-class").exists():
        raise ClusterError(f"{home} has no bin/spark-class; is PySpark installed from pip?")
    return home


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on at ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def driver_env(host: str = "127.0.0.1", python: str | None = None) -> dict[str, str]:
    """Environment for a driver process (``tierwise run``) talking to a cluster on ``host``.

    The driver binds to ``host`` and the executors start the same Python as the driver.
    """
    python = python or sys.executable
    return {"SPARK_LOCAL_IP": host, "PYSPARK_PYTHON": python, "PYSPARK_DRIVER_PYTHON": python}


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the process that started it ends."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # loopback only
        return json.loads(response.read().decode("utf-8"))


def _is_spark_daemon(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"org.apache.spark.deploy." in cmdline


def _stop_group(pid: int, timeout: float) -> None:
    """SIGTERM the process group led by ``pid``, then SIGKILL what is left after ``timeout``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except (ProcessLookupError, PermissionError):
                return
            with contextlib.suppress(ChildProcessError):
                os.waitpid(-pid, os.WNOHANG)
            time.sleep(0.1)


class SparkCluster:
    """A Spark standalone master and ``workers`` workers bound to one address of this machine.

    Parameters
    ----------
    workers : int
        Number of worker daemons.
    cores : int
        Cores each worker offers to applications.
    memory : str
        Memory each worker offers to executors (``2g``, ``2560m``); the default executor asks
        for 1 GiB, set ``spark.executor.memory`` at most this.
    host : str
        Address every daemon and web UI binds to (loopback by default).
    port : int, optional
        Master port; a free one when omitted.
    webui_port : int, optional
        Port of the master's web UI and JSON status; a free one when omitted.
    directory : str or Path, optional
        Folder for logs, work and scratch space; a temporary one (removed on stop) by default.
    python : str, optional
        Python the executors start for Python work; this interpreter by default.
    daemon_memory : str
        Heap of each master and worker JVM.
    stop_with_parent : bool
        Have the kernel stop the daemons if this process dies without stopping them.
    """

    def __init__(
        self,
        workers: int = 2,
        *,
        cores: int = 1,
        memory: str = "2g",
        host: str = "127.0.0.1",
        port: int | None = None,
        webui_port: int | None = None,
        directory: str | Path | None = None,
        python: str | None = None,
        daemon_memory: str = "512m",
        stop_with_parent: bool = False,
    ) -> None:
        if workers < 1 or cores < 1:
            raise ClusterError("a cluster needs at least one worker with at least one core")
        self.workers = workers
        self.cores = cores
        self.memory = memory
        self.host = host
        self.port = port
        self.webui_port = webui_port
        self.directory = Path(directory) if directory is not None else None
        self.python = python or sys.executable
        self.daemon_memory = daemon_memory
        self.stop_with_parent = stop_with_parent
        self._own_directory = directory is None
        self._procs: list[subprocess.Popen] = []
        self._logs: list[Path] = []
        self.worker_webui_ports: list[int] = []

    # -- addresses ------------------------------------------------------------------------
    @property
    def master_url(self) -> str:
        """``spark://host:port`` for ``spark_session`` or ``tierwise run --spark-master``."""
        return f"spark://{self.host}:{self.port}"

    @property
    def webui_url(self) -> str:
        """The master's web UI (its JSON status is at ``/json/``)."""
        return f"http://{self.host}:{self.webui_port}"

    @property
    def pids(self) -> list[int]:
        """Process ids of the daemons (each leads its own process group)."""
        return [p.pid for p in self._procs]

    # -- status ---------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """The master's JSON status: workers, cores, memory, active and completed apps."""
        return _get_json(f"{self.webui_url}/json/")

    def worker_status(self) -> list[dict[str, Any]]:
        """Each worker's JSON status, with its running and finished executors."""
        return [_get_json(f"http://{self.host}:{p}/json/") for p in self.worker_webui_ports]

    def alive_workers(self) -> int:
        """How many workers the master counts as alive (0 while it is not answering)."""
        try:
            state = self.status()
        except (OSError, ValueError):
            return 0
        return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")

    # -- start / stop ---------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        assert self.directory is not None
        home = spark_home()
        conf = self.directory / "conf"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SPARK_")}
        env.update(
            SPARK_HOME=str(home),
            SPARK_CONF_DIR=str(conf),
            SPARK_LOG_DIR=str(self.directory / "logs"),
            SPARK_LOCAL_DIRS=str(self.directory / "local"),
            SPARK_WORKER_DIR=str(self.directory / "work"),
            SPARK_LOCAL_IP=self.host,
            SPARK_MASTER_HOST=self.host,
            SPARK_DAEMON_MEMORY=self.daemon_memory,
            PYSPARK_PYTHON=self.python,
            TZ="UTC",
        )
        return env

    def _launch(self, name: str, args: list[str], env: dict[str, str]) -> None:
        assert self.directory is not None
        log = self.directory / "logs" / f"{name}.out"
        self._logs.append(log)
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [str(spark_home() / "bin" / "spark-class"), *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.directory,
                start_new_session=True,
                preexec_fn=_die_with_parent if self.stop_with_parent else None,
            )
        self._procs.append(proc)

    def _failed(self) -> str | None:
        for proc, log in zip(self._procs, self._logs, strict=True):
            if proc.poll() is not None:
                tail = log.read_text(errors="replace").splitlines()[-15:]
                return f"{log.name} exited with {proc.returncode}:\n" + "\n".join(tail)
        return None

    def start(self, timeout: float = 120.0) -> SparkCluster:
        """Start the master and the workers; return once every worker has registered."""
        if self._procs:
            raise ClusterError("this cluster is already started")
        if shutil.which("java") is None and "JAVA_HOME" not in os.environ:
            raise ClusterError("a Spark cluster needs Java 17 (java on PATH or JAVA_HOME)")
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="tierwise-spark-cluster-"))
        for sub in ("conf", "logs", "local", "work"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port(self.host)
        self.webui_port = self.webui_port or free_port(self.host)
        env = self._env()
        try:
            self._launch(
                "master",
                [MASTER_CLASS, "--host", self.host, "--port", str(self.port),
                 "--webui-port", str(self.webui_port)],
                env,
            )  # fmt: skip
            for i in range(1, self.workers + 1):
                ui = free_port(self.host)
                self.worker_webui_ports.append(ui)
                self._launch(
                    f"worker-{i}",
                    [WORKER_CLASS, "--host", self.host, "--webui-port", str(ui),
                     "--cores", str(self.cores), "--memory", self.memory,
                     "--work-dir", str(self.directory / "work" / f"worker-{i}"),
                     self.master_url],
                    env,
                )  # fmt: skip
            self._wait(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            failure = self._failed()
            if failure:
                raise ClusterError(f"the Spark cluster did not start: {failure}")
            alive = self.alive_workers()
            if alive >= self.workers:
                return
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"only {alive} of {self.workers} Spark workers registered with "
                    f"{self.master_url} within {timeout:.0f} s; logs in {self.directory / 'logs'}"
                )
            time.sleep(0.5)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the workers (with their executors), then the master; remove a temporary folder."""
        for proc in reversed(self._procs):
            _stop_group(proc.pid, timeout)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1)
        self._procs.clear()
        if self._own_directory and self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> SparkCluster:
        return self.start() if not self._procs else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- a cluster that outlives this process ---------------------------------------------
    def record(self) -> Path:
        """Write the daemons' ids and addresses to ``DIR/cluster.json`` for `stop_recorded`."""
        assert self.directory is not None
        path = self.directory / STATE_FILE
        path.write_text(
            json.dumps(
                {
                    "master_url": self.master_url,
                    "webui_url": self.webui_url,
                    "worker_webui_ports": self.worker_webui_ports,
                    "pids": self.pids,
                },
                indent=2,
            )
        )
        return path


def stop_recorded(directory: str | Path, timeout: float = 15.0) -> list[int]:
    """Stop the daemons recorded in ``DIR/cluster.json``; return the ids that were stopped.

    Only processes that are still Spark daemons are signalled, so a stale file whose ids were
    reused by other programs stops nothing.
    """
    path = Path(directory) / STATE_FILE
    if not path.exists():
        return []
    state = json.loads(path.read_text())
    stopped = []
    for pid in reversed(state.get("pids", [])):
        if _is_spark_daemon(pid):
            _stop_group(pid, timeout)
            stopped.append(pid)
    path.unlink()
    return stopped


def main(argv: list[str] | None = None) -> int:
    """``python -m tierwise.spark_cluster start|stop|status``."""
    ap = argparse.ArgumentParser(
        prog="python -m tierwise.spark_cluster",
        description="A Spark standalone master and workers on 127.0.0.1.",
    )
    ap.add_argument("action", choices=["start", "stop", "status"])
    ap.add_argument("--dir", type=Path, default=Path(".spark-cluster"), help="logs, pid file")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cores", type=int, default=1, help="cores per worker")
    ap.add_argument("--memory", default="2g", help="memory per worker")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=7077, help="master port (0: any free one)")
    ap.add_argument("--webui-port", type=int, default=8080, help="0: any free one")
    args = ap.parse_args(argv)
    try:
        if args.action == "stop":
            stopped = stop_recorded(args.dir)
            print(f"stopped {len(stopped)} Spark daemons" if stopped else "nothing to stop")
            return 0
        if args.action == "status":
            path = args.dir / STATE_FILE
            if not path.exists():
                print(f"no cluster recorded in {args.dir}")
                return 1
            state = json.loads(path.read_text())
            status = _get_json(f"{state['webui_url']}/json/")
            alive = sum(1 for w in status["workers"] if w["state"] == "ALIVE")
            print(f"{state['master_url']}: {alive} workers alive, {status['cores']} cores, "
                  f"{len(status['activeapps'])} running applications")  # fmt: skip
            return 0
        if (args.dir / STATE_FILE).exists():
            raise ClusterError(
                f"{args.dir / STATE_FILE} exists: a cluster may be running; stop it first"
            )
        cluster = SparkCluster(
            args.workers, cores=args.cores, memory=args.memory, host=args.host,
            port=args.port or None, webui_port=args.webui_port or None,
            directory=args.dir.resolve(),
        )  # fmt: skip
        cluster.start()
        cluster.record()
    except (TierwiseError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Spark master {cluster.master_url} with {cluster.workers} workers "
          f"({cluster.cores} core, {cluster.memory} each); UI {cluster.webui_url}")  # fmt: skip
    print(f"logs in {cluster.directory / 'logs'}; stop: python -m tierwise.spark_cluster stop "
          f"--dir {args.dir}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
