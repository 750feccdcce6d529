"""
The demo's second half (scripts/demo_dags.py, ``sync``): the settings of example_wooxy_sync_with_approval's sync, as
two one-task DAGs that scripts/demo.sh adds to the DAG folder of its Airflow home (not to example_dags/).

``demo_wooxy_sync_guarded`` syncs without approval, so the removal guard can stop it (writing its plan);
``demo_wooxy_sync_approved`` applies a reviewed plan, given its id as the run's ``approved_plan_id`` param. That is
the manual path of a review; in a deployment the example DAG's approval step asks a person instead.
"""

from __future__ import annotations

import os

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator

STORAGE = os.environ.get("WOOXY_EXAMPLE_STORAGE", "file:///tmp/wooxy-example")
SETTINGS = {  # as example_wooxy_sync_with_approval's `common`
    "path": f"{STORAGE}/sync/unsubscribed.csv",
    "state_path": f"{STORAGE}/sync/emails.state",
    "reject_type": "list-unsubscribe",
    "max_removals": 0.1,
    "max_concurrency": 5,
    "pool": "wooxy_api",
}
PLAN_PATH = f"{STORAGE}/sync/plan-guarded.jsonl"

with DAG("demo_wooxy_sync_guarded", schedule=None, tags=["wooxy", "demo"]):
    WooxySyncEmailBlacklistOperator(task_id="sync", plan_path=PLAN_PATH, **SETTINGS)

with DAG("demo_wooxy_sync_approved", schedule=None, params={"approved_plan_id": ""}, tags=["wooxy", "demo"]):
    WooxySyncEmailBlacklistOperator(task_id="sync", approved_plan_id="{{ params.approved_plan_id }}", **SETTINGS)
