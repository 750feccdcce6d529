"""
The push engine (pipeline/push.py) driven through its public API, with a real hook on the sandbox: transient
faults, bisection of refused batches, checkpoints and resume, streaming. The operators' glue is tested in
tests/operators/test_blacklist.py and test_reliability.py.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_wooxy.api import EMAIL_LIST, PHONE_LIST
from airflow_provider_wooxy.exceptions import WooxyError, WooxyInputError, WooxyRejectedError, WooxyTransientError
from airflow_provider_wooxy.pipeline.intake import UnusableInput
from airflow_provider_wooxy.pipeline.rejects import Rejects
from airflow_provider_wooxy.pipeline.validation import EmailRecords
from airflow_provider_wooxy.sandbox import FAULT_KINDS, WooxySandbox
from tests.helpers.push import emails, make_push, push
from tests.helpers.sandbox import TOKEN, assert_within_limit, connection_json

if TYPE_CHECKING:
    from collections.abc import Iterator

# Faults that do not depend on the clock: with a generous timeout, a retry happens for an injected fault only.
INJECTED_FAULTS = tuple(kind for kind in FAULT_KINDS if kind != "slow")


def flaky_sandbox(monkeypatch: pytest.MonkeyPatch, kinds: tuple[str, ...], timeout: float) -> WooxySandbox:
    sandbox = WooxySandbox(
        token=TOKEN, latency=0.002, fault_rate=0.2, fault_kinds=kinds, seed=20, retry_after="0", slow_seconds=10
    )
    sandbox.start()
    monkeypatch.setenv(
        "AIRFLOW_CONN_WOOXY_DEFAULT",
        connection_json(sandbox.url, timeout=timeout, max_attempts=12, backoff=0.005, max_backoff=0.02),
    )
    return sandbox


class TestTransientFaults:
    """About 20% of requests fail transiently, in every way the sandbox knows; nothing may be lost."""

    @pytest.fixture
    def flaky(self, monkeypatch) -> Iterator[WooxySandbox]:
        sandbox = flaky_sandbox(monkeypatch, INJECTED_FAULTS, timeout=10)
        yield sandbox
        sandbox.stop()

    @pytest.fixture
    def flaky_with_timeouts(self, monkeypatch) -> Iterator[WooxySandbox]:
        sandbox = flaky_sandbox(monkeypatch, FAULT_KINDS, timeout=0.5)
        yield sandbox
        sandbox.stop()

    def test_10000_record_add_survives(self, flaky: WooxySandbox):
        records = emails(10_000)
        summary = push(records)
        stats = flaky.stats()
        assert summary["sent"] == 10_000
        assert flaky.email_addresses() == set(records)
        assert summary["retries"] == sum(stats["faults"].values()) > 0
        assert set(stats["faults"]) == set(INJECTED_FAULTS)  # every kind of fault really happened
        assert_within_limit(stats)
        assert summary["requests"] == 100  # retries are counted apart from requests

    def test_300_record_remove_survives(self, flaky: WooxySandbox):
        push(emails(400))
        summary = push(emails(300), method=EMAIL_LIST.remove)
        assert summary["sent"] == 300
        assert flaky.email_addresses() == set(emails(100, start=300))
        assert summary["retries"] > 0
        assert_within_limit(flaky.stats())

    def test_timeouts_among_the_faults_lose_nothing(self, flaky_with_timeouts: WooxySandbox):
        # Timeouts are the clock's: a stalled machine can add some. Every retry still matches a failed request.
        records = emails(3_000)
        flaky_with_timeouts.inject("slow", "slow")  # besides the random draws
        summary = push(records)
        stats = flaky_with_timeouts.stats()
        assert summary["sent"] == 3_000
        assert flaky_with_timeouts.email_addresses() == set(records)
        assert stats["faults"].get("slow", 0) > 0
        assert summary["retries"] == stats["total_requests"] - summary["requests"]
        assert summary["retries"] >= sum(stats["faults"].values())
        assert_within_limit(stats)

    def test_streaming_add_survives(self, flaky: WooxySandbox):
        records = [*emails(3_000), "broken@", *emails(10)]
        summary = push(records, max_invalid=None)
        stats = flaky.stats()
        assert (summary["sent"], summary["invalid"], summary["duplicates"]) == (3_000, 1, 10)
        assert flaky.email_addresses() == set(emails(3_000))
        assert summary["retries"] == sum(stats["faults"].values()) > 0
        assert_within_limit(stats)

    def test_outlasting_the_retry_budget_fails_retryable_and_says_how_far(self, sandbox, monkeypatch):
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url, max_attempts=3))
        sandbox.outage(after=3)
        with pytest.raises(WooxyTransientError) as info:
            push(emails(1000), max_concurrency=1)
        assert isinstance(info.value, AirflowException)
        assert not isinstance(info.value, AirflowFailException)
        assert "300 of 1000 valid records were accepted before this failure" in str(info.value)
        assert "gave up after 3 attempts" in str(info.value)
        assert len(sandbox.email_addresses()) == 300


class TestRefusedBatches:
    def test_bisection_isolates_refused_records(self, monkeypatch):
        refused = {"user17@example.com", "user503@example.com", "user504@example.com"}
        with WooxySandbox(token=TOKEN, refuse=refused) as sandbox:
            monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url))
            summary = push(emails(1000), max_invalid=3)
            assert sandbox.email_addresses() == set(emails(1000)) - refused
        assert (summary["sent"], summary["refused_by_api"], summary["invalid"]) == (997, 3, 0)
        rows = sorted(r["row"] for r in summary["rejects_sample"])
        assert rows == [18, 504, 505]
        assert all(r["source"] == "api" and "Invalid RFC2822 email" in r["reason"] for r in summary["rejects_sample"])
        # 10 batches, two of them refused and split down to single records: far fewer than 1000 requests.
        assert 10 < summary["requests"] < 60

    def test_refused_records_count_against_max_invalid(self, monkeypatch, tmp_path):
        with WooxySandbox(token=TOKEN, refuse={"user5@example.com"}) as sandbox:
            monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url))
            rejects = tmp_path / "rejects.jsonl"
            with pytest.raises(WooxyRejectedError, match="1 records refused") as info:
                push([*emails(10), "bad"], max_invalid=1, rejects_path=str(rejects))
            assert len(sandbox.email_addresses()) == 9
        assert info.value.errors == [
            "1 records refused (max_invalid=1, 2 rejects in all); the other 9 were accepted",
            "row 6: Invalid RFC2822 email u***@e***.com",
        ]
        lines = [json.loads(line) for line in rejects.read_text().splitlines()]
        assert [(r["row"], r["value"], r["source"]) for r in lines] == [
            (11, "bad", "validation"),
            (6, "user5@example.com", "api"),
        ]
        # The value in full (above); Wooxy's text quoting it is masked by the hook.
        assert lines[1]["reason"] == "refused by Wooxy: Invalid RFC2822 email u***@e***.com"

    def test_refused_remove_is_a_reject(self, monkeypatch):
        with WooxySandbox(token=TOKEN, refuse={"+14155552671"}) as sandbox:
            monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url))
            summary = push(["+14155552671", "+14155552672"], method=PHONE_LIST.remove, max_invalid=1)
        assert (summary["sent"], summary["refused_by_api"]) == (1, 1)

    def test_auth_errors_are_never_bisected(self, sandbox, monkeypatch):
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url, token="wrong-token-123"))
        with pytest.raises(AirflowFailException, match="no matches found for access token \\*\\*\\*"):
            push(emails(1000), max_concurrency=1)
        assert sandbox.stats()["total_requests"] == 1


class TestResume:
    def test_retry_skips_batches_already_accepted(self, sandbox, monkeypatch, tmp_path, logs):
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url, max_attempts=2))
        checkpoint = tmp_path / "state" / "checkpoint.json"
        sandbox.outage(after=4)
        with pytest.raises(WooxyTransientError, match="400 of 1000 valid records were accepted"):
            push(emails(1000), max_concurrency=1, checkpoint_path=str(checkpoint))
        assert checkpoint.exists()
        assert json.loads(checkpoint.read_text())["done"] == [[0, 3]]

        sandbox.recover()
        before = sandbox.stats()["requests"]["blacklist/add"]
        summary = push(emails(1000), max_concurrency=1, checkpoint_path=str(checkpoint))
        assert (summary["sent"], summary["resumed"], summary["requests"]) == (1000, 400, 6)
        assert sandbox.stats()["requests"]["blacklist/add"] - before == 6
        assert sandbox.email_addresses() == set(emails(1000))
        assert "Resuming from checkpoint" in logs()
        assert not checkpoint.exists()  # a finished run leaves no checkpoint behind

    def test_changed_input_does_not_reuse_a_checkpoint(self, sandbox, monkeypatch, tmp_path, logs):
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url, max_attempts=1))
        checkpoint = tmp_path / "checkpoint.json"
        sandbox.outage(after=2)
        with pytest.raises(WooxyTransientError):
            push(emails(500), max_concurrency=1, checkpoint_path=str(checkpoint))
        sandbox.recover()
        summary = push(emails(500, start=1), max_concurrency=1, checkpoint_path=str(checkpoint))
        assert (summary["sent"], summary["resumed"], summary["requests"]) == (500, 0, 5)
        assert "belongs to other input" in logs()


class TestCheckpointEdges:
    def test_corrupt_checkpoint_starts_over(self, wooxy_conn: WooxySandbox, tmp_path, logs):
        checkpoint = tmp_path / "checkpoint.json"
        checkpoint.write_text('{"fingerprint": "abc", "done": [[0, ')  # cut short by a crash mid-write
        summary = push(emails(300), max_concurrency=1, checkpoint_path=str(checkpoint))
        assert (summary["sent"], summary["resumed"], summary["requests"]) == (300, 0, 3)
        assert "starting from the beginning" in logs()
        assert not checkpoint.exists()

    def test_resume_counts_a_partial_last_batch(self, sandbox, monkeypatch, tmp_path):
        # 1050 records: ten batches of 100 and a last one of 50.
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url, max_attempts=1))
        checkpoint = tmp_path / "checkpoint.json"
        sandbox.outage(after=4)
        with pytest.raises(WooxyTransientError, match="400 of 1050"):
            push(emails(1050), max_concurrency=1, checkpoint_path=str(checkpoint))
        state = json.loads(checkpoint.read_text())
        assert state["done"] == [[0, 3]]
        # A concurrent run can finish the short last batch before a middle one fails: record it as done too.
        state["done"] = [[0, 3], [10, 10]]
        checkpoint.write_text(json.dumps(state))
        sandbox.recover()
        sandbox.reset()
        summary = push(emails(1050), max_concurrency=1, checkpoint_path=str(checkpoint))
        assert (summary["sent"], summary["resumed"], summary["requests"]) == (1050, 450, 6)
        assert sandbox.email_addresses() == set(emails(400, start=400)) | set(emails(200, start=800))


class TestStreaming:
    """max_invalid=None: validation and sending run together."""

    def test_invalid_records_and_duplicates(self, wooxy_conn: WooxySandbox):
        records = [*emails(250), "not-an-address", "user3@example.com", "USER4@example.com", "", *emails(5, 250)]
        summary = push(records, max_invalid=None)
        assert (summary["received"], summary["valid"], summary["sent"]) == (259, 255, 255)
        assert (summary["invalid"], summary["duplicates"]) == (2, 2)
        assert summary["sent"] + summary["invalid"] + summary["duplicates"] == summary["received"]
        assert sorted(r["row"] for r in summary["rejects_sample"]) == [251, 254]
        assert wooxy_conn.email_addresses() == set(emails(255))

    def test_phone_streaming_remove(self, wooxy_conn: WooxySandbox):
        push(["+14155552671", "+14155552672"], method=PHONE_LIST.add)
        summary = push(["+14155552671", "+1 415 555 2671", "+1555"], method=PHONE_LIST.remove, max_invalid=None)
        assert (summary["sent"], summary["duplicates"], summary["invalid"]) == (1, 1, 1)
        assert wooxy_conn.phone_numbers() == {"+14155552672"}

    def test_rejects_file(self, wooxy_conn: WooxySandbox, tmp_path):
        wooxy_conn.refuse = {"user7@example.com"}
        rejects = tmp_path / "out" / "rejects.csv"
        summary = push([*emails(20), "bad@", "worse"], max_invalid=None, rejects_path=str(rejects))
        assert (summary["sent"], summary["invalid"], summary["refused_by_api"]) == (19, 2, 1)
        lines = rejects.read_text().splitlines()
        assert lines[0] == "row,value,reason,source"
        rows = {line.split(",")[0]: line for line in lines[1:]}
        assert set(rows) == {"21", "22", "8"}
        assert rows["21"].startswith("21,bad@,") and rows["21"].endswith(",validation")
        assert "user7@example.com" in rows["8"] and rows["8"].endswith(",api")

    def test_a_file_that_breaks_halfway(self, wooxy_conn: WooxySandbox, tmp_path):
        path = tmp_path / "in.json"
        path.write_text("[" + ",".join(f'"{e}"' for e in emails(3000)) + ', "user3000@example.com" "oops"]')
        with pytest.raises(WooxyInputError, match="broken after element 3001") as info:
            push(path=str(path), max_invalid=None)
        assert isinstance(info.value, AirflowFailException)  # a re-run reads the same broken file
        # Streaming sends while it reads: what went out is a prefix of the file, never a record after the break.
        assert wooxy_conn.email_addresses() <= set(emails(3001))
        assert_within_limit(wooxy_conn.stats())

    def test_a_csv_with_a_bad_byte_halfway(self, wooxy_conn: WooxySandbox, tmp_path):
        path = tmp_path / "in.csv"
        path.write_bytes(("email\n" + "\n".join(emails(2000)) + "\n").encode() + b"j\xf6rg@example.com\n")
        with pytest.raises(WooxyInputError, match="is not UTF-8 text: byte 0xf6"):
            push(path=str(path), max_invalid=None)
        assert wooxy_conn.email_addresses() <= set(emails(2000))

    def test_empty_input_fails_and_sends_nothing(self, wooxy_conn: WooxySandbox, tmp_path):
        path = tmp_path / "empty.csv"
        path.write_text("email\n")
        with pytest.raises(UnusableInput, match="holds no records; set allow_empty=True"):
            push(path=str(path), max_invalid=None)
        assert wooxy_conn.stats()["total_requests"] == 0

    def test_empty_input_allowed(self, wooxy_conn: WooxySandbox, logs):
        summary = push([], method=EMAIL_LIST.remove, max_invalid=None, allow_empty=True)
        assert (summary["received"], summary["sent"], summary["requests"]) == (0, 0, 0)
        assert "The input is empty" in logs()
        assert wooxy_conn.stats()["total_requests"] == 0


class TestStopAndDryRun:
    def test_a_stopped_push_sends_nothing_more_and_says_how_far(self, wooxy_conn: WooxySandbox):
        engine = make_push(max_concurrency=2)
        engine.stop("the task was stopped (on_kill)")
        rejects = Rejects()
        with pytest.raises(WooxyError) as info:
            engine.run(enumerate(emails(500), start=1), EmailRecords(), "email", rejects)
        rejects.close()
        assert "the task was stopped (on_kill)" in str(info.value)
        assert "0 of 500 valid records were accepted before this failure" in str(info.value)
        assert wooxy_conn.stats()["total_requests"] == 0

    def test_a_dry_run_validates_and_sends_nothing(self, wooxy_conn: WooxySandbox, caplog):
        with caplog.at_level(logging.INFO):
            summary = push([*emails(150), "bad"], max_invalid=1, dry_run=True)
        assert (summary["valid"], summary["invalid"], summary["sent"], summary["requests"]) == (150, 1, 0, 0)
        assert summary["dry_run"] is True and "validation_seconds" in summary
        assert "Dry run: 150 valid records would be sent; nothing was sent." in caplog.text
        assert wooxy_conn.stats()["total_requests"] == 0
