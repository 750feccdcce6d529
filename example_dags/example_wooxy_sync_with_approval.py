"""
Keep the Wooxy email blacklist equal to the warehouse's unsubscribes, with a person approving large removals.

plan (dry run) -> needs_approval? -> approve (Airflow's human-in-the-loop ApprovalOperator, Airflow 3.1+) -> apply

The apply step passes the dry run's ``plan_id`` as ``approved_plan_id``: it applies exactly the plan that was
reviewed, and fails with nothing sent if the input or the state changed in between. Runs that stay within
``max_removals`` skip the approval and apply at once (still pinned to the dry run's plan).
"""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import Param, dag, task

from airflow_provider_wooxy.compat import HITL_AVAILABLE, require_hitl
from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator

STORAGE = os.environ.get("WOOXY_EXAMPLE_STORAGE", "file:///tmp/wooxy-example")


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # two syncs of one list at once would race on its state
    params={"contacts": Param(200, type="integer", minimum=0, description="size of the demo extract")},
    tags=["wooxy", "example"],
)
def example_wooxy_sync_with_approval():
    @task
    def extract(params: dict[str, Any] | None = None) -> str:
        """Stands in for the warehouse export: the complete list of addresses that must stay suppressed."""
        path = f"{STORAGE}/sync/unsubscribed.csv"
        count = int((params or {}).get("contacts", 200))
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        target = ObjectStoragePath(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("email\n" + "".join(f"contact{i}@example.com\n" for i in range(count)))
        return path

    extract_path = extract()

    # [START howto_operator_wooxy_sync_approval]  --8<-- [start:howto_operator_wooxy_sync_approval]
    # [START howto_operator_wooxy_sync_dry_run]  --8<-- [start:howto_operator_wooxy_sync_dry_run]
    common: dict[str, Any] = {
        "path": extract_path,
        "state_path": f"{STORAGE}/sync/emails.state",
        "reject_type": "list-unsubscribe",
        "max_removals": 0.1,  # more than 10% of the managed entries needs a person's approval
        "max_concurrency": 5,
        "pool": "wooxy_api",
    }
    plan = WooxySyncEmailBlacklistOperator(
        task_id="plan", dry_run=True, plan_path=f"{STORAGE}/sync/plan-{{{{ run_id }}}}.csv", **common
    )
    # [END howto_operator_wooxy_sync_dry_run]  --8<-- [end:howto_operator_wooxy_sync_dry_run]

    @task.branch
    def needs_approval(summary: dict[str, Any]) -> list[str]:
        return ["approve", "apply"] if summary["guard_would_stop"] else ["apply"]

    if HITL_AVAILABLE:
        from airflow.providers.standard.operators.hitl import ApprovalOperator

        approve = ApprovalOperator(
            task_id="approve",
            subject="Wooxy sync: approve {{ ti.xcom_pull(task_ids='plan')['to_remove'] }} removals",
            body=(
                "Plan `{{ ti.xcom_pull(task_ids='plan')['plan_id'] }}` removes "
                "{{ ti.xcom_pull(task_ids='plan')['to_remove'] }} of "
                "{{ ti.xcom_pull(task_ids='plan')['managed_before'] }} managed entries and adds "
                "{{ ti.xcom_pull(task_ids='plan')['to_add'] }}. Every change is listed in the plan file "
                f"{STORAGE}/sync/plan-{{{{ run_id }}}}.csv."
            ),
        )
    else:

        @task(task_id="approve")
        def approve_unavailable() -> None:
            # Fails with a message naming the running Airflow; without approval, review the plan file and run the
            # apply step with approved_plan_id set to the plan's id.
            require_hitl("Approving a Wooxy sync plan")

        approve = approve_unavailable()

    # [START howto_operator_wooxy_sync_apply]  --8<-- [start:howto_operator_wooxy_sync_apply]
    apply = WooxySyncEmailBlacklistOperator(
        task_id="apply",
        approved_plan_id="{{ ti.xcom_pull(task_ids='plan')['plan_id'] }}",
        trigger_rule="none_failed_min_one_success",  # runs when the approval was skipped, or given
        **common,
    )
    # [END howto_operator_wooxy_sync_apply]  --8<-- [end:howto_operator_wooxy_sync_apply]
    needs_approval(plan.output) >> [approve, apply]
    approve >> apply
    # [END howto_operator_wooxy_sync_approval]  --8<-- [end:howto_operator_wooxy_sync_approval]


example_wooxy_sync_with_approval()
