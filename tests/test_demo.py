"""The README's demo, scripts/demo.sh, keeps working: one push example (to keep the suite quick) and the sync story."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from airflow_provider_wooxy.compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_1_PLUS

ROOT = Path(__file__).parents[1]


@pytest.mark.dag
def test_demo_script_runs_a_push_example_and_the_guarded_sync(tmp_path):
    done = subprocess.run(
        ["bash", "scripts/demo.sh", "example_wooxy_phone_from_xcom", "sync"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "WOOXY_DEMO_HOME": str(tmp_path / "airflow-demo")},  # legs run side by side
    )
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    assert "Done: 122 records accepted by Wooxy" in out
    # 1: a first sync through the example DAG; 2: the truth changes; 3: the removal guard stops the next run and
    # writes its plan; 4: that plan, approved by its id, is applied.
    assert "Done: 200 added, 0 removed" in out
    assert "==> sync 1/4 done: the state holds 200 managed entries" in out
    assert "==> sync 2/4: the truth changes" in out
    if AIRFLOW_V_3_1_PLUS or not AIRFLOW_V_3_0_PLUS:  # 3.0's dag.test() keeps a failed task's error in its log
        guard = "the plan removes 50 of 200 managed entries, more than max_removals=0.1 allows (20); nothing was sent"
        assert guard in out
    stopped = re.search(r"==> sync 3/4 done: stopped by the removal guard, nothing sent; plan ([0-9a-f]+) ", out)
    assert stopped, out[-3000:]
    assert f"==> sync 4/4: the reviewed plan applied: approved_plan_id='{stopped[1]}'" in out
    assert "Done: 10 added, 50 removed, 0 refused by Wooxy" in out
    assert "==> sync 4/4 done: the state holds 160 managed entries" in out
    assert '"emails": 160' in out  # what the sandbox holds at the end
    assert "==> demo succeeded" in out
