"""
On a distributed Airflow: the CeleryExecutor with two workers (tests/e2e/celery.py), a sync whose state is on S3
(moto). Consecutive runs of one sync on different workers, two runs at once on two workers, and a worker lost in
the middle of a run: the list and the state end equal to the input every time.

The runs are held at chosen moments by pausing the sandbox (every request waits until it resumes), not by timing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from airflow_provider_wooxy.pipeline.sync.entries import EMAIL
from airflow_provider_wooxy.pipeline.sync.state import open_state
from airflow_provider_wooxy.sandbox import WooxySandbox
from tests.e2e.celery import WORKERS, CeleryDeployment
from tests.e2e.conftest import CELERY, EXAMPLE_BUCKET
from tests.e2e.deployment import Deployment
from tests.sources.services import S3

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not CELERY, reason="the CeleryExecutor suite runs on Airflow 3.3+")]

DAG_ID = "wooxy_e2e_celery_sync"
STATE_KEY = "celery/emails.state"


def addresses(n: int, start: int = 0) -> list[str]:
    return [f"celery{i}@example.com" for i in range(start, start + n)]


def put_input(s3: S3, name: str, emails: list[str]) -> str:
    """An input CSV on S3; its URI."""
    s3.client().put_object(Bucket=EXAMPLE_BUCKET, Key=f"celery/{name}.csv", Body="email\n" + "\n".join(emails) + "\n")
    return f"s3://{EXAMPLE_BUCKET}/celery/{name}.csv"


def trigger(airflow: Deployment, **conf: object) -> str:
    runs = airflow.cli_json("dags", "trigger", DAG_ID, "--conf", json.dumps(conf))
    run = runs[0] if isinstance(runs, list) else runs
    return str(run["dag_run_id"])


def wait_until(
    what: str, condition: Callable[[], object], airflow: Deployment, timeout: float = 180, every: float = 1
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s\n{airflow.log_tail()}")
        time.sleep(every)


def managed(s3: S3, api: WooxySandbox) -> set[str]:
    """The sync's entries as its next run would load them (snapshot + journal), read from S3 with s3fs."""
    from upath import UPath

    options = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": s3.endpoint},
        "skip_instance_cache": True,  # a fresh look: no ETag remembered from the last run's state
    }
    location = UPath(f"s3://{EXAMPLE_BUCKET}/{STATE_KEY}", **options)
    return set(open_state(location, EMAIL, api.url).load().iter_lines())


def listed(api: WooxySandbox) -> set[str]:
    """The sandbox's email list as state lines (every entry here is a ``hard`` one)."""
    return {f"{address}\thard" for address in api.email_addresses()}


def requests(api: WooxySandbox) -> int:
    return int(api.stats()["total_requests"])


@pytest.fixture(scope="module")
def celery(airflow: Deployment, s3_server: S3) -> CeleryDeployment:
    assert isinstance(airflow, CeleryDeployment)
    airflow.wait_for_dag(DAG_ID)
    airflow.cli("dags", "unpause", DAG_ID)
    return airflow


@pytest.fixture
def fresh(celery: CeleryDeployment, api: WooxySandbox, s3_server: S3) -> CeleryDeployment:
    """An empty list, no state, both workers up."""
    api.reset()
    client = s3_server.client()
    for entry in client.list_objects_v2(Bucket=EXAMPLE_BUCKET, Prefix="celery/").get("Contents", []):
        client.delete_object(Bucket=EXAMPLE_BUCKET, Key=entry["Key"])
    for worker in WORKERS:
        if worker not in celery.procs:
            celery.start_worker(worker)
    wait_until("both workers answer", lambda: celery.workers_answering() == set(WORKERS), celery)
    return celery


