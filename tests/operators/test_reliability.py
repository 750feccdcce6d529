"""Failure handling of the operators: bad input and arguments, secrets and PII, on_kill, auth, dry runs, storage.

The engine's own failure handling (transient faults, refused batches, resume, streaming) is tested in
tests/pipeline/test_push.py.
"""

from __future__ import annotations

import json
import time
import traceback
from typing import TYPE_CHECKING

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_wooxy.exceptions import (
    WooxyAuthError,
    WooxyCertificateError,
    WooxyInputError,
    WooxyTransientError,
)
from airflow_provider_wooxy.operators.blacklist import (
    WooxyAddEmailBlacklistOperator,
    WooxyAddPhoneBlacklistOperator,
    WooxyRemoveEmailBlacklistOperator,
    WooxyRemovePhoneBlacklistOperator,
)
from airflow_provider_wooxy.sandbox import AUTH_FAILURES, WooxySandbox
from tests.helpers.push import emails
from tests.helpers.sandbox import TOKEN, connection_json
from tests.helpers.tasks import execute_in_thread

if TYPE_CHECKING:
    from pathlib import Path


def _csv(tmp_path: Path, text: str | bytes, name: str = "in.csv") -> str:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


# (id, operator class, kwargs (a callable of tmp_path when it needs files), expected error type, message fragment)
BAD_INPUTS = [
    ("empty-records", WooxyAddEmailBlacklistOperator, {"records": []}, WooxyInputError, "holds no records"),
    (
        "empty-file",
        WooxyAddEmailBlacklistOperator,
        lambda p: {"path": _csv(p, "")},
        WooxyInputError,
        "holds no records",
    ),
    (
        "missing-file",
        WooxyAddEmailBlacklistOperator,
        lambda p: {"path": str(p / "nope.csv")},
        WooxyInputError,
        "input file not found",
    ),
    (
        "json-that-is-csv",
        WooxyAddEmailBlacklistOperator,
        lambda p: {"path": _csv(p, "email\na@b.co\n", "x.json")},
        WooxyInputError,
        "expected a JSON array of records, but the document starts with 'e'",
    ),
    (
        "gz-that-is-not",
        WooxyAddEmailBlacklistOperator,
        lambda p: {"path": _csv(p, "email\na@b.co\n", "x.csv.gz")},
        WooxyInputError,
        "is not a readable gzip file",
    ),
    (
        "unknown-scheme",
        WooxyAddEmailBlacklistOperator,
        {"path": "wooxynowhere://bucket/in.csv"},
        WooxyInputError,
        "cannot open wooxynowhere://bucket/in.csv: ",  # then the filesystem library's own words, which vary
    ),
    (
        "unknown-suffix",
        WooxyAddEmailBlacklistOperator,
        lambda p: {"path": _csv(p, "email\n", "x.xlsx")},
        WooxyInputError,
        "cannot tell the format",
    ),
    (
        "ragged-csv",
        WooxyAddEmailBlacklistOperator,
        lambda p: {"path": _csv(p, "email,name\na@b.co,A\nc@d.co,C,x\n")},
        WooxyInputError,
        "row 2: CSV row has 3 fields but the header has 2",
    ),
    (
        "unclosed-quote-csv",
        WooxyAddEmailBlacklistOperator,
        lambda p: {"path": _csv(p, 'email\n"a@b.co\n')},
        WooxyInputError,
        "is not valid CSV near row 1",
    ),
    (
        "non-utf8-csv",
        WooxyAddEmailBlacklistOperator,
        lambda p: {"path": _csv(p, b"email\nj\xf6rg@b.co\n")},
        WooxyInputError,
        "is not UTF-8 text: byte 0xf6",
    ),
    (
        "json-object-not-list",
        WooxyAddEmailBlacklistOperator,
        lambda p: {"path": _csv(p, '{"records": ["a@b.co"]}', "x.json")},
        WooxyInputError,
        "starts with an object",
    ),
    (
        "json-broken-array",
        WooxyAddEmailBlacklistOperator,
        lambda p: {"path": _csv(p, '["a@b.co", "c@d.co"', "x.json")},
        WooxyInputError,
        "broken after element 2",
    ),
    (
        "jsonl-broken-line",
        WooxyAddEmailBlacklistOperator,
        lambda p: {"path": _csv(p, '{"email": "a@b.co"}\n{"email": "c@d.co"\n{"email": "e@f.co"}\n', "x.jsonl")},
        WooxyInputError,
        "row 2: line is not valid JSON",
    ),
    (
        "wrong-column",
        WooxyAddEmailBlacklistOperator,
        lambda p: {"path": _csv(p, "mail,name\na@b.co,A\n")},
        WooxyInputError,
        "CSV header has no 'email' column (columns found: 'mail', 'name')",
    ),
    (
        "wrong-key",
        WooxyAddEmailBlacklistOperator,
        {"records": [{"mail": "a@b.co"}, {"mail": "c@d.co"}]},
        WooxyInputError,
        "none of the 2 records has the key 'email'",
    ),
    (
        "number-value",
        WooxyAddPhoneBlacklistOperator,
        {"records": [{"phoneNumber": 14155552671}]},
        WooxyInputError,
        "row 1: phone number must be a string, got a number (int) (value 14*******71)",
    ),
    (
        "null-value",
        WooxyAddEmailBlacklistOperator,
        {"records": [{"email": None}]},
        WooxyInputError,
        "row 1: email address is missing (null)",
    ),
    (
        "nested-value",
        WooxyAddEmailBlacklistOperator,
        {"records": [{"email": {"address": "a@b.co"}}]},
        WooxyInputError,
        "row 1: email address must be a string, got dict",
    ),
    (
        "list-item",
        WooxyAddEmailBlacklistOperator,
        {"records": [["a@b.co"]]},
        WooxyInputError,
        "row 1: expected a string or an object with 'email', got list",
    ),
    (
        "whitespace-value",
        WooxyAddEmailBlacklistOperator,
        {"records": ["a@b.co", "   "]},
        WooxyInputError,
        "row 2: empty email address",
    ),
    (
        "non-ascii-local-part",
        WooxyAddEmailBlacklistOperator,
        {"records": ["jörg@example.com"]},
        WooxyInputError,
        "row 1: non-ASCII characters in the local part",
    ),
    (
        "phone-extension",
        WooxyAddPhoneBlacklistOperator,
        {"records": ["+1 415 555 2671 ext. 12"]},
        WooxyInputError,
        "row 1: phone number contains letters",
    ),
    (
        "phone-letters",
        WooxyAddPhoneBlacklistOperator,
        {"records": ["1-800-FLOWERS"], "default_region": "US"},
        WooxyInputError,
        "row 1: phone number contains letters",
    ),
    (
        "raw-log-too-long",
        WooxyAddEmailBlacklistOperator,
        {"records": [{"email": "a@b.co", "rawLog": "é" * 600}]},
        WooxyInputError,
        "row 1: rawLog is 1200 bytes in UTF-8; Wooxy accepts at most 1024",
    ),
    (
        "raw-log-argument-too-long",
        WooxyAddEmailBlacklistOperator,
        {"records": ["a@b.co"], "raw_log": "x" * 1025},
        WooxyInputError,
        "raw_log: rawLog is 1025 bytes",
    ),
    (
        "bad-reject-type",
        WooxyAddEmailBlacklistOperator,
        {"records": ["a@b.co"], "reject_type": "soft"},
        WooxyInputError,
        "reject_type 'soft' is not one of hard, complaint, list-unsubscribe",
    ),
    (
        "bad-record-reject-type",
        WooxyAddPhoneBlacklistOperator,
        {"records": [{"phoneNumber": "+14155552671", "rejectType": "spam"}]},
        WooxyInputError,
        "row 1: rejectType 'spam' is not one of import, invalid, unsubscribe, undeliverable",
    ),
    (
        "reject-type-on-phone-remove",
        WooxyRemovePhoneBlacklistOperator,
        {"records": ["+14155552671"], "reject_type": "invalid"},
        WooxyInputError,
        "the phone blacklist's remove method takes no reject type",
    ),
    (
        "bad-region",
        WooxyAddPhoneBlacklistOperator,
        {"records": ["020 7946 0018"], "default_region": "UK"},
        WooxyInputError,
        "default_region 'UK' is not an ISO 3166 country code",
    ),
    (
        "records-and-path",
        WooxyAddEmailBlacklistOperator,
        {"records": ["a@b.co"], "path": "/tmp/x.csv"},
        WooxyInputError,
        "give exactly one of records=",
    ),
    ("neither-records-nor-path", WooxyAddEmailBlacklistOperator, {}, WooxyInputError, "give exactly one of records="),
    (
        "records-is-a-string",
        WooxyAddEmailBlacklistOperator,
        {"records": '["a@b.co"]'},
        WooxyInputError,
        "records must be a list of addresses or of objects, got str",
    ),
]


