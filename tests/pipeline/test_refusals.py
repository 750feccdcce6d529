"""The one refusal handler of push and sync: refused records as rejects, the log line, the max_invalid error."""

from __future__ import annotations

import json
import logging

import pytest

from airflow_provider_wooxy.exceptions import WooxyRejectedError
from airflow_provider_wooxy.pipeline.refusals import Refusals
from airflow_provider_wooxy.pipeline.rejects import Rejects
from airflow_provider_wooxy.pipeline.sending import Refusal


def refusal(row: int, email: str) -> Refusal:
    payload = json.dumps({"email": email, "rejectType": "hard"}).encode()
    return Refusal(row, payload, [f"Invalid RFC2822 email {email}"])


@pytest.fixture
def rejects():
    collected = Rejects()
    yield collected
    collected.close()


class TestAdd:
    def test_each_refusal_is_a_reject_with_the_apis_words(self, rejects: Rejects, tmp_path):
        refusals = Refusals(rejects, "email")
        refusals.add([refusal(4, "ann@example.com"), refusal(9, "bob@example.com")])
        assert refusals.count == rejects.count == 2
        assert [(r["row"], r["value"], r["source"]) for r in rejects.sample] == [
            (4, "a***@e***.com", "api"),
            (9, "b***@e***.com", "api"),
        ]
        assert rejects.sample[0]["reason"] == "refused by Wooxy: Invalid RFC2822 email a***@e***.com"
        rejects.export(str(tmp_path / "rejects.jsonl"))
        full = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
        assert full[0]["value"] == "ann@example.com"  # the file keeps the value whole

    def test_a_sync_remove_has_its_own_words_and_no_row(self, rejects: Rejects):
        Refusals(rejects, "email").add([refusal(7, "ann@example.com")], what="remove refused by Wooxy", row=0)
        (only,) = rejects.sample
        assert only["row"] == 0
        assert only["reason"].startswith("remove refused by Wooxy: Invalid RFC2822 email")

    def test_the_key_field_says_where_the_address_is(self, rejects: Rejects):
        phone = Refusal(2, json.dumps({"phoneNumber": "+14155552671"}).encode(), ["Invalid"])
        Refusals(rejects, "phoneNumber").add([phone])
        assert rejects.sample[0]["value"] == "+1********71"


class TestDetails:
    def test_first_names_the_first_refusals_masked(self, rejects: Rejects):
        refusals = Refusals(rejects, "email")
        refusals.add(refusal(row, f"user{row}@example.com") for row in range(1, 8))
        lines = refusals.first()
        assert len(lines) == 5
        assert lines[0] == "row 1: Invalid RFC2822 email u***@e***.com"
        assert "user1@example.com" not in " ".join(lines)

    def test_latest_names_the_newest_sample_entries_one_per_refusal(self, rejects: Rejects):
        rejects.add(1, "bad", "not an address")
        refusals = Refusals(rejects, "email")
        refusals.add([refusal(3, "ann@example.com"), refusal(5, "bob@example.com")])
        assert refusals.latest() == [
            "row 3: refused by Wooxy: Invalid RFC2822 email a***@e***.com",
            "row 5: refused by Wooxy: Invalid RFC2822 email b***@e***.com",
        ]


class TestCheck:
    def check(self, refusals: Refusals, max_invalid: int | None, log: logging.Logger) -> None:
        refusals.check(
            log, max_invalid=max_invalid, operation="blacklist/add", outcome="the rest went", details=refusals.first
        )

    def test_nothing_refused_says_nothing(self, rejects: Rejects, caplog):
        rejects.add(1, "bad", "not an address")  # invalid rows alone are the intake's business
        self.check(Refusals(rejects, "email"), 0, logging.getLogger("test"))
        assert caplog.records == []

    @pytest.mark.parametrize("max_invalid", [pytest.param(2, id="at-the-limit"), pytest.param(None, id="no-limit")])
    def test_within_max_invalid_warns_only(self, rejects: Rejects, caplog, max_invalid):
        rejects.add(1, "bad", "not an address")
        refusals = Refusals(rejects, "email")
        refusals.add([refusal(3, "ann@example.com")])
        with caplog.at_level(logging.WARNING):
            self.check(refusals, max_invalid, logging.getLogger("test"))
        assert "Records refused by Wooxy: row 1: not an address" in caplog.text
        assert "ann@example.com" not in caplog.text

    def test_over_max_invalid_fails_counting_invalid_rows_too(self, rejects: Rejects):
        rejects.add(1, "bad", "not an address")
        refusals = Refusals(rejects, "email")
        refusals.add([refusal(3, "ann@example.com")])
        with pytest.raises(WooxyRejectedError) as info:
            self.check(refusals, 1, logging.getLogger("test"))
        assert info.value.errors == [
            "1 records refused (max_invalid=1, 2 rejects in all); the rest went",
            "row 3: Invalid RFC2822 email a***@e***.com",
        ]
        assert "blacklist/add" in str(info.value)
