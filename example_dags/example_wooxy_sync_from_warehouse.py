"""
Keep the Wooxy email blacklist equal to a warehouse query's unsubscribes: the reverse-ETL pattern, with no export
file in between.

The query runs on any common.sql connection (Postgres, Snowflake, BigQuery, Redshift, Databricks, SQLite...; the
``[sql]`` extra and the database's own provider) and its rows are streamed, a server-side cursor with psycopg.
Here the warehouse is a SQLite database the first task creates (``WOOXY_EXAMPLE_WAREHOUSE``), reached through the
connection ``wooxy_warehouse``, e.g.
``AIRFLOW_CONN_WOOXY_WAREHOUSE='{"conn_type": "sqlite", "host": "/tmp/wooxy-example/warehouse.db"}'``.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pendulum
from airflow.providers.common.compat.sdk import dag, task

from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator

STORAGE = os.environ.get("WOOXY_EXAMPLE_STORAGE", "file:///tmp/wooxy-example")
WAREHOUSE = os.environ.get("WOOXY_EXAMPLE_WAREHOUSE", "/tmp/wooxy-example/warehouse.db")


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # two syncs of one list at once would race on its state
    tags=["wooxy", "example"],
)
def example_wooxy_sync_from_warehouse():
    @task
    def load_warehouse() -> None:
        """Stands in for the warehouse: the marketing platform's unsubscribes, email and SMS, one malformed."""
        Path(WAREHOUSE).parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(WAREHOUSE) as db:
            db.execute("DROP TABLE IF EXISTS unsubscribes")
            db.execute("CREATE TABLE unsubscribes (email TEXT, channel TEXT, unsubscribed_at TEXT)")
            rows = [(f"reader{i}@example.com", "sms" if i % 4 == 0 else "email", "2026-01-01") for i in range(320)]
            db.executemany(
                "INSERT INTO unsubscribes VALUES (?, ?, ?)", [*rows, ("not-an-address", "email", "2026-01-01")]
            )

    # [START howto_operator_wooxy_sync_from_sql]  --8<-- [start:howto_operator_wooxy_sync_from_sql]
    sync = WooxySyncEmailBlacklistOperator(
        task_id="sync_unsubscribes",
        sql="SELECT email FROM unsubscribes WHERE channel = :channel AND unsubscribed_at < :until",
        parameters={"channel": "email", "until": "{{ data_interval_end | ds }}"},
        sql_conn_id="wooxy_warehouse",
        reject_type="list-unsubscribe",
        state_path=f"{STORAGE}/warehouse-sync/unsubscribes.state",
        max_invalid=10,  # a malformed row is reported with its position in the result, not sent
        rejects_path=STORAGE + "/warehouse-sync/{{ ds }}/rejects.csv",
        pool="wooxy_api",
    )
    # [END howto_operator_wooxy_sync_from_sql]  --8<-- [end:howto_operator_wooxy_sync_from_sql]

    load_warehouse() >> sync


example_wooxy_sync_from_warehouse()
