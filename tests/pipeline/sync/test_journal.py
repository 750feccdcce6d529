"""The journal's line format on its own: accepted requests, intended ones, and lines that are neither."""

from __future__ import annotations

import pytest

from airflow_provider_wooxy.pipeline.sync import journal
from airflow_provider_wooxy.pipeline.sync.entries import EMAIL, PHONE
from airflow_provider_wooxy.pipeline.sync.journal import JournalRecord, intent_chunks, read_record
from tests.helpers.sync import add


class TestReadRecord:
    @pytest.mark.parametrize(
        ("line", "expected"),
        [
            pytest.param(b"+" + add("a@x.co"), (False, True, "a@x.co\thard"), id="accepted-add"),
            pytest.param(b"-" + add("a@x.co"), (False, False, "a@x.co\thard"), id="accepted-remove"),
            pytest.param(b"?+" + add("a@x.co"), (True, True, "a@x.co\thard"), id="intended-add"),
            pytest.param(b"?-" + add("a@x.co"), (True, False, "a@x.co\thard"), id="intended-remove"),
        ],
    )
    def test_records(self, line: bytes, expected: tuple[bool, bool, str]):
        record = read_record(line, EMAIL)
        assert record is not None and (record.intended, record.added, record.entry) == expected

    @pytest.mark.parametrize(
        "line",
        [
            pytest.param(b"garbage", id="no-sign"),
            pytest.param(b"??+" + add("a@x.co"), id="intent-twice"),
            pytest.param(b"+{}", id="no-address"),
            pytest.param(b"?", id="intent-alone"),
        ],
    )
    def test_lines_that_are_no_record(self, line: bytes):
        assert read_record(line, EMAIL) is None

    def test_a_phone_record_is_its_number(self):
        assert read_record(b'?-{"phoneNumber":"+447911123456"}', PHONE) == JournalRecord(
            True, False, "+447911123456", b'{"phoneNumber":"+447911123456"}'
        )


def test_intent_chunks_hold_adds_then_removes_in_bounded_chunks(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(journal, "INTENT_CHUNK", 2)
    chunks = list(intent_chunks([b"1", b"2", b"3"], iter([b"4"])))
    assert chunks == [[b"?+1\n", b"?+2\n"], [b"?+3\n"], [b"?-4\n"]]
