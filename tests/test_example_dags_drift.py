"""
The weekly-verification example DAG, run with ``dag.test()`` on a weekday and then on a Sunday against one sandbox,
with entries removed through the API in between (as Wooxy's UI would): the weekday run only syncs, the Sunday run
finds and repairs exactly what was lost.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from airflow_provider_wooxy.sandbox import WooxySandbox
from tests.dag_runner import ROOT, airflow_env, without_mask_requests
from tests.helpers.sandbox import TOKEN, connection_json

DRIFT_DAG_IDS = ["example_wooxy_sync_verify"]

SCRIPT = """
import datetime, sys
from tests.dag_runner import _demo_dags
from airflow_provider_wooxy.compat import AIRFLOW_V_3_0_PLUS
from airflow_provider_wooxy.hooks.wooxy import WooxyHook

bag = _demo_dags().prepare()
dag = bag.get_dag("example_wooxy_sync_verify")
utc = datetime.timezone.utc
for day, lose in ((datetime.datetime(2026, 12, 1, tzinfo=utc), 3), (datetime.datetime(2026, 12, 6, tzinfo=utc), 0)):
    run = dag.test(**{"logical_date" if AIRFLOW_V_3_0_PLUS else "execution_date": day})
    states = {ti.task_id: getattr(ti.state, "value", ti.state) for ti in run.get_task_instances()}
    print(f"==> {day:%A}: {getattr(run.state, 'value', run.state)} {sorted(states.items())}", flush=True)
    for i in range(lose):  # behind the sync's back, through the API
        WooxyHook().remove_email_blacklist(f"contact{i}@example.com", "list-unsubscribe")
"""


@pytest.mark.dag
def test_weekday_syncs_and_sunday_verifies_and_repairs(tmp_path):
    home = tmp_path / "airflow-home"
    home.mkdir()
    with WooxySandbox(token=TOKEN, latency=0.002) as sandbox:
        env = {**airflow_env(home), "AIRFLOW_CONN_WOOXY_DEFAULT": connection_json(sandbox.url)}
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600,
        )
        listed = {(email, kind) for email, types in sandbox.emails.items() for kind in types}
        requests = sandbox.stats()["requests"]
    log = done.stdout
    assert done.returncode == 0, log[-3000:]
    assert (
        "==> Tuesday: success [('daily_or_weekly', 'success'), ('extract', 'success'), ('sync', 'success'), "
        "('sync_and_verify', 'skipped')]" in log
    ), log[-3000:]
    assert (
        "==> Sunday: success [('daily_or_weekly', 'success'), ('extract', 'success'), ('sync', 'skipped'), "
        "('sync_and_verify', 'success')]" in log
    ), log[-3000:]
    assert "Verify: 200 of 200 managed entries checked against Wooxy in 2 requests" in log
    assert "3 missing (0 of them expired), 0 foreign entries seen (never touched)" in log
    assert listed == {(f"contact{i}@example.com", "list-unsubscribe") for i in range(200)}
    # Tuesday: one look-up of the new entries (the list is empty) and 2 adds; the removes behind its back: 3;
    # Sunday: 2 pages and one add of the three (a re-add of managed entries: no look-up).
    assert requests == {"blacklist/add": 3, "blacklist/remove": 3, "blacklist/find": 3}
    assert TOKEN not in without_mask_requests(log, TOKEN)
