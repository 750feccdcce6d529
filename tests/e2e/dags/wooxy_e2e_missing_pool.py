"""A Wooxy task naming a pool that does not exist: the scheduler never starts it."""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import dag

from airflow_provider_wooxy.operators.blacklist import WooxyAddEmailBlacklistOperator


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, tags=["wooxy", "e2e"])
def wooxy_e2e_missing_pool():
    WooxyAddEmailBlacklistOperator(task_id="add", records=["nobody@example.com"], pool="wooxy_missing_pool")


wooxy_e2e_missing_pool()
