"""The sync operators over real HTTP against the sandbox: plans, guards, approval, foreign entries, crash safety."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from airflow_provider_wooxy.exceptions import WooxyInputError, WooxyTransientError
from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator, WooxySyncPhoneBlacklistOperator
from airflow_provider_wooxy.pipeline.sync.entries import EMAIL, PHONE
from airflow_provider_wooxy.pipeline.sync.state import open_state
from airflow_provider_wooxy.sandbox import FAULT_KINDS, WooxySandbox
from tests.helpers.sandbox import TOKEN, connection_json
from tests.helpers.tasks import execute_in_thread, kill_after_removes, once_the_lease_expires

ROOT = Path(__file__).parents[2]


def emails(n: int, start: int = 0) -> list[str]:
    return [f"user{i}@example.com" for i in range(start, start + n)]


def phones(n: int, start: int = 0) -> list[str]:
    """Valid UK mobiles in national format, and their E.164 forms."""
    return [f"07911 {i:06d}" for i in range(start, start + n)]


def e164(numbers: list[str]) -> set[str]:
    return {"+447911" + n.split()[1] for n in numbers}


def on_wooxy(sandbox: WooxySandbox) -> set[tuple[str, str]]:
    """Every (address, reject type) entry on the sandbox's email list."""
    with sandbox._lock:
        return {(address, kind) for address, types in sandbox.emails.items() for kind in types}


def managed(state_path: Path, sandbox: WooxySandbox, kind=EMAIL) -> set[str]:
    """The state's entries as a new run would load them (snapshot + journal)."""
    return set(open_state(state_path, kind, sandbox.url).load().iter_lines())


def as_lines(addresses: list[str], reject_type: str = "hard") -> set[str]:
    return {f"{a}\t{reject_type}" for a in addresses}


def seed_foreign(sandbox: WooxySandbox, records: list[dict]) -> None:
    """Entries someone else put on the list (applied in memory: no request is counted)."""
    sandbox.handle("blacklist/add", {"records": records})


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state" / "emails.state"


def sync(state: Path, records: list, **kwargs) -> dict:
    return WooxySyncEmailBlacklistOperator(task_id="sync", records=records, state_path=str(state), **kwargs).execute({})


def requests_made(sandbox: WooxySandbox) -> int:
    """The add and remove requests the sandbox answered (a look-up is a read: a dry run makes them too)."""
    return sum(n for method, n in sandbox.stats()["requests"].items() if not method.endswith("/find"))


