"""Re-subscribed contacts removed from the Wooxy email and phone blacklists (one request per record)."""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import dag, task

from airflow_provider_wooxy.operators.blacklist import (
    WooxyRemoveEmailBlacklistOperator,
    WooxyRemovePhoneBlacklistOperator,
)


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["wooxy", "example"],
)
def example_wooxy_removals():
    @task
    def resubscribed_emails() -> list[str]:
        return [f"bounce{i}@example.com" for i in range(20)]

    @task
    def resubscribed_phones() -> list[str]:
        return ["+44 20 7946 0001", "+44 20 7946 0002"]

    # [START howto_operator_wooxy_remove]  --8<-- [start:howto_operator_wooxy_remove]
    WooxyRemoveEmailBlacklistOperator(
        task_id="remove_emails",
        records=resubscribed_emails(),
        reject_type="hard",  # only lift hard-bounce entries; complaints stay suppressed
        max_concurrency=5,
        pool="wooxy_api",
    )
    WooxyRemovePhoneBlacklistOperator(
        task_id="remove_phones",
        records=resubscribed_phones(),
        max_concurrency=5,
        pool="wooxy_api",
    )
    # [END howto_operator_wooxy_remove]  --8<-- [end:howto_operator_wooxy_remove]


example_wooxy_removals()
