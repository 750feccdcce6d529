"""
End to end: the sync example DAG under a real scheduler. A first run adds the extract; a second run, whose extract
shrank past ``max_removals``, waits for a person; the test approves it through Airflow's REST API (the HITL
endpoint the UI uses), and the apply step removes exactly the approved plan.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from airflow_provider_wooxy.sandbox import WooxySandbox
from tests.e2e.deployment import Deployment

pytestmark = pytest.mark.e2e

DAG_ID = "example_wooxy_sync_with_approval"


def trigger(airflow: Deployment, contacts: int) -> str:
    runs = airflow.cli_json("dags", "trigger", DAG_ID, "--conf", json.dumps({"contacts": contacts}))
    run = runs[0] if isinstance(runs, list) else runs
    return str(run["dag_run_id"])


def wait_idle(airflow: Deployment, timeout: float = 300) -> None:
    """Wait until no run of the DAG is queued or running (unpausing may start a scheduled run)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not set(airflow.run_states(DAG_ID)) & {"queued", "running"}:
            return
        time.sleep(3)
    raise AssertionError(f"runs of {DAG_ID} still active after {timeout:.0f} s:\n{airflow.log_tail()}")


def wait_deferral_processed(airflow: Deployment, run_id: str, timeout: float = 120) -> None:
    """
    Wait until the scheduler has taken in the executor's report on the approval task's first part (the part that
    asked for input and deferred). An answer that lands before it is lost to a race in Airflow itself: the
    answer requeues the task, the late report then reads as "finished while queued", and the task is failed. A
    person takes longer than those few seconds; a test polling the REST API does not.
    """
    line = f"TaskInstance Finished: dag_id={DAG_ID}, task_id=approve, run_id={run_id},"
    deadline = time.monotonic() + timeout
    while line not in airflow.log_path.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"the scheduler never saw the approval task defer:\n{airflow.log_tail()}"
        time.sleep(1)


def states(airflow: Deployment, run_id: str) -> dict[str, str]:
    return {t["task_id"]: t["state"] for t in airflow.task_states(DAG_ID, run_id)}


class TestSyncApprovalUnderTheScheduler:
    @pytest.mark.requires_airflow("3.1", reason="Airflow's ApprovalOperator (human in the loop)")
    def test_large_removal_waits_for_approval_then_applies_the_plan(self, airflow: Deployment, api: WooxySandbox):
        api.reset()
        airflow.wait_for_dag(DAG_ID)
        airflow.cli("dags", "unpause", DAG_ID)
        first = trigger(airflow, 200)
        assert airflow.wait_for_run(DAG_ID, first) == "success", f"{states(airflow, first)}\n{airflow.log_tail()}"
        wait_idle(airflow)
        assert len(api.email_addresses()) == 200
        assert states(airflow, first)["approve"] == "skipped"  # no removal: no approval needed

        removes_before = api.stats()["requests"].get("blacklist/remove", 0)
        second = trigger(airflow, 120)  # 80 removals: more than 10% of 200
        path = f"/dags/{DAG_ID}/dagRuns/{second}/taskInstances/approve/-1/hitlDetails"
        deadline = time.monotonic() + 240
        detail = None
        while detail is None and time.monotonic() < deadline:
            try:
                detail = airflow.rest("GET", path)
            except urllib.error.HTTPError as exc:
                if exc.code != 404:
                    raise
                time.sleep(3)
        assert detail is not None, f"the approval was never requested: {states(airflow, second)}"
        assert "approve 80 removals" in detail["subject"]
        wait_deferral_processed(airflow, second)
        # Nothing is removed while the plan waits for a person.
        time.sleep(3)
        assert api.stats()["requests"].get("blacklist/remove", 0) == removes_before
        assert states(airflow, second)["apply"] not in ("running", "success")

        answer = airflow.rest("PATCH", path, {"chosen_options": ["Approve"]})
        assert answer["chosen_options"] == ["Approve"]
        assert airflow.wait_for_run(DAG_ID, second) == "success", f"{states(airflow, second)}\n{airflow.log_tail()}"
        assert states(airflow, second)["apply"] == "success"
        assert api.email_addresses() == {f"contact{i}@example.com" for i in range(120)}
        assert api.stats()["requests"]["blacklist/remove"] - removes_before == 80
