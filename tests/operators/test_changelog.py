"""
The audit trail of the push and sync operators (operators/changelog.py) over real HTTP against the sandbox: the
changelog's rows are what the sandbox received, in every file format; a second run appends; a dry run writes nothing.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wooxy.exceptions import WooxyChangelogError, WooxyInputError
from airflow_provider_wooxy.operators.blacklist import (
    WooxyAddEmailBlacklistOperator,
    WooxyRemovePhoneBlacklistOperator,
)
from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator
from airflow_provider_wooxy.pipeline.changelog import columns
from airflow_provider_wooxy.sandbox import WooxySandbox
from tests.helpers.sandbox import TOKEN, connection_json

REFUSED = "refused7@example.com"
"""An address the sandbox refuses although it looks fine: one refusal inside a bisected batch."""
COLUMNS = list(columns("email"))


def emails(n: int, start: int = 0) -> list[str]:
    return [f"user{i}@example.com" for i in range(start, start + n)]


@pytest.fixture
def refusing(monkeypatch: pytest.MonkeyPatch):
    with WooxySandbox(token=TOKEN, retry_after="0", refuse=[REFUSED]) as sandbox:
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url))
        sandbox.received = []
        yield sandbox


def read_rows(path: Path) -> list[dict[str, Any]]:
    """A changelog file's rows, as dicts of text (CSV's view: None is empty)."""
    name = path.name
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        assert table.schema.names == COLUMNS
        rows = table.to_pylist()
        return [{k: "" if v is None else v.isoformat() if k == "at" else str(v) for k, v in r.items()} for r in rows]
    data = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
    text = data.decode()
    if ".csv" in name:
        reader = csv.DictReader(text.splitlines())
        assert reader.fieldnames == COLUMNS
        return list(reader)
    rows = [json.loads(line) for line in text.splitlines()]
    assert all(list(row) == COLUMNS for row in rows)
    return [{k: "" if v is None else str(v) for k, v in row.items()} for row in rows]


def received(sandbox: WooxySandbox) -> Counter:
    """What the sandbox answered, as changelog outcomes: every record of an accepted request, and every record
    refused alone (a refused batch of several is bisected: its records come back in smaller requests)."""
    outcomes: Counter = Counter()
    for method, body, errors in sandbox.received or []:
        sent = body.get("records", [body])
        if errors is not None and len(sent) > 1:
            continue
        for record in sent:
            kind = "remove" if method.endswith("remove") else "add"
            status = "accepted" if errors is None else "refused"
            key = record.get("email") or record.get("phoneNumber")
            outcomes[kind, key, record.get("rejectType") or "", status, "; ".join(errors or [])] += 1
    return outcomes


def outcomes(rows: list[dict[str, Any]]) -> Counter:
    key = "email" if "email" in rows[0] else "phoneNumber"
    return Counter(
        ("remove" if r["action"] == "remove" else "add", r[key], r["rejectType"], r["status"], r["reason"])
        for r in rows
    )


def sync(tmp_path: Path, addresses: list[str], **kwargs: Any) -> dict[str, Any]:
    operator = WooxySyncEmailBlacklistOperator(
        task_id="sync",
        records=addresses,
        state_path=str(tmp_path / "emails.state"),
        max_removals=None,
        max_invalid=5,
        batch_size=10,
        **kwargs,
    )
    return operator.execute({})


FORMATS = ["changelog.csv", "changelog.jsonl", "changelog.csv.gz", "changelog.jsonl.gz", "changelog.parquet"]


class TestSyncChangelog:
    @pytest.mark.parametrize("name", FORMATS, ids=[n.removeprefix("changelog.") for n in FORMATS])
    def test_rows_are_what_the_sandbox_received_and_a_second_run_appends(
        self, refusing: WooxySandbox, tmp_path: Path, name: str
    ):
        path = tmp_path / name
        first = sync(tmp_path, emails(30), changelog_path=str(path))
        assert first["changelog_rows"] == 30
        refusing.received = []
        # The second run: 5 removes, 25 adds of which one is refused inside a batch of 10 (bisected).
        second = sync(tmp_path, [*emails(25, start=5), *emails(24, start=100), REFUSED], changelog_path=str(path))
        assert (second["added"], second["removed"], second["refused_by_api"]) == (24, 5, 1)
        rows = read_rows(path)
        assert len(rows) == 30 + 30  # appended after the first run's rows
        new = rows[30:]
        assert outcomes(new) == received(refusing)
        assert Counter(r["action"] for r in new) == {"add": 25, "remove": 5}
        (refused,) = [r for r in new if r["status"] == "refused"]
        assert refused["email"] == REFUSED and "invalid" in refused["reason"].lower()  # Wooxy's text, unmasked
        assert {r["plan_id"] for r in new} == {second["plan_id"]}
        assert {(r["dag_id"], r["task_id"], r["run_id"], r["try_number"]) for r in rows} == {
            ("adhoc_airflow", "sync", "", "")
        }
        assert not list(tmp_path.glob("emails.state.changelog-*"))  # the spool went once written

    def test_a_dry_run_writes_nothing(self, refusing: WooxySandbox, tmp_path: Path):
        path = tmp_path / "changelog.csv"
        summary = sync(tmp_path, emails(5), changelog_path=str(path), dry_run=True)
        assert summary["dry_run"] and "changelog_rows" not in summary
        assert not path.exists() and list(tmp_path.iterdir()) == []

    def test_a_resync_writes_re_adds(self, refusing: WooxySandbox, tmp_path: Path):
        sync(tmp_path, emails(3))
        path = tmp_path / "changelog.jsonl"
        sync(tmp_path, emails(4), changelog_path=str(path), resync=True)
        assert sorted((r["action"], r["email"]) for r in read_rows(path)) == [
            ("add", "user3@example.com"),
            *(("re-add", a) for a in emails(3)),
        ]

    def test_nothing_sent_writes_no_file(self, refusing: WooxySandbox, tmp_path: Path):
        sync(tmp_path, emails(3))
        path = tmp_path / "changelog.csv"
        assert sync(tmp_path, emails(3), changelog_path=str(path))["changelog_rows"] == 0
        assert not path.exists()

    def test_a_changelog_that_cannot_be_written_fails_after_the_sends_and_keeps_the_rows(
        self, refusing: WooxySandbox, tmp_path: Path
    ):
        (tmp_path / "changelog.csv").write_text("not,the,changelog\n")  # another file's columns
        with pytest.raises(WooxyChangelogError, match=r"has other columns .* the next run of this task writes them"):
            sync(tmp_path, emails(12), changelog_path=str(tmp_path / "changelog.csv"))
        assert refusing.email_addresses() == set(emails(12))  # the sends were made, and committed
        spool = tmp_path / "emails.state.changelog-path"
        assert len(spool.read_bytes().splitlines()) == 2  # two requests of 10 and 2
        (tmp_path / "changelog.csv").unlink()
        # The next run has nothing to send, and writes what the failed one kept.
        assert sync(tmp_path, emails(12), changelog_path=str(tmp_path / "changelog.csv"))["changelog_rows"] == 12
        assert len(read_rows(tmp_path / "changelog.csv")) == 12 and not spool.exists()

    def test_a_run_failing_midway_writes_what_was_accepted(self, refusing: WooxySandbox, tmp_path: Path):
        from airflow_provider_wooxy.exceptions import WooxyTransientError

        refusing.outage(after=3)  # three requests answered, then every one fails
        path = tmp_path / "changelog.csv"
        with pytest.raises(WooxyTransientError):
            sync(tmp_path, emails(100), changelog_path=str(path), max_concurrency=1)
        rows = read_rows(path)
        assert outcomes(rows) == received(refusing) and len(rows) == 20  # the look-up, then two adds of 10
        refusing.recover()
        refusing.received = []
        sync(tmp_path, emails(100), changelog_path=str(path))  # the retry appends the rest
        assert outcomes(read_rows(path)[20:]) == received(refusing)

    @pytest.mark.parametrize(
        ("kwargs", "error"),
        [
            pytest.param({"changelog_path": "x/changelog.txt"}, "unknown suffix", id="suffix"),
            pytest.param({"changelog_table": "wooxy_log"}, "needs changelog_conn_id", id="no-conn"),
            pytest.param({"changelog_conn_id": "wh"}, "changelog_table is not", id="no-table"),
            pytest.param({"changelog_table": "x; drop", "changelog_conn_id": "wh"}, "not a table name", id="name"),
        ],
    )
    def test_bad_arguments_fail_before_anything_is_sent(
        self, refusing: WooxySandbox, tmp_path: Path, kwargs: dict[str, str], error: str
    ):
        with pytest.raises(WooxyInputError, match=error):
            sync(tmp_path, emails(3), **kwargs)
        assert refusing.received == []


class TestPushChangelog:
    def test_each_accepted_batch_and_each_refusal(self, refusing: WooxySandbox, tmp_path: Path):
        path = tmp_path / "changelog.csv"
        summary = WooxyAddEmailBlacklistOperator(
            task_id="push", records=[*emails(15), REFUSED], batch_size=8, max_invalid=1, changelog_path=str(path)
        ).execute({})
        rows = read_rows(path)
        assert summary["changelog_rows"] == len(rows) == 16
        assert outcomes(rows) == received(refusing)
        assert {r["plan_id"] for r in rows} == {""}  # a push has no plan

    def test_a_phone_remove(self, refusing: WooxySandbox, tmp_path: Path):
        path = tmp_path / "changelog.jsonl"
        WooxyRemovePhoneBlacklistOperator(
            task_id="remove", records=["+447911000001", "+447911000002"], changelog_path=str(path)
        ).execute({})
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        assert sorted((r["action"], r["phoneNumber"], r["status"]) for r in rows) == [  # sent in parallel
            ("remove", "+447911000001", "accepted"),
            ("remove", "+447911000002", "accepted"),
        ]
        assert list(rows[0]) == ["action", "phoneNumber", *COLUMNS[2:]]

    def test_a_dry_run_writes_nothing(self, refusing: WooxySandbox, tmp_path: Path):
        path = tmp_path / "changelog.csv"
        WooxyAddEmailBlacklistOperator(
            task_id="push", records=emails(3), dry_run=True, changelog_path=str(path)
        ).execute({})
        assert not path.exists() and refusing.received == []
