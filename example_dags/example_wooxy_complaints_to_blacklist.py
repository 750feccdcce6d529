"""
Spam complaints added to the Wooxy email blacklist; the task updates the ``wooxy_email_blacklist`` asset.

Its asset event carries the add's counts in ``extra`` (``sent``, ``invalid``, ``duplicates``..., never addresses),
so that DAGs scheduled on the asset (``example_wooxy_export_on_update``) run after the list changed and can read
what changed.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import Asset, dag, task

from airflow_provider_wooxy.operators.blacklist import WooxyAddEmailBlacklistOperator

WOOXY_EMAIL_BLACKLIST = Asset(uri="wooxy://api.wooxy.com/blacklist/email")


@dag(
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["wooxy", "example"],
)
def example_wooxy_complaints_to_blacklist():
    @task
    def extract_complaints() -> list[dict[str, str]]:
        """Stand-in for the feedback-loop reports of the mailbox providers."""
        return [{"email": f"complaint{i}@example.com", "rawLog": "FBL report"} for i in range(40)]

    # [START howto_operator_wooxy_asset_outlet]  --8<-- [start:howto_operator_wooxy_asset_outlet]
    WooxyAddEmailBlacklistOperator(
        task_id="add_complaints",
        records=extract_complaints(),
        reject_type="complaint",
        outlets=[WOOXY_EMAIL_BLACKLIST],
        pool="wooxy_api",
    )
    # [END howto_operator_wooxy_asset_outlet]  --8<-- [end:howto_operator_wooxy_asset_outlet]


example_wooxy_complaints_to_blacklist()