class TestBadInput:
    @pytest.mark.parametrize(
        ("operator", "kwargs", "error", "fragment"),
        [pytest.param(op, kw, err, frag, id=case_id) for case_id, op, kw, err, frag in BAD_INPUTS],
    )
    def test_clear_error_and_nothing_sent(self, wooxy_conn: WooxySandbox, tmp_path, operator, kwargs, error, fragment):
        kwargs = kwargs(tmp_path) if callable(kwargs) else kwargs
        with pytest.raises(error) as info:
            operator(task_id="op", **kwargs).execute({})
        message = str(info.value)
        assert fragment in message
        # The task log shows the exception as the traceback module prints it: one message, no chained internals
        # (a KeyError or json error behind it would print as "During handling of the above exception").
        printed = "".join(traceback.format_exception(info.value))
        assert "During handling of the above exception" not in printed
        assert "direct cause of the following exception" not in printed
        assert isinstance(info.value, AirflowFailException)  # retrying cannot fix input
        assert wooxy_conn.stats()["total_requests"] == 0

    @pytest.mark.parametrize(
        ("kwargs", "fragment"),
        [
            pytest.param({"batch_size": 101}, "batch_size must be between 1 and 100", id="batch-size-over-100"),
            pytest.param({"batch_size": 0}, "batch_size must be between 1 and 100", id="batch-size-zero"),
            pytest.param({"max_concurrency": 11}, "max_concurrency must be between 1 and 10", id="concurrency-11"),
            pytest.param({"max_concurrency": 0}, "max_concurrency must be between 1 and 10", id="concurrency-0"),
            pytest.param({"max_invalid": -1}, "max_invalid must be a whole number >= 0", id="max-invalid-negative"),
        ],
    )
    def test_bad_arguments_fail_when_the_dag_is_parsed(self, kwargs, fragment):
        with pytest.raises(WooxyInputError, match=fragment):
            WooxyAddEmailBlacklistOperator(task_id="op", records=["a@b.co"], **kwargs)

    def test_unknown_connection(self, sandbox):
        with pytest.raises(AirflowException, match="wooxy_missing"):
            WooxyAddEmailBlacklistOperator(task_id="op", records=["a@b.co"], wooxy_conn_id="wooxy_missing").execute({})
        assert sandbox.stats()["total_requests"] == 0

    def test_connection_without_token(self, sandbox, monkeypatch):
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", json.dumps({"conn_type": "wooxy", "host": sandbox.url}))
        with pytest.raises(WooxyInputError, match="'wooxy_default' has no access token"):
            WooxyAddEmailBlacklistOperator(task_id="op", records=["a@b.co"]).execute({})
        assert sandbox.stats()["total_requests"] == 0

    def test_checkpoint_path_is_refused_when_streaming(self, tmp_path):
        with pytest.raises(WooxyInputError, match="checkpoint_path needs a validation pass"):
            WooxyAddEmailBlacklistOperator(
                task_id="add", records=["a@b.co"], max_invalid=None, checkpoint_path=str(tmp_path / "c.json")
            )

    def test_bom_and_idn_are_fine(self, wooxy_conn: WooxySandbox, tmp_path):
        path = _csv(tmp_path, "\ufeffemail\nAnn@Bücher.DE\n".encode())
        WooxyAddEmailBlacklistOperator(task_id="op", path=path).execute({})
        assert wooxy_conn.email_addresses() == {"Ann@xn--bcher-kva.de"}


