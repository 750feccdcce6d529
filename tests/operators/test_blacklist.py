from __future__ import annotations

import csv
import gzip
import json
from typing import TYPE_CHECKING

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_wooxy.exceptions import (
    WooxyAuthError,
    WooxyConfigurationError,
    WooxyInputError,
    WooxyRejectedError,
)
from airflow_provider_wooxy.operators.blacklist import (
    WooxyAddEmailBlacklistOperator,
    WooxyAddPhoneBlacklistOperator,
    WooxyRemoveEmailBlacklistOperator,
    WooxyRemovePhoneBlacklistOperator,
)
from airflow_provider_wooxy.sandbox import WooxySandbox
from tests.helpers.sandbox import assert_within_limit, connection_json, run_held
from tests.helpers.servers import fixed

if TYPE_CHECKING:
    from pathlib import Path


def write_input(path: Path, rows: list[dict], fmt: str, gz: bool = False) -> Path:
    """Write ``rows`` as CSV / JSON / JSON Lines, optionally gzipped; returns the file's path."""
    target = path.with_name(f"{path.name}.{fmt}" + (".gz" if gz else ""))
    if fmt == "csv":
        columns = list(dict.fromkeys(k for row in rows for k in row))
        lines = [",".join(columns)] + [",".join(str(row.get(c, "")) for c in columns) for row in rows]
        text = "\n".join(lines) + "\n"
    elif fmt == "json":
        text = json.dumps(rows)
    else:
        text = "".join(json.dumps(row) + "\n" for row in rows)
    data = text.encode()
    target.write_bytes(gzip.compress(data) if gz else data)
    return target


def emails(n: int, start: int = 0) -> list[str]:
    return [f"user{i}@example.com" for i in range(start, start + n)]


def check_counts(summary: dict) -> None:
    """Every record ends in exactly one bucket."""
    assert summary["received"] == summary["valid"] + summary["invalid"] + summary["duplicates"]
    assert summary["valid"] == summary["sent"] + summary["refused_by_api"] or summary["dry_run"]


