"""Which executor runs a task, read from Airflow's configuration, and the sync's refusal of a state on one worker's
disk under an executor that spreads tasks over several workers (Airflow 2.11 and 3.x alike)."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.operators.executors import executor_of, runs_on_one_machine
from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator, WooxySyncPhoneBlacklistOperator
from airflow_provider_wooxy.sandbox import WooxySandbox

CELERY = "airflow.providers.celery.executors.celery_executor.CeleryExecutor"


class TestExecutorOf:
    @pytest.mark.parametrize(
        ("configured", "task_executor", "expected"),
        [
            pytest.param("LocalExecutor", None, "LocalExecutor", id="local"),
            pytest.param("CeleryExecutor", None, "CeleryExecutor", id="celery"),
            pytest.param(CELERY, None, "CeleryExecutor", id="class-path"),
            pytest.param("LocalExecutor,CeleryExecutor", None, "LocalExecutor", id="first-is-the-default"),
            pytest.param("LocalExecutor,CeleryExecutor", "CeleryExecutor", "CeleryExecutor", id="task-chooses"),
            pytest.param(f"LocalExecutor,farm:{CELERY}", "farm", "CeleryExecutor", id="task-names-an-alias"),
            pytest.param(f"farm:{CELERY}", None, "CeleryExecutor", id="alias-first"),
            pytest.param("KubernetesExecutor", None, "KubernetesExecutor", id="kubernetes"),
        ],
    )
    def test_reads_the_configuration(self, monkeypatch, configured, task_executor, expected):
        monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", configured)
        assert executor_of(task_executor) == expected

    @pytest.mark.parametrize(
        ("executor", "one_machine"),
        [
            ("LocalExecutor", True),
            ("SequentialExecutor", True),
            ("CeleryExecutor", False),
            ("KubernetesExecutor", False),
            ("CeleryKubernetesExecutor", False),
            ("EdgeExecutor", False),
            ("MyCompanyExecutor", False),  # unknown: assume the worst (allow_local_state opts out)
        ],
    )
    def test_one_machine(self, executor, one_machine):
        assert runs_on_one_machine(executor) is one_machine


class TestLocalStateUnderDistributedExecutor:
    @pytest.fixture(autouse=True)
    def celery(self, monkeypatch):
        monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")

    @pytest.mark.parametrize("scheme", ["", "file://"])
    @pytest.mark.parametrize("operator", [WooxySyncEmailBlacklistOperator, WooxySyncPhoneBlacklistOperator])
    def test_refused_before_any_request(self, wooxy_conn: WooxySandbox, tmp_path: Path, scheme, operator):
        state = tmp_path / "emails.state"
        task = operator(task_id="sync", records=["a@example.com"], state_path=f"{scheme}{state}")
        with pytest.raises(WooxyInputError) as caught:
            task.execute({})
        message = str(caught.value)
        assert "CeleryExecutor" in message
        assert "another worker" in message
        assert "object storage" in message and "allow_local_state=True" in message
        assert wooxy_conn.stats()["total_requests"] == 0
        assert list(tmp_path.iterdir()) == []  # no state, lease or journal written

    def test_dry_run_refused_too(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        task = WooxySyncEmailBlacklistOperator(
            task_id="sync", records=["a@example.com"], state_path=str(tmp_path / "s.state"), dry_run=True
        )
        with pytest.raises(WooxyInputError, match="allow_local_state"):
            task.execute({})
        assert wooxy_conn.stats()["total_requests"] == 0

    def test_shared_file_system_allowed(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        state = tmp_path / "emails.state"
        summary = WooxySyncEmailBlacklistOperator(
            task_id="sync", records=["a@example.com"], state_path=str(state), allow_local_state=True
        ).execute({})
        assert summary["added"] == 1
        assert state.exists()

    def test_object_storage_accepted(self, wooxy_conn: WooxySandbox, memory_storage: str):
        summary = WooxySyncEmailBlacklistOperator(
            task_id="sync", records=["a@example.com"], state_path=f"{memory_storage}/emails.state"
        ).execute({})
        assert summary["added"] == 1

    def test_task_on_a_local_executor_allowed(self, wooxy_conn: WooxySandbox, tmp_path: Path, monkeypatch):
        monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "LocalExecutor,CeleryExecutor")
        summary = WooxySyncEmailBlacklistOperator(
            task_id="sync", records=["a@example.com"], state_path=str(tmp_path / "s.state")
        ).execute({})
        assert summary["added"] == 1
