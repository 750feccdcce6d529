"""
The source example DAGs (a warehouse query, a multi-part Parquet export) run end to end with ``dag.test()`` in
one Airflow process (tests/dag_runner.py), each against a sandbox of its own; the warehouse is a SQLite database
the DAG creates.
"""

from __future__ import annotations

import sqlite3
from contextlib import ExitStack
from pathlib import Path

import pytest

from airflow_provider_wooxy.sandbox import WooxySandbox
from tests.dag_runner import DagRunOutput, airflow_env, run_dags, without_mask_requests
from tests.helpers.sandbox import TOKEN, assert_within_limit, connection_json

SOURCE_DAG_IDS = ["example_wooxy_sync_from_warehouse", "example_wooxy_phone_from_parquet", "example_wooxy_sync_audit"]


@pytest.fixture(scope="module")
def source_runs(tmp_path_factory) -> tuple[Path, dict[str, tuple[DagRunOutput, dict]]]:
    home = tmp_path_factory.mktemp("airflow-home-sources")
    warehouse = home / "data" / "warehouse.db"
    env = {
        **airflow_env(home),
        "WOOXY_EXAMPLE_WAREHOUSE": str(warehouse),
        "AIRFLOW_CONN_WOOXY_WAREHOUSE": f'{{"conn_type": "sqlite", "host": "{warehouse}"}}',
    }
    with ExitStack() as stack:
        sandboxes = {d: stack.enter_context(WooxySandbox(token=TOKEN, latency=0.002)) for d in SOURCE_DAG_IDS}
        outputs = run_dags(env, [(d, connection_json(sandboxes[d].url)) for d in SOURCE_DAG_IDS])
        return home, {d: (outputs[d], sandboxes[d].stats()) for d in SOURCE_DAG_IDS}


@pytest.mark.dag
@pytest.mark.parametrize("dag_id", SOURCE_DAG_IDS)
def test_source_example_dag_runs_against_sandbox(source_runs, dag_id):
    home, runs = source_runs
    output, stats = runs[dag_id]
    output.assert_succeeded()
    assert_within_limit(stats)
    assert TOKEN not in without_mask_requests(output.log, TOKEN)
    if dag_id == "example_wooxy_sync_from_warehouse":  # 320 rows, 80 of them SMS, one malformed row rejected
        # One look-up of the new entries first: the list is empty.
        assert (stats["emails"], stats["requests"]) == (240, {"blacklist/find": 1, "blacklist/add": 3})
        [rejects] = Path(home, "data", "warehouse-sync").glob("*/rejects.csv")
        assert "not-an-address" in rejects.read_text()
        assert "row 241: " in output.log
    elif dag_id == "example_wooxy_sync_audit":  # 150 adds, in the day's CSV file and in the warehouse's table
        [changelog] = Path(home, "data", "audit-sync", "changelog").glob("*.csv")
        assert len(changelog.read_text().splitlines()) == 1 + 150
        with sqlite3.connect(Path(home, "data", "warehouse.db")) as db:
            assert db.execute("SELECT action, status, count(*) FROM wooxy_email_changelog").fetchall() == [
                ("add", "accepted", 150)
            ]
    else:  # 120 numbers in 4 parts, one null
        assert (stats["phones"], stats["requests"]) == (119, {"phone-blacklist/add": 2})
        assert "part-00000.parquet row 8: null in column 'phone'" in output.log
