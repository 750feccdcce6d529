"""SMS opt-outs extracted by a TaskFlow task in national format, added to the Wooxy phone blacklist via XCom."""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import dag, task

from airflow_provider_wooxy.operators.blacklist import WooxyAddPhoneBlacklistOperator


@dag(
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["wooxy", "example"],
)
def example_wooxy_phone_from_xcom():
    @task
    def extract_opt_outs() -> list[dict[str, str]]:
        """Stand-in for a query of the SMS platform's STOP replies (UK numbers in national format)."""
        numbers = [f"020 7946 {i:04d}" for i in range(120)] + ["07911 123456", "+1 (415) 555-2671"]
        return [{"mobile": n, "rejectType": "unsubscribe"} for n in numbers]

    # [START howto_operator_wooxy_add_phone_from_xcom]  --8<-- [start:howto_operator_wooxy_add_phone_from_xcom]
    WooxyAddPhoneBlacklistOperator(
        task_id="add_opt_outs",
        records=extract_opt_outs(),
        field="mobile",
        default_region="GB",
        pool="wooxy_api",
    )
    # [END howto_operator_wooxy_add_phone_from_xcom]  --8<-- [end:howto_operator_wooxy_add_phone_from_xcom]


example_wooxy_phone_from_xcom()
