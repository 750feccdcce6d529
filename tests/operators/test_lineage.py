"""Asset event extras and OpenLineage facets of the Wooxy operators."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pendulum
import pytest
from airflow.providers.common.compat.sdk import DAG, Asset, task

from airflow_provider_wooxy.operators.blacklist import WooxyAddEmailBlacklistOperator, WooxyAddPhoneBlacklistOperator
from airflow_provider_wooxy.operators.export import WooxyExportEmailBlacklistOperator
from airflow_provider_wooxy.operators.lineage import asset_extra, file_dataset
from airflow_provider_wooxy.operators.sync import WooxySyncPhoneBlacklistOperator
from tests.airflow_compat import OutletEventAccessors

SUPPRESSION = Asset("wooxy://suppression/email")


def openlineage(operator):
    """The operator's lineage as the OpenLineage provider extracts it after a successful run."""
    from airflow.providers.openlineage.extractors.manager import ExtractorManager

    manager = ExtractorManager()
    extractor = manager._get_extractor(operator)
    assert extractor is not None, "the OpenLineage provider found no get_openlineage_facets_on_complete"
    return manager.validate_task_metadata(extractor.extract_on_complete(None))


def dataset(ds) -> tuple[str, str]:
    return ds.namespace, ds.name


class TestAssetExtra:
    @pytest.mark.parametrize(
        ("summary", "expected"),
        [
            pytest.param(
                {"sent": 3, "dry_run": False, "ratio": 0.5}, {"sent": 3, "dry_run": False, "ratio": 0.5}, id="numbers"
            ),
            pytest.param({"by_reject_type": {"hard": 2}}, {"by_reject_type": {"hard": 2}}, id="counts-per-type"),
            pytest.param({"rejects_sample": [{"value": "j***@e***.com"}]}, {}, id="sample-dropped"),
            pytest.param({"path": "s3://b/john.doe@example.com.csv"}, {}, id="other-strings-dropped"),
            pytest.param({"by_type": {"hard": "a@b.c"}}, {}, id="mapping-of-strings-dropped"),
            pytest.param({"operation": "blacklist/add"}, {"operation": "blacklist/add"}, id="operation-kept"),
        ],
    )
    def test_only_counts_and_names(self, summary, expected):
        assert asset_extra(summary) == expected


class TestReportSummary:
    def test_add_operator_attaches_counts_to_its_asset_event(self, wooxy_conn):
        events = OutletEventAccessors()
        operator = WooxyAddEmailBlacklistOperator(
            task_id="add",
            records=["a@example.com", "b@example.com", "not-an-address"],
            max_invalid=1,
            outlets=[SUPPRESSION],
        )
        summary = operator.execute({"outlet_events": events})
        extra = events[SUPPRESSION].extra
        assert extra["sent"] == 2 and extra["invalid"] == 1 and extra["operation"] == "blacklist/add"
        assert summary["rejects_sample"] and "rejects_sample" not in extra
        assert "example.com" not in json.dumps(extra) and "not-an-address" not in json.dumps(extra)

    def test_export_operator_attaches_counts_per_reject_type(self, wooxy_conn, tmp_path):
        wooxy_conn.add_emails([("a@example.com", "hard"), ("b@example.com", "complaint")])
        events = OutletEventAccessors()
        other = Asset("s3://warehouse/other")
        WooxyExportEmailBlacklistOperator(
            task_id="export", output_path=str(tmp_path / "out.csv"), outlets=[SUPPRESSION, other]
        ).execute({"outlet_events": events})
        for asset in (SUPPRESSION, other):
            assert events[asset].extra["by_reject_type"] == {"hard": 1, "complaint": 1, "list-unsubscribe": 0}
            assert events[asset].extra["exported"] == 2
        assert "@" not in json.dumps(events[SUPPRESSION].extra)

    def test_sync_operator_attaches_its_plan_counts_and_reports_its_list(self, wooxy_conn, tmp_path):
        events = OutletEventAccessors()
        operator = WooxySyncPhoneBlacklistOperator(
            task_id="sync",
            records=["07911 123456", "+33 6 12 34 56 78"],
            default_region="GB",
            state_path=str(tmp_path / "phones.state"),
            outlets=[SUPPRESSION],
        )
        operator.execute({"outlet_events": events})
        extra = events[SUPPRESSION].extra
        assert extra["to_add"] == 2 and extra["added"] == 2 and extra["removed"] == 0
        assert "+44" not in json.dumps(extra) and "plan_id" not in extra
        lineage = openlineage(operator)
        assert [dataset(d) for d in lineage.outputs] == [(f"wooxy://127.0.0.1:{wooxy_conn.port}", "blacklist/phone")]

    def test_without_outlets_nothing_is_attached(self, wooxy_conn):
        events = OutletEventAccessors()
        WooxyAddEmailBlacklistOperator(task_id="add", records=["a@example.com"]).execute({"outlet_events": events})
        assert len(events) == 0