class TestSyncEmail:
    def test_first_run_adds_everything_and_writes_the_state(self, wooxy_conn: WooxySandbox, state: Path):
        summary = sync(state, emails(250))
        assert on_wooxy(wooxy_conn) == {(a, "hard") for a in emails(250)}
        assert managed(state, wooxy_conn) == as_lines(emails(250))
        # One look-up: the hard list is empty, so none of the new entries is someone else's.
        assert wooxy_conn.stats()["requests"] == {"blacklist/find": 1, "blacklist/add": 3}
        assert {k: summary[k] for k in ("managed_before", "to_add", "to_remove", "unchanged", "added")} == {
            "managed_before": 0,
            "to_add": 250,
            "to_remove": 0,
            "unchanged": 0,
            "added": 250,
        }
        assert (summary["removed"], summary["managed_after"], summary["requests"]) == (0, 250, 3)
        assert not state.with_name("emails.state.journal").exists()  # a finished run folds its journal in

    @pytest.mark.parametrize(
        ("second", "added", "removed"),
        [
            pytest.param(emails(120), 20, 0, id="add-only"),
            pytest.param(emails(90), 0, 10, id="remove-only"),
            pytest.param(emails(95, start=5) + emails(3, start=500), 3, 5, id="mixed"),
        ],
    )
    def test_later_runs_send_only_the_difference(
        self, wooxy_conn: WooxySandbox, state: Path, second: list[str], added: int, removed: int
    ):
        sync(state, emails(100))
        before = wooxy_conn.stats()["requests"]
        summary = sync(state, second)
        after = wooxy_conn.stats()["requests"]
        assert on_wooxy(wooxy_conn) == {(a, "hard") for a in second}
        assert managed(state, wooxy_conn) == as_lines(second)
        assert (summary["to_add"], summary["to_remove"], summary["added"], summary["removed"]) == (
            added,
            removed,
            added,
            removed,
        )
        assert summary["unchanged"] == len(second) - added
        assert after.get("blacklist/remove", 0) - before.get("blacklist/remove", 0) == removed
        assert after["blacklist/add"] - before["blacklist/add"] == (1 if added else 0)

    def test_unchanged_input_sends_no_request(self, wooxy_conn: WooxySandbox, state: Path, tmp_path: Path):
        path = tmp_path / "in.csv"
        path.write_text("email\n" + "\n".join(emails(300)) + "\n")
        WooxySyncEmailBlacklistOperator(task_id="s", path=str(path), state_path=str(state)).execute({})
        before = requests_made(wooxy_conn)
        # Same entries, another order, other case in the domain, a duplicate: still the same list.
        path.write_text("email\n" + "\n".join(reversed([*emails(300), "USER7@EXAMPLE.COM"])) + "\n")
        summary = WooxySyncEmailBlacklistOperator(task_id="s", path=str(path), state_path=str(state)).execute({})
        assert requests_made(wooxy_conn) == before
        assert (summary["unchanged"], summary["to_add"], summary["to_remove"], summary["requests"]) == (300, 0, 0, 0)

    def test_foreign_entries_are_never_removed(self, wooxy_conn: WooxySandbox, state: Path):
        # Wooxy's bounce handling listed one address as hard and another as a complaint, before any sync.
        seed_foreign(
            wooxy_conn,
            [
                {"email": "bounced@example.org", "rejectType": "hard"},
                {"email": "user3@example.com", "rejectType": "complaint"},
            ],
        )
        sync(state, emails(10))
        assert "bounced@example.org\thard" not in managed(state, wooxy_conn)
        sync(state, emails(2), max_removals=None)  # user2..user9 leave the desired list
        assert on_wooxy(wooxy_conn) == {
            ("user0@example.com", "hard"),
            ("user1@example.com", "hard"),
            ("bounced@example.org", "hard"),  # foreign: never in the state, never removed
            ("user3@example.com", "complaint"),  # the remove passed rejectType=hard: the complaint stays
        }
        assert wooxy_conn.stats()["requests"]["blacklist/remove"] == 8

    def test_email_removes_pass_the_entrys_reject_type(self, wooxy_conn: WooxySandbox, state: Path):
        sync(state, [{"email": "a@example.com", "rejectType": "complaint"}, "b@example.com"])
        seed_foreign(wooxy_conn, [{"email": "a@example.com", "rejectType": "hard"}])
        sync(state, ["b@example.com"], max_removals=None)
        assert on_wooxy(wooxy_conn) == {("a@example.com", "hard"), ("b@example.com", "hard")}

    @pytest.mark.parametrize(
        ("records", "kwargs", "message"),
        [
            pytest.param([], {}, "holds no records", id="empty"),
            pytest.param(
                ["not-an-address"] * 3, {"max_invalid": None}, "none of the 3 input records is valid", id="all-invalid"
            ),
        ],
    )
    def test_empty_input_guard(self, wooxy_conn: WooxySandbox, state: Path, records, kwargs, message):
        sync(state, emails(50))
        before = requests_made(wooxy_conn)
        with pytest.raises(WooxyInputError, match=message):
            sync(state, records, max_removals=None, **kwargs)
        assert requests_made(wooxy_conn) == before
        assert managed(state, wooxy_conn) == as_lines(emails(50))

    def test_allow_empty_still_meets_the_removal_guard(self, wooxy_conn: WooxySandbox, state: Path):
        sync(state, emails(50))
        with pytest.raises(WooxyInputError, match="removes 50 of 50 managed entries"):
            sync(state, [], allow_empty=True)
        summary = sync(state, [], allow_empty=True, max_removals=None)
        assert summary["removed"] == 50
        assert on_wooxy(wooxy_conn) == set()

    @pytest.mark.parametrize("suffix", [pytest.param(".csv", id="csv"), pytest.param(".jsonl", id="jsonl")])
    def test_removal_guard_writes_the_plan_and_sends_nothing(
        self, wooxy_conn: WooxySandbox, state: Path, tmp_path: Path, suffix: str
    ):
        sync(state, emails(100))
        before = requests_made(wooxy_conn)
        plan_path = tmp_path / f"plan{suffix}"
        with pytest.raises(WooxyInputError) as info:
            sync(state, [*emails(85), "new@example.com"], plan_path=str(plan_path))  # 15 removes > 10% of 100
        message = str(info.value)
        assert "removes 15 of 100 managed entries, more than max_removals=0.1 allows (10); nothing was sent" in message
        assert str(plan_path) in message and "approved_plan_id=" in message
        assert requests_made(wooxy_conn) == before
        assert managed(state, wooxy_conn) == as_lines(emails(100))
        text = plan_path.read_text()
        if suffix == ".jsonl":
            lines = [json.loads(line) for line in text.splitlines()]
            counts, changes = lines[0], lines[1:]
            assert (counts["to_add"], counts["to_remove"], counts["guard_would_stop"]) == (1, 15, True)
            assert counts["plan_id"] in message
            assert [c for c in changes if c["action"] == "add"] == [
                {"action": "add", "email": "new@example.com", "rejectType": "hard"}
            ]
            assert {c["email"] for c in changes if c["action"] == "remove"} == set(emails(15, start=85))
        else:
            rows = [line.split(",") for line in text.splitlines()]
            assert rows[0] == ["action", "email", "rejectType"]
            assert ["to_remove", "15", ""] in rows
            assert ["add", "new@example.com", "hard"] in rows
            assert sum(1 for row in rows if row[0] == "remove") == 15

    def test_removal_guard_as_a_count(self, wooxy_conn: WooxySandbox, state: Path):
        sync(state, emails(100))
        with pytest.raises(WooxyInputError, match="more than max_removals=2 allows"):
            sync(state, emails(97), max_removals=2)
        assert sync(state, emails(98), max_removals=2)["removed"] == 2

    def test_dry_run_reports_the_plan_and_sends_nothing(self, wooxy_conn: WooxySandbox, state: Path):
        first = sync(state, emails(100), dry_run=True)
        assert not state.exists()  # a dry run writes no state
        assert requests_made(wooxy_conn) == 0
        assert (first["to_add"], first["added"], first["dry_run"]) == (100, 0, True)
        sync(state, emails(100))
        summary = sync(state, emails(50), dry_run=True)
        assert (summary["to_remove"], summary["guard_would_stop"], summary["max_removals_allowed"]) == (50, True, 10)
        assert len(summary["plan_id"]) == 32
        assert requests_made(wooxy_conn) == 1

    def test_approved_plan_is_applied_exactly(self, wooxy_conn: WooxySandbox, state: Path, tmp_path: Path):
        sync(state, emails(100))
        desired = emails(60) + emails(5, start=1000)
        dry = sync(state, desired, dry_run=True, plan_path=str(tmp_path / "plan.jsonl"))
        assert dry["guard_would_stop"]
        before = wooxy_conn.stats()["requests"]
        summary = sync(state, desired, approved_plan_id=dry["plan_id"])
        after = wooxy_conn.stats()["requests"]
        assert summary["plan_id"] == dry["plan_id"]
        assert (summary["added"], summary["removed"]) == (5, 40)
        assert after["blacklist/remove"] - before.get("blacklist/remove", 0) == 40
        assert after["blacklist/add"] - before["blacklist/add"] == 1
        assert on_wooxy(wooxy_conn) == {(a, "hard") for a in desired}
        assert managed(state, wooxy_conn) == as_lines(desired)
        # Running the approved step again (a cleared task) finds nothing left to do and succeeds.
        again = sync(state, desired, approved_plan_id=dry["plan_id"])
        assert (again["requests"], again["to_add"], again["to_remove"]) == (0, 0, 0)

    @pytest.mark.parametrize(
        "change",
        [
            pytest.param("input", id="input-changed"),
            pytest.param("state", id="state-changed"),
        ],
    )
    def test_approval_of_another_plan_fails_with_nothing_sent(self, wooxy_conn: WooxySandbox, state: Path, change):
        sync(state, emails(100))
        desired = emails(60)
        dry = sync(state, desired, dry_run=True)
        if change == "input":
            desired = [*desired, "late@example.com"]
        else:
            sync(state, [*emails(100), "other@example.com"])  # another run moved the state on
        before = requests_made(wooxy_conn)
        with pytest.raises(WooxyInputError, match=f"is not the approved plan {dry['plan_id']}"):
            sync(state, desired, approved_plan_id=dry["plan_id"])
        assert requests_made(wooxy_conn) == before

    def test_managed_entry_with_an_invalid_row_is_kept(self, wooxy_conn: WooxySandbox, state: Path):
        sync(state, ["a@example.com", "b@example.com", "c@example.com"])
        rows = ["a@example.com", {"email": " B@example.com", "rejectType": "hrd"}, "c@example.com"]
        summary = sync(state, rows, max_invalid=1, max_removals=None)
        assert (summary["invalid"], summary["kept_invalid"], summary["to_remove"]) == (1, 1, 0)
        assert ("b@example.com", "hard") in on_wooxy(wooxy_conn)
        assert "b@example.com\thard" in managed(state, wooxy_conn)

    def test_summary_holds_no_addresses(self, wooxy_conn: WooxySandbox, state: Path):
        sync(state, emails(10))
        summary = sync(state, [*emails(9), "bad-address"], max_invalid=1, max_removals=None)
        text = json.dumps(summary)
        assert "example.com" not in text and "bad-address" not in text
        assert TOKEN not in text
        for key in ("received", "valid", "invalid", "duplicates", "requests", "retries", "dry_run", "started_at"):
            assert key in summary
        for key in ("managed_before", "to_add", "to_remove", "unchanged", "added", "removed", "refused_by_api"):
            assert key in summary
        assert summary["managed_after"] == 9 and summary["removed"] == 1

    def test_refused_add_is_reported_and_not_managed(self, monkeypatch, state: Path):
        with WooxySandbox(token=TOKEN, refuse={"user3@example.com"}) as sandbox:
            monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url))
            summary = sync(state, emails(10), max_invalid=1)
            assert summary["refused_by_api"] == 1 and summary["added"] == 9
            assert managed(state, sandbox) == as_lines(emails(10)) - {"user3@example.com\thard"}