class TestSecretsAndPersonalData:
    def test_token_and_addresses_stay_out_of_logs_errors_and_xcom(self, sandbox, monkeypatch, logs, tmp_path):
        people = [f"private.person{i}@family-domain.net" for i in range(30)]
        texts: list[str] = []

        def run(op) -> None:
            try:
                texts.append(json.dumps(op.execute({})))
            except Exception as exc:
                texts.append(f"{exc!s} {exc!r} {getattr(exc, 'errors', '')}")

        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url, max_attempts=2))
        sandbox.inject("http500", "html502", "drop_after")
        run(WooxyAddEmailBlacklistOperator(task_id="a", records=[*people, "broken@family-domain"], max_invalid=1))
        sandbox.refuse = {people[3]}
        run(WooxyAddEmailBlacklistOperator(task_id="b", records=people))  # API refusal fails the task
        sandbox.outage(after=0)
        run(WooxyRemoveEmailBlacklistOperator(task_id="c", records=people[:3]))  # retries exhausted
        sandbox.recover()
        run(WooxyAddPhoneBlacklistOperator(task_id="d", records=["+14155552671", "+1 415 555 267"], max_invalid=1))
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url, token=TOKEN + "-x"))
        run(WooxyAddEmailBlacklistOperator(task_id="e", records=people))  # auth error echoing the token

        everything = logs() + "\n".join(texts)
        assert len(texts) == 5
        assert "refused" in everything and "gave up" in everything and "access token ***" in everything
        assert TOKEN not in everything
        for person in people:
            assert person not in everything
        assert "broken@family-domain" not in everything
        assert "+14155552671" not in everything
        assert "p***@f***.net" in everything

    @pytest.mark.parametrize(
        "variables",
        [
            pytest.param({"REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": ""}, id="empty"),
            pytest.param({"REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt"}, id="system-bundle"),
        ],
    )
    def test_tls_verification_cannot_be_switched_off_by_environment(self, tls_sandbox, monkeypatch, variables):
        # End to end: whatever the CA variables say, a certificate nobody vouches for stops the task at once.
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(tls_sandbox.url))
        op = WooxyAddEmailBlacklistOperator(task_id="add", records=emails(50))
        with pytest.raises(WooxyCertificateError, match="REQUESTS_CA_BUNDLE") as info:
            op.execute({})
        assert isinstance(info.value, AirflowFailException)
        assert "0 of 50 valid records were accepted" in str(info.value)
        assert op.hook.retries == 0
        assert tls_sandbox.stats()["total_requests"] == 0


