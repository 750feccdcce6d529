"""The sync engine without an operator: a whole run over real HTTP against the sandbox, and the partitioned diff."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wooxy.hooks.wooxy import WooxyHook
from airflow_provider_wooxy.pipeline import intake
from airflow_provider_wooxy.pipeline.intake import UnusableInput
from airflow_provider_wooxy.pipeline.rejects import Rejects
from airflow_provider_wooxy.pipeline.sync import partitions as partitions_module
from airflow_provider_wooxy.pipeline.sync.entries import EMAIL
from airflow_provider_wooxy.pipeline.sync.first_pass import FirstPass
from airflow_provider_wooxy.pipeline.sync.plan import make_plan
from airflow_provider_wooxy.pipeline.sync.run import SyncRefused, SyncRun, SyncSettings
from airflow_provider_wooxy.pipeline.sync.state import StateError, open_state
from airflow_provider_wooxy.pipeline.validation import EmailRecords
from airflow_provider_wooxy.sandbox import WooxySandbox

LOG = logging.getLogger("tests.sync")


def emails(n: int, start: int = 0) -> list[str]:
    return [f"user{i}@example.com" for i in range(start, start + n)]


def run(state: Path, sandbox: WooxySandbox, addresses: list[Any], **settings: Any) -> dict[str, Any]:
    """
    One sync run through the engine: what the operator does, without Airflow's task machinery. The plan file, when
    the run writes one, is beside the state; ``plans_written`` holds its first line (the counts), or nothing.
    """
    plan_file = state.with_name("plan.jsonl")
    plan_file.unlink(missing_ok=True)
    options: dict[str, Any] = {
        "max_removals": None,
        "approved_plan_id": None,
        "dry_run": False,
        "max_invalid": None,
        "batch_size": 100,
        "max_concurrency": 4,
        "plan_path": "plan.jsonl",
        "plan_location": plan_file,
        **settings,
    }
    engine = SyncRun(WooxyHook(), open_state(state, EMAIL, sandbox.url), SyncSettings(**options), log=LOG)
    summary = engine.run(iter(enumerate(addresses, start=1)), EmailRecords(), Rejects())
    summary["plans_written"] = [json.loads(plan_file.read_text().splitlines()[0])] if plan_file.exists() else []
    return summary


def on_wooxy(sandbox: WooxySandbox) -> set[str]:
    with sandbox._lock:
        return set(sandbox.emails)


class TestSyncRun:
    def test_first_run_then_only_the_difference(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        state = tmp_path / "emails.state"
        first = run(state, wooxy_conn, emails(250))
        assert (first["added"], first["removed"], first["managed_after"]) == (250, 0, 250)
        second = run(state, wooxy_conn, emails(250, start=10))
        assert (second["to_add"], second["to_remove"], second["unchanged"]) == (10, 10, 240)
        assert (second["added"], second["removed"], second["managed_after"]) == (10, 10, 250)
        assert on_wooxy(wooxy_conn) == set(emails(250, start=10))

    def test_entries_in_doubt_are_added_again_if_wanted_and_removed_if_not(
        self, wooxy_conn: WooxySandbox, tmp_path: Path
    ):
        """A run died after its intent: nobody knows which of its requests Wooxy applied."""
        state = tmp_path / "s.state"
        run(state, wooxy_conn, emails(3))
        dying = open_state(state, EMAIL, wooxy_conn.url).load()
        dying.begin()
        intent = [json.dumps({"email": a, "rejectType": "hard"}).encode() for a in emails(2, start=3)]
        dying.record_intent(intent, [json.dumps({"email": "user0@example.com", "rejectType": "hard"}).encode()])
        dying.close()
        wooxy_conn.remove_emails(["user0@example.com"])  # what Wooxy did before the kill: the remove, one add
        wooxy_conn.add_emails([("user3@example.com", "hard")])
        # The next input drops user3 (possibly added: managed, so removed), keeps user4 (possibly added: sent
        # again) and holds user0 again (possibly removed: sent again).
        summary = run(state, wooxy_conn, [*emails(3), "user4@example.com"])
        assert (summary["resent"], summary["to_remove"], summary["to_add"]) == (2, 1, 0)
        assert on_wooxy(wooxy_conn) == {*emails(3), "user4@example.com"}
        assert open_state(state, EMAIL, wooxy_conn.url).load().doubtful == set()

    def test_duplicates_are_counted_once_and_not_valid(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        state = tmp_path / "emails.state"
        run(state, wooxy_conn, emails(5))
        summary = run(state, wooxy_conn, [*emails(6), "USER0@example.com", "user5@example.com"])
        assert (summary["received"], summary["valid"], summary["duplicates"]) == (8, 6, 2)
        assert (summary["to_add"], summary["unchanged"]) == (1, 5)

    def test_idna_2008_keeps_strasse_and_strasse_with_sharp_s_apart(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        state = tmp_path / "emails.state"
        addresses = ["user@straße.de", "user@strasse.de"]
        first = run(state, wooxy_conn, addresses)
        assert (first["valid"], first["duplicates"], first["added"], first["managed_after"]) == (2, 0, 2, 2)
        assert on_wooxy(wooxy_conn) == {"user@xn--strae-oqa.de", "user@strasse.de"}
        again = run(state, wooxy_conn, list(reversed(addresses)))
        assert (again["unchanged"], again["to_add"], again["to_remove"]) == (2, 0, 0)

    def test_an_invalid_row_keeps_its_managed_entry(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        state = tmp_path / "emails.state"
        run(state, wooxy_conn, emails(3))
        summary = run(state, wooxy_conn, [*emails(2), {"email": " USER2@example.com", "rejectType": "hrd"}])
        assert (summary["to_remove"], summary["kept_invalid"], summary["invalid"]) == (0, 1, 1)

    @pytest.mark.parametrize(
        ("addresses", "message"),
        [
            pytest.param([], "holds no records", id="empty"),
            pytest.param(["not an address", "nor this"], "none of the 2 input records is valid", id="all-invalid"),
        ],
    )
    def test_unusable_input_sends_nothing(self, wooxy_conn: WooxySandbox, tmp_path: Path, addresses, message):
        state = tmp_path / "emails.state"
        run(state, wooxy_conn, emails(3))
        before = wooxy_conn.stats()["total_requests"]
        with pytest.raises(UnusableInput, match=message):
            run(state, wooxy_conn, addresses)
        assert wooxy_conn.stats()["total_requests"] == before

    def test_guard_refuses_and_the_approved_plan_applies(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        state = tmp_path / "emails.state"
        run(state, wooxy_conn, emails(20))
        with pytest.raises(SyncRefused, match="removes 5 of 20 managed entries") as refused:
            run(state, wooxy_conn, emails(15), max_removals=0.1)
        assert "Nothing was sent" in str(refused.value) or "nothing was sent" in str(refused.value)
        dry = run(state, wooxy_conn, emails(15), dry_run=True, max_removals=0.1)
        assert (dry["guard_would_stop"], dry["added"], dry["removed"]) == (True, 0, 0)
        assert dry["plans_written"][0]["to_remove"] == 5
        applied = run(state, wooxy_conn, emails(15), max_removals=0.1, approved_plan_id=dry["plan_id"])
        assert (applied["removed"], applied["managed_after"]) == (5, 15)
        assert on_wooxy(wooxy_conn) == set(emails(15))


class TestPartitionedDiff:
    def test_many_partitions_plan_what_one_does(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
        """The state spread over partitions on disk gives the same plan, id and add order as one partition."""
        build = EmailRecords()
        path = tmp_path / "s.state"
        state = open_state(path, EMAIL, "https://api.wooxy.com").load()
        state.begin()
        state.record(b"+", [build(address)[1].encode() for address in emails(1000)])
        state.commit(None)
        addresses = [*emails(990, start=20), *emails(5), "USER999@example.com", "user1001@example.com"]

        def plan_of(partition_size: int, memory_digests: int = intake.MEMORY_DIGESTS) -> tuple[Any, ...]:
            monkeypatch.setattr(partitions_module, "PARTITION_SIZE", partition_size)
            monkeypatch.setattr(intake, "MEMORY_DIGESTS", memory_digests)
            loaded = open_state(path, EMAIL, "https://api.wooxy.com").load()
            records = [(row, *build(address)) for row, address in enumerate(addresses, start=1)]
            plan = make_plan(records, loaded)
            try:
                adds = [json.loads(payload)["email"] for _, payload in plan.adds()]
                return (
                    loaded.partitions,
                    plan.plan_id,
                    (plan.managed_before, plan.to_add, plan.to_remove, plan.unchanged, plan.duplicates),
                    adds,
                    sorted(plan.remove_payloads()),
                )
            finally:
                plan.close()
                loaded.release()

        one, many = plan_of(10_000), plan_of(70)
        assert (one[0], many[0]) == (1, 16)  # 1000 entries, 70 a partition: 15, and the power of two above
        assert one[1:] == many[1:]
        assert one[2] == (1000, 10, 15, 985, 2)
        assert one[3] == [f"user{i}@example.com" for i in range(1000, 1010)]  # input order
        spilled = plan_of(70, memory_digests=3)  # the adds' dedupe spills to disk too (its order is its own)
        assert (*spilled[:3], sorted(spilled[3]), spilled[4]) == (*many[:3], many[3], many[4])

    def test_an_entry_twice_in_the_snapshot_is_refused(self, tmp_path: Path):
        path = tmp_path / "s.state"
        state = open_state(path, EMAIL, "https://api.wooxy.com").load()
        state.begin()
        state.record(b"+", [EmailRecords()(address)[1].encode() for address in emails(2)])
        state.commit(None)
        lines = path.read_text().splitlines()
        lines[2] = lines[1].upper().replace("\tHARD", "\thard")  # the same entry in another case
        path.write_text("\n".join(lines) + "\n")
        with pytest.raises(StateError, match="its header's checksum differs"):
            open_state(path, EMAIL, "https://api.wooxy.com").load()
        # Without a checksum (a state of an older release, or edited by hand), the entries are read as they are.
        header = json.loads(lines[0])
        del header["checksum"]
        path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
        with pytest.raises(StateError, match="corrupt: it holds an entry twice"):
            make_plan([], open_state(path, EMAIL, "https://api.wooxy.com").load())
        # And the first pass, even for rows that name the entry and one more text (as many as the lines).
        first_pass = FirstPass.for_run(open_state(path, EMAIL, "https://api.wooxy.com").load(), "hard")
        assert first_pass is not None
        with pytest.raises(StateError, match="corrupt: it holds an entry twice"):
            list(first_pass.rest(enumerate([emails(1)[0], "new@example.com"], start=1)))
