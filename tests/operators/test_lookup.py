"""The phone blacklist look-up, over real HTTP against the sandbox."""

from __future__ import annotations

import csv
import io
import json

import pytest

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.operators.lookup import WooxyCheckPhoneBlacklistOperator
from tests.helpers.sandbox import connection_json

LISTED = {"+447911123456": "unsubscribe", "+442079460018": "import", "+14155552671": "undeliverable"}


@pytest.fixture
def phone_list(wooxy_conn):
    wooxy_conn.handle(
        "phone-blacklist/add",
        {"records": [{"phoneNumber": number, "rejectType": kind} for number, kind in LISTED.items()]},
    )
    return wooxy_conn


class TestWooxyCheckPhoneBlacklistOperator:
    def test_writes_the_listed_numbers_with_their_reject_type(self, phone_list, tmp_path):
        numbers = ["07911 123456", "020 7946 0018", "+1 (415) 555-2671", "020 7946 0019", "07911 123456", "no"]
        out = tmp_path / "listed.csv"
        summary = WooxyCheckPhoneBlacklistOperator(
            task_id="check", records=numbers, default_region="GB", output_path=str(out), max_concurrency=2
        ).execute({})
        rows = list(csv.DictReader(io.StringIO(out.read_text())))
        assert {row["phoneNumber"]: row["rejectType"] for row in rows} == LISTED
        assert len(rows) == 3 and all(row["createdAt"] for row in rows)
        assert summary["checked"] == 4 and summary["listed"] == 3 and summary["not_listed"] == 1
        assert summary["duplicates"] == 1 and summary["invalid"] == 1
        assert summary["by_reject_type"] == {"unsubscribe": 1, "import": 1, "undeliverable": 1}
        assert "+44" not in json.dumps(summary) and "7911" not in json.dumps(summary)
        assert phone_list.stats()["requests"]["phone-blacklist/find"] == 4
        assert phone_list.stats()["max_in_flight"] <= 2

    def test_from_a_file_with_transient_faults(self, phone_list, monkeypatch, tmp_path):
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(phone_list.url, max_attempts=10))
        source = tmp_path / "numbers.jsonl"
        numbers = [f"+4420794600{i:02d}" for i in range(60)] + list(LISTED)
        source.write_text("".join(json.dumps({"mobile": n}) + "\n" for n in numbers))
        phone_list.fault_rate = 0.2
        phone_list.fault_kinds = ("http500", "http429", "drop_before", "drop_after")
        summary = WooxyCheckPhoneBlacklistOperator(
            task_id="check", input_path=str(source), field="mobile", output_path=str(tmp_path / "listed.jsonl")
        ).execute({})
        rows = [json.loads(line) for line in (tmp_path / "listed.jsonl").read_text().splitlines()]
        # +442079460018 is both in the range and listed: looked up once
        assert {row["phoneNumber"]: row["rejectType"] for row in rows} == LISTED
        assert summary["checked"] == 62 and summary["duplicates"] == 1 and summary["retries"] > 0

    def test_bad_region_fails_before_any_request(self, phone_list, tmp_path):
        with pytest.raises(WooxyInputError, match="default_region"):
            WooxyCheckPhoneBlacklistOperator(
                task_id="check", records=["1"], default_region="XX", output_path=str(tmp_path / "o.csv")
            ).execute({})
        assert phone_list.stats()["total_requests"] == 0
        assert not (tmp_path / "o.csv").exists()
