"""
One Airflow deployment for the whole end-to-end suite (starting ``airflow standalone`` costs a minute or two of a
2-core machine): the suite's own DAGs (tests/e2e/dags) and the sync approval example DAG, one Wooxy sandbox, and the
``wooxy_default`` connection and ``wooxy_api`` pool set up with the CLI commands the README gives a user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_wooxy.compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_VERSION
from airflow_provider_wooxy.sandbox import WooxySandbox
from tests.e2e.deployment import DAGS, Deployment

TOKEN = "e2e-token-4b1d9f27"
EXAMPLES = Path(__file__).parents[2] / "example_dags"
SYNC_DAG_FILE = EXAMPLES / "example_wooxy_sync_with_approval.py"
ROOT = Path(__file__).parents[2]
ARTIFACTS = ROOT / "test-artifacts" / f"airflow-{AIRFLOW_VERSION}"  # one folder per matrix leg
POSTGRES_PORT = os.environ.get("WOOXY_E2E_POSTGRES_PORT", "54331")


@pytest.fixture(scope="session")
def metadata_db() -> Iterator[str | None]:
    """Airflow 2's metadata DB: a PostgreSQL of its own (scripts/postgres.sh), started and stopped here; None on 3.x
    (its standalone runs the LocalExecutor on SQLite)."""
    if AIRFLOW_V_3_0_PLUS:
        yield None
        return
    cluster = ROOT / "test-artifacts" / "postgres-e2e"
    script = str(ROOT / "scripts" / "postgres.sh")
    uri = subprocess.run([script, "start", str(cluster), POSTGRES_PORT], capture_output=True, text=True)
    if uri.returncode != 0:
        pytest.fail(f"Airflow 2's end-to-end suite needs PostgreSQL; scripts/postgres.sh start failed:\n{uri.stderr}")
    name = f"airflow_e2e_{os.getpid()}"  # a fresh database per run
    subprocess.run([script, "createdb", str(cluster), name], check=True)
    try:
        base = uri.stdout.strip().rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://", 1)
        yield f"{base}/{name}"
    finally:
        subprocess.run([script, "stop", str(cluster)], check=False)


@pytest.fixture(scope="session")
def api() -> Iterator[WooxySandbox]:
    with WooxySandbox(token=TOKEN, latency=0.05) as sandbox:
        yield sandbox


@pytest.fixture(scope="session")
def airflow(
    tmp_path_factory: pytest.TempPathFactory, api: WooxySandbox, metadata_db: str | None
) -> Iterator[Deployment]:
    home = tmp_path_factory.mktemp("airflow-e2e")
    dags = home / "dags"
    dags.mkdir()
    for dag_file in [*DAGS.glob("*.py"), SYNC_DAG_FILE]:
        shutil.copy(dag_file, dags)
    deployment = Deployment(
        home,
        {
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "WOOXY_EXAMPLE_STORAGE": f"file://{home}/data",
            # On a loaded 2-core machine the task supervisor's calls to the execution API outlast the 5 s default.
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
        },
        database=metadata_db,
    )
    try:
        deployment.start()
        # What the README tells a user to run.
        deployment.cli(
            "connections",
            "add",
            "wooxy_default",
            "--conn-type",
            "wooxy",
            "--conn-host",
            api.url,
            "--conn-password",
            TOKEN,
        )
        deployment.cli("pools", "set", "wooxy_api", "10", "Wooxy API: at most 10 concurrent requests")
        yield deployment
    finally:
        deployment.stop()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        if deployment.log_path.exists():
            shutil.copy(deployment.log_path, ARTIFACTS / "airflow-standalone.log")
