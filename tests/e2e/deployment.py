"""A real Airflow deployment (``airflow standalone``: on 3.x API server, scheduler with LocalExecutor, DAG processor,
triggerer; on 2.x webserver, scheduler with LocalExecutor on a PostgreSQL metadata DB, triggerer) under a temporary
AIRFLOW_HOME, driven through the ``airflow`` CLI as a user would, and watched through the REST API (``/api/v2`` on
3.x; ``/api/v1`` with basic auth, the standalone admin, on 2.x): a poll costs a request, where a CLI call imports
Airflow again (several seconds of a core, taken from the scheduler on a 2-core machine)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from base64 import b64encode
from pathlib import Path
from typing import Any

from airflow_provider_wooxy.compat import AIRFLOW_V_3_0_PLUS

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
DAGS = Path(__file__).parent / "dags"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Deployment:
    """:param database: the metadata DB's SQLAlchemy URL; Airflow 2 needs one that is not SQLite for the
    LocalExecutor (with SQLite its standalone falls back to the SequentialExecutor, one task at a time)."""

    def __init__(self, home: Path, extra_env: dict[str, str] | None = None, database: str | None = None) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        self.log_path = home / "standalone.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW__"))},
            "AIRFLOW_HOME": str(home),
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__API__PORT": str(self.port),
            # One API worker: the default 4 cost a core's worth of start-up, and on a busy 2-core machine Airflow
            # 3.0's uvicorn supervisor kept killing and restarting them before they answered.
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            **({} if AIRFLOW_V_3_0_PLUS else self._airflow2_env(database)),
            **(extra_env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def _airflow2_env(self, database: str | None) -> dict[str, str]:
        assert database, "Airflow 2's end-to-end suite needs a PostgreSQL metadata DB (LocalExecutor)"
        return {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database,
            "AIRFLOW__WEBSERVER__WEB_SERVER_PORT": str(self.port),
            "AIRFLOW__WEBSERVER__BASE_URL": self.url,
            "AIRFLOW__WEBSERVER__WORKERS": "1",
            "AIRFLOW__API__AUTH_BACKENDS": "airflow.api.auth.backend.basic_auth",
            "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "5",
        }

    @property
    def admin(self) -> tuple[str, str]:
        """Airflow 2's standalone admin: user ``admin``, the password it wrote to its home."""
        return "admin", (self.home / "standalone_admin_password.txt").read_text().strip()

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self, timeout: float = 240) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [AIRFLOW, "standalone"], env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"airflow standalone exited early:\n{self.log_tail()}")
            health = self.health()
            parts = ("metadatabase", "scheduler", *(["dag_processor"] if AIRFLOW_V_3_0_PLUS else []))
            if health and all((health.get(part) or {}).get("status") == "healthy" for part in parts):
                return
            time.sleep(2)
        raise RuntimeError(f"airflow standalone not healthy after {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def health(self) -> dict[str, Any] | None:
        try:
            path = "/api/v2/monitor/health" if AIRFLOW_V_3_0_PLUS else "/health"
            with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as response:
                result: dict[str, Any] = json.load(response)
                return result
        except OSError:
            return None

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    # -- the CLI, as a user runs it --------------------------------------------------------------------------

    def cli(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done

    def cli_json(self, *args: str) -> Any:
        out = self.cli(*args, "--output", "json").stdout
        for line in reversed(out.splitlines()):  # warnings may come first on stdout; the JSON is one line
            if line.startswith(("[", "{")):
                try:
                    return json.loads(line)
                except ValueError:
                    continue
        raise RuntimeError(f"airflow {' '.join(args)} printed no JSON:\n{out[-2000:]}")

    # -- the REST API (3.x: simple auth manager, all admins, no token needed; 2.x: basic auth) ------------------

    def rest(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """``method /api/v2<path>`` (``/api/v1`` on 2.x); an HTTP error raises :class:`urllib.error.HTTPError`."""
        headers = {"Content-Type": "application/json"}
        if not AIRFLOW_V_3_0_PLUS:
            headers["Authorization"] = "Basic " + b64encode(":".join(self.admin).encode()).decode()
        request = urllib.request.Request(
            f"{self.url}/api/{'v2' if AIRFLOW_V_3_0_PLUS else 'v1'}{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers=headers,
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.rest("GET", f"/dags/{dag_id}")
                return
            except urllib.error.HTTPError as exc:
                if exc.code != 404:
                    raise
            time.sleep(2)
        raise RuntimeError(f"DAG {dag_id} was not parsed within {timeout:.0f} s:\n{self.log_tail()}")

    def trigger(self, dag_id: str) -> str:
        self.wait_for_dag(dag_id)
        self.cli("dags", "unpause", dag_id)
        runs = self.cli_json("dags", "trigger", dag_id)
        run = runs[0] if isinstance(runs, list) else runs
        return str(run["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.rest("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def run_states(self, dag_id: str) -> list[str]:
        """The state of every run of the DAG."""
        return [str(run["state"]) for run in self.rest("GET", f"/dags/{dag_id}/dagRuns")["dag_runs"]]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        state = "unknown"
        while time.monotonic() < deadline:
            state = self.run_state(dag_id, run_id)
            if state in ("success", "failed"):
                return state
            time.sleep(2)
        return state

    def task_states(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Each task instance of the run: ``task_id``, ``state``, ``start_date``, ``end_date`` (ISO 8601)."""
        rows: list[dict[str, Any]] = self.rest("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")[
            "task_instances"
        ]
        return rows
