"""
The bad-input table (issue 22): each bad input or argument, the message a user gets, and what must not happen.

For every case in :data:`REFUSED`: the task fails with a provider error holding the message fragment, nothing
reached the sandbox, and neither the message nor the log holds the token or any of the input's addresses and
numbers. :data:`REPORTED` holds inputs a run accepts in part: its XCom summary (also the asset event's extra) and
log hold no full address or number, while the rejects file keeps the full values. Add a row whenever a new case
is found; docs/bad-input.md says what a user sees for each kind.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_wooxy.api import EMAIL_ADD, PHONE_ADD, is_valid_email
from airflow_provider_wooxy.exceptions import WooxyInputError, WooxyRejectedError
from airflow_provider_wooxy.hooks.wooxy import WooxyHook
from airflow_provider_wooxy.operators.blacklist import (
    WooxyAddEmailBlacklistOperator,
    WooxyAddPhoneBlacklistOperator,
    WooxyRemoveEmailBlacklistOperator,
    WooxyRemovePhoneBlacklistOperator,
)
from airflow_provider_wooxy.operators.export import WooxyExportEmailBlacklistOperator
from airflow_provider_wooxy.operators.lookup import WooxyCheckPhoneBlacklistOperator
from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator, WooxySyncPhoneBlacklistOperator
from airflow_provider_wooxy.pipeline.sources import delimited
from airflow_provider_wooxy.pipeline.validation import RecordError, normalise_email
from tests.helpers.sandbox import TOKEN, connection_json

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from airflow_provider_wooxy.sandbox import WooxySandbox

ALICE = "alice.smith@example.com"
BOB = "bob.jones@example.org"
QUOTED = '"alice smith"@example.com'
PHONE = "+442079460018"
PHONE_AS_NUMBER = 442079460018
US_PHONE = "+14155552671"

PERSONAL = (ALICE, BOB, "alice smith", PHONE, "442079460018", "2079460018", US_PHONE, "14155552671", "4155552671")
"""What no message, log line or XCom value may hold: the token is checked too."""


def leaks(text: str) -> list[str]:
    return [value for value in (TOKEN, *PERSONAL) if value in text]


def _file(name: str, data: str | bytes) -> Callable[[Path], str]:
    def write(tmp_path: Path) -> str:
        target = tmp_path / name
        target.write_bytes(data.encode() if isinstance(data, str) else data)
        return str(target)

    return write


def _rows_then_bad_byte(rows: int) -> bytes:
    """A CSV whose data row ``rows`` holds a byte that is not UTF-8, after ``rows - 1`` good ones."""
    good = b"".join(b"user%d@example.com\n" % i for i in range(rows - 1))
    return b"email\n" + good + b"bad\xff@example.com\n"


@dataclass
class Case:
    """
    One bad input: the operator, its arguments (values that are callables get the test's ``tmp_path``), the
    fragment the error message must hold, and connection settings that differ from the sandbox's.
    """

    operator: type
    kwargs: dict[str, Any]
    fragment: str
    connection: dict[str, Any] = field(default_factory=dict)

    def build(self, tmp_path: Path) -> Any:
        kwargs = {k: v(tmp_path) if callable(v) else v for k, v in self.kwargs.items()}
        if issubclass(self.operator, (WooxySyncEmailBlacklistOperator, WooxySyncPhoneBlacklistOperator)):
            kwargs.setdefault("state_path", str(tmp_path / "state.json"))
        if issubclass(self.operator, (WooxyExportEmailBlacklistOperator, WooxyCheckPhoneBlacklistOperator)):
            kwargs.setdefault("path", str(tmp_path / "out.csv"))
        return self.operator(task_id="bad", **kwargs)


def _folder(tmp_path: Path) -> str:
    return str(tmp_path)


REFUSED = [
    # -- personal data in messages -----------------------------------------------------------------------------
    pytest.param(
        Case(
            WooxyAddEmailBlacklistOperator, {"path": _file("in.csv", f"{ALICE}\n{BOB}\n")}, "the CSV has no header row"
        ),
        id="headerless-csv-email",
    ),
    pytest.param(
        Case(
            WooxyAddPhoneBlacklistOperator,
            {"path": _file("in.csv", f"{PHONE}\n{US_PHONE}\n")},
            "its first row holds what looks like an address or a number (column 1: +4*********18)",
        ),
        id="headerless-csv-phone",
    ),
    pytest.param(
        Case(
            WooxyCheckPhoneBlacklistOperator,
            {"input_path": _file("in.csv", f"{PHONE}\n{US_PHONE}\n")},
            "the CSV has no header row",
        ),
        id="headerless-csv-lookup",
    ),
    pytest.param(
        Case(
            WooxySyncEmailBlacklistOperator,
            {"path": _file("in.csv", f"id,{ALICE}\n1,{BOB}\n")},
            "(column 2: a***@e***.com)",
        ),
        id="headerless-csv-sync",
    ),
    pytest.param(
        Case(
            WooxyAddEmailBlacklistOperator,
            {"path": _file("in.csv", json.dumps([{"email": ALICE}, {"email": BOB}]))},
            "the file looks like JSON, not CSV: set file_format='json'",
        ),
        id="json-named-csv",
    ),
    pytest.param(
        Case(
            WooxyAddPhoneBlacklistOperator,
            {"records": [{"phoneNumber": PHONE_AS_NUMBER}]},
            "row 1: phone number must be a string, got a number (int) (value 44********18)",
        ),
        id="number-for-string-add",
    ),
    pytest.param(
        Case(
            WooxyRemovePhoneBlacklistOperator,
            {"records": [PHONE_AS_NUMBER]},
            "row 1: expected a string or an object with 'phoneNumber', got int (value 44********18)",
        ),
        id="number-for-string-remove",
    ),
    pytest.param(
        Case(
            WooxySyncPhoneBlacklistOperator,
            {"records": [{"phoneNumber": PHONE_AS_NUMBER}]},
            "phone number must be a string, got a number (int)",
        ),
        id="number-for-string-sync",
    ),
    pytest.param(
        Case(
            WooxyAddEmailBlacklistOperator,
            {"records": [{"email": ALICE, "rejectType": BOB}]},
            "row 1: rejectType 'b***@e***.org' is not one of hard",
        ),
        id="address-in-reject-type",
    ),
    pytest.param(
        Case(WooxyAddEmailBlacklistOperator, {"records": [{ALICE: "x"}]}, "(keys found: 'a***@e***.com')"),
        id="address-as-key",
    ),
    # -- ambiguous input ----------------------------------------------------------------------------------------
    pytest.param(
        Case(
            WooxyAddEmailBlacklistOperator,
            {"path": _file("in.csv", f"email,email\n{ALICE},{BOB}\n")},
            "the CSV header names the column 'email' 2 times (columns 1, 2): which one to read is ambiguous",
        ),
        id="duplicated-csv-column",
    ),
    pytest.param(
        Case(
            WooxySyncEmailBlacklistOperator,
            {"path": _file("in.csv", f"email,rejectType,rejectType\n{ALICE},hard,complaint\n")},
            "names the column 'rejectType' 2 times (columns 2, 3)",
        ),
        id="duplicated-csv-column-sync",
    ),
    pytest.param(
        Case(
            WooxyAddEmailBlacklistOperator,
            {"path": _file("in.jsonl", f'{{"email": "{ALICE}"}}\n{{"email": "{ALICE}", "email": "{BOB}"}}\n')},
            "row 2: the JSON object holds the key 'email' more than once",
        ),
        id="duplicated-json-key-jsonl",
    ),
    pytest.param(
        Case(
            WooxyAddEmailBlacklistOperator,
            {"path": _file("in.json", f'[{{"email": "{ALICE}"}}, {{"email": "{ALICE}", "email": "{BOB}"}}]')},
            "row 2: the JSON object holds the key 'email' more than once",
        ),
        id="duplicated-json-key-array",
    ),
    # -- the column the user meant (pipeline/sources/columns.py) -----------------------------------------------
    pytest.param(
        Case(
            WooxyAddEmailBlacklistOperator,
            {"path": _file("in.csv", f"email,RejectType\n{ALICE},complaint\n")},
            "the CSV header has no 'rejectType' column but 'RejectType', which matches it only when case and '_' / '-' "
            "are ignored: rename it to 'rejectType'",
        ),
        id="loose-reject-type-csv",
    ),
    pytest.param(
        Case(
            WooxySyncEmailBlacklistOperator,
            {"path": _file("in.json", json.dumps([{"email": ALICE, "REJECTTYPE": "complaint"}]))},
            "row 1: the object has no 'rejectType' key but 'REJECTTYPE'",
        ),
        id="loose-reject-type-json-sync",
    ),
    pytest.param(
        Case(
            WooxyAddEmailBlacklistOperator,
            {"records": [{"email": ALICE, "reject_type": "complaint"}]},
            "no 'rejectType' key but 'reject_type'",
        ),
        id="loose-reject-type-xcom",
    ),
    pytest.param(
        Case(
            WooxyAddEmailBlacklistOperator,
            {"path": _file("in.jsonl", json.dumps({"email": ALICE, "rejectType": "hard", "RejectType": "complaint"}))},
            "has 2 keys that match 'rejectType' ('rejectType', 'RejectType'): which one to read is ambiguous",
        ),
        id="two-reject-types-jsonl",
    ),
    pytest.param(
        Case(
            WooxyAddEmailBlacklistOperator,
            {"path": _file("in.csv", f"Email,email\n{ALICE},{BOB}\n")},
            "has 2 columns that match 'email' ('Email', 'email') (columns 1, 2)",
        ),
        id="address-column-in-two-cases",
    ),
    # -- bounded cost and encodings ----------------------------------------------------------------------------
    pytest.param(
        Case(
            WooxyAddEmailBlacklistOperator,
            {"path": _file("in.json", "[" * 200_000 + "]" * 200_000)},
            "in.json: element 1 of the JSON array nests deeper than 32 levels",
        ),
        id="deeply-nested-json",
    ),
    pytest.param(
        Case(
            WooxyAddEmailBlacklistOperator,
            {"path": _file("in.csv", "email\n" + "x" * 300_000 + "\n")},
            "in.csv is not valid CSV near row 1: a field is longer than 131072 characters",
        ),
        id="csv-line-over-the-field-limit",
    ),
    pytest.param(
        Case(
            WooxyAddEmailBlacklistOperator,
            {"path": _file("in.csv", f"email\n{ALICE}\n".encode("utf-16-le"))},
            "in.csv: the file is UTF-16 text, not UTF-8: re-export it as UTF-8",
        ),
        id="utf-16-without-bom",
    ),
    pytest.param(
        Case(
            WooxyAddPhoneBlacklistOperator,
            {"path": _file("in.csv", f"phoneNumber\n{PHONE}\n".encode("utf-32-be"))},
            "the file is UTF-32 text",
        ),
        id="utf-32-without-bom",
    ),
    # -- templated arguments that render to another type -----------------------------------------------------
    pytest.param(
        Case(WooxySyncEmailBlacklistOperator, {"records": [ALICE], "state_path": 5}, "state_path must be text"),
        id="state-path-int",
    ),
    pytest.param(
        Case(
            WooxyAddEmailBlacklistOperator,
            {"path": ["a.csv", "b.csv"]},
            "path must be text (a file, glob, folder or URI), got list",
        ),
        id="path-list",
    ),
    # -- exact rows -----------------------------------------------------------------------------------------------
    pytest.param(
        Case(
            WooxyAddEmailBlacklistOperator,
            {"path": _file("in.csv", f"email\n{ALICE}\nj\xf6rg@example.com\n".encode("latin-1"))},
            "in.csv is not UTF-8 text: byte 0xf6 in data row 2 cannot be decoded",
        ),
        id="bad-byte-row-2",
    ),
    pytest.param(
        Case(WooxyAddEmailBlacklistOperator, {"path": _file("in.csv", _rows_then_bad_byte(3000))}, "in data row 3000"),
        id="bad-byte-row-3000",
    ),
    pytest.param(
        Case(
            WooxyAddEmailBlacklistOperator,
            {"path": _file("in.jsonl", f'{{"email": "{ALICE}"}}\n{{"email": "\xff"}}\n'.encode("latin-1"))},
            "byte 0xff in row 2 cannot be decoded",
        ),
        id="bad-byte-jsonl",
    ),
    # -- bad arguments and locations ---------------------------------------------------------------------------
    pytest.param(
        Case(
            WooxyAddEmailBlacklistOperator,
            {"records": [ALICE], "checkpoint_path": _folder},
            "is a folder: give the path of a file",
        ),
        id="checkpoint-path-folder",
    ),
    pytest.param(
        Case(WooxySyncEmailBlacklistOperator, {"records": [ALICE], "state_path": _folder}, "state_path '"),
        id="state-path-folder",
    ),
    pytest.param(
        Case(WooxyExportEmailBlacklistOperator, {"path": _folder}, "is a folder: give the path of a file"),
        id="export-path-folder",
    ),
    pytest.param(
        Case(WooxyCheckPhoneBlacklistOperator, {"records": [PHONE], "path": _folder}, "is a folder"),
        id="lookup-path-folder",
    ),
    pytest.param(
        Case(
            WooxyAddEmailBlacklistOperator,
            {"records": [ALICE], "rejects_path": lambda p: str(p / "rejects.xml")},
            "rejects.xml': unknown suffix; use one of .csv, .jsonl, .ndjson, .json (optionally .gz)",
        ),
        id="rejects-path-xml",
    ),
    pytest.param(
        Case(
            WooxySyncEmailBlacklistOperator,
            {"records": [ALICE], "plan_path": lambda p: str(p / "plan.xml")},
            "plan_path '",
        ),
        id="plan-path-xml",
    ),
    pytest.param(
        Case(
            WooxyAddEmailBlacklistOperator,
            {"records": [ALICE]},
            "max_attempts (Attempts per request) must be a whole number >= 1 (1 disables retries), got 0",
            connection={"extra": {"max_attempts": 0}},
        ),
        id="attempts-0",
    ),
    pytest.param(
        Case(
            WooxyAddEmailBlacklistOperator,
            {"records": [{"email": ALICE}], "field": ""},
            "field '' names no key or column",
        ),
        id="empty-field",
    ),
    pytest.param(
        Case(WooxyCheckPhoneBlacklistOperator, {"records": [PHONE], "field": " "}, "field ' ' names no key"),
        id="empty-field-lookup",
    ),
    pytest.param(
        Case(
            WooxyAddEmailBlacklistOperator,
            {"records": [ALICE]},
            "base URL 'https://not a url' holds whitespace or a control character",
            connection={"host": "not a url"},
        ),
        id="host-not-a-url",
    ),
    # -- the validation and the sandbox agree ------------------------------------------------------------------
    pytest.param(
        Case(
            WooxyAddEmailBlacklistOperator,
            {"records": [BOB, QUOTED]},
            'row 2: a quoted local part ("...") is not accepted',
        ),
        id="quoted-local-part",
    ),
]


def _connect(monkeypatch: pytest.MonkeyPatch, sandbox: WooxySandbox, changes: dict[str, Any]) -> None:
    conn = json.loads(connection_json(sandbox.url))
    conn["extra"].update(changes.get("extra", {}))
    conn.update({k: v for k, v in changes.items() if k != "extra"})
    monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", json.dumps(conn))


class TestRefused:
    @pytest.mark.parametrize("case", REFUSED)
    def test_one_clear_error_nothing_sent_nothing_leaked(
        self, case: Case, wooxy_conn: WooxySandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logs
    ):
        if case.connection:
            _connect(monkeypatch, wooxy_conn, case.connection)
        with pytest.raises(WooxyInputError) as info:
            case.build(tmp_path).execute({})
        message = str(info.value)
        assert case.fragment in message
        assert isinstance(info.value, AirflowFailException)  # retrying cannot fix input
        printed = "".join(traceback.format_exception(info.value))
        assert "During handling of the above exception" not in printed
        assert wooxy_conn.stats()["total_requests"] == 0
        assert leaks(printed) == []
        assert leaks(logs()) == []


REPORTED = [
    pytest.param(
        WooxyAddPhoneBlacklistOperator, {"records": [{"phoneNumber": PHONE_AS_NUMBER}, US_PHONE]}, id="add-phone"
    ),
    pytest.param(WooxyRemovePhoneBlacklistOperator, {"records": [{"phoneNumber": PHONE_AS_NUMBER}]}, id="remove"),
    pytest.param(
        WooxySyncPhoneBlacklistOperator, {"records": [{"phoneNumber": PHONE_AS_NUMBER}, US_PHONE]}, id="sync-phone"
    ),
    pytest.param(WooxyCheckPhoneBlacklistOperator, {"records": [PHONE_AS_NUMBER, US_PHONE]}, id="lookup"),
    pytest.param(
        WooxyAddEmailBlacklistOperator, {"records": [{"email": ALICE, "rejectType": BOB}, {BOB: 1}]}, id="add-email"
    ),
    pytest.param(
        WooxyRemoveEmailBlacklistOperator,
        {"records": [{"email": ALICE, "rejectType": PHONE}, QUOTED]},
        id="remove-email",
    ),
    pytest.param(
        WooxyAddPhoneBlacklistOperator,
        {"records": ["4.47911E+11", {"phoneNumber": PHONE_AS_NUMBER}, US_PHONE]},
        id="excel-scientific",
    ),
]


class TestReported:
    @pytest.mark.parametrize(("operator", "kwargs"), REPORTED)
    def test_summary_and_log_are_masked_the_rejects_file_is_not(
        self, operator: type, kwargs: dict[str, Any], wooxy_conn: WooxySandbox, tmp_path: Path, logs
    ):
        case = Case(operator, dict(kwargs), "")
        if operator is not WooxyCheckPhoneBlacklistOperator:  # the look-up skips invalid numbers and keeps no file
            case.kwargs.update(max_invalid=5, rejects_path=str(tmp_path / "rejects.jsonl"))
        summary = case.build(tmp_path).execute({})
        assert summary.get("invalid")
        assert leaks(json.dumps(summary)) == []  # the XCom value, and the asset event's extra
        assert all("*" in reject["value"] for reject in summary.get("rejects_sample", []))
        assert leaks(logs()) == []
        if "rejects_path" in case.kwargs:  # the file exists to be acted on: full values
            assert leaks((tmp_path / "rejects.jsonl").read_text())


class TestAfterSending:
    def test_a_streamed_gzip_that_breaks_midway_says_how_much_was_sent(self, wooxy_conn: WooxySandbox, tmp_path):
        data = gzip.compress(b"email\n" + b"".join(b"user%d@example.com\n" % i for i in range(50_000)))
        path = tmp_path / "in.csv.gz"
        path.write_bytes(data[: len(data) * 3 // 4])
        operator = WooxyAddEmailBlacklistOperator(task_id="add", path=str(path), max_invalid=None)
        # Blocks of 16k characters (not 64k): the file's first blocks are sent before the break is read.
        with mock.patch.object(delimited, "_BLOCK", 1 << 14), pytest.raises(WooxyInputError) as info:
            operator.execute({})
        message = str(info.value)
        assert "is not a readable gzip file" in message
        sent = re.search(r"(\d+) valid records were accepted before this failure", message)
        assert sent is not None, message
        assert int(sent.group(1)) == len(wooxy_conn.email_addresses())

    def test_a_checkpoint_full_of_garbage_is_called_damaged(self, wooxy_conn: WooxySandbox, tmp_path, logs):
        checkpoint = tmp_path / "checkpoint.json"
        checkpoint.write_bytes(b"\x00\xffnot json at all")
        WooxyAddEmailBlacklistOperator(task_id="add", records=[ALICE], checkpoint_path=str(checkpoint)).execute({})
        printed = logs()
        assert f"Checkpoint {checkpoint} is damaged (not a checkpoint): starting from the beginning" in printed
        assert "belongs to other input" not in printed

    @pytest.mark.parametrize("content", ["[1, 2]", '{"fingerprint": 3}', '{"fingerprint": "x", "done": "no"}'])
    def test_a_checkpoint_of_another_shape_is_damaged_too(self, wooxy_conn: WooxySandbox, tmp_path, logs, content):
        checkpoint = tmp_path / "checkpoint.json"
        checkpoint.write_text(content)
        WooxyAddEmailBlacklistOperator(task_id="add", records=[ALICE], checkpoint_path=str(checkpoint)).execute({})
        printed = logs()
        assert "is damaged" in printed or "belongs to other input" in printed  # "x" is another input's fingerprint
        assert wooxy_conn.email_addresses() == {ALICE}

    def test_a_streamed_input_refused_before_the_first_request_says_only_what_is_wrong(self, wooxy_conn, tmp_path):
        path = tmp_path / "in.csv"
        path.write_text(f"email,email\n{ALICE},{BOB}\n")
        with pytest.raises(WooxyInputError) as info:
            WooxyAddEmailBlacklistOperator(task_id="add", path=str(path), max_invalid=None).execute({})
        assert str(info.value).endswith("which one to read is ambiguous; rename or drop the extra columns.")
        assert wooxy_conn.stats()["total_requests"] == 0


EDGE_ADDRESSES = [
    ALICE,
    "o'brien+tag@example.co.uk",
    "a@[192.0.2.1]",
    "x@xn--bcher-kva.de",
    QUOTED,
    '"alice"@example.com',
    "alice..smith@example.com",
    ".alice@example.com",
    "alice@localhost",
    "alice@-example.com",
    "alice@example.c",
    f"{'a' * 65}@example.com",
    "alice smith@example.com",
    "user@straße.de",
    "user@xn--zz.de",
]


class TestOneEmailDefinition:
    @pytest.mark.parametrize("address", EDGE_ADDRESSES)
    def test_the_sandbox_accepts_exactly_what_the_validation_passes(self, address: str, wooxy_conn: WooxySandbox):
        """Over HTTP: what the validation passes, the sandbox takes; what it refuses, the sandbox refuses."""
        try:
            sent = normalise_email(address)
        except RecordError:
            sent = None
        hook = WooxyHook()
        body = {"records": [{"email": sent or address, "rejectType": "hard"}]}
        if sent is None:
            with pytest.raises(Exception, match="Invalid RFC2822 email"):
                hook.add_email_blacklist(body["records"])
            assert not is_valid_email(address)
        else:
            hook.add_email_blacklist(body["records"])
            assert sent in wooxy_conn.email_addresses()


class TestNotAmbiguous:
    def test_the_key_name_in_a_value_or_a_nested_object_is_no_duplicate(self, wooxy_conn: WooxySandbox, tmp_path):
        records = [{"channel": "email", "email": ALICE}, {"email": BOB, "meta": {"email": "x"}}]
        path = tmp_path / "in.json"
        path.write_text(json.dumps(records))
        summary = WooxyAddEmailBlacklistOperator(task_id="add", path=str(path)).execute({})
        assert summary["sent"] == 2
        assert wooxy_conn.email_addresses() == {ALICE, BOB}


class TestTheApiEchoes:
    @pytest.mark.parametrize(
        ("method", "records", "fragment"),
        [
            pytest.param(
                EMAIL_ADD,
                [{"email": QUOTED, "rejectType": "hard"}],
                'Invalid RFC2822 email "***@e***.com',
                id="email",
            ),
            pytest.param(
                PHONE_ADD,
                [{"phoneNumber": "+4420794600189999"}],
                "+4*************99 is not a valid E.164 phone number",
                id="phone",
            ),
        ],
    )
    def test_the_hook_masks_a_record_wooxy_quotes_back(self, wooxy_conn: WooxySandbox, method, records, fragment, logs):
        with pytest.raises(WooxyRejectedError) as info:
            WooxyHook().send_records(method, records)
        printed = "".join(traceback.format_exception(info.value))
        assert fragment in printed
        assert leaks(printed + logs()) == []
        assert "4420794600189999" not in printed


SURROGATES = "\n".join(
    [
        json.dumps({"email": BOB}),
        json.dumps({"email": "al\ud800ice@example.com"}),  # json.dumps writes the lone surrogate as \ud800
        json.dumps({"email": ALICE, "rawLog": "bounce \udc80"}),
        json.dumps({"email": ALICE, "rejectType": "\ud83d"}),
    ]
)


class TestCharactersWithNoUtf8Form:
    @pytest.mark.parametrize(
        "operator",
        [
            pytest.param(WooxyAddEmailBlacklistOperator, id="push"),
            pytest.param(WooxySyncEmailBlacklistOperator, id="sync"),
        ],
    )
    def test_each_is_a_reject_with_its_row_and_the_rejects_csv_is_written(
        self, operator: type, wooxy_conn: WooxySandbox, tmp_path: Path, logs
    ):
        path = tmp_path / "in.jsonl"
        path.write_text(SURROGATES + "\n")
        rejects = tmp_path / "rejects.csv"
        case = Case(operator, {"path": str(path), "max_invalid": 3, "rejects_path": str(rejects)}, "")
        summary = case.build(tmp_path).execute({})
        assert (summary["invalid"], wooxy_conn.email_addresses()) == (3, {BOB})
        reasons = {r["row"]: r["reason"] for r in summary["rejects_sample"]}
        assert "non-ASCII characters in the local part" in reasons[2]
        assert reasons[3].startswith("rawLog holds U+DC80 at character 8")
        assert reasons[4].startswith("rejectType '\\ud83d' is not one of")
        written = list(csv.DictReader(io.StringIO(rejects.read_text(encoding="utf-8"))))
        assert [row["row"] for row in written] == ["2", "3", "4"]
        assert written[0]["value"] == "al\\ud800ice@example.com"
        assert leaks(json.dumps(summary) + logs()) == []

    def test_the_rejects_file_is_written_when_the_run_fails(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        path = tmp_path / "in.jsonl"
        path.write_text(SURROGATES + "\n")
        rejects = tmp_path / "rejects.csv"
        operator = WooxyAddEmailBlacklistOperator(task_id="add", path=str(path), rejects_path=str(rejects))
        with pytest.raises(WooxyInputError, match="3 of 4 records are invalid, more than max_invalid=0"):
            operator.execute({})
        assert wooxy_conn.stats()["total_requests"] == 0
        assert len(list(csv.DictReader(io.StringIO(rejects.read_text(encoding="utf-8"))))) == 3


class TestPhoneSpellings:
    def test_a_tel_uri_is_sent_as_its_number(self, wooxy_conn: WooxySandbox):
        summary = WooxyAddPhoneBlacklistOperator(task_id="add", records=["tel:+44-7911-123456"]).execute({})
        assert summary["sent"] == 1
        assert "+447911123456" in wooxy_conn.phone_numbers()
