"""
A distributed Airflow deployment on this machine: the CeleryExecutor with two workers, as MWAA and Astro run it.

Its parts, each a process of its own started here and stopped by :meth:`CeleryDeployment.stop`: Redis (the broker,
Debian's ``redis-server`` on a free loopback port with its own data folder), a PostgreSQL metadata DB (also the
Celery result backend), the api-server, the scheduler, the dag-processor, the triggerer (human-in-the-loop
approvals defer to it) and two Celery workers, ``worker1`` and ``worker2``. Each worker serves the default queue and
a queue of its own (``worker1``, ``worker2``), and reports its own name as the task instances' ``hostname`` (through
``[core] hostname_callable``), so that tests can place a task on a worker and tell where each try ran.

A cluster policy in ``$AIRFLOW_HOME/config/airflow_local_settings.py`` places the tasks of a run whose conf has
``"queue"`` on that queue (``task_instance_mutation_hook``): consecutive runs of one DAG can run on different workers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.e2e.deployment import AIRFLOW, Deployment, free_port

WORKERS = ("worker1", "worker2")
"""The workers' names: each also the name of its own queue, and the ``hostname`` of the tries it runs."""

LOCAL_SETTINGS = '''
"""The end-to-end suite's cluster policy and worker names (tests/e2e/celery.py)."""
import os


def task_instance_mutation_hook(task_instance, dag_run=None):
    """A run whose conf names a queue puts its tasks there: a test places a run on one worker."""
    queue = ((dag_run.conf if dag_run is not None else None) or {}).get("queue")
    if queue:
        task_instance.queue = queue


def worker_hostname():
    """The worker's name (tests/e2e/celery.py gives each its own), else the machine's."""
    import socket

    return os.environ.get("WOOXY_E2E_WORKER") or socket.getfqdn()
'''


class Redis:
    """Debian's ``redis-server`` on a free loopback port, with its own data folder and no persistence."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise RuntimeError("redis-server is not installed (scripts/test.sh installs Debian's redis-server as root)")
        self.folder.mkdir(parents=True, exist_ok=True)
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder), "--save", ""]
        log = (self.folder / "redis.log").open("wb")
        self.proc = subprocess.Popen([server, *args, "--appendonly", "no"], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {(self.folder / 'redis.log').read_text()[-2000:]}")
            ping = subprocess.run(
                [shutil.which("redis-cli") or "redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
            )
            if ping.stdout.strip() == "PONG":
                return
            time.sleep(0.3)
        raise RuntimeError(f"redis-server did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class CeleryDeployment(Deployment):
    """
    :param database: the metadata DB, a PostgreSQL SQLAlchemy URL (``postgresql+psycopg2://...``).
    :param extra_env: more environment for every component (connections, the example DAGs' storage).
    """

    def __init__(self, home: Path, database: str, extra_env: dict[str, str] | None = None) -> None:
        self.redis = Redis(home / "redis")
        super().__init__(home, extra_env)
        (home / "config").mkdir(parents=True, exist_ok=True)
        (home / "config" / "airflow_local_settings.py").write_text(LOCAL_SETTINGS)
        self.env.update(
            {
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database,
                "AIRFLOW__CELERY__BROKER_URL": self.redis.url,
                # SQLAlchemy 2 reads a bare postgresql:// as psycopg 3, which is not installed.
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + database,
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": "3",
                "AIRFLOW__API_AUTH__JWT_SECRET": "wooxy-e2e-jwt-secret-0c1d2e3f4a5b6c7d",
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "airflow_local_settings.worker_hostname",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                # A lost worker's task is failed once its heartbeat is this old (300 s by default).
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(home / "config"), os.environ.get("PYTHONPATH")])),
                **(extra_env or {}),
            }
        )
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self, timeout: float = 300) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.redis.start()
        self.cli("db", "migrate", timeout=300)
        for component in ("api-server", "scheduler", "dag-processor", "triggerer"):
            args = ["api-server", "--port", str(self.port)] if component == "api-server" else [component]
            self._spawn(component, args)
        for worker in WORKERS:
            self.start_worker(worker)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited early:\n{self.log_tail()}")
            health = self.health()
            parts = ("metadatabase", "scheduler", "dag_processor", "triggerer")
            healthy = health and all((health.get(part) or {}).get("status") == "healthy" for part in parts)
            if healthy and self.workers_answering() == set(WORKERS):
                return
            time.sleep(2)
        raise RuntimeError(f"the Celery deployment was not healthy after {timeout:.0f} s:\n{self.log_tail()}")

    def start_worker(self, name: str) -> None:
        """Start Celery worker ``name`` on the default queue and its own (again, after :meth:`kill_worker`)."""
        env = {
            "WOOXY_E2E_WORKER": name,
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        }
        args = ["celery", "worker", "--celery-hostname", f"{name}@%h", "--queues", f"default,{name}"]
        self._spawn(name, [*args, "--without-mingle", "--without-gossip"], env)

    def kill_worker(self, name: str) -> None:
        """
        SIGKILL worker ``name`` and every process under it: a lost machine. Its tasks run in sessions of their own
        (Airflow's supervisor starts them so), so the whole tree is found first, then killed at once.
        """
        import psutil

        proc = self.procs.pop(name)
        root = psutil.Process(proc.pid)
        tree = [root, *root.children(recursive=True)]
        for member in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                member.send_signal(signal.SIGKILL)
        psutil.wait_procs(tree, timeout=30)
        proc.wait(timeout=30)

    def workers_answering(self) -> set[str]:
        """The workers that answer Celery's ping (through the broker)."""
        done = subprocess.run(
            [str(Path(AIRFLOW).with_name("celery")), "-b", self.redis.url, "inspect", "ping", "--timeout", "3"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return {worker for worker in WORKERS if f"{worker}@" in done.stdout}

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        log = self.log_path.open("ab")  # every component in one log, as the standalone's
        self.procs[name] = subprocess.Popen(
            [AIRFLOW, *args],
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        self.procs.clear()
        self.redis.stop()

    # -- where tasks ran -------------------------------------------------------------------------------------

    def tries(self, dag_id: str, run_id: str, task_id: str) -> list[dict[str, Any]]:
        """Every try of a task instance, oldest first: ``try_number``, ``state``, ``hostname`` (the worker)."""
        rows: list[dict[str, Any]] = self.rest("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/tries")[
            "task_instances"
        ]
        return sorted(rows, key=lambda row: row["try_number"])

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        """A try's log file, as the worker wrote it under the shared ``AIRFLOW_HOME`` (both workers share it)."""
        path = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        return (path / f"attempt={try_number}.log").read_text(errors="replace")
