"""
Keep the Wooxy email blacklist equal to the warehouse's unsubscribes every day, and once a week check the list
itself for drift: entries removed in Wooxy's UI or by another tool, or expired, which the state still counts as
listed and a plain sync therefore never sends again.

extract -> daily_or_weekly -> sync (every day but Sunday) | sync_and_verify (Sundays, or with params.verify)

The weekly run pages the managed reject types (about 5 s per 100,000 entries at 50 ms a request) and re-adds what
is missing, within the same state and guards as the daily one. See docs/drift.md.
"""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import Param, dag, task

from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator

STORAGE = os.environ.get("WOOXY_EXAMPLE_STORAGE", "file:///tmp/wooxy-example")


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # two syncs of one list at once would race on its state
    params={
        "contacts": Param(200, type="integer", minimum=0, description="size of the demo extract"),
        "verify": Param(False, type="boolean", description="check the list for drift today, whatever the day"),
    },
    tags=["wooxy", "example"],
)
def example_wooxy_sync_verify():
    @task
    def extract(params: dict[str, Any] | None = None) -> str:
        """Stands in for the warehouse export: the complete list of addresses that must stay suppressed."""
        path = f"{STORAGE}/sync-verify/unsubscribed.csv"
        count = int((params or {}).get("contacts", 200))
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        target = ObjectStoragePath(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("email\n" + "".join(f"contact{i}@example.com\n" for i in range(count)))
        return path

    # [START howto_operator_wooxy_sync_verify]  --8<-- [start:howto_operator_wooxy_sync_verify]
    @task.branch
    def daily_or_weekly(**context: Any) -> str:
        """Sundays (and runs with params.verify) check the list too; other days only sync."""
        day = context.get("logical_date") or context["dag_run"].run_after  # a manual run may have no logical date
        weekly = day.weekday() == 6 or bool(context["params"].get("verify"))
        return "sync_and_verify" if weekly else "sync"

    common: dict[str, Any] = {
        "path": extract(),
        "state_path": f"{STORAGE}/sync-verify/emails.state",
        "reject_type": "list-unsubscribe",
        "max_removals": 0.1,
        "max_concurrency": 5,
        "pool": "wooxy_api",
    }
    daily = WooxySyncEmailBlacklistOperator(task_id="sync", **common)
    weekly = WooxySyncEmailBlacklistOperator(task_id="sync_and_verify", verify=True, **common)
    common["path"] >> daily_or_weekly() >> [daily, weekly]
    # [END howto_operator_wooxy_sync_verify]  --8<-- [end:howto_operator_wooxy_sync_verify]


example_wooxy_sync_verify()
