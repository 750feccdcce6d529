"""
Entries that exist before a sync adds them (Wooxy's own, another tool's, another sync's): a sync never claims them,
so it never removes them, over real HTTP against the sandbox.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator, WooxySyncPhoneBlacklistOperator
from airflow_provider_wooxy.pipeline.sync.entries import EMAIL, PHONE
from airflow_provider_wooxy.pipeline.sync.known import known_location
from airflow_provider_wooxy.pipeline.sync.state import open_state
from airflow_provider_wooxy.sandbox import WooxySandbox
from tests.operators.test_sync import e164, emails, on_wooxy, phones, requests_made, seed_foreign


def email_sync(state: Path, records: list, **kwargs) -> dict:
    return WooxySyncEmailBlacklistOperator(task_id="s", records=records, state_path=str(state), **kwargs).execute({})


def phone_sync(state: Path, records: list, **kwargs) -> dict:
    return WooxySyncPhoneBlacklistOperator(
        task_id="p", records=records, default_region="GB", state_path=str(state), **kwargs
    ).execute({})


def managed(state: Path, sandbox: WooxySandbox, kind=EMAIL) -> set[str]:
    return set(open_state(state, kind, sandbox.url).load().iter_lines())


def finds(sandbox: WooxySandbox) -> int:
    return sum(n for method, n in sandbox.stats()["requests"].items() if method.endswith("/find"))


class TestEmailEntriesThatExist:
    def test_an_existing_entry_is_kept_as_known_and_never_removed(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        state = tmp_path / "emails.state"
        seed_foreign(wooxy_conn, [{"email": "theirs@example.com", "rejectType": "hard"}])
        first = email_sync(state, [*emails(3), "theirs@example.com"])
        assert (first["to_add"], first["already_listed"], first["added"]) == (3, 1, 3)
        assert managed(state, wooxy_conn) == {f"{a}\thard" for a in emails(3)}
        assert known_location(state).exists()
        # The input drops it: not a removal (it was never this sync's).
        second = email_sync(state, emails(3))
        assert (second["to_remove"], second["removed"]) == (0, 0)
        assert ("theirs@example.com", "hard") in on_wooxy(wooxy_conn)

    def test_a_known_entry_is_not_looked_up_again(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        state = tmp_path / "emails.state"
        seed_foreign(wooxy_conn, [{"email": "theirs@example.com", "rejectType": "hard"}])
        email_sync(state, [*emails(3), "theirs@example.com"])
        before = finds(wooxy_conn)
        again = email_sync(state, [*emails(3), "theirs@example.com"])
        assert (again["already_listed"], again["lookup_requests"], finds(wooxy_conn) - before) == (1, 0, 0)

    def test_another_reject_type_is_another_entry(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        state = tmp_path / "emails.state"
        seed_foreign(wooxy_conn, [{"email": "x@example.com", "rejectType": "complaint"}])
        summary = email_sync(state, ["x@example.com"])
        assert (summary["already_listed"], summary["added"]) == (0, 1)
        email_sync(state, emails(1), max_removals=None)  # drops x: our hard entry goes, their complaint stays
        assert on_wooxy(wooxy_conn) == {("x@example.com", "complaint"), (emails(1)[0], "hard")}

    def test_claim_existing_adopts_them(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        state = tmp_path / "emails.state"
        seed_foreign(wooxy_conn, [{"email": "theirs@example.com", "rejectType": "hard"}])
        first = email_sync(state, [*emails(3), "theirs@example.com"], claim_existing=True)
        assert (first["already_listed"], first["lookup_requests"], first["added"]) == (0, 0, 4)
        second = email_sync(state, emails(3), max_removals=None, claim_existing=True)
        assert second["removed"] == 1 and ("theirs@example.com", "hard") not in on_wooxy(wooxy_conn)

    def test_many_new_entries_page_the_list_instead(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        state = tmp_path / "emails.state"
        wooxy_conn.add_emails((a, "hard") for a in emails(150, start=1000))
        summary = email_sync(state, [*emails(300), *emails(5, start=1000)])
        # 150 listed: one page of 1,000 beats 305 look-ups; one request tells the list's size first.
        assert (summary["already_listed"], summary["added"], summary["lookup_requests"]) == (5, 300, 2)

    def test_a_known_entry_that_leaves_wooxy_is_added_by_verify_and_managed_then(
        self, wooxy_conn: WooxySandbox, tmp_path: Path
    ):
        state = tmp_path / "emails.state"
        seed_foreign(wooxy_conn, [{"email": "theirs@example.com", "rejectType": "hard"}])
        email_sync(state, [*emails(3), "theirs@example.com"])
        wooxy_conn.remove_emails(["theirs@example.com"])  # its owner lifted it; our input still wants it
        plain = email_sync(state, [*emails(3), "theirs@example.com"])
        assert plain["added"] == 0  # without verify, the sync cannot tell
        verified = email_sync(state, [*emails(3), "theirs@example.com"], verify=True)
        assert (verified["to_add"], verified["added"]) == (1, 1)
        assert "theirs@example.com\thard" in managed(state, wooxy_conn)
        assert "theirs@example.com" not in known_location(state).read_text()  # managed now, known no more

    def test_two_syncs_over_one_list_never_remove_each_others_entries(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        team1, team2 = tmp_path / "team1.state", tmp_path / "team2.state"
        email_sync(team1, ["shared@example.com", "one@example.com"])
        summary = email_sync(team2, ["shared@example.com", "two@example.com"])
        assert summary["already_listed"] == 1  # team 1's
        email_sync(team2, ["two@example.com"])  # team 2 no longer wants it: team 1 still does
        assert ("shared@example.com", "hard") in on_wooxy(wooxy_conn)
        again = email_sync(team1, ["shared@example.com", "one@example.com"])
        assert (again["unchanged"], again["added"]) == (2, 0)

    def test_an_unchanged_run_makes_no_look_up(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        state = tmp_path / "emails.state"
        email_sync(state, emails(50))
        before = finds(wooxy_conn) + requests_made(wooxy_conn)
        assert email_sync(state, emails(50))["lookup_requests"] == 0
        assert finds(wooxy_conn) + requests_made(wooxy_conn) == before

    def test_a_dry_run_looks_up_too(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        state = tmp_path / "emails.state"
        seed_foreign(wooxy_conn, [{"email": "theirs@example.com", "rejectType": "hard"}])
        summary = email_sync(state, [*emails(2), "theirs@example.com"], dry_run=True)
        assert (summary["to_add"], summary["already_listed"], requests_made(wooxy_conn)) == (2, 1, 0)
        assert not state.exists() and not known_location(state).exists()


class TestPhoneEntriesThatExist:
    @pytest.mark.parametrize("their_type", ["undeliverable", "unsubscribe"])
    def test_a_number_listed_with_any_reject_type_is_never_lifted(
        self, wooxy_conn: WooxySandbox, tmp_path: Path, their_type: str
    ):
        """The phone remove takes no reject type: lifting ours would lift Wooxy's own entry."""
        state = tmp_path / "phones.state"
        theirs = sorted(e164(phones(1, start=500)))[0]
        wooxy_conn.handle("phone-blacklist/add", {"records": [{"phoneNumber": theirs, "rejectType": their_type}]})
        first = phone_sync(state, phones(3) + phones(1, start=500))
        assert (first["already_listed"], first["added"], first["lookup_requests"]) == (1, 3, 4)
        assert managed(state, wooxy_conn, PHONE) == e164(phones(3))
        phone_sync(state, phones(3))
        assert theirs in wooxy_conn.phone_numbers()