class TestEmailAdd:
    def test_from_xcom_strings(self, wooxy_conn: WooxySandbox):
        summary = WooxyAddEmailBlacklistOperator(task_id="add", records=emails(250)).execute({})
        assert summary["sent"] == 250
        assert summary["requests"] == 3
        assert wooxy_conn.email_addresses() == set(emails(250))
        found = wooxy_conn.emails["user1@example.com"]
        assert list(found) == ["hard"]  # the default reject type, as Wooxy's own importer
        check_counts(summary)

    def test_from_xcom_dicts_keep_their_own_fields(self, wooxy_conn: WooxySandbox):
        records = [
            {"email": "a@example.com", "rejectType": "complaint", "rawLog": "FBL report 123"},
            {"email": "b@example.com"},
        ]
        WooxyAddEmailBlacklistOperator(task_id="add", records=records, raw_log="imported").execute({})
        assert wooxy_conn.emails["a@example.com"]["complaint"]["rawLog"] == "FBL report 123"
        assert wooxy_conn.emails["b@example.com"]["hard"]["rawLog"] == "imported"

    @pytest.mark.parametrize("gz", [pytest.param(False, id="plain"), pytest.param(True, id="gzip")])
    @pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
    def test_from_file(self, wooxy_conn: WooxySandbox, tmp_path, fmt, gz):
        rows = [{"email": e, "rejectType": "list-unsubscribe"} for e in emails(150)]
        path = write_input(tmp_path / "bounces", rows, fmt, gz)
        summary = WooxyAddEmailBlacklistOperator(task_id="add", path=str(path)).execute({})
        assert summary["sent"] == 150
        assert wooxy_conn.email_addresses() == set(emails(150))
        assert all(list(types) == ["list-unsubscribe"] for types in wooxy_conn.emails.values())

    def test_file_uri_and_explicit_format(self, wooxy_conn: WooxySandbox, tmp_path):
        path = tmp_path / "export.txt"
        path.write_text("\n".join(json.dumps({"email": e}) for e in emails(3)))
        op = WooxyAddEmailBlacklistOperator(task_id="add", path=f"file://{path}", file_format="jsonl")
        assert op.execute({})["sent"] == 3

    def test_field_mapping_csv_column(self, wooxy_conn: WooxySandbox, tmp_path):
        path = tmp_path / "crm.csv"
        path.write_text("Name,Email\nAnn,ann@example.com\nBob,bob@example.com\n")
        summary = WooxyAddEmailBlacklistOperator(task_id="add", path=str(path), field="Email").execute({})
        assert summary["sent"] == 2
        assert wooxy_conn.email_addresses() == {"ann@example.com", "bob@example.com"}

    def test_dedupe_after_normalisation(self, wooxy_conn: WooxySandbox):
        records = ["a@example.com", " a@EXAMPLE.com ", "A@example.com", "b@example.com", "b@example.com"]
        summary = WooxyAddEmailBlacklistOperator(task_id="add", records=records).execute({})
        assert (summary["sent"], summary["duplicates"]) == (2, 3)
        assert wooxy_conn.email_addresses() == {"a@example.com", "b@example.com"}
        check_counts(summary)

    def test_batches_never_above_limit_and_ten_in_flight(self, sandbox: WooxySandbox, monkeypatch):
        sandbox.latency = 0.02
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url))
        op = WooxyAddEmailBlacklistOperator(task_id="add", records=emails(5_000))
        summary = run_held(sandbox, lambda: op.execute({}), in_flight=10)
        stats = sandbox.stats()
        assert summary["requests"] == 50
        assert stats["max_batch"] == 100
        assert stats["max_in_flight"] == 10  # ten at once (run_held saw them), never an eleventh attempted
        assert_within_limit(stats)

    def test_smaller_batches_and_concurrency(self, sandbox: WooxySandbox, monkeypatch):
        sandbox.latency = 0.02
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url))
        op = WooxyAddEmailBlacklistOperator(task_id="add", records=emails(300), batch_size=25, max_concurrency=3)
        assert op.pool_slots == 3
        assert run_held(sandbox, lambda: op.execute({}), in_flight=3)["requests"] == 12
        assert sandbox.stats()["max_batch"] == 25
        assert sandbox.stats()["max_in_flight"] == 3  # three at once, as asked, and never a fourth
        assert_within_limit(sandbox.stats(), limit=3)


class TestPhoneAdd:
    def test_national_numbers_with_default_region_from_xcom(self, wooxy_conn: WooxySandbox):
        records = ["020 7946 0018", "(020) 7946-0019", "+1 415 555 2671", "07911 123456"]
        summary = WooxyAddPhoneBlacklistOperator(
            task_id="add", records=records, default_region="gb", reject_type="unsubscribe"
        ).execute({})
        assert summary["sent"] == 4
        assert wooxy_conn.phone_numbers() == {
            "+442079460018",
            "+442079460019",
            "+14155552671",
            "+447911123456",
        }
        assert {row["rejectType"] for row in wooxy_conn.phones.values()} == {"unsubscribe"}

    def test_without_region_national_numbers_are_invalid(self, wooxy_conn: WooxySandbox):
        op = WooxyAddPhoneBlacklistOperator(task_id="add", records=["020 7946 0018", "+14155552671"], max_invalid=1)
        summary = op.execute({})
        assert summary["sent"] == 1
        assert "country code" in summary["rejects_sample"][0]["reason"]

    @pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
    def test_from_file_with_field(self, wooxy_conn: WooxySandbox, tmp_path, fmt):
        path = write_input(
            tmp_path / "optouts", [{"phone": f"+4420794600{i:02d}"} for i in range(10, 30)], fmt, gz=True
        )
        summary = WooxyAddPhoneBlacklistOperator(task_id="add", path=str(path), field="phone").execute({})
        assert summary["sent"] == 20
        assert len(wooxy_conn.phone_numbers()) == 20

    def test_no_reject_type_sent_unless_given(self, wooxy_conn: WooxySandbox, monkeypatch):
        bodies: list[bytes] = []
        op = WooxyAddPhoneBlacklistOperator(task_id="add", records=["+14155552671"])
        original = op.hook._post
        monkeypatch.setattr(op.hook, "_post", lambda method, body, **kw: bodies.append(body) or original(method, body))
        op.execute({})
        assert json.loads(bodies[0]) == {"records": [{"phoneNumber": "+14155552671"}]}


