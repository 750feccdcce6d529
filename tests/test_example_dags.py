"""
The example DAGs import cleanly and run end to end through Airflow against the sandbox: all of them with
``dag.test()`` in one Airflow process (tests/dag_runner.py), one of them through the real ``airflow dags test`` CLI.
"""

from __future__ import annotations

import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wooxy.sandbox import WooxySandbox
from tests.dag_runner import DAGS, DagRunOutput, airflow_env, run_dags, without_mask_requests
from tests.helpers.sandbox import TOKEN, assert_within_limit, connection_json
from tests.test_example_dags_drift import DRIFT_DAG_IDS
from tests.test_example_dags_export import EXPORT_DAG_IDS
from tests.test_example_dags_sources import SOURCE_DAG_IDS

DAG_IDS = [
    "example_wooxy_email_from_csv",
    "example_wooxy_phone_from_xcom",
    "example_wooxy_removals",
    "example_wooxy_sync_with_approval",
]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory) -> dict[str, str]:
    return airflow_env(tmp_path_factory.mktemp("airflow-home"))


@pytest.fixture(scope="module")
def dag_runs(airflow_home) -> dict[str, tuple[DagRunOutput, dict[str, Any]]]:
    """Every DAG of DAG_IDS run once in one Airflow process, each against a sandbox of its own: (output, stats)."""
    with ExitStack() as stack:
        sandboxes = {dag_id: stack.enter_context(WooxySandbox(token=TOKEN, latency=0.005)) for dag_id in DAG_IDS}
        outputs = run_dags(airflow_home, [(dag_id, connection_json(sandboxes[dag_id].url)) for dag_id in DAG_IDS])
        return {dag_id: (outputs[dag_id], sandboxes[dag_id].stats()) for dag_id in DAG_IDS}


def test_example_dags_import_cleanly():
    from airflow.models import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == sorted(
        DAG_IDS + EXPORT_DAG_IDS + SOURCE_DAG_IDS + DRIFT_DAG_IDS
    )  # the latter in their own modules
    for dag in bag.dags.values():
        wooxy_tasks = [t for t in dag.tasks if type(t).__module__.startswith("airflow_provider_wooxy")]
        assert wooxy_tasks
        assert all(t.pool == "wooxy_api" for t in wooxy_tasks)


@pytest.mark.dag
@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_example_dag_runs_against_sandbox(airflow_home, dag_runs, dag_id):
    """Each DAG's stats come from its own sandbox, so the exact counts below also show each run used its own."""
    output, stats = dag_runs[dag_id]
    output.assert_succeeded()
    assert stats["total_requests"] > 0, f"{dag_id} sent nothing to its sandbox"
    assert_within_limit(stats)
    assert TOKEN not in without_mask_requests(output.log, TOKEN)
    if dag_id == "example_wooxy_email_from_csv":
        assert stats["emails"] == 250
        rejects = Path(airflow_home["AIRFLOW_HOME"], "data").glob("*/bounces.rejects.csv")
        assert "not-an-address" in next(rejects).read_text()
    elif dag_id == "example_wooxy_phone_from_xcom":
        assert stats["phones"] == 122
    elif dag_id == "example_wooxy_sync_with_approval":  # a first sync: 200 adds, no removal, no approval needed
        # The dry run and the apply each look the new entries up: one request each, the list being empty.
        assert (stats["emails"], stats["requests"]) == (200, {"blacklist/find": 2, "blacklist/add": 2})
        assert "emails.state" in {p.name for p in Path(airflow_home["AIRFLOW_HOME"], "data", "sync").iterdir()}
    else:
        assert stats["requests"] == {"blacklist/remove": 20, "phone-blacklist/remove": 2}


@pytest.mark.dag
def test_example_dag_runs_through_the_airflow_cli(airflow_home, dag_runs):
    """
    One DAG through the real ``airflow dags test`` command, as operators run it (issue 11 asks for that on each
    Airflow version); the other DAGs run in one process above. Reuses the metadata DB the runner of ``dag_runs``
    created, which saves an ``airflow db migrate`` (about 20 s).
    """
    dag_id = "example_wooxy_phone_from_xcom"
    with WooxySandbox(token=TOKEN, latency=0.005) as sandbox:
        env = {**airflow_home, "AIRFLOW_CONN_WOOXY_DEFAULT": connection_json(sandbox.url)}
        result = subprocess.run([AIRFLOW, "dags", "test", dag_id], env=env, capture_output=True, text=True, timeout=300)
        log = result.stdout + result.stderr
        finished = [line for line in log.splitlines() if f"DagRun Finished: dag_id={dag_id}" in line]
        assert len(finished) == 1, log[-3000:]
        assert "state=success" in finished[0], log[-3000:]  # the run's own final state, not any task's line
        stats = sandbox.stats()
    assert stats["phones"] == 122
    assert_within_limit(stats)
    assert TOKEN not in without_mask_requests(log, TOKEN)