class TestSyncAcrossWorkers:
    def test_consecutive_runs_on_different_workers(self, fresh: CeleryDeployment, api: WooxySandbox, s3_server: S3):
        inputs = [addresses(300), addresses(250, start=50) + addresses(30, start=1000)]
        inputs.append(list(reversed(inputs[1])))  # the third run: the same entries
        placed = ["worker1", "worker2", "worker1"]
        sent = []
        for number, (emails, queue) in enumerate(zip(inputs, placed, strict=True)):
            before = requests(api)
            run_id = trigger(fresh, input=put_input(s3_server, f"run{number}", emails), queue=queue)
            assert fresh.wait_for_run(DAG_ID, run_id) == "success", fresh.tries(DAG_ID, run_id, "sync")
            (only,) = fresh.tries(DAG_ID, run_id, "sync")
            assert only["hostname"] == queue  # the run ran on the worker it was placed on
            sent.append(requests(api) - before)
            assert api.email_addresses() == set(emails)
            assert managed(s3_server, api) == listed(api)
        assert sent[0] > 0 and sent[1] > 0
        assert sent[2] == 0  # unchanged: not even a look-up


class TestOverlapOnTwoWorkers:
    def test_the_second_run_fails_fast_and_its_retry_succeeds(
        self, fresh: CeleryDeployment, api: WooxySandbox, s3_server: S3
    ):
        first_input, second_input = addresses(400), addresses(400) + addresses(40, start=5000)
        api.pause()  # the first run's first request waits here: it holds the lease meanwhile
        try:
            first = trigger(fresh, input=put_input(s3_server, "first", first_input), queue="worker1")
            wait_until("the first run's first request", lambda: requests(api) >= 1, fresh)
            held = requests(api)
            second = trigger(fresh, input=put_input(s3_server, "second", second_input), queue="worker2")
            wait_until(
                "the second run's first try to fail",
                lambda: fresh.tries(DAG_ID, second, "sync")[0]["state"] in ("up_for_retry", "failed"),
                fresh,
            )
            tries = fresh.tries(DAG_ID, second, "sync")
            assert tries[0]["hostname"] == "worker2"
            current = fresh.rest("GET", f"/dags/{DAG_ID}/dagRuns/{second}/taskInstances/sync")
            assert current["state"] != "failed"  # a transient error: Airflow retries it
            log = fresh.task_log(DAG_ID, second, "sync", 1)
            assert "another run of this sync holds the lease" in log, log[-3000:]
            assert "WooxyStateBusyError" in log
            assert requests(api) == held  # the second run sent nothing, not even a look-up
        finally:
            api.resume()
        assert fresh.wait_for_run(DAG_ID, first) == "success"
        assert fresh.wait_for_run(DAG_ID, second) == "success", fresh.tries(DAG_ID, second, "sync")
        tries = fresh.tries(DAG_ID, second, "sync")
        assert len(tries) >= 2 and tries[-1]["state"] == "success"
        assert api.email_addresses() == set(second_input)
        assert managed(s3_server, api) == listed(api)


class TestLostWorker:
    def test_the_retry_on_the_other_worker_takes_over_the_lease(
        self, fresh: CeleryDeployment, api: WooxySandbox, s3_server: S3
    ):
        emails = addresses(4000)
        api.pause()
        try:
            run_id = trigger(fresh, input=put_input(s3_server, "big", emails), lease_seconds=20)
            wait_until("the run's first request", lambda: requests(api) >= 1, fresh)
        finally:
            api.resume()
        # 200 adds of 20 in all (about 5 s): catch it with some accepted and most not, and hold it there.
        adds = lambda: api.stats()["requests"].get("blacklist/add", 0)  # noqa: E731
        wait_until("20 adds", lambda: adds() >= 20, fresh, timeout=120, every=0.02)
        api.pause()
        try:
            assert adds() < 150, "the run was not caught in the middle"
            (running,) = fresh.tries(DAG_ID, run_id, "sync")
            lost = running["hostname"]
            fresh.kill_worker(lost)
        finally:
            api.resume()
        assert fresh.wait_for_run(DAG_ID, run_id, timeout=400) == "success", fresh.tries(DAG_ID, run_id, "sync")
        tries = fresh.tries(DAG_ID, run_id, "sync")
        assert tries[0]["state"] == "failed" or tries[0]["state"] == "up_for_retry" or len(tries) > 1
        assert tries[0]["hostname"] == lost
        assert tries[-1]["state"] == "success"
        (other,) = set(WORKERS) - {lost}
        assert tries[-1]["hostname"] == other
        final_log = fresh.task_log(DAG_ID, run_id, "sync", tries[-1]["try_number"])
        assert "Took over the expired lease" in final_log, final_log[-3000:]
        assert api.email_addresses() == set(emails)
        assert managed(s3_server, api) == listed(api)
