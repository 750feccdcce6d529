"""
Hard bounces exported to a CSV file by an upstream task, added to the Wooxy email blacklist.

The file lives on Airflow object storage: ``WOOXY_EXAMPLE_STORAGE`` defaults to a local folder
(``file:///tmp/wooxy-example``); point it at ``s3://bucket/prefix`` (with ``storage_conn_id``) in production.
"""

from __future__ import annotations

import os

import pendulum
from airflow.providers.common.compat.sdk import ObjectStoragePath, dag, task

from airflow_provider_wooxy.operators.blacklist import WooxyAddEmailBlacklistOperator

BASE = os.environ.get("WOOXY_EXAMPLE_STORAGE", "file:///tmp/wooxy-example")


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["wooxy", "example"],
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=5)},
)
def example_wooxy_email_from_csv():
    @task
    def export_bounces(ds: str | None = None) -> str:
        """Stand-in for the ESP export: writes today's hard bounces (and one malformed row) to CSV."""
        path = ObjectStoragePath(f"{BASE}/{ds}/bounces.csv")
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = ["Email,rawLog"] + [f"bounce{i}@example.com,550 5.1.1 user unknown" for i in range(250)]
        rows.append("not-an-address,")
        path.write_text("\n".join(rows) + "\n")
        return str(path)

    # [START howto_operator_wooxy_add_email_from_file]  --8<-- [start:howto_operator_wooxy_add_email_from_file]
    add_bounces = WooxyAddEmailBlacklistOperator(
        task_id="add_bounces",
        path=export_bounces(),
        field="Email",
        reject_type="hard",
        max_invalid=10,
        rejects_path=BASE + "/{{ ds }}/bounces.rejects.csv",
        checkpoint_path=BASE + "/{{ ds }}/bounces.checkpoint.json",
        pool="wooxy_api",
    )
    # [END howto_operator_wooxy_add_email_from_file]  --8<-- [end:howto_operator_wooxy_add_email_from_file]

    @task
    def report(summary: dict) -> None:
        print(f"sent {summary['sent']}, invalid {summary['invalid']}, duplicates {summary['duplicates']}")

    report(add_bounces.output)


example_wooxy_email_from_csv()
