"""The sync state on its own (no Airflow, no HTTP): loading, the journal's replay, commits, refusing bad states."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from upath import UPath

from airflow_provider_wooxy.pipeline.sync.entries import PHONE
from airflow_provider_wooxy.pipeline.sync.state import StateError
from tests.helpers.sync import add, committed, fresh, managed


@pytest.fixture(params=["local", "object-storage"])
def location(request, tmp_path: Path):
    if request.param == "local":
        return tmp_path / "s.state"
    return UPath(f"memory://bucket-{uuid.uuid4().hex}/sync/s.state")


class TestSyncState:
    def test_missing_state_is_a_first_run(self, location):
        state = fresh(location)
        assert (state.exists, managed(state), state.journal_ops, state.partitions) == (False, {}, 0, 1)

    def test_round_trip_through_journal_and_snapshot(self, location):
        state = fresh(location)
        state.begin()
        state.record(b"+", [add("a@example.com"), add("B@example.com", "complaint")])
        state.record(b"-", [add("a@example.com")])
        state.close()
        replayed = fresh(location)  # as a retry after a failure sees it: snapshot + journal
        assert set(managed(replayed).values()) == {"B@example.com\tcomplaint"}
        assert replayed.journal_ops == 3
        replayed.commit("plan-1")
        committed = fresh(location)
        assert set(managed(committed).values()) == {"B@example.com\tcomplaint"}
        assert (committed.journal_ops, committed.last_plan_id) == (0, "plan-1")
        # Identities compare addresses case-insensitively.
        assert "b@example.com\tcomplaint" in managed(committed)

    def test_an_intent_no_record_confirms_is_in_doubt_and_an_add_in_doubt_is_managed(self, location):
        committed(location, ["kept@example.com", "gone@example.com"])
        state = fresh(location)
        state.begin()
        state.record_intent([add("new@example.com"), add("sent@example.com")], [add("gone@example.com")])
        state.record(b"+", [add("sent@example.com")])
        state.close()  # the run dies here: the new add and the remove were never confirmed
        replayed = fresh(location)
        assert set(managed(replayed)) == {
            "kept@example.com\thard",
            "gone@example.com\thard",  # possibly still listed: still managed
            "new@example.com\thard",  # possibly added: managed, so a later run removes it if the input drops it
            "sent@example.com\thard",
        }
        assert replayed.doubtful == {"new@example.com\thard", "gone@example.com\thard"}
        assert replayed.journal_ops == 1  # confirmed requests only
        replayed.commit(None)
        assert fresh(location).doubtful == set()

    def test_intents_and_records_replay_in_their_order(self, location):
        """A confirmed remove, then a later attempt's add that died in flight: the entry is managed, in doubt."""
        committed(location, ["back@example.com"])
        state = fresh(location)
        state.begin()
        state.record_intent([], [add("back@example.com")])
        state.record(b"-", [add("back@example.com")])
        state.record_intent([add("back@example.com")], [])
        state.close()
        replayed = fresh(location)
        assert set(managed(replayed)) == {"back@example.com\thard"}
        assert replayed.doubtful == {"back@example.com\thard"}

    def test_the_journal_is_digested_and_partition_text_replays_it(self, tmp_path: Path):
        path = tmp_path / "s.state"
        state = fresh(path)
        state.begin()
        state.record(b"+", [add("a@x.co"), add("b@x.co")])
        state.commit(None)
        state = fresh(path)
        assert state.partition_text(0) == "a@x.co\thard\nb@x.co\thard\n"  # the snapshot's part as it is
        state.record(b"-", [add("a@x.co")])
        state.record(b"+", [add("c@x.co")])
        assert state.partition_text(0) == "b@x.co\thard\nc@x.co\thard\n"
        assert sorted(state.iter_lines()) == ["b@x.co\thard", "c@x.co\thard"]
        state.close()
        retry = fresh(path)
        assert (retry.journal_ops, retry.journal_add_digest != 0, retry.journal_remove_digest != 0) == (2, True, True)
        state.release()
        assert state.partition(0) == {}  # released: its partitions are gone

    def test_phone_entries_are_e164_numbers(self, location):
        state = fresh(location, PHONE)
        state.begin()
        state.record(b"+", [b'{"phoneNumber":"+447911000001","rejectType":"unsubscribe"}'])
        state.commit(None)
        assert set(managed(fresh(location, PHONE)).values()) == {"+447911000001"}

    @pytest.mark.parametrize(
        ("header", "message"),
        [
            pytest.param({"list": "phone"}, "state of a phone list sync", id="other-list"),
            pytest.param({"base_url": "https://other.example"}, "belongs to the Wooxy connection at", id="other-url"),
            pytest.param({"format": "something-else"}, "not a Wooxy sync state", id="other-format"),
            pytest.param({"version": 2}, "format version 2", id="newer-version"),
            pytest.param({"entries": 5}, "header says 5 entries but it holds 1", id="count"),
            pytest.param({"entries": "1"}, "damaged header .no entry count", id="count-not-a-number"),
            pytest.param({"digest": "xyz"}, r"damaged header \(its digest\)", id="digest"),
        ],
    )
    def test_foreign_or_damaged_headers_are_refused(self, tmp_path: Path, header, message):
        path = tmp_path / "s.state"
        state = fresh(path)
        state.begin()
        state.record(b"+", [add("a@example.com")])
        state.commit(None)
        lines = path.read_text().splitlines()
        lines[0] = json.dumps({**json.loads(lines[0]), **header})
        path.write_text("\n".join(lines) + "\n")
        with pytest.raises(StateError, match=message):
            fresh(path)

    @pytest.mark.parametrize("content", [b"", b"not json\n"], ids=["empty", "no-header"])
    def test_a_file_that_is_no_state_is_refused(self, tmp_path: Path, content: bytes):
        path = tmp_path / "s.state"
        path.write_bytes(content)
        with pytest.raises(StateError, match="it is not a Wooxy sync state"):
            fresh(path)

    def test_journal_without_snapshot_is_refused(self, tmp_path: Path):
        (tmp_path / "s.state.journal").write_text('{"generation": "x"}\n')
        with pytest.raises(StateError, match="is missing but its journal is there"):
            fresh(tmp_path / "s.state")

    def test_a_corrupt_journal_line_is_refused(self, tmp_path: Path):
        path = tmp_path / "s.state"
        state = fresh(path)
        state.begin()
        state.record(b"+", [add("a@example.com")])
        state.close()
        journal = tmp_path / "s.state.journal"
        journal.write_bytes(journal.read_bytes() + b'*{"email":"b@x.co","rejectType":"hard"}\n')
        with pytest.raises(StateError, match="is corrupt at line 3"):
            fresh(path)

    def test_the_header_names_the_list_and_the_last_plan(self, tmp_path: Path):
        path = tmp_path / "s.state"
        state = fresh(path, PHONE)
        state.begin()
        state.commit("plan-7")
        header = json.loads(path.read_text().splitlines()[0])
        assert (header["list"], header["last_plan_id"], header["entries"]) == ("phone", "plan-7", 0)
        assert header["generation"] == fresh(path, PHONE).generation


def test_engine_modules_import_without_airflow():
    code = (
        "import sys\n"
        "import airflow_provider_wooxy.pipeline.sync.entries, airflow_provider_wooxy.pipeline.sync.state\n"
        "import airflow_provider_wooxy.pipeline.sync.plan, airflow_provider_wooxy.pipeline.intake\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'airflow'], 'airflow was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[3])
    assert done.returncode == 0, done.stderr
