"""
Sync drift over real HTTP against the sandbox: the list loses entries behind the sync's back (removed through the
API, as Wooxy's UI or another tool would; expired; journal objects lost with a killed worker), and ``verify`` /
``resync`` find and repair them.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from airflow_provider_wooxy.exceptions import WooxyInputError, WooxyTransientError
from airflow_provider_wooxy.hooks.wooxy import WooxyHook
from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator, WooxySyncPhoneBlacklistOperator
from airflow_provider_wooxy.pipeline.sync.verify import VerifyStopped
from airflow_provider_wooxy.sandbox import WooxySandbox
from tests.helpers.sandbox import connection_json
from tests.helpers.tasks import execute_in_thread
from tests.operators.test_sync import e164, emails, on_wooxy, phones, requests_made, seed_foreign, sync


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state" / "list.state"


def phone_sync(state: Path, records: list, **kwargs) -> dict:
    return WooxySyncPhoneBlacklistOperator(
        task_id="sync", records=records, state_path=str(state), default_region="GB", **kwargs
    ).execute({})


def lose_emails(addresses: list[str], reject_type: str = "hard") -> None:
    """Remove entries through the API behind the sync's back, as Wooxy's UI or another tool would."""
    hook = WooxyHook()
    for address in addresses:
        hook.remove_email_blacklist(address, reject_type)


def lose_phones(numbers: set[str]) -> None:
    hook = WooxyHook()
    for number in sorted(numbers):
        hook.remove_phone_blacklist(number)


def sent_since(sandbox: WooxySandbox, before: dict[str, int]) -> dict[str, int]:
    """Requests per method since ``before`` (a copy of ``stats()["requests"]``)."""
    now = sandbox.stats()["requests"]
    return {method: count - before.get(method, 0) for method, count in now.items() if count - before.get(method, 0)}


DRIFT_KEYS = ("verified", "missing_on_wooxy", "repaired", "resent")


class TestVerifyEmail:
    def test_finds_and_repairs_exactly_the_lost_entries_and_leaves_foreign_ones(
        self, wooxy_conn: WooxySandbox, state: Path
    ):
        seed_foreign(
            wooxy_conn,
            [
                {"email": "bounced@example.org", "rejectType": "hard"},  # a managed reject type: paged and counted
                {"email": "user3@example.com", "rejectType": "complaint"},  # a type the state does not manage
            ],
        )
        sync(state, emails(250))
        lost = emails(7, start=40)
        lose_emails(lost)
        before, received = dict(wooxy_conn.stats()["requests"]), wooxy_conn.records_received
        summary = sync(state, emails(250), verify=True)
        assert {k: summary[k] for k in (*DRIFT_KEYS, "foreign_seen", "to_add", "to_remove")} == {
            "verified": 250,
            "missing_on_wooxy": 7,
            "repaired": 7,
            "resent": 7,
            "foreign_seen": 1,
            "to_add": 0,
            "to_remove": 0,
        }
        # Only the hard list was paged (3 pages of 100 for 244 entries), and the seven went in one add.
        assert sent_since(wooxy_conn, before) == {"blacklist/find": 3, "blacklist/add": 1}
        assert wooxy_conn.records_received - received == 7  # exactly the lost entries were re-sent
        assert on_wooxy(wooxy_conn) == {(a, "hard") for a in emails(250)} | {
            ("bounced@example.org", "hard"),
            ("user3@example.com", "complaint"),
        }
        assert summary["recommend_resync"] is False
        assert "@" not in json.dumps({k: v for k, v in summary.items() if k != "rejects_sample"})
        # Repaired: the next check finds nothing missing and sends nothing but its pages.
        before = dict(wooxy_conn.stats()["requests"])
        again = sync(state, emails(250), verify=True)
        assert (again["missing_on_wooxy"], again["repaired"], again["requests"]) == (0, 0, 0)
        assert sent_since(wooxy_conn, before) == {"blacklist/find": 3}

    def test_without_verify_an_unchanged_run_sends_nothing_and_the_loss_stays(
        self, wooxy_conn: WooxySandbox, state: Path
    ):
        sync(state, emails(100))
        lose_emails(emails(5))
        before = requests_made(wooxy_conn)
        summary = sync(state, emails(100))
        assert requests_made(wooxy_conn) == before and summary["requests"] == 0
        assert (summary["unchanged"], summary["resent"]) == (100, 0)
        assert "verified" not in summary
        assert len(on_wooxy(wooxy_conn)) == 95  # the drift the state cannot see

    def test_dry_run_reports_and_sends_no_add_or_remove(self, wooxy_conn: WooxySandbox, state: Path, tmp_path):
        sync(state, emails(150))
        lose_emails(emails(4, start=10))
        before = dict(wooxy_conn.stats()["requests"])
        plan_path = tmp_path / "plan.jsonl"
        summary = sync(state, [*emails(150), "new@example.com"], verify=True, dry_run=True, plan_path=str(plan_path))
        # verify pages the hard list (2); the new address is looked up (the list's size, then the address)
        assert sent_since(wooxy_conn, before) == {"blacklist/find": 4}
        assert (summary["missing_on_wooxy"], summary["resent"], summary["repaired"], summary["to_add"]) == (4, 4, 0, 1)
        assert (summary["added"], summary["requests"]) == (0, 0)
        lines = [json.loads(line) for line in plan_path.read_text().splitlines()]
        assert lines[0]["resent"] == 4
        assert sorted(c["email"] for c in lines[1:]) == sorted([*emails(4, start=10), "new@example.com"])
        assert len(on_wooxy(wooxy_conn)) == 146

    def test_an_approved_verified_plan_applies_when_the_drift_is_the_same(self, wooxy_conn: WooxySandbox, state):
        sync(state, emails(100))
        lose_emails(emails(3))
        reviewed = sync(state, emails(60), verify=True, dry_run=True)  # 40 removes: beyond the guard
        assert (reviewed["resent"], reviewed["to_remove"], reviewed["guard_would_stop"]) == (3, 40, True)
        lose_emails(emails(1, start=10))  # the list drifted again since the review: another plan
        with pytest.raises(WooxyInputError, match="is not the approved plan"):
            sync(state, emails(60), verify=True, approved_plan_id=reviewed["plan_id"])
        wooxy_conn.handle("blacklist/add", {"records": [{"email": "user10@example.com", "rejectType": "hard"}]})
        summary = sync(state, emails(60), verify=True, approved_plan_id=reviewed["plan_id"])
        assert (summary["plan_id"], summary["repaired"], summary["removed"]) == (reviewed["plan_id"], 3, 40)
        assert on_wooxy(wooxy_conn) == {(a, "hard") for a in emails(60)}

    def test_missing_entries_the_input_dropped_are_removed_not_repaired(self, wooxy_conn: WooxySandbox, state: Path):
        sync(state, emails(100))
        lose_emails(emails(3))  # user0..2: lost, and the input drops user0 too
        summary = sync(state, emails(99, start=1), verify=True)
        assert (summary["missing_on_wooxy"], summary["repaired"], summary["to_remove"]) == (3, 2, 1)
        assert on_wooxy(wooxy_conn) == {(a, "hard") for a in emails(99, start=1)}

    def test_an_expired_entry_is_re_added(self, wooxy_conn: WooxySandbox, state: Path):
        sync(state, emails(20))
        # Wooxy still lists user5, with an expireAt in the past; user6 expires next year.
        lose_emails(emails(2, start=5))
        wooxy_conn.add_emails([("user5@example.com", "hard")], expire_at="2026-01-01T00:00:00Z")
        wooxy_conn.add_emails([("user6@example.com", "hard")], expire_at="2099-01-01T00:00:00Z")
        received = wooxy_conn.records_received
        summary = sync(state, emails(20), verify=True)
        assert (summary["missing_on_wooxy"], summary["expired_on_wooxy"], summary["repaired"]) == (1, 1, 1)
        assert wooxy_conn.records_received - received == 1  # user5's add, sent again

    def test_several_managed_reject_types_are_each_paged(self, wooxy_conn: WooxySandbox, state: Path):
        records = [{"email": a, "rejectType": "complaint"} for a in emails(30)] + emails(30, start=100)
        sync(state, records)
        lose_emails(emails(2), "complaint")
        lose_emails(emails(1, start=100))
        before = dict(wooxy_conn.stats()["requests"])
        summary = sync(state, records, verify=True)
        assert (summary["verified"], summary["missing_on_wooxy"], summary["repaired"]) == (60, 3, 3)
        assert sent_since(wooxy_conn, before) == {"blacklist/find": 2, "blacklist/add": 1}
        assert len(on_wooxy(wooxy_conn)) == 60

    def test_on_kill_during_the_check_stops_it_with_nothing_sent(self, sandbox: WooxySandbox, monkeypatch, state):
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url))
        sync(state, emails(3000))
        lose_emails(emails(5))
        sandbox.latency = 0.05  # 30 pages, 10 in flight: about 0.2 s, time to stop it
        op = WooxySyncEmailBlacklistOperator(task_id="s", records=emails(3000), state_path=str(state), verify=True)
        before = dict(sandbox.stats()["requests"])
        thread, outcome = execute_in_thread(op)
        while sandbox.stats()["requests"].get("blacklist/find", 0) < before.get("blacklist/find", 0) + 2:
            threading.Event().wait(0.005)
        op.on_kill()
        thread.join(timeout=10)
        assert not thread.is_alive()
        (exc,) = outcome
        assert isinstance(exc, VerifyStopped) and "the task was stopped (on_kill)" in str(exc)
        sent = sent_since(sandbox, before)
        assert set(sent) == {"blacklist/find"} and sent["blacklist/find"] < 30


class TestVerifyPhone:
    def test_full_sample_checks_every_number(self, wooxy_conn: WooxySandbox, state: Path):
        numbers = phones(60)
        phone_sync(state, numbers)
        lost = set(sorted(e164(numbers))[10:15])
        lose_phones(lost)
        before = dict(wooxy_conn.stats()["requests"])
        summary = phone_sync(state, numbers, verify=True, verify_sample=None)
        assert {k: summary[k] for k in (*DRIFT_KEYS, "verify_sample", "estimated_missing", "recommend_resync")} == {
            "verified": 60,
            "missing_on_wooxy": 5,
            "repaired": 5,
            "resent": 5,
            "verify_sample": 60,
            "estimated_missing": 5,
            "recommend_resync": False,
        }
        assert sent_since(wooxy_conn, before) == {"phone-blacklist/find": 60, "phone-blacklist/add": 1}
        assert wooxy_conn.phone_numbers() == e164(numbers)
        assert "+44" not in json.dumps({k: v for k, v in summary.items() if k != "rejects_sample"})

    def test_partial_sample_estimates_and_recommends_a_resync(self, wooxy_conn: WooxySandbox, state: Path, logs):
        numbers = phones(400)
        phone_sync(state, numbers)
        lose_phones(set(sorted(e164(numbers))[::4]))  # 100 of 400
        before = dict(wooxy_conn.stats()["requests"])
        summary = phone_sync(state, numbers, verify=True, verify_sample=100)
        found = summary["missing_on_wooxy"]
        assert summary["verified"] == summary["verify_sample"] == 100
        assert 0 < found < 100 and summary["repaired"] == found
        assert summary["estimated_missing"] == found * 4
        assert 20 <= summary["estimated_missing"] <= 180  # 25 expected in the sample (sd 3.8): 5 sd either side
        assert summary["recommend_resync"] is True
        assert sent_since(wooxy_conn, before)["phone-blacklist/find"] == 100
        assert "run with resync=True to re-add every managed number" in logs()
        assert len(wooxy_conn.phone_numbers()) == 300 + found
        # The recommended resync repairs the rest.
        summary = phone_sync(state, numbers, resync=True)
        assert summary["resent"] == 400 and wooxy_conn.phone_numbers() == e164(numbers)

    def test_bad_verify_sample(self):
        with pytest.raises(WooxyInputError, match="verify_sample must be a whole number >= 1 or None"):
            WooxySyncPhoneBlacklistOperator(task_id="s", records=[], state_path="s", verify_sample=0)


class TestResync:
    def test_resync_repairs_the_email_list(self, wooxy_conn: WooxySandbox, state: Path):
        sync(state, emails(250))
        lose_emails(emails(9, start=100))
        before = dict(wooxy_conn.stats()["requests"])
        summary = sync(state, [*emails(250), "new@example.com"], resync=True)
        assert (summary["resent"], summary["to_add"], summary["added"]) == (250, 1, 251)
        assert "verified" not in summary
        # the new address is looked up first (the list's size, then the address)
        assert sent_since(wooxy_conn, before) == {"blacklist/find": 2, "blacklist/add": 3}
        assert on_wooxy(wooxy_conn) == {(a, "hard") for a in [*emails(250), "new@example.com"]}

    def test_resync_repairs_the_phone_list(self, wooxy_conn: WooxySandbox, state: Path):
        numbers = phones(120)
        phone_sync(state, numbers)
        lose_phones(set(sorted(e164(numbers))[:30]))
        summary = phone_sync(state, numbers, resync=True)
        assert (summary["resent"], summary["added"], summary["requests"]) == (120, 120, 2)
        assert wooxy_conn.phone_numbers() == e164(numbers)

    def test_resync_with_verify_counts_what_was_repaired(self, wooxy_conn: WooxySandbox, state: Path):
        sync(state, emails(50))
        lose_emails(emails(2))
        summary = sync(state, emails(50), resync=True, verify=True)
        assert (summary["resent"], summary["missing_on_wooxy"], summary["repaired"]) == (50, 2, 2)
        assert len(on_wooxy(wooxy_conn)) == 50


class TestDriftOnObjectStorage:
    def test_a_run_that_lost_its_last_journal_parts_is_repaired_by_one_verified_run(
        self, sandbox: WooxySandbox, monkeypatch, memory_storage: str
    ):
        """
        A worker killed outright on object storage loses the journal it had not flushed: Wooxy did removes the state
        never recorded. The input regains those entries before the retry, so the state believes they are listed.
        """
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        base = ObjectStoragePath(f"{memory_storage}/drift")
        base.mkdir(parents=True, exist_ok=True)
        state_path = str(base / "emails.state")
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url, max_attempts=1))
        run = lambda records, **kw: WooxySyncEmailBlacklistOperator(  # noqa: E731
            task_id="s", records=records, state_path=state_path, max_removals=None, **kw
        ).execute({})
        run(emails(300))
        sandbox.outage(after=30)
        with pytest.raises(WooxyTransientError):
            run(emails(200), max_concurrency=1)  # 100 removes planned, 30 done
        sandbox.recover()
        parts = sorted(p for p in base.iterdir() if ".journal." in p.name)
        assert parts
        for part in parts:  # the kill: these never reached the store
            part.unlink()
        assert len(sandbox.email_addresses()) == 270
        unverified = run(emails(300), dry_run=True)
        assert (unverified["to_add"], unverified["unchanged"]) == (0, 300)  # the state cannot see the loss
        summary = run(emails(300), verify=True)
        assert (summary["missing_on_wooxy"], summary["repaired"]) == (30, 30)
        assert sandbox.email_addresses() == set(emails(300))
