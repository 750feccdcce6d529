"""
Runs example DAGs for the example-DAG tests in ONE Airflow process, each with its own ``wooxy_default`` connection.

Every ``airflow dags test`` call imports Airflow again (20-50 s each on this machine); this runs the DAGs one after
the other with ``dag.test()`` (what ``airflow dags test`` does) after a single import and database set-up, through
the same two steps as the demo (scripts/demo_dags.py: ``prepare``, ``run_dag``).

In the pytest process: :func:`airflow_env` and :func:`run_dags` (starts this file as a subprocess and splits its
output per DAG). As a script: ``python tests/dag_runner.py PLAN.json``, where the plan is a JSON list of
``[dag_id, connection]`` pairs; before each DAG the runner points ``AIRFLOW_CONN_WOOXY_DEFAULT`` at that DAG's
connection, so each DAG talks to its own sandbox. Every DAG runs even when an earlier one failed.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_provider_wooxy.compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_1_PLUS

ROOT = Path(__file__).parents[1]
DAGS = ROOT / "example_dags"
START = "==> dag.test() "
"""The line scripts/demo_dags.py prints before a DAG's run; ``==> DAG_ID: STATE`` follows it."""


def without_mask_requests(log: str, token: str) -> str:
    """The log without Airflow 3.0's own secret-masking requests, which it prints at debug level (fixed in 3.1)."""
    if AIRFLOW_V_3_1_PLUS:
        return log
    return "\n".join(line for line in log.splitlines() if f"MaskSecret(value='{token}'" not in line)


def airflow_env(home: Path) -> dict[str, str]:
    """The environment of a throw-away Airflow home running the example DAGs (their files go under home/data)."""
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "WOOXY_EXAMPLE_STORAGE": f"file://{home}/data",
    }


@dataclass
class DagRunOutput:
    """One DAG's part of the runner's output."""

    dag_id: str
    state: str | None
    """The run's final state as ``dag.test()`` returned it; None if the runner never reported one."""
    log: str
    """From this DAG's start marker to the next DAG's (the whole output if this DAG never started)."""

    def assert_succeeded(self) -> None:
        assert self.state == "success", f"{self.dag_id}: the run ended {self.state!r}\n{self.log[-3000:]}"


def run_dags(env: dict[str, str], plan: list[tuple[str, str]], timeout: float = 900) -> dict[str, DagRunOutput]:
    """
    Runs the DAGs of ``plan`` in one subprocess and returns each DAG's state and log.

    :param env: the environment, from :func:`airflow_env`.
    :param plan: ``(dag_id, connection JSON)`` pairs, run in this order.
    :param timeout: seconds for the whole process.
    """
    plan_file = Path(env["AIRFLOW_HOME"], "dag-runner-plan.json")
    plan_file.write_text(json.dumps(plan))
    done = subprocess.run(
        [sys.executable, __file__, str(plan_file)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one stream, so that every line stays in its DAG's part
        text=True,
        timeout=timeout,
    )
    return split_by_dag(done.stdout, [dag_id for dag_id, _ in plan])


def split_by_dag(output: str, dag_ids: list[str]) -> dict[str, DagRunOutput]:
    parts: dict[str, list[str]] = {}
    states: dict[str, str] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        if line.startswith(START) and line[len(START) :] in dag_ids:
            current = parts.setdefault(line[len(START) :], [])
        elif (end := re.fullmatch(r"==> (\S+): (\S+)", line)) and end[1] in dag_ids:
            states[end[1]] = end[2]
        if current is not None:
            current.append(line)
    return {
        dag_id: DagRunOutput(dag_id, states.get(dag_id), "\n".join(parts[dag_id]) if dag_id in parts else output)
        for dag_id in dag_ids
    }


@functools.cache
def _demo_dags() -> Any:
    """scripts/demo_dags.py as a module (scripts/ is no package)."""
    spec = importlib.util.spec_from_file_location("demo_dags", ROOT / "scripts" / "demo_dags.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(plan: list[tuple[str, str]]) -> int:
    demo = _demo_dags()
    bag = demo.prepare()
    if bag is None:
        return 1
    if not AIRFLOW_V_3_0_PLUS:
        # 2.x's dag.test() drops the dataset events of a DAG the DB has not seen ("DatasetModel ... not found").
        bag.sync_to_db()
    elif not AIRFLOW_V_3_1_PLUS:
        # 3.0's dag.test() does not write the DAG and its assets to the DB (3.1+ does), so a task with an asset
        # outlet fails with "inactive assets"; the DAG processor's step, in the default "dags-folder" bundle.
        from airflow.dag_processing.bundles.manager import DagBundlesManager

        DagBundlesManager().sync_bundles_to_db()
        bag.sync_to_db("dags-folder", bundle_version=None)
    failed = False
    for dag_id, connection in plan:
        # Read again by every task: connections from the environment are not cached ([secrets] use_cache is off).
        os.environ["AIRFLOW_CONN_WOOXY_DEFAULT"] = connection
        try:
            state = demo.run_dag(bag, dag_id)
        except Exception:
            traceback.print_exc()
            print(f"==> {dag_id}: raised", flush=True)
            state = None
        failed = failed or state != "success"
    return int(failed)


if __name__ == "__main__":
    _demo_dags().exit_now(main([tuple(step) for step in json.loads(Path(sys.argv[1]).read_text())]))
