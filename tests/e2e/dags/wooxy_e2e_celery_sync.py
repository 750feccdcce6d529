"""
One sync, its state on S3 (the suite's moto server, reached with the environment's credentials and endpoint), for
the CeleryExecutor's tests (tests/e2e/test_celery.py). Each run's conf gives its input (an S3 URI), and may give
``queue`` (the worker to run on: tests/e2e/celery.py) and ``lease_seconds``. Small batches, two in flight: a run
lasts long enough to be caught in the middle.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.common.compat.sdk import dag

from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator

STATE = "s3://wooxy-e2e/celery/emails.state"


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=2,  # the overlap test runs two at once; a real sync would say 1
    tags=["wooxy", "e2e"],
)
def wooxy_e2e_celery_sync():
    WooxySyncEmailBlacklistOperator(
        task_id="sync",
        path="{{ dag_run.conf['input'] }}",
        state_path=STATE,
        max_removals=None,
        batch_size=20,
        max_concurrency=2,
        pool="wooxy_api",
        lease_seconds="{{ dag_run.conf.get('lease_seconds', 300) }}",
        retries=6,
        retry_delay=timedelta(seconds=5),
    )


wooxy_e2e_celery_sync()
