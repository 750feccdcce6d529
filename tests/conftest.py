"""Shared fixtures: a fresh sandbox per test and a ``wooxy_default`` connection pointing at it."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_provider_wooxy.compat import AIRFLOW_V_3_0_PLUS
from airflow_provider_wooxy.sandbox import WooxySandbox

if not AIRFLOW_V_3_0_PLUS:
    # Airflow 2's guard against execute() called outside a task keeps its bookkeeping per thread, set up in the
    # importing thread only: tests that run execute() in a thread of their own (run_held, on_kill) share one here.
    from types import SimpleNamespace

    from airflow.models.baseoperator import ExecutorSafeguard

    ExecutorSafeguard._sentinel = SimpleNamespace(callers={})

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    import trustme

    from tests.helpers.servers import Answer

from tests.helpers.sandbox import TOKEN, connection_json
from tests.helpers.servers import HostileServer

SLOW_SUITES = ("e2e", "dag")
"""Marks whose tests start Airflow processes: they get a longer per-test timeout than pyproject's default."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.get_closest_marker(mark) for mark in SLOW_SUITES) or item.path.name == "test_benchmarks.py":
            item.add_marker(pytest.mark.timeout(1800))


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
def hostile(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., HostileServer]]:
    """
    Starts a hostile server on loopback (``hostile(answer)``, tests/helpers/servers.py) and points ``wooxy_default``
    at it (extras as keywords); stops every one at the end.
    """
    servers: list[HostileServer] = []

    def start(answer: Callable[[str, Any], Answer], **extra: object) -> HostileServer:
        servers.append(HostileServer(answer))
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(servers[-1].url, **extra))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


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


@pytest.fixture(scope="session")
def test_ca() -> trustme.CA:
    """A certificate authority made for the test run: nothing outside the run trusts it."""
    import trustme

    return trustme.CA()


@pytest.fixture
def ca_bundle(test_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The test CA as a PEM file, as a user would point REQUESTS_CA_BUNDLE at their company's CA."""
    path = tmp_path_factory.mktemp("ca") / "test-ca.pem"
    test_ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def tls_sandbox(test_ca: trustme.CA) -> Iterator[WooxySandbox]:
    """The sandbox over HTTPS, with a certificate from the test CA for 127.0.0.1 and localhost."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    test_ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with WooxySandbox(token=TOKEN, retry_after="0", ssl_context=context) as server:
        yield server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ForwardProxy:
    url: str
    log_path: Path

    def access_log(self, expect: str, timeout: float = 20.0) -> str:
        """
        The proxy's access lines, once one holds ``expect`` (or the timeout passed): ``POST 127.0.0.1:port/v3/...``
        for plain HTTP, ``CONNECT 127.0.0.1:port`` for a tunnel. proxy.py writes a line when the client's
        connection closes.
        """
        deadline = time.monotonic() + timeout
        while True:
            lines = "\n".join(line for line in self.log_path.read_text().splitlines() if "access_log" in line)
            if expect in lines or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)


@pytest.fixture(scope="module")
def forward_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForwardProxy]:
    """A real forward proxy (proxy.py, from PyPI) on loopback: plain HTTP forwarding and CONNECT tunnels."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("proxy") / "proxy.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "proxy",
            "--hostname",
            "127.0.0.1",
            "--port",
            str(port),
            "--num-workers",
            "1",
            "--num-acceptors",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"proxy.py did not start: {log_path.read_text()}") from None
                time.sleep(0.1)
        yield ForwardProxy(f"http://127.0.0.1:{port}", log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


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
