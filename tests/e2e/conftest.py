"""
One Airflow deployment for the whole end-to-end suite (starting one costs a minute or two of a 2-core machine): the
suite's own DAGs (tests/e2e/dags) and the sync approval example DAG, one Wooxy sandbox, and the ``wooxy_default``
connection and ``wooxy_api`` pool set up with the CLI commands the README gives a user.

On Airflow 3.3 (the newest leg) it is distributed: the CeleryExecutor with two workers, Redis and a PostgreSQL
metadata DB (tests/e2e/celery.py), and the example DAGs keep their files on an S3 API server (moto). On older
releases it is ``airflow standalone`` (the LocalExecutor; on 2.x with a PostgreSQL metadata DB). The deployment lives
as long as the suite's package: it stops before the rest of the leg's tests run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_wooxy.compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_3_PLUS, AIRFLOW_VERSION
from airflow_provider_wooxy.sandbox import WooxySandbox
from tests.e2e.celery import CeleryDeployment
from tests.e2e.deployment import DAGS, Deployment, free_port
from tests.sources.services import S3, s3_server

__all__ = ["s3_server"]

TOKEN = "e2e-token-4b1d9f27"
EXAMPLES = Path(__file__).parents[2] / "example_dags"
SYNC_DAG_FILE = EXAMPLES / "example_wooxy_sync_with_approval.py"
ROOT = Path(__file__).parents[2]
ARTIFACTS = ROOT / "test-artifacts" / f"airflow-{AIRFLOW_VERSION}"  # one folder per matrix leg
CELERY = AIRFLOW_V_3_3_PLUS
"""Whether the suite runs on the CeleryExecutor (two workers) rather than ``airflow standalone``."""
EXAMPLE_BUCKET = "wooxy-e2e"


@pytest.fixture(scope="package")
def metadata_db() -> Iterator[str | None]:
    """The metadata DB: a PostgreSQL of its own (scripts/postgres.sh), started and stopped here, for Airflow 2 (the
    LocalExecutor refuses SQLite there) and the CeleryExecutor; None for 3.x's standalone (SQLite)."""
    if AIRFLOW_V_3_0_PLUS and not CELERY:
        yield None
        return
    cluster = ROOT / "test-artifacts" / f"postgres-e2e-{os.environ.get('WOOXY_LEG', 'default')}"
    script = str(ROOT / "scripts" / "postgres.sh")
    port = os.environ.get("WOOXY_E2E_POSTGRES_PORT") or str(free_port())
    uri = subprocess.run([script, "start", str(cluster), port], capture_output=True, text=True)
    if uri.returncode != 0:
        pytest.fail(f"the end-to-end suite needs PostgreSQL; scripts/postgres.sh start failed:\n{uri.stderr}")
    name = f"airflow_e2e_{os.getpid()}"  # a fresh database per run
    subprocess.run([script, "createdb", str(cluster), name], check=True)
    try:
        base = uri.stdout.strip().rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://", 1)
        yield f"{base}/{name}"
    finally:
        subprocess.run([script, "stop", str(cluster)], check=False)


@pytest.fixture(scope="package")
def api() -> Iterator[WooxySandbox]:
    with WooxySandbox(token=TOKEN, latency=0.05) as sandbox:
        yield sandbox


@pytest.fixture(scope="package")
def example_storage(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Where the example DAGs keep their files: a local folder on one machine; S3 (moto, the bucket
    :data:`EXAMPLE_BUCKET`) for the workers of the CeleryExecutor, reached with the credentials and endpoint of the
    environment, as on a worker with an instance role (no ``storage_conn_id``)."""
    if not CELERY:
        return {"WOOXY_EXAMPLE_STORAGE": f"file://{tmp_path_factory.mktemp('example-data')}"}
    server: S3 = request.getfixturevalue("s3_server")
    server.client().create_bucket(Bucket=EXAMPLE_BUCKET)
    return {
        "WOOXY_EXAMPLE_STORAGE": f"s3://{EXAMPLE_BUCKET}/example",
        "AWS_ENDPOINT_URL_S3": server.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


@pytest.fixture(scope="package")
def airflow(
    tmp_path_factory: pytest.TempPathFactory,
    api: WooxySandbox,
    metadata_db: str | None,
    example_storage: dict[str, str],
) -> Iterator[Deployment]:
    home = tmp_path_factory.mktemp("airflow-e2e")
    dags = home / "dags"
    dags.mkdir()
    for dag_file in [*DAGS.glob("*.py"), SYNC_DAG_FILE]:
        shutil.copy(dag_file, dags)
    env = {
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        **example_storage,
        # On a loaded 2-core machine the task supervisor's calls to the execution API outlast the 5 s default.
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
    }
    if CELERY:
        assert metadata_db is not None
        deployment: Deployment = CeleryDeployment(home, metadata_db, env)
    else:
        deployment = Deployment(home, env, database=metadata_db)
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
            shutil.copy(deployment.log_path, ARTIFACTS / f"airflow-{'celery' if CELERY else 'standalone'}.log")