class TestOpenLineage:
    def test_add_from_file(self, wooxy_conn, tmp_path):
        path = tmp_path / "bounces.csv"
        path.write_text("email\na@example.com\nb@example.com\n")
        operator = WooxyAddEmailBlacklistOperator(task_id="add", path=str(path))
        operator.execute({})
        lineage = openlineage(operator)
        assert [dataset(d) for d in lineage.inputs] == [("file", str(path))]
        assert [dataset(d) for d in lineage.outputs] == [(f"wooxy://127.0.0.1:{wooxy_conn.port}", "blacklist/email")]
        assert lineage.outputs[0].outputFacets["outputStatistics"].rowCount == 2

    def test_the_changelog_file_and_table_are_outputs(self, wooxy_conn, tmp_path, monkeypatch):
        monkeypatch.setenv(
            "AIRFLOW_CONN_AUDIT_DB",
            '{"conn_type": "postgres", "host": "db.internal", "port": 5432, "schema": "analytics"}',
        )
        operator = WooxyAddEmailBlacklistOperator(
            task_id="add",
            records=["a@example.com", "b@example.com"],
            changelog_path=str(tmp_path / "log.csv"),
            changelog_table="audit.wooxy_log",
            changelog_conn_id="audit_db",
        )
        operator.wooxy_summary = {"sent": 2, "changelog_rows": 2}  # what execute() leaves (no database here)
        lineage = openlineage(operator)
        assert [dataset(d) for d in lineage.outputs] == [
            (f"wooxy://127.0.0.1:{wooxy_conn.port}", "blacklist/email"),
            ("file", str(tmp_path / "log.csv")),
            ("postgres://db.internal:5432", "analytics.audit.wooxy_log"),
        ]
        assert [d.outputFacets["outputStatistics"].rowCount for d in lineage.outputs] == [2, 2, 2]

    def test_add_phones_from_upstream_xcom(self, wooxy_conn):
        with DAG("lineage_dag", schedule=None, start_date=pendulum.datetime(2026, 1, 1)):

            @task
            def numbers() -> list[str]:
                return ["+447911123456"]

            operator = WooxyAddPhoneBlacklistOperator(task_id="add", records=numbers())
        operator.records = ["+447911123456"]  # what the upstream's XCom renders to
        operator.execute({})
        lineage = openlineage(operator)
        assert [dataset(d) for d in lineage.inputs] == [("default", "lineage_dag.numbers.xcom")]
        assert [dataset(d) for d in lineage.outputs] == [(f"wooxy://127.0.0.1:{wooxy_conn.port}", "blacklist/phone")]
        assert lineage.outputs[0].outputFacets["outputStatistics"].rowCount == 1

    @pytest.mark.parametrize(
        ("uri", "expected"),
        [
            pytest.param("s3://warehouse/wooxy/list.csv.gz", ("s3://warehouse", "wooxy/list.csv.gz"), id="s3"),
            pytest.param("file:///data/list.jsonl", ("file", "/data/list.jsonl"), id="file-uri"),
        ],
    )
    def test_file_dataset_names(self, uri, expected):
        assert dataset(file_dataset(uri)) == expected

    def test_export_reads_the_list_and_writes_the_file(self, wooxy_conn, tmp_path):
        wooxy_conn.add_emails([(f"u{i}@example.com", "hard") for i in range(5)])
        operator = WooxyExportEmailBlacklistOperator(task_id="export", output_path=str(tmp_path / "list.jsonl"))
        operator.execute({})
        lineage = openlineage(operator)
        assert [dataset(d) for d in lineage.inputs] == [(f"wooxy://127.0.0.1:{wooxy_conn.port}", "blacklist/email")]
        assert [dataset(d) for d in lineage.outputs] == [("file", str(tmp_path / "list.jsonl"))]
        assert lineage.outputs[0].outputFacets["outputStatistics"].rowCount == 5

    def test_openlineage_is_imported_lazily(self):
        """Importing and running the operators loads neither the OpenLineage client nor the provider's extractors."""
        script = textwrap.dedent(
            """
            import sys

            def loaded():
                return [m for m in sys.modules if m.split(".")[0] == "openlineage" or ".openlineage.extractors" in m]

            from airflow_provider_wooxy.operators import blacklist, export, lineage
            assert not loaded(), loaded()
            operator = blacklist.WooxyAddEmailBlacklistOperator(task_id="add", records=["a@example.com"], dry_run=True)
            operator.execute({})
            assert not loaded(), loaded()
            print("lazy")
            """
        )
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.strip().splitlines()[-1] == "lazy"