class TestOnKill:
    def test_on_kill_stops_sending_and_says_how_far(self, sandbox, monkeypatch):
        sandbox.latency = 0.05
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url))
        op = WooxyRemoveEmailBlacklistOperator(task_id="rm", records=emails(2000), max_concurrency=2)
        thread, outcome = execute_in_thread(op)
        deadline = time.monotonic() + 60
        while sandbox.stats()["total_requests"] < 10:
            assert time.monotonic() < deadline, "the operator never started sending"
            time.sleep(0.02)
        op.on_kill()
        thread.join(timeout=10)
        assert not thread.is_alive()
        (exc,) = outcome
        assert "the task was stopped (on_kill)" in str(exc)
        assert "valid records were accepted before this failure" in str(exc)
        assert sandbox.stats()["total_requests"] < 100  # 2000 removes would take 50 s: it stopped at once


class TestAuthThroughOperators:
    @pytest.mark.parametrize(
        ("failure", "status"),
        [pytest.param(name, status, id=f"{name}-http{status}") for name in AUTH_FAILURES for status in (200, 401, 403)],
    )
    def test_every_auth_text_fails_the_task_at_once(self, wooxy_conn: WooxySandbox, failure, status, logs):
        wooxy_conn.auth_failure, wooxy_conn.auth_status = failure, status
        op = WooxyAddEmailBlacklistOperator(task_id="add", records=emails(1000), max_concurrency=1)
        with pytest.raises(WooxyAuthError) as info:
            op.execute({})
        assert isinstance(info.value, AirflowFailException)
        assert AUTH_FAILURES[failure].format(token="***") in str(info.value)
        assert "0 of 1000 valid records were accepted" in str(info.value)
        assert op.hook.retries == 0
        assert wooxy_conn.stats()["total_requests"] == 1  # never retried, never bisected
        assert TOKEN not in logs() + str(info.value)


class TestEmptyInput:
    @pytest.mark.parametrize(
        "kwargs",
        [
            pytest.param({"records": []}, id="empty-list"),
            pytest.param({"path": "empty.csv"}, id="header-only-csv"),
            pytest.param({"path": "empty.json"}, id="empty-json-array"),
        ],
    )
    def test_allow_empty_succeeds_without_a_request(self, wooxy_conn: WooxySandbox, tmp_path, kwargs):
        (tmp_path / "empty.csv").write_text("email\n")
        (tmp_path / "empty.json").write_text("[]")
        if "path" in kwargs:
            kwargs = {"path": str(tmp_path / kwargs["path"])}
        summary = WooxyAddEmailBlacklistOperator(task_id="add", allow_empty=True, **kwargs).execute({})
        assert (summary["received"], summary["sent"], summary["requests"]) == (0, 0, 0)
        assert wooxy_conn.stats()["total_requests"] == 0

    def test_all_duplicates_of_nothing_is_not_empty(self, wooxy_conn: WooxySandbox):
        # allow_empty is about an empty input, not about an input whose records were all rejected.
        with pytest.raises(WooxyInputError, match="1 of 1 records are invalid"):
            WooxyAddEmailBlacklistOperator(task_id="add", records=["nope"], allow_empty=True).execute({})