class TestRemoves:
    def test_email_remove_one_request_per_record(self, wooxy_conn: WooxySandbox):
        WooxyAddEmailBlacklistOperator(task_id="add", records=emails(30)).execute({})
        summary = WooxyRemoveEmailBlacklistOperator(task_id="rm", records=emails(20)).execute({})
        assert summary["sent"] == summary["requests"] == 20
        assert wooxy_conn.email_addresses() == set(emails(10, start=20))
        assert wooxy_conn.stats()["requests"]["blacklist/remove"] == 20

    def test_email_remove_passes_reject_type(self, wooxy_conn: WooxySandbox):
        WooxyAddEmailBlacklistOperator(task_id="a1", records=["a@example.com"], reject_type="hard").execute({})
        WooxyAddEmailBlacklistOperator(task_id="a2", records=["a@example.com"], reject_type="complaint").execute({})
        WooxyRemoveEmailBlacklistOperator(task_id="rm", records=["a@example.com"], reject_type="complaint").execute({})
        assert list(wooxy_conn.emails["a@example.com"]) == ["hard"]

    def test_phone_remove_from_csv(self, wooxy_conn: WooxySandbox, tmp_path):
        WooxyAddPhoneBlacklistOperator(task_id="add", records=["+14155552671", "+14155552672"]).execute({})
        path = tmp_path / "resubscribed.csv"
        path.write_text("phoneNumber\n(415) 555-2671\n")
        summary = WooxyRemovePhoneBlacklistOperator(task_id="rm", path=str(path), default_region="US").execute({})
        assert summary["sent"] == 1
        assert wooxy_conn.phone_numbers() == {"+14155552672"}

    def test_removes_never_exceed_ten_in_flight(self, sandbox: WooxySandbox, monkeypatch):
        sandbox.latency = 0.02
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url))
        op = WooxyRemoveEmailBlacklistOperator(task_id="rm", records=emails(200))
        assert run_held(sandbox, lambda: op.execute({}), in_flight=10)["sent"] == 200
        assert sandbox.stats()["max_in_flight"] == 10
        assert_within_limit(sandbox.stats())


class TestInvalidRecords:
    RECORDS = ["ok1@example.com", "not-an-email", "ok2@example.com", "", "x@@example.com", "ok3@example.com"]

    def test_max_invalid_boundary_passes(self, wooxy_conn: WooxySandbox):
        summary = WooxyAddEmailBlacklistOperator(task_id="add", records=self.RECORDS, max_invalid=3).execute({})
        assert (summary["sent"], summary["invalid"]) == (3, 3)
        assert [r["row"] for r in summary["rejects_sample"]] == [2, 4, 5]
        check_counts(summary)

    def test_max_invalid_exceeded_fails_before_any_request(self, wooxy_conn: WooxySandbox, tmp_path):
        rejects = tmp_path / "rejects.csv"
        op = WooxyAddEmailBlacklistOperator(
            task_id="add", records=self.RECORDS, max_invalid=2, rejects_path=str(rejects)
        )
        with pytest.raises(WooxyInputError) as info:
            op.execute({})
        message = str(info.value)
        assert "3 of 6 records are invalid, more than max_invalid=2; nothing was sent" in message
        assert "row 2:" in message and "row 4: empty email address" in message
        assert isinstance(info.value, AirflowFailException)
        assert wooxy_conn.stats()["total_requests"] == 0
        assert rejects.exists()  # written even though the task failed, so the user can fix the input

    @pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".csv.gz"])
    def test_rejects_file_contents(self, wooxy_conn: WooxySandbox, tmp_path, suffix):
        rejects = tmp_path / f"rejects{suffix}"
        WooxyAddEmailBlacklistOperator(
            task_id="add", records=self.RECORDS, max_invalid=10, rejects_path=str(rejects)
        ).execute({})
        data = rejects.read_bytes()
        text = (gzip.decompress(data) if suffix.endswith(".gz") else data).decode()
        if ".csv" in suffix:
            rows = list(csv.DictReader(text.splitlines()))
        else:
            rows = [json.loads(line) for line in text.splitlines()]
        assert [(int(r["row"]), r["value"]) for r in rows] == [
            (2, "not-an-email"),
            (4, ""),
            (5, "x@@example.com"),
        ]
        assert all(r["reason"] and r["source"] == "validation" for r in rows)

    def test_summary_and_logs_mask_addresses(self, wooxy_conn: WooxySandbox, logs):
        records = ["secret.person@private-domain.org", "broken@private-domain"]
        summary = WooxyAddEmailBlacklistOperator(task_id="add", records=records, max_invalid=1).execute({})
        text = logs() + json.dumps(summary)
        assert "b***@p***" in text
        assert "secret.person" not in text and "broken@private-domain" not in text