class TestSyncFaults:
    def test_20_percent_transient_faults_converge(self, monkeypatch, state: Path):
        sandbox = WooxySandbox(
            token=TOKEN, latency=0.002, fault_rate=0.2, fault_kinds=FAULT_KINDS, seed=10, slow_seconds=0.4
        )
        with sandbox:
            monkeypatch.setenv(
                "AIRFLOW_CONN_WOOXY_DEFAULT",
                connection_json(sandbox.url, timeout=0.25, max_attempts=12, backoff=0.005, max_backoff=0.02),
            )
            sync(state, emails(2000))
            desired = emails(1900, start=50) + emails(100, start=5000)  # 100 adds, 100 removes
            summary = sync(state, desired, max_removals=None)
            assert on_wooxy(sandbox) == {(a, "hard") for a in desired}
            assert managed(state, sandbox) == as_lines(desired)
            assert (summary["added"], summary["removed"]) == (100, 100)
            assert summary["retries"] > 0
            assert sandbox.stats()["max_in_flight"] <= 10

    def test_outage_mid_run_leaves_the_state_exact_and_the_retry_finishes(
        self, sandbox: WooxySandbox, monkeypatch, state
    ):
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url, max_attempts=2))
        sync(state, emails(300))
        desired = emails(200, start=100) + emails(500, start=1000)  # 5 add requests, 100 removes
        sandbox.outage(after=3 + 40)
        with pytest.raises(WooxyTransientError, match="recorded in the state; a retry sends only what is left"):
            sync(state, desired, max_removals=None, max_concurrency=3)
        listed = {f"{a}\t{t}" for a, t in on_wooxy(sandbox)}
        assert managed(state, sandbox) == listed  # every accepted request is in the state, and nothing else
        assert 200 < len(listed) < 800
        sandbox.recover()
        before = requests_made(sandbox)
        summary = sync(state, desired, max_removals=None)
        assert on_wooxy(sandbox) == {(a, "hard") for a in desired}
        assert managed(state, sandbox) == as_lines(desired)
        assert requests_made(sandbox) - before == summary["requests"] < 105  # only what was left
        assert summary["requests"] == (summary["to_add"] + 99) // 100 + summary["to_remove"]

    def test_outage_mid_run_of_an_approved_plan_keeps_its_id(self, sandbox: WooxySandbox, monkeypatch, state):
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url, max_attempts=1))
        sync(state, emails(100))
        desired = emails(40)
        plan_id = sync(state, desired, dry_run=True)["plan_id"]
        sandbox.outage(after=25)
        with pytest.raises(WooxyTransientError):
            sync(state, desired, approved_plan_id=plan_id, max_concurrency=1)
        sandbox.recover()
        summary = sync(state, desired, approved_plan_id=plan_id)
        assert summary["plan_id"] == plan_id
        assert (summary["to_remove"], summary["removed"]) == (35, 35)
        assert on_wooxy(sandbox) == {(a, "hard") for a in desired}

    def test_sigkill_mid_run_then_retry_converges(self, monkeypatch, tmp_path: Path, state: Path):
        with WooxySandbox(token=TOKEN, latency=0.02) as sandbox:
            conn = connection_json(sandbox.url)
            monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", conn)
            sync(state, emails(200))
            desired = emails(100, start=100) + emails(3000, start=1000)  # 30 add requests, 100 removes
            source = tmp_path / "desired.json"
            source.write_text(json.dumps(desired))
            script = (
                "import json, sys\n"
                "from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator as Op\n"
                "Op(task_id='s', path=sys.argv[1], state_path=sys.argv[2], max_removals=None, max_concurrency=2,"
                " lease_seconds=1).execute({})\n"
            )
            env = {**os.environ, "AIRFLOW_CONN_WOOXY_DEFAULT": conn, "AIRFLOW__CORE__UNIT_TEST_MODE": "True"}
            kill_after_removes(sandbox, ["-c", script, str(source), str(state)], env)
            listed = {f"{a}\t{t}" for a, t in on_wooxy(sandbox)}
            recorded = managed(state, sandbox)  # readable after a kill
            # Only the removes in flight when the process died (2 at most) may be done on Wooxy but not recorded.
            assert listed - recorded == set()
            assert len(recorded - listed) <= 2
            assert as_lines(emails(3000, start=1000)) <= recorded
            before = requests_made(sandbox)
            # The killed run's lease expires a second after its last renewal; until then the retry finds it held.
            summary = once_the_lease_expires(lambda: sync(state, desired, max_removals=None))
            assert on_wooxy(sandbox) == {(a, "hard") for a in desired}
            assert managed(state, sandbox) == as_lines(desired)
            assert requests_made(sandbox) - before == summary["requests"] <= 72


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