class TestDryRun:
    def test_dry_run_needs_no_connection(self, sandbox, monkeypatch):
        monkeypatch.delenv("AIRFLOW_CONN_WOOXY_DEFAULT", raising=False)
        summary = WooxyAddEmailBlacklistOperator(
            task_id="add", records=[*emails(150), "bad"], max_invalid=1, dry_run=True, wooxy_conn_id="wooxy_nowhere"
        ).execute({})
        assert summary["dry_run"] is True
        assert (summary["valid"], summary["invalid"], summary["sent"], summary["requests"]) == (150, 1, 0, 0)
        assert sandbox.stats()["total_requests"] == 0

    def test_dry_run_still_refuses_bad_input(self, sandbox):
        with pytest.raises(WooxyInputError, match="more than max_invalid=0"):
            WooxyAddEmailBlacklistOperator(
                task_id="add", records=["bad"], dry_run=True, wooxy_conn_id="wooxy_nowhere"
            ).execute({})


class TestRejectsWhenSendingFails:
    def test_rejects_file_is_written_when_sending_fails(self, sandbox, monkeypatch, tmp_path):
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url, max_attempts=2))
        sandbox.outage(after=1)
        rejects = tmp_path / "rejects.jsonl"
        op = WooxyAddEmailBlacklistOperator(
            task_id="add",
            records=[*emails(300), "bad@", "worse"],
            max_invalid=5,
            max_concurrency=1,
            rejects_path=str(rejects),
        )
        with pytest.raises(WooxyTransientError, match="100 of 300 valid records were accepted"):
            op.execute({})
        lines = [json.loads(line) for line in rejects.read_text().splitlines()]
        assert [(r["row"], r["value"], r["source"]) for r in lines] == [
            (301, "bad@", "validation"),
            (302, "worse", "validation"),
        ]


@pytest.fixture
def storage_conn():
    """An object storage attached under the connection id ``wooxy_store`` only (``memory://`` with its own store).

    Without ``storage_conn_id`` a path resolves to fsspec's shared memory store, where nothing was put.
    """
    from fsspec.implementations.memory import MemoryFileSystem

    from tests.airflow_compat import attach

    class Isolated(MemoryFileSystem):
        store: dict = {}
        pseudo_dirs = [""]

    fs = Isolated()
    fs.store.clear()
    attach(protocol="memory", conn_id="wooxy_store", fs=fs)
    return fs


class TestStorageConnection:
    def test_input_rejects_and_checkpoint_go_through_the_storage_connection(
        self, sandbox, storage_conn, monkeypatch, logs
    ):
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url, max_attempts=1))
        storage_conn.pipe_file("/bucket/in.csv", ("email\n" + "\n".join([*emails(500), "bad@"]) + "\n").encode())
        make = lambda: WooxyAddEmailBlacklistOperator(  # noqa: E731
            task_id="add",
            path="memory://bucket/in.csv",
            storage_conn_id="wooxy_store",
            max_invalid=1,
            max_concurrency=1,
            rejects_path="memory://bucket/out/rejects.jsonl",
            checkpoint_path="memory://bucket/state/checkpoint.json",
        )
        sandbox.outage(after=2)
        with pytest.raises(WooxyTransientError):
            make().execute({})
        assert json.loads(storage_conn.cat_file("/bucket/state/checkpoint.json"))["done"] == [[0, 1]]
        sandbox.recover()
        summary = make().execute({})
        assert (summary["sent"], summary["resumed"], summary["invalid"]) == (500, 200, 1)
        assert sandbox.email_addresses() == set(emails(500))
        assert json.loads(storage_conn.cat_file("/bucket/out/rejects.jsonl"))["value"] == "bad@"
        assert not storage_conn.exists("/bucket/state/checkpoint.json")

    def test_without_the_connection_the_file_is_not_found(self, wooxy_conn, storage_conn):
        storage_conn.pipe_file("/bucket/only-here.csv", b"email\na@b.co\n")
        # fsspec's shared memory store (registered by whichever test touched it first), or no filesystem at all.
        with pytest.raises(WooxyInputError, match=r"input file not found|cannot open memory://bucket/only-here.csv"):
            WooxyAddEmailBlacklistOperator(task_id="add", path="memory://bucket/only-here.csv").execute({})
        assert wooxy_conn.stats()["total_requests"] == 0
