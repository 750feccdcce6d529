"""The test token, a connection to a sandbox, and checks of what the sandbox saw."""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_wooxy.sandbox import WooxySandbox

TOKEN = "wooxy-test-token-7f3a9c2e"
"""A recognisable token: tests scan logs, errors and XCom for it."""


def connection_json(url: str, token: str = TOKEN, **extra: object) -> str:
    extra = {"backoff": 0.01, "max_backoff": 0.05, "timeout": 5, **extra}
    return json.dumps({"conn_type": "wooxy", "host": url, "password": token, "extra": extra})


def assert_within_limit(stats: dict[str, Any], limit: int = 10) -> None:
    """The account's rule, from the sandbox's count of requests *attempted* at once (refused ones included)."""
    assert stats["max_in_flight"] <= limit, f"{stats['max_in_flight']} requests were attempted at once (limit {limit})"
    assert stats["over_limit"] == 0, f"{stats['over_limit']} requests were refused over the limit"


def run_held(sandbox: WooxySandbox, call: Callable[[], Any], in_flight: int) -> Any:
    """
    Run ``call()`` while the sandbox holds every request until ``in_flight`` of them are in at once, then let them
    all be answered: shows the concurrency a client reaches without depending on the clock. Fails if the client
    never gets that many requests in flight (it stops sending, or it sends one at a time).
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:
            outcome["error"] = exc

    sandbox.pause()
    thread = threading.Thread(target=target)
    thread.start()
    deadline = time.monotonic() + 60
    try:
        while (seen := sandbox.stats()["total_requests"]) < in_flight:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError(f"the client never had {in_flight} requests in flight (it sent {seen})")
            time.sleep(0.01)
    finally:
        sandbox.resume()
        thread.join(timeout=120)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