class TestSyncStateErrors:
    @pytest.mark.parametrize(
        ("damage", "message"),
        [
            pytest.param(lambda p: _write(p, ""), "is empty: it is not a Wooxy sync state", id="empty-file"),
            pytest.param(lambda p: _write(p, "email\na@b.co\n"), "does not start with a sync state header", id="a-csv"),
            pytest.param(
                lambda p: _write(p, "\n".join(p.read_text().splitlines()[:-5]) + "\n"),
                "header says 50 entries but it holds 45",
                id="truncated",
            ),
            pytest.param(
                lambda p: _write(p, p.read_text().replace("user7@example.com\thard", "user7@example.com")),
                "line 9 is not an email entry",
                id="damaged-line",
            ),
            pytest.param(
                lambda p: _write(p, p.read_text().replace('"version": 1', '"version": 9')),
                "format version 9",
                id="newer-version",
            ),
        ],
    )
    def test_a_corrupt_state_fails_clearly_and_sends_nothing(self, wooxy_conn, state: Path, damage, message):
        sync(state, emails(50))
        damage(state)
        before = requests_made(wooxy_conn)
        with pytest.raises(WooxyInputError, match=message) as info:
            sync(state, emails(50))
        assert str(state) in str(info.value)
        assert "never taken for an empty state" in str(info.value) or "Upgrade the provider" in str(info.value)
        assert requests_made(wooxy_conn) == before

    def test_a_state_from_another_base_url_fails(self, monkeypatch, state: Path):
        with WooxySandbox(token=TOKEN) as first, WooxySandbox(token=TOKEN) as second:
            monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(first.url))
            sync(state, emails(20))
            monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(second.url))
            with pytest.raises(WooxyInputError) as info:
                sync(state, emails(20), dry_run=True)
            assert f"belongs to the Wooxy connection at {first.url}" in str(info.value)
            assert f"this task's connection is {second.url}" in str(info.value)
            assert requests_made(second) == 0

    def test_a_state_of_the_other_list_fails(self, wooxy_conn: WooxySandbox, state: Path):
        WooxySyncPhoneBlacklistOperator(
            task_id="p", records=phones(3), default_region="GB", state_path=str(state)
        ).execute({})
        with pytest.raises(WooxyInputError, match="is the state of a phone list sync, not of the email list"):
            sync(state, emails(3))

    def test_a_corrupt_journal_line_fails(self, sandbox: WooxySandbox, monkeypatch, state: Path):
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url, max_attempts=1))
        sync(state, emails(10))
        sandbox.outage(after=3)  # the look-up of the new entries (the list's size, its one page), then one add
        with pytest.raises(WooxyTransientError):
            sync(state, emails(300), max_concurrency=1)
        journal = state.with_name("emails.state.journal")
        journal.write_bytes(journal.read_bytes() + b"garbage\n")
        # line 1: the header; then the failed run's intent (290 adds), then the 100 adds it saw accepted
        with pytest.raises(WooxyInputError, match="is corrupt at line 392"):
            sync(state, emails(300))


