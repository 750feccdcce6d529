"""The batch sender on its own, over real HTTP against the sandbox (the operators' tests drive it end to end)."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from typing import TYPE_CHECKING

import pytest

from airflow_provider_wooxy.exceptions import WooxyAuthError, WooxyError
from airflow_provider_wooxy.hooks.wooxy import EMAIL_ADD, EMAIL_REMOVE, WooxyHook
from airflow_provider_wooxy.pipeline.sending import Batch, BatchSender, Record
from airflow_provider_wooxy.sandbox import AUTH_FAILURES

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from airflow_provider_wooxy.sandbox import WooxySandbox


def records(n: int) -> list[Record]:
    return [(row, json.dumps({"email": f"u{row}@example.com", "rejectType": "hard"}).encode()) for row in range(n)]


def batches(items: Sequence[Record], size: int) -> Iterator[Batch]:
    for number, start in enumerate(range(0, len(items), size)):
        yield Batch(number, items[start : start + size])


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never saw {what}")
        time.sleep(0.01)


class TestBatchSender:
    def test_refused_records_are_isolated_by_halving_and_the_rest_delivered(self, wooxy_conn: WooxySandbox):
        wooxy_conn.refuse = {"u3@example.com"}
        accepted: list[int] = []
        done: list[int] = []
        sender = BatchSender(
            WooxyHook(),
            EMAIL_ADD,
            max_concurrency=1,
            on_accepted=lambda rs: accepted.extend(row for row, _ in rs),
            on_batch_done=lambda batch: done.append(batch.number),
        )
        report = sender.run(batches(records(8), 8))
        # 8 refused -> 0-3 refused -> 0-1 sent, 2-3 refused -> 2 sent, 3 refused; 4-7 sent: 7 requests
        assert (report.sent, report.requests) == (7, 7)
        assert [(r.row, r.errors) for r in report.refused] == [(3, ["Invalid RFC2822 email u***@e***.com"])]
        assert json.loads(report.refused[0].payload)["email"] == "u3@example.com"
        assert sorted(accepted) == [0, 1, 2, 4, 5, 6, 7]
        assert done == [0]
        assert wooxy_conn.email_addresses() == {f"u{row}@example.com" for row in (0, 1, 2, 4, 5, 6, 7)}

    def test_single_record_requests(self, wooxy_conn: WooxySandbox):
        hook = WooxyHook()
        hook.add_email_blacklist([{"email": f"u{row}@example.com", "rejectType": "hard"} for row in range(3)])
        removals = [(row, json.dumps({"email": f"u{row}@example.com"}).encode()) for row in range(3)]
        report = BatchSender(hook, EMAIL_REMOVE, max_concurrency=2).run(batches(removals, 1))
        assert (report.sent, report.requests, report.refused) == (3, 3, [])
        assert wooxy_conn.email_addresses() == set()

    @pytest.mark.parametrize(
        ("total", "of_total"), [pytest.param(1000, " / 1,000", id="total-known"), pytest.param(None, "", id="no-total")]
    )
    def test_threads_are_named_daemons_and_progress_is_logged_while_requests_are_held(
        self, wooxy_conn: WooxySandbox, caplog, total, of_total
    ):
        caplog.set_level(logging.INFO, logger="airflow_provider_wooxy.pipeline.sending")
        sender = BatchSender(WooxyHook(), EMAIL_ADD, max_concurrency=3, progress_interval=0.01, total=total)
        outcome: dict[str, object] = {}
        wooxy_conn.pause()
        started = time.monotonic()
        runner = threading.Thread(target=lambda: outcome.setdefault("report", sender.run(batches(records(1000), 100))))
        runner.start()
        try:
            wait_for(lambda: wooxy_conn.stats()["total_requests"] >= 3, "3 requests in flight")
            threads = [t for t in threading.enumerate() if t.name.startswith("wooxy-sender-")]
            assert sorted(t.name for t in threads) == ["wooxy-sender-0", "wooxy-sender-1", "wooxy-sender-2"]
            assert all(t.daemon for t in threads)  # a stuck request never keeps the worker process alive
            wait_for(lambda: any("progress" in r.getMessage() for r in caplog.records), "a progress line")
        finally:
            wooxy_conn.resume()
            runner.join(timeout=60)
        took = time.monotonic() - started
        lines = [r.getMessage() for r in caplog.records if "progress" in r.getMessage()]
        assert {r.name for r in caplog.records if "progress" in r.getMessage()} == {
            "airflow_provider_wooxy.pipeline.sending"
        }
        pattern = re.compile(
            rf"^Wooxy blacklist/add progress: (?P<sent>[\d,]+){re.escape(of_total)} records accepted, 0 refused, "
            r"\d+ records/s, \d+ requests, 0 retries, (?P<elapsed>\d+) s$"
        )
        matches = [pattern.match(line) for line in lines]
        assert all(matches), lines
        assert matches[0]["sent"] == "0"  # the first line came while every request was held
        assert all(int(m["elapsed"]) <= took + 1 for m in matches if m)  # seconds since the run started
        report = outcome["report"]
        assert (report.sent, report.requests) == (1000, 10)  # type: ignore[attr-defined]

    def test_stop_raises_the_reason_naming_the_method(self, wooxy_conn: WooxySandbox):
        sender = BatchSender(WooxyHook(), EMAIL_ADD, max_concurrency=1)
        sender.on_batch_done = lambda batch: sender.stop("too many refused records")
        with pytest.raises(WooxyError, match=r"^Wooxy blacklist/add failed: too many refused records$"):
            sender.run(batches(records(300), 100))
        assert wooxy_conn.stats()["total_requests"] == 1  # stopped after its current request

    def test_a_failing_source_stops_every_thread_and_is_raised(self, wooxy_conn: WooxySandbox):
        def source() -> Iterator[Batch]:
            yield Batch(0, records(10))
            raise OSError("the spool file went away")

        sender = BatchSender(WooxyHook(), EMAIL_ADD, max_concurrency=2)
        with pytest.raises(OSError, match="the spool file went away"):
            sender.run(source())

    def test_a_permanent_error_is_raised_and_nothing_more_is_sent(self, wooxy_conn: WooxySandbox):
        wooxy_conn.auth_failure = next(iter(AUTH_FAILURES))
        sender = BatchSender(WooxyHook(), EMAIL_ADD, max_concurrency=1)
        with pytest.raises(WooxyAuthError):
            sender.run(batches(records(500), 100))
        assert wooxy_conn.stats()["total_requests"] == 1
        assert sender.report.sent == 0
