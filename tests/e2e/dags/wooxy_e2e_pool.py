"""
Three Wooxy tasks ready at once, each wanting 5 requests in flight: the wooxy_api pool (10 slots) lets two run.
Under the CeleryExecutor (tests/e2e/celery.py) one runs on each worker's own queue and one on the default queue; the
LocalExecutor ignores queues.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import dag

from airflow_provider_wooxy.operators.blacklist import (
    WooxyAddEmailBlacklistOperator,
    WooxyAddPhoneBlacklistOperator,
    WooxyRemoveEmailBlacklistOperator,
)

EMAILS = [f"e2e{i}@example.com" for i in range(3000)]
PHONES = [f"+4420794{i:05d}" for i in range(1000)]
REMOVED = [f"gone{i}@example.com" for i in range(300)]


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, tags=["wooxy", "e2e"])
def wooxy_e2e_pool():
    common = {"pool": "wooxy_api", "max_concurrency": 5}
    WooxyAddEmailBlacklistOperator(task_id="add_emails", records=EMAILS, batch_size=10, queue="worker1", **common)
    WooxyAddPhoneBlacklistOperator(task_id="add_phones", records=PHONES, batch_size=5, queue="worker2", **common)
    WooxyRemoveEmailBlacklistOperator(task_id="remove_emails", records=REMOVED, **common)


wooxy_e2e_pool()
