"""
The asset and export example DAGs, run one after the other with ``dag.test()`` in one Airflow process
(tests/dag_runner.py) against one sandbox: the asset events and their extras land in Airflow's metadata DB, the DAG
scheduled on the asset reads them, and the export file holds exactly the list.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_wooxy.compat import AIRFLOW_V_3_0_PLUS
from airflow_provider_wooxy.sandbox import WooxySandbox
from tests.dag_runner import DAGS, DagRunOutput, airflow_env, run_dags, without_mask_requests
from tests.helpers.sandbox import TOKEN, connection_json

EXPORT_DAG_IDS = ["example_wooxy_complaints_to_blacklist", "example_wooxy_export_on_update"]


@pytest.fixture(scope="module")
def export_runs(tmp_path_factory) -> tuple[Path, dict[str, DagRunOutput], set[tuple[str, str]]]:
    """
    The Airflow home, each DAG's output and what the sandbox lists afterwards: the complaints DAG adds 40 complaints
    to a list of 250 bounces, then the export DAG (scheduled on that update) exports the list.
    """
    home = tmp_path_factory.mktemp("airflow-home-assets")
    with WooxySandbox(token=TOKEN, latency=0.002) as sandbox:
        sandbox.add_emails([(f"bounce{i}@example.com", "hard") for i in range(250)])
        outputs = run_dags(airflow_env(home), [(dag_id, connection_json(sandbox.url)) for dag_id in EXPORT_DAG_IDS])
        listed = {(email, kind) for email, types in sandbox.emails.items() for kind in types}
    return home, outputs, listed


def asset_events(home: Path, uri_end: str) -> list[dict]:
    """The extras of the events of the asset (dataset on 2.x) whose URI ends so, in the metadata DB, oldest first."""
    table = "asset" if AIRFLOW_V_3_0_PLUS else "dataset"
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            f"SELECT e.extra FROM {table}_event e JOIN {table} a ON a.id = e.{table}_id"
            " WHERE a.uri LIKE ? ORDER BY e.id",
            (f"%{uri_end}",),
        ).fetchall()
    return [json.loads(extra) if isinstance(extra, str) else extra for (extra,) in rows]


@pytest.mark.dag
def test_asset_events_carry_counts_and_the_scheduled_dag_reads_them(export_runs):
    home, outputs, listed = export_runs
    for output in outputs.values():
        output.assert_succeeded()
        assert TOKEN not in without_mask_requests(output.log, TOKEN), output.dag_id
    [update] = asset_events(home, "wooxy://api.wooxy.com/blacklist/email")
    assert update["operation"] == "blacklist/add"
    assert update["sent"] == 40 and update["invalid"] == 0 and update["received"] == 40
    assert "@" not in json.dumps(update)

    assert "Blacklist updated (blacklist/add): sent 40, invalid 0" in outputs["example_wooxy_export_on_update"].log
    [export] = asset_events(home, "/exports/email-blacklist.csv.gz")
    assert export["by_reject_type"] == {"hard": 250, "complaint": 40, "list-unsubscribe": 0}
    assert export["exported"] == 290 and "@" not in json.dumps(export)
    lines = gzip.decompress(Path(home, "data", "exports", "email-blacklist.csv.gz").read_bytes()).decode().splitlines()
    rows = [tuple(line.split(",")[:2]) for line in lines[1:]]
    assert len(rows) == len(set(rows)) and set(rows) == listed


class AssetEvents(Mapping[Any, list[SimpleNamespace]]):
    """
    Events by asset, as Airflow's ``triggering_asset_events`` / ``inlet_events`` accessors hand them to a task:
    looked up by the asset's URI (2.x's Dataset has no name), never by hashing it (``Asset`` is not hashable before
    Airflow 3.2).
    """

    def __init__(self, asset: Any, events: list[SimpleNamespace]) -> None:
        self.key, self.events = asset.uri, events

    def __getitem__(self, asset: Any) -> list[SimpleNamespace]:
        if asset.uri != self.key:
            raise KeyError(asset.uri)
        return self.events

    def __iter__(self) -> Iterator[Any]:
        return iter([])

    def __len__(self) -> int:
        return 1


def test_scheduled_dag_prefers_the_triggering_event():
    """In a run the asset triggered, the counts come from the triggering event (not the asset's latest)."""
    from airflow.models import DagBag

    bag = DagBag(dag_folder=str(DAGS / "example_wooxy_export_on_update.py"))
    dag = bag.dags["example_wooxy_export_on_update"]
    read_update = dag.get_task("read_update").python_callable
    asset = next(iter(dag.get_task("read_update").inlets))
    triggering = AssetEvents(asset, [SimpleNamespace(extra={"operation": "blacklist/add", "sent": 7, "invalid": 1})])
    latest = AssetEvents(asset, [SimpleNamespace(extra={"operation": "blacklist/remove", "sent": 99})])
    assert read_update(triggering_asset_events=triggering, inlet_events=latest)["sent"] == 7
    assert read_update(triggering_asset_events={}, inlet_events=latest)["sent"] == 99
    # Airflow 2.x hands the triggering events by the dataset's URI, under its own name.
    by_uri = {asset.uri: triggering[asset]}
    assert read_update(triggering_dataset_events=by_uri, inlet_events=latest)["sent"] == 7