class TestSyncPhone:
    def test_e164_in_the_state_and_on_the_wire(self, wooxy_conn: WooxySandbox, state: Path):
        path = state.with_name("phones.state")
        make = lambda numbers, **kw: WooxySyncPhoneBlacklistOperator(  # noqa: E731
            task_id="p", records=numbers, default_region="GB", state_path=str(path), **kw
        ).execute({})
        wooxy_conn.handle("phone-blacklist/add", {"records": [{"phoneNumber": "+14155552671"}]})  # foreign
        make(phones(50))
        assert managed(path, wooxy_conn, PHONE) == e164(phones(50))
        assert wooxy_conn.phone_numbers() == e164(phones(50)) | {"+14155552671"}
        # The same numbers written another way are the same entries; a number in two reject types is one.
        again = make(
            ["+44 7911 " + n.split()[1] for n in phones(50)]
            + [{"phoneNumber": "07911 000001", "rejectType": "unsubscribe"}]
        )
        assert (again["requests"], again["unchanged"], again["duplicates"]) == (0, 50, 1)
        summary = make(phones(45, start=5) + phones(2, start=900), max_removals=None)
        assert (summary["added"], summary["removed"]) == (2, 5)
        desired = e164(phones(45, start=5) + phones(2, start=900))
        assert wooxy_conn.phone_numbers() == desired | {"+14155552671"}  # the sandbox's remove takes E.164 only
        assert managed(path, wooxy_conn, PHONE) == desired
        assert "+447911000001" not in path.read_text() and "+447911000005" in path.read_text()

    def test_phone_guards_and_approval(self, wooxy_conn: WooxySandbox, state: Path, tmp_path: Path):
        path = state.with_name("phones.state")
        make = lambda numbers, **kw: WooxySyncPhoneBlacklistOperator(  # noqa: E731
            task_id="p", records=numbers, default_region="GB", state_path=str(path), **kw
        ).execute({})
        make(phones(20))
        with pytest.raises(WooxyInputError, match="holds no records"):
            make([])
        plan = tmp_path / "plan.jsonl"
        with pytest.raises(WooxyInputError, match="removes 10 of 20"):
            make(phones(10), plan_path=str(plan))
        removes = [json.loads(line) for line in plan.read_text().splitlines()[1:]]
        assert {r["phoneNumber"] for r in removes} == e164(phones(10, start=10))
        plan_id = json.loads(plan.read_text().splitlines()[0])["plan_id"]
        make(phones(10), approved_plan_id=plan_id)
        assert wooxy_conn.phone_numbers() == e164(phones(10))

    def test_corrupt_phone_state(self, wooxy_conn: WooxySandbox, state: Path):
        path = state.with_name("phones.state")
        WooxySyncPhoneBlacklistOperator(
            task_id="p", records=phones(3), default_region="GB", state_path=str(path)
        ).execute({})
        path.write_text(path.read_text().replace("+447911000001", "07911 000001"))
        with pytest.raises(WooxyInputError, match=r"line 3 is not an E\.164 number"):
            WooxySyncPhoneBlacklistOperator(
                task_id="p", records=phones(3), default_region="GB", state_path=str(path)
            ).execute({})


