"""
Whenever the Wooxy email blacklist is updated (the ``wooxy_email_blacklist`` asset), export it for the warehouse.

The DAG is scheduled on the asset: a run starts after a task with that asset in its ``outlets`` succeeded
(``example_wooxy_complaints_to_blacklist``), and reads that task's counts from the triggering event. The export
goes to object storage (``WOOXY_EXAMPLE_STORAGE``, a local folder by default; ``s3://bucket/prefix`` with
``storage_conn_id`` in production) as gzipped CSV, and updates the ``wooxy_email_blacklist_export`` asset with
counts per reject type.
"""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import Asset, dag, task

from airflow_provider_wooxy.operators.export import WooxyExportEmailBlacklistOperator

BASE = os.environ.get("WOOXY_EXAMPLE_STORAGE", "file:///tmp/wooxy-example")
WOOXY_EMAIL_BLACKLIST = Asset(uri="wooxy://api.wooxy.com/blacklist/email")
BLACKLIST_EXPORT = Asset(uri=f"{BASE}/exports/email-blacklist.csv.gz")


# [START howto_asset_scheduled_on_wooxy]  --8<-- [start:howto_asset_scheduled_on_wooxy]
@dag(
    schedule=[WOOXY_EMAIL_BLACKLIST],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["wooxy", "example"],
)
def example_wooxy_export_on_update():
    @task(inlets=[WOOXY_EMAIL_BLACKLIST])
    def read_update(
        triggering_asset_events: Any = None, triggering_dataset_events: Any = None, inlet_events: Any = None
    ) -> dict[str, Any]:
        """The counts of the update that triggered this run, from the asset event's extra."""
        if triggering_asset_events:  # Airflow 3: by asset
            events = list(triggering_asset_events.get(WOOXY_EMAIL_BLACKLIST, []))
        else:  # Airflow 2.x: by the dataset's URI
            events = list((triggering_dataset_events or {}).get(WOOXY_EMAIL_BLACKLIST.uri, []))
        if not events:  # a manual run (airflow dags test): the asset's latest event instead
            events = list(inlet_events[WOOXY_EMAIL_BLACKLIST][-1:]) if inlet_events else []
        if not events:
            print("No update of the blacklist recorded yet.")
            return {}
        extra = dict(events[-1].extra)
        print(f"Blacklist updated ({extra.get('operation')}): sent {extra.get('sent')}, invalid {extra.get('invalid')}")
        return extra

    # [START howto_operator_wooxy_export]  --8<-- [start:howto_operator_wooxy_export]
    export = WooxyExportEmailBlacklistOperator(
        task_id="export_blacklist",
        output_path=BLACKLIST_EXPORT.uri,
        reject_types=["hard", "complaint", "list-unsubscribe"],
        outlets=[BLACKLIST_EXPORT],
        pool="wooxy_api",
    )
    # [END howto_operator_wooxy_export]  --8<-- [end:howto_operator_wooxy_export]
    read_update() >> export


# [END howto_asset_scheduled_on_wooxy]  --8<-- [end:howto_asset_scheduled_on_wooxy]


example_wooxy_export_on_update()
