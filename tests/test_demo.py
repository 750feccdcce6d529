"""The README's main command, scripts/demo.sh, keeps working (one example DAG, to keep the suite quick)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.dag
def test_demo_script_runs_an_example_dag(tmp_path):
    done = subprocess.run(
        ["bash", "scripts/demo.sh", "example_wooxy_phone_from_xcom"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "WOOXY_DEMO_HOME": str(tmp_path / "airflow-demo")},  # legs run side by side
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Done: 122 records accepted by Wooxy" in done.stdout
    assert "==> demo succeeded" in done.stdout
