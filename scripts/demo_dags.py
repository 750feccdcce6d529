"""
The Airflow half of scripts/demo.sh, in one process: creates the metadata database and the ``wooxy_api`` pool, then
runs each example DAG with ``dag.test()``, which is what ``airflow dags test`` does. One process imports Airflow
once (about 7 s here) where the CLI imported it for every step, which took the demo from about 2 minutes to under
one.

Usage: python scripts/demo_dags.py DAG_ID...   (AIRFLOW_HOME, the DAG folder and the connection come from the
environment demo.sh sets up). The name ``sync`` runs the sync story instead (:func:`sync_story`). Exits non-zero
naming the first DAG whose run did not end as it should.

The example-DAG tests drive the same two steps (:func:`prepare`, :func:`run_dag`) through tests/dag_runner.py.
"""

from __future__ import annotations

import json
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
    state = _state(dag.test())
    print(f"==> {dag_id}: {state}", flush=True)
    return state


SYNC_EXAMPLE = "example_wooxy_sync_with_approval"


def sync_story(bag: DagBag) -> bool:
    """
    The sync example end to end, in four steps: a first sync (the example DAG: dry run, no approval needed, apply);
    a change in the truth; a sync run the removal guard stops, with its plan written; and the apply of that plan,
    approved by its id. Steps 3 and 4 run the example's sync settings as one-task DAGs (scripts/demo_sync_dags.py):
    the manual path of a review (in a deployment, the example's approval step asks a person instead).

    :return: whether every step ended as it should (step 3 must fail, at the guard).
    """
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    storage = os.environ["WOOXY_EXAMPLE_STORAGE"]
    extract = ObjectStoragePath(f"{storage}/sync/unsubscribed.csv")  # where the example's extract task writes
    state_path = f"{storage}/sync/emails.state"

    def managed() -> int:
        return len(ObjectStoragePath(state_path).read_text().splitlines()) - 1  # a header, then one entry a line

    print("==> sync 1/4: a first sync: example_wooxy_sync_with_approval, 200 unsubscribed contacts", flush=True)
    dag = bag.get_dag(SYNC_EXAMPLE)
    if dag is None or _state(dag.test(run_conf={"contacts": 200})) != "success":
        print(f"FAILED: the first sync ({SYNC_EXAMPLE}) did not succeed", flush=True)
        return False
    print(f"==> sync 1/4 done: the state holds {managed()} managed entries", flush=True)

    print("==> sync 2/4: the truth changes: 50 contacts re-subscribed, 10 new unsubscribes", flush=True)
    extract.write_text("email\n" + "".join(f"contact{i}@example.com\n" for i in range(50, 210)))

    plan_path = f"{storage}/sync/plan-guarded.jsonl"  # as scripts/demo_sync_dags.py writes it
    print("==> sync 3/4: a sync of the new truth: 50 removals of 200 managed, over max_removals=0.1", flush=True)
    guarded, approved = bag.get_dag("demo_wooxy_sync_guarded"), bag.get_dag("demo_wooxy_sync_approved")
    if guarded is None or approved is None:
        print("FAILED: the demo's sync DAGs (scripts/demo_sync_dags.py) are not in the DAG folder", flush=True)
        return False
    if _state(guarded.test()) != "failed":
        print("FAILED: the removal guard did not stop the sync", flush=True)
        return False
    counts = json.loads(ObjectStoragePath(plan_path).read_text().splitlines()[0])
    print(
        f"==> sync 3/4 done: stopped by the removal guard, nothing sent; plan {counts['plan_id']} "
        f"({counts['to_add']} adds, {counts['to_remove']} removes) written to {plan_path}; "
        f"the state still holds {managed()} entries",
        flush=True,
    )

    print(f"==> sync 4/4: the reviewed plan applied: approved_plan_id={counts['plan_id']!r}", flush=True)
    if _state(approved.test(run_conf={"approved_plan_id": counts["plan_id"]})) != "success":
        print("FAILED: the approved apply did not succeed", flush=True)
        return False
    print(f"==> sync 4/4 done: the state holds {managed()} managed entries", flush=True)
    return True


def _state(run: object) -> str | None:
    state = getattr(run, "state", None)
    return getattr(state, "value", state)  # a DagRunState


def main(dag_ids: list[str]) -> int:
    bag = prepare()
    if bag is None:
        return 1
    for dag_id in dag_ids:
        if dag_id == "sync":
            if not sync_story(bag):
                return 1
        elif run_dag(bag, dag_id) != "success":
            return 1
    return 0


def exit_now(code: int) -> None:
    """Exits at once: Airflow's atexit hooks (settings, logging) add seconds to a process with nothing left to do."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main(sys.argv[1:]))
