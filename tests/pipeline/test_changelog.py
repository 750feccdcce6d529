"""The changelog's rows and spools (pipeline/changelog.py): lines that survive a kill, written after the sends."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from upath import UPath

from airflow_provider_wooxy.exceptions import WooxyChangelogError
from airflow_provider_wooxy.pipeline.changelog import (
    Changelog,
    RunContext,
    Spool,
    columns,
    rows_of,
    spool_for,
    utc_now,
    write_after_failure,
)

CONTEXT = RunContext("dag", "task", "run", 3, "plan")
AT = "2026-12-01T10:00:00.000Z"


class ListSink:
    """A sink keeping its rows in memory; ``fail_after`` spool lines, it raises."""

    display = "the test sink"

    def __init__(self, fail_after: int | None = None) -> None:
        self.rows: list[tuple[Any, ...]] = []
        self.fail_after = fail_after

    def write(self, lines, key_field: str, written: list[int]) -> int:
        for number, line in enumerate(lines()):
            if number == self.fail_after:
                raise OSError("disk full\nsecond line")
            self.rows.extend(rows_of([line], key_field))
            written[0] += 1
        return len(self.rows)


def record(address: str) -> bytes:
    return json.dumps({"email": address, "rejectType": "hard"}).encode()


def changelog(spool: Spool, sink: ListSink) -> Changelog:
    return Changelog("email", CONTEXT, [(sink, spool)], clock=lambda: AT)


class TestRows:
    def test_columns_are_in_the_documented_order(self):
        assert columns("phoneNumber") == (
            "action", "phoneNumber", "rejectType", "status", "reason",
            "dag_id", "task_id", "run_id", "try_number", "at", "plan_id",
        )  # fmt: skip

    def test_accepted_and_refused_rows(self, tmp_path: Path):
        sink = ListSink()
        log = changelog(Spool(tmp_path / "spool"), sink)
        log.accepted("add", [record("a@example.com"), record("b@example.com")])
        log.refused("add", record("c@example.com"), ["Invalid RFC2822 email c***@e***.com"])
        log.accepted("remove", [json.dumps({"email": "d@example.com"}).encode()])
        assert log.write() == 4
        assert sink.rows == [
            ("add", "a@example.com", "hard", "accepted", None, "dag", "task", "run", 3, AT, "plan"),
            ("add", "b@example.com", "hard", "accepted", None, "dag", "task", "run", 3, AT, "plan"),
            # The hook masks the record's own address in Wooxy's text; the changelog (the user's store) has it back.
            (
                "add",
                "c@example.com",
                "hard",
                "refused",
                "Invalid RFC2822 email c@example.com",
                "dag",
                "task",
                "run",
                3,
                AT,
                "plan",
            ),
            ("remove", "d@example.com", None, "accepted", None, "dag", "task", "run", 3, AT, "plan"),
        ]
        assert not (tmp_path / "spool").exists()

    def test_the_time_is_utc_to_the_millisecond(self):
        assert utc_now().endswith("Z") and len(utc_now()) == len(AT)


class TestSpool:
    def test_a_line_cut_by_a_kill_is_ignored_and_never_glued_onto(self, tmp_path: Path):
        path = tmp_path / "spool"
        first = changelog(Spool(path), ListSink())
        first.accepted("add", [record("a@example.com")])
        first.sinks[0][1].close()
        with path.open("ab") as handle:
            handle.write(b'{"c":["dag"')  # killed mid-write
        sink = ListSink()
        retry = changelog(Spool(path), sink)
        retry.accepted("add", [record("b@example.com")])
        assert retry.write() == 2 and [row[1] for row in sink.rows] == ["a@example.com", "b@example.com"]

    def test_object_storage_parts_continue_the_sequence_of_a_killed_try(self, tmp_path: Path):
        location = UPath(f"memory://{tmp_path.name}/state.changelog-path")
        killed = changelog(Spool(location), ListSink())
        killed.accepted("add", [record("a@example.com")])
        assert Spool(location).parts() == []  # not flushed: on object storage, nothing before a flush
        killed.flush()
        sink = ListSink()
        retry = changelog(Spool(location), sink)
        retry.accepted("add", [record("b@example.com")])
        retry.flush()
        assert [part.name.rsplit(".", 2)[1] for part in Spool(location).parts()] == ["00000001", "00000002"]
        assert retry.write() == 2 and [row[1] for row in sink.rows] == ["a@example.com", "b@example.com"]
        assert Spool(location).parts() == []

    def test_spools_beside_a_state_or_temporary(self, tmp_path: Path):
        assert spool_for(tmp_path / "s.state", "table").location == tmp_path / "s.state.changelog-table"
        temporary = spool_for(None, "path")
        assert temporary.location.name.startswith("wooxy-changelog-path-") and not temporary.kept_for_next_run


class TestWrite:
    def test_nothing_spooled_writes_nothing(self, tmp_path: Path):
        sink = ListSink()
        assert changelog(Spool(tmp_path / "spool"), sink).write() == 0 and sink.rows == []

    @pytest.mark.parametrize(
        ("beside", "then"),
        [
            pytest.param(True, "the next run of this task writes them", id="beside-a-state"),
            pytest.param(False, "load them from there", id="temporary"),
        ],
    )
    def test_a_failed_sink_keeps_only_the_lines_it_did_not_get(self, tmp_path: Path, beside: bool, then: str):
        path = tmp_path / "spool"
        log = Changelog(
            "email", CONTEXT, [(ListSink(fail_after=1), Spool(path, kept_for_next_run=beside))], clock=lambda: AT
        )
        for address in ("a", "b", "c"):
            log.accepted("add", [record(f"{address}@example.com")])
        with pytest.raises(WooxyChangelogError) as failed:
            log.write()
        message = str(failed.value)
        assert f"the test sink: disk full. Its rows are kept in {path}: {then}" in message
        assert "every request was sent" in message
        assert [json.loads(line)["r"][0]["email"] for line in path.read_bytes().splitlines()] == [
            "b@example.com",
            "c@example.com",
        ]

    def test_after_a_send_failure_a_write_failure_is_logged_not_raised(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ):
        log = changelog(Spool(tmp_path / "spool"), ListSink(fail_after=0))
        log.accepted("add", [record("a@example.com")])
        write_after_failure(log, logging.getLogger("tests.changelog"))
        assert "could not be written" in caplog.text and (tmp_path / "spool").exists()
        write_after_failure(None, logging.getLogger("tests.changelog"))  # no changelog: nothing to do
