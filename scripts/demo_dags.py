"""
The Airflow half of scripts/demo.sh, in one process: creates the metadata database and the ``wooxy_api`` pool, then
runs each example DAG with ``dag.test()``, which is what ``airflow dags test`` does. One process imports Airflow
once (about 7 s here) where the CLI imported it for every step, which took the demo from about 2 minutes to under
one.

Usage: python scripts/demo_dags.py DAG_ID...   (AIRFLOW_HOME, the DAG folder and the connection come from the
environment demo.sh sets up). Exits non-zero naming the first DAG whose run did not succeed.

The example-DAG tests drive the same two steps (:func:`prepare`, :func:`run_dag`) through tests/dag_runner.py.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.models import DagBag


def prepare() -> DagBag | None:
    """Creates the metadata DB and the ``wooxy_api`` pool; returns the example DAGs (None if one fails to import)."""
    from airflow.models import DagBag, Pool
    from airflow.utils import db

    db.initdb()
    Pool.create_or_update_pool("wooxy_api", 10, "Wooxy API: at most 10 concurrent requests", False)
    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        print(f"FAILED: the example DAGs do not import: {bag.import_errors}", flush=True)
        return None
    return bag


def run_dag(bag: DagBag, dag_id: str) -> str | None:
    """
    Runs one DAG with ``dag.test()`` between two marker lines (``==> dag.test() DAG_ID`` and ``==> DAG_ID: STATE``).

    :param bag: the DAGs, from :func:`prepare`.
    :param dag_id: the DAG to run.
    :return: the run's final state (``"success"`` when it succeeded), None when there is no such DAG.
    """
    dag = bag.get_dag(dag_id)
    if dag is None:
        print(f"FAILED: no DAG {dag_id!r}; the example DAGs are {sorted(bag.dag_ids)}", flush=True)
        return None
    print(f"==> dag.test() {dag_id}", flush=True)
    run = dag.test()
    state = getattr(run, "state", None)
    state = getattr(state, "value", state)  # a DagRunState
    print(f"==> {dag_id}: {state}", flush=True)
    return state


def main(dag_ids: list[str]) -> int:
    bag = prepare()
    if bag is None:
        return 1
    for dag_id in dag_ids:
        if run_dag(bag, dag_id) != "success":
            return 1
    return 0


def exit_now(code: int) -> None:
    """Exits at once: Airflow's atexit hooks (settings, logging) add seconds to a process with nothing left to do."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main(sys.argv[1:]))
