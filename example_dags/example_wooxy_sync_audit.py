"""
A sync that keeps an audit trail: every entry it adds, removes or has refused, one row each, appended to a CSV file
per day and to a table in the warehouse (docs/guides/audit.md).

The table is reached through the connection ``wooxy_warehouse`` (any common.sql database: the ``[sql]`` extra and
the database's own provider); it is created when missing. Here the warehouse is a SQLite database
(``WOOXY_EXAMPLE_WAREHOUSE``), e.g.
``AIRFLOW_CONN_WOOXY_WAREHOUSE='{"conn_type": "sqlite", "host": "/tmp/wooxy-example/warehouse.db"}'``.
"""

from __future__ import annotations

import os

import pendulum
from airflow.providers.common.compat.sdk import dag

from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator

STORAGE = os.environ.get("WOOXY_EXAMPLE_STORAGE", "file:///tmp/wooxy-example")


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # two syncs of one list at once would race on its state
    tags=["wooxy", "example"],
)
def example_wooxy_sync_audit():
    # [START howto_operator_wooxy_sync_audit]  --8<-- [start:howto_operator_wooxy_sync_audit]
    WooxySyncEmailBlacklistOperator(
        task_id="sync_with_audit_trail",
        records=[f"optout{i}@example.com" for i in range(150)],
        state_path=f"{STORAGE}/audit-sync/optouts.state",
        # One file per day (appended to by each run of the day), and one table for the whole history.
        changelog_path=STORAGE + "/audit-sync/changelog/{{ ds }}.csv",
        changelog_table="wooxy_email_changelog",
        changelog_conn_id="wooxy_warehouse",
        pool="wooxy_api",
    )
    # [END howto_operator_wooxy_sync_audit]  --8<-- [end:howto_operator_wooxy_sync_audit]


example_wooxy_sync_audit()
