"""
The Airflow half of scripts/demo.sh, in one process: creates the metadata database and the ``wooxy_api`` pool, then
runs each example DAG with ``dag.test()``, which is what ``airflow dags test`` does. One process imports Airflow
once (about 7 s here) where the CLI imported it for every step, which took the demo from about 2 minutes to under
one.

Usage: python scripts/demo_dags.py DAG_ID...   (AIRFLOW_HOME, the DAG folder and the connection come from the
environment demo.sh sets up). Exits non-zero naming the first DAG whose run did not succeed.
"""

from __future__ import annotations

import os
import sys


def main(dag_ids: list[str]) -> int:
    from airflow.models import DagBag, Pool
    from airflow.utils import db

    db.initdb()
    Pool.create_or_update_pool("wooxy_api", 10, "Wooxy API: at most 10 concurrent requests", False)
    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        print(f"FAILED: the example DAGs do not import: {bag.import_errors}", flush=True)
        return 1
    for dag_id in dag_ids:
        dag = bag.get_dag(dag_id)
        if dag is None:
            print(f"FAILED: no DAG {dag_id!r}; the example DAGs are {sorted(bag.dag_ids)}", flush=True)
            return 1
        print(f"==> dag.test() {dag_id}", flush=True)
        run = dag.test()
        state = getattr(run, "state", None)
        print(f"==> {dag_id}: {state}", flush=True)
        if state != "success":
            return 1
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # Airflow's atexit hooks (settings, logging) add seconds to a process that has nothing left to do.
    os._exit(code)
