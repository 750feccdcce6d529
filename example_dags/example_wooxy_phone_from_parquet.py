"""
A warehouse's multi-part Parquet export (BigQuery ``EXPORT DATA``, Snowflake ``COPY INTO``, Redshift ``UNLOAD``,
Spark) of SMS unsubscribes, added to the Wooxy phone blacklist: the folder is read part by part as one input.

The export keeps the numbers in an integer column, as warehouses often do; they are read as digits and normalised
to E.164 with ``default_region``. Needs the ``[parquet]`` extra (pyarrow). ``WOOXY_EXAMPLE_STORAGE`` defaults to a
local folder; point it at ``s3://bucket/prefix`` (with ``storage_conn_id``) in production.
"""

from __future__ import annotations

import os

import pendulum
from airflow.providers.common.compat.sdk import ObjectStoragePath, dag, task

from airflow_provider_wooxy.operators.blacklist import WooxyAddPhoneBlacklistOperator

STORAGE = os.environ.get("WOOXY_EXAMPLE_STORAGE", "file:///tmp/wooxy-example")


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["wooxy", "example"],
)
def example_wooxy_phone_from_parquet():
    @task
    def export_unsubscribes(ds: str | None = None) -> None:
        """Stands in for the warehouse's export: four Parquet parts, one null number, and a _SUCCESS marker."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        folder = ObjectStoragePath(f"{STORAGE}/parquet-export/{ds}")
        folder.mkdir(parents=True, exist_ok=True)
        numbers: list[int | None] = [447911000000 + i for i in range(120)]
        numbers[7] = None
        for part in range(4):
            table = pa.table({"phone": pa.array(numbers[part * 30 : (part + 1) * 30], type=pa.int64())})
            with (folder / f"part-{part:05d}.parquet").open("wb") as stream:
                pq.write_table(table, stream)
        (folder / "_SUCCESS").write_text("")

    # [START howto_operator_wooxy_add_phone_from_parquet]  --8<-- [start:howto_operator_wooxy_add_phone_from_parquet]
    add_unsubscribes = WooxyAddPhoneBlacklistOperator(
        task_id="add_unsubscribes",
        path=STORAGE + "/parquet-export/{{ ds }}/",  # a folder: every part, markers skipped
        field="phone",
        default_region="GB",
        reject_type="unsubscribe",
        max_invalid=5,  # a null number is rejected with its file and row
        pool="wooxy_api",
    )
    # [END howto_operator_wooxy_add_phone_from_parquet]  --8<-- [end:howto_operator_wooxy_add_phone_from_parquet]

    export_unsubscribes() >> add_unsubscribes


example_wooxy_phone_from_parquet()
