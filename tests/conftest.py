"""Shared fixtures: a fresh sandbox per test and a ``wooxy_default`` connection pointing at it."""

from __future__ import annotations

import json
import os

import pytest

os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

from typing import TYPE_CHECKING

from airflow_provider_wooxy.sandbox import WooxySandbox

if TYPE_CHECKING:
    from collections.abc import Iterator

TOKEN = "wooxy-test-token-7f3a9c2e"
"""A recognisable token: tests scan logs, errors and XCom for it."""


def connection_json(url: str, token: str = TOKEN, **extra: object) -> str:
    extra = {"backoff": 0.01, "max_backoff": 0.05, "timeout": 5, **extra}
    return json.dumps({"conn_type": "wooxy", "host": url, "password": token, "extra": extra})


@pytest.fixture
def sandbox() -> Iterator[WooxySandbox]:
    with WooxySandbox(token=TOKEN, retry_after="0") as server:
        yield server


@pytest.fixture
def wooxy_conn(sandbox: WooxySandbox, monkeypatch: pytest.MonkeyPatch) -> WooxySandbox:
    """``wooxy_default`` pointing at the sandbox, with short backoffs so retries do not slow the suite."""
    monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url))
    return sandbox


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]):
    """Everything logged so far: Airflow's structlog writes to stdout, the stdlib loggers to caplog."""
    caplog.set_level("DEBUG")
    seen: list[str] = []

    def read() -> str:
        out = capsys.readouterr()
        seen.append(out.out + out.err)
        printed = "".join(seen)
        # Airflow 3.0 also prints stdlib records to stdout (3.1+ log through structlog only): keep each line once.
        unprinted = [record for record in caplog.records if record.getMessage() not in printed]
        return "".join(f"{caplog.handler.format(record)}\n" for record in unprinted) + printed

    return read


def pytest_report_header(config: pytest.Config) -> str:
    from airflow_provider_wooxy.compat import AIRFLOW_VERSION

    return f"Airflow {AIRFLOW_VERSION}, test matrix leg {os.environ.get('WOOXY_LEG', '(default)')}"


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.requires_airflow("3.1", reason=...)`` skips a test on an older Airflow, saying why."""
    from airflow_provider_wooxy.compat import AIRFLOW_VERSION, airflow_at_least

    for mark in item.iter_markers("requires_airflow"):
        if not airflow_at_least(mark.args[0]):
            why = mark.kwargs.get("reason", "")
            pytest.skip(f"needs Airflow {mark.args[0]}+{f' ({why})' if why else ''}; this is Airflow {AIRFLOW_VERSION}")