class TestDryRunAndErrors:
    def test_dry_run_sends_nothing(self, wooxy_conn: WooxySandbox):
        summary = WooxyAddEmailBlacklistOperator(
            task_id="add", records=[*emails(10), "bad"], max_invalid=1, dry_run=True
        ).execute({})
        assert summary["dry_run"] is True
        assert (summary["valid"], summary["invalid"], summary["sent"], summary["requests"]) == (10, 1, 0, 0)
        assert wooxy_conn.stats()["total_requests"] == 0

    def test_permanent_api_error_fails_with_its_message(self, monkeypatch):
        with WooxySandbox(token="tok-12345", refuse={"user3@example.com"}) as sandbox:
            monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url, token="tok-12345"))
            with pytest.raises(WooxyRejectedError) as info:
                WooxyAddEmailBlacklistOperator(task_id="add", records=emails(10)).execute({})
            assert "Invalid RFC2822 email u***@e***.com" in str(info.value)
            assert "row 4" in str(info.value)
            assert "the other 9 were accepted" in str(info.value)
            assert sandbox.email_addresses() == set(emails(10)) - {"user3@example.com"}

    def test_auth_error_fails_at_once(self, sandbox: WooxySandbox, monkeypatch):
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url, token="not-the-token"))
        with pytest.raises(WooxyAuthError, match="0 of 500 valid records were accepted"):
            WooxyAddEmailBlacklistOperator(task_id="add", records=emails(500), max_concurrency=2).execute({})
        assert sandbox.stats()["total_requests"] <= 2  # each thread stops after its first refusal

    def test_summary_fields(self, wooxy_conn: WooxySandbox):
        summary = WooxyAddEmailBlacklistOperator(task_id="add", records=emails(5) + emails(1)).execute({})
        for key in (
            "received",
            "valid",
            "invalid",
            "duplicates",
            "sent",
            "requests",
            "retries",
            "dry_run",
            "started_at",
            "finished_at",
            "rejects_sample",
        ):
            assert key in summary
        assert summary["started_at"] <= summary["finished_at"]
        json.dumps(summary)  # XCom-serialisable
        check_counts(summary)


ALL_OPERATORS = [
    pytest.param(WooxyAddEmailBlacklistOperator, "email", "a{}@example.com", {}, id="email-add"),
    pytest.param(WooxyRemoveEmailBlacklistOperator, "email", "a{}@example.com", {}, id="email-remove"),
    pytest.param(WooxyAddPhoneBlacklistOperator, "phoneNumber", "+44207946{:04d}", {}, id="phone-add"),
    pytest.param(
        WooxyRemovePhoneBlacklistOperator, "phoneNumber", "020 7946 {:04d}", {"default_region": "GB"}, id="phone-remove"
    ),
]


