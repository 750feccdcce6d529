"""Running a task in a thread (to stop it meanwhile) or in a process (to kill it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_wooxy.sandbox import WooxySandbox


def execute_in_thread(op: Any) -> tuple[threading.Thread, list[BaseException]]:
    """Start ``op.execute({})`` in a thread (to call its ``on_kill`` meanwhile); the list receives what it raised."""
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            op.execute({})
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def kill_after_removes(sandbox: WooxySandbox, args: list[str], env: dict[str, str], removes: int = 30) -> None:
    """Run ``python args...`` (from the project's root) and SIGKILL it once the sandbox has had ``removes`` removes."""
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=Path(__file__).parents[2],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while sandbox.stats()["requests"].get("blacklist/remove", 0) < removes and time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def kill_after_requests(sandbox: WooxySandbox, args: list[str], env: dict[str, str], requests: int) -> bool:
    """
    Run ``python args...`` (from the project's root) and SIGKILL it once the sandbox has answered ``requests`` more
    requests; True if it was killed, False if it ended first.
    """
    start = sandbox.stats()["total_requests"]
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=Path(__file__).parents[2],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while sandbox.stats()["total_requests"] - start < requests and time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return True


def once_the_lease_expires(run: Callable[[], Any], within: float = 30.0) -> Any:
    """
    ``run()``, again while it fails because a killed run's lease on the state has not expired yet (as Airflow's
    retries would); its result.
    """
    from airflow_provider_wooxy.exceptions import WooxyStateBusyError

    deadline = time.monotonic() + within
    while True:
        try:
            return run()
        except WooxyStateBusyError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