class TestSyncArguments:
    @pytest.mark.parametrize(
        "value",
        [
            pytest.param(-1, id="negative"),
            pytest.param(1.5, id="fraction-above-1"),
            pytest.param(0.0, id="zero-fraction"),
            pytest.param(True, id="bool"),
            pytest.param("10", id="string"),
        ],
    )
    def test_bad_max_removals(self, value):
        with pytest.raises(WooxyInputError, match="max_removals"):
            WooxySyncEmailBlacklistOperator(task_id="s", records=[], state_path="x", max_removals=value)

    def test_templated_fields(self):
        fields = set(WooxySyncEmailBlacklistOperator.template_fields)
        assert {"state_path", "plan_path", "approved_plan_id", "records", "path", "raw_log"} <= fields
        assert "default_region" in WooxySyncPhoneBlacklistOperator.template_fields
        assert (
            WooxySyncEmailBlacklistOperator(task_id="s", records=[], state_path="x", max_concurrency=4).pool_slots == 4
        )


class TestSyncOnKill:
    def test_on_kill_stops_and_the_state_records_what_was_done(self, sandbox: WooxySandbox, monkeypatch, state: Path):
        import threading

        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url))
        sync(state, emails(600))
        sandbox.latency = 0.05
        op = WooxySyncEmailBlacklistOperator(
            task_id="s", records=emails(10), state_path=str(state), max_removals=None, max_concurrency=2
        )
        thread, outcome = execute_in_thread(op)
        while sandbox.stats()["requests"].get("blacklist/remove", 0) < 10:
            threading.Event().wait(0.02)
        op.on_kill()
        thread.join(timeout=10)
        assert not thread.is_alive()
        (exc,) = outcome
        assert "the task was stopped (on_kill)" in str(exc)
        assert "recorded in the state" in str(exc)
        assert sandbox.stats()["requests"]["blacklist/remove"] < 100  # 590 removes would take 15 s
        assert managed(state, sandbox) == {f"{a}\t{t}" for a, t in on_wooxy(sandbox)}