class TestEveryOperatorEveryInput:
    @pytest.mark.parametrize("gz", [pytest.param(False, id="plain"), pytest.param(True, id="gz")])
    @pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
    @pytest.mark.parametrize(("operator", "key", "pattern", "extra"), ALL_OPERATORS)
    def test_file(self, wooxy_conn: WooxySandbox, tmp_path, operator, key, pattern, extra, fmt, gz):
        rows = [{key: pattern.format(i)} for i in range(12)]
        path = write_input(tmp_path / "in", rows, fmt, gz)
        summary = operator(task_id="op", path=str(path), **extra).execute({})
        assert (summary["received"], summary["sent"]) == (12, 12)
        assert wooxy_conn.stats()["records_received"] == 12

    @pytest.mark.parametrize(("operator", "key", "pattern", "extra"), ALL_OPERATORS)
    def test_xcom(self, wooxy_conn: WooxySandbox, operator, key, pattern, extra):
        records = [pattern.format(i) for i in range(6)] + [{key: pattern.format(i)} for i in range(6, 12)]
        summary = operator(task_id="op", records=records, **extra).execute({})
        assert (summary["received"], summary["sent"]) == (12, 12)
        assert wooxy_conn.stats()["records_received"] == 12


class TestObjectStorage:
    def test_input_rejects_and_checkpoint_on_object_storage(self, wooxy_conn: WooxySandbox):
        """``memory://`` is an fsspec object store: the same code path as s3:// or gs://, without a cloud."""
        import fsspec
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        from tests.airflow_compat import attach

        attach("memory", fs=fsspec.filesystem("memory"))  # as a provider registers s3 or gcs
        base = ObjectStoragePath("memory://wooxy-test/run1")
        base.mkdir(parents=True, exist_ok=True)
        (base / "in.jsonl").write_text("".join(json.dumps({"email": e}) + "\n" for e in [*emails(5), "nope"]))
        summary = WooxyAddEmailBlacklistOperator(
            task_id="op",
            path=str(base / "in.jsonl"),
            rejects_path=str(base / "rejects.csv"),
            checkpoint_path=str(base / "checkpoint.json"),
            max_invalid=1,
        ).execute({})
        assert summary["sent"] == 5
        assert wooxy_conn.email_addresses() == set(emails(5))
        assert "nope" in (base / "rejects.csv").read_text()
        assert not (base / "checkpoint.json").exists()


class TestProgress:
    def test_progress_lines_at_a_steady_interval(self, sandbox: WooxySandbox, monkeypatch, logs):
        sandbox.latency = 0.05
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url))
        summary = WooxyRemoveEmailBlacklistOperator(
            task_id="rm", records=emails(100), max_concurrency=5, progress_interval=0.25
        ).execute({})
        lines = [line for line in logs().splitlines() if "progress:" in line]
        # 100 removes, 5 in flight, 50 ms each: about 1 s, so one line per interval, not one per request.
        assert 2 <= len(lines) <= summary["send_seconds"] / 0.25 + 1
        assert "/ 100 records accepted" in lines[-1]
        assert "records/s" in lines[-1] and "retries" in lines[-1]


class TestAWrongHost:
    """A base URL that is not Wooxy's fails the push fast, through the operator, and names the host."""

    @pytest.mark.parametrize(
        ("status", "body", "headers", "message"),
        [
            pytest.param(
                200,
                b"<html>Welcome</html>",
                {"Content-Type": "text/html"},
                "does not answer as Wooxy does",
                id="html-200",
            ),
            pytest.param(
                301,
                b"",
                {"Location": "https://www.example.com/"},
                "answered with a redirect to www.example.com",
                id="redirect-301",
            ),
        ],
    )
    def test_fails_within_max_attempts_times_max_concurrency_requests(self, hostile, status, body, headers, message):
        server = hostile(fixed(status, body, headers), max_attempts=3)
        op = WooxyAddEmailBlacklistOperator(task_id="add", records=emails(1_000), max_concurrency=4, max_invalid=1_000)
        with pytest.raises(WooxyConfigurationError) as info:
            op.execute({})
        text = str(info.value)
        assert message in text and "check the connection's base URL" in text
        assert server.url.removeprefix("http://") in text  # names the host
        assert 1 <= len(server.requests) <= 3 * 4  # max_attempts x max_concurrency, never a bisection
