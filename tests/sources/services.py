"""
Real services for the source tests, started by the tests themselves: PostgreSQL (``scripts/postgres.sh``) and an
S3 API (moto's server, on loopback), reached through Airflow's object storage with s3fs and an ``aws`` connection.

When a service cannot start, its tests are skipped on a workstation and FAIL under ``CI=true``: a CI run that
silently skipped the real database would prove nothing.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[2]
# One cluster per leg of the test matrix: legs run side by side (scripts/test.sh), each with its own server.
POSTGRES_DIR = ROOT / ".services" / f"postgres-{os.environ.get('WOOXY_LEG', 'default')}"
DATABASE = "wooxy_sources"
TABLE_ROWS = 100_000
WAREHOUSE_CONN_ID = "warehouse"
S3_CONN_ID = "s3_test"
BUCKET = "wooxy-exports"


def unavailable(what: str, why: str) -> None:
    """Skip, or fail under ``CI=true``, because ``what`` could not start."""
    message = f"{what} could not start: {why}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: the real services are required)", pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Postgres:
    """A running PostgreSQL with the ``unsubscribes`` table of :data:`TABLE_ROWS` rows in :data:`DATABASE`."""

    host: str
    port: int
    database: str

    @property
    def conn_json(self) -> str:
        """The Airflow connection (a ``postgres`` connection: common.sql's PostgresHook)."""
        return json.dumps(
            {
                "conn_type": "postgres",
                "host": self.host,
                "port": self.port,
                "login": "postgres",
                "schema": self.database,
            }
        )

    def connect(self):  # psycopg2's connection
        import psycopg2

        return psycopg2.connect(host=self.host, port=self.port, user="postgres", dbname=self.database)

    def execute(self, sql: str) -> None:
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute(sql)


def _start_postgres() -> Postgres:
    script = str(ROOT / "scripts" / "postgres.sh")
    port = int(os.environ.get("WOOXY_TEST_POSTGRES_PORT") or _free_port())
    try:
        started = subprocess.run(
            [script, "start", str(POSTGRES_DIR), str(port)], check=True, capture_output=True, text=True
        )
        port = int(started.stdout.strip().rsplit(":", 1)[1].split("/")[0])  # the port of a cluster left running
        subprocess.run([script, "createdb", str(POSTGRES_DIR), DATABASE], check=True, capture_output=True)
    except subprocess.CalledProcessError as exc:
        stderr = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or ""
        unavailable("PostgreSQL", stderr.strip()[-500:] or str(exc))
    except OSError as exc:
        unavailable("PostgreSQL", str(exc))
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        unavailable("PostgreSQL", "psycopg2 is not installed (the test extra)")
    server = Postgres("127.0.0.1", port, DATABASE)
    # One row in every 1,000 is not an address; every 10th has its own reject type; phones are bigint, as in a
    # warehouse, and every 7th is null.
    server.execute(
        f"""
        DROP TABLE IF EXISTS unsubscribes;
        CREATE TABLE unsubscribes (
            id integer PRIMARY KEY, email text, phone bigint, reject_type text, unsubscribed_on date
        );
        INSERT INTO unsubscribes
        SELECT i,
               CASE WHEN i % 1000 = 0 THEN 'not-an-address-' || i ELSE 'user' || i || '@example.com' END,
               CASE WHEN i % 7 = 0 THEN NULL ELSE 447911000000 + i END,
               CASE WHEN i % 10 = 0 THEN 'complaint' END,
               DATE '2026-01-01' + (i % 30)
        FROM generate_series(1, {TABLE_ROWS}) AS i;
        """
    )
    return server


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """PostgreSQL on a free port, started once per session (scripts/postgres.sh), stopped after."""
    server = _start_postgres()
    yield server
    subprocess.run([str(ROOT / "scripts" / "postgres.sh"), "stop", str(POSTGRES_DIR)], check=False)


@pytest.fixture
def warehouse(postgres: Postgres, monkeypatch: pytest.MonkeyPatch) -> Postgres:
    """:func:`postgres` as the Airflow connection :data:`WAREHOUSE_CONN_ID`."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{WAREHOUSE_CONN_ID.upper()}", postgres.conn_json)
    return postgres


@dataclass(frozen=True)
class S3:
    """moto's S3 API server on loopback, with the bucket :data:`BUCKET`."""

    endpoint: str

    @property
    def conn_json(self) -> str:
        """The Airflow ``aws`` connection to it: what ObjectStoragePath's s3 filesystem (s3fs) is built from."""
        return json.dumps(
            {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing",
                "extra": {"endpoint_url": self.endpoint, "region_name": "us-east-1"},
            }
        )

    def client(self):  # a boto3 S3 client
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3]:
    """moto's server (``moto[server]``) in this process, on a free loopback port."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        unavailable("moto's S3 server", f"{exc} (install the test extra)")
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    try:
        server.start()
    except OSError as exc:
        unavailable("moto's S3 server", str(exc))
    yield S3(f"http://127.0.0.1:{port}")
    server.stop()


@pytest.fixture
def s3(s3_server: S3, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3]:
    """An empty :data:`BUCKET` and the Airflow connection :data:`S3_CONN_ID` to it."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{S3_CONN_ID.upper()}", s3_server.conn_json)
    client = s3_server.client()
    client.create_bucket(Bucket=BUCKET)
    yield s3_server
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for entry in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=entry["Key"])
    client.delete_bucket(Bucket=BUCKET)