class TestSyncObjectStorage:
    def test_state_journal_and_plan_on_object_storage(self, sandbox: WooxySandbox, monkeypatch):
        """``memory://`` is an fsspec object store: the code path of s3:// or gs://, without a cloud."""
        import fsspec
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        from tests.airflow_compat import attach

        attach("memory", fs=fsspec.filesystem("memory"))
        base = ObjectStoragePath("memory://wooxy-sync-test/run1")
        base.mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url, max_attempts=1))
        make = lambda records, **kw: WooxySyncEmailBlacklistOperator(  # noqa: E731
            task_id="s", records=records, state_path=str(base / "emails.state"), **kw
        ).execute({})
        make(emails(300))
        sandbox.outage(after=3)  # the look-up of the new entries (the list's size, its one page), then one add
        with pytest.raises(WooxyTransientError):
            make(emails(500), max_concurrency=1)
        parts = [p.name for p in base.iterdir() if ".journal." in p.name]
        assert parts  # the accepted requests went to a journal object when the run failed
        sandbox.recover()
        summary = make(emails(500))
        # 100 were recorded by the failed attempt; the other 100 it intended are in doubt, so they are sent again
        assert (summary["to_add"], summary["resent"], summary["added"]) == (0, 100, 100)
        assert not [p for p in base.iterdir() if ".journal." in p.name]  # folded into the new snapshot
        with pytest.raises(WooxyInputError, match="removes 100 of 500"):
            make(emails(400), plan_path=str(base / "plan.csv"))
        assert "remove,user499@example.com,hard" in (base / "plan.csv").read_text()
        assert sandbox.email_addresses() == set(emails(500))
