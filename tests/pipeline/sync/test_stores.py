"""Where a sync state lives (no Airflow, no HTTP): the local file's atomic snapshot and journal, object storage's."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest
from upath import UPath

from airflow_provider_wooxy.pipeline.sync.entries import EMAIL
from airflow_provider_wooxy.pipeline.sync.state import open_state
from airflow_provider_wooxy.pipeline.sync.stores import LocalStore, ObjectStorageStore, store_for
from tests.helpers.sync import URL, add, fresh, managed


class TestStoreFor:
    def test_a_local_path_is_a_local_file_and_any_other_path_object_object_storage(self, tmp_path: Path):
        assert isinstance(store_for(tmp_path / "s.state", 5.0), LocalStore)
        remote = store_for(UPath("memory://bucket/s.state"), 2.5)
        assert isinstance(remote, ObjectStorageStore) and remote.flush_interval == 2.5


class TestLocalStore:
    def test_the_snapshot_is_the_header_line_then_the_body(self, tmp_path: Path):
        store = LocalStore(tmp_path / "deeper" / "s.state")
        store.put_snapshot({"format": "x"}, io.BytesIO(b"a@x.co\thard\n"))
        assert (tmp_path / "deeper" / "s.state").read_bytes() == b'{"format": "x"}\na@x.co\thard\n'
        assert [p.name for p in (tmp_path / "deeper").iterdir()] == ["s.state"]  # no temporary file left

    def test_the_journal_is_one_file_whose_header_names_its_generation(self, tmp_path: Path):
        store = LocalStore(tmp_path / "s.state")
        assert store.journal_parts() == []
        store.append([b"+one\n"], "gen-1")
        store.append([b"+two\n"], "gen-1")
        store.close_journal()
        (part,) = store.journal_parts()
        assert part.read_bytes() == b'{"generation": "gen-1"}\n+one\n+two\n'
        with part.open("rb") as handle:
            assert store.journal_lines(part, iter(handle.readline, b""), "gen-2") is None  # stale
        with part.open("rb") as handle:
            found = store.journal_lines(part, iter(handle.readline, b""), "gen-1")
            assert found is not None and (list(found[0]), found[1]) == ([b"+one\n", b"+two\n"], 2)
        store.append([b"+three\n"], "gen-2")  # a journal of another generation is started anew
        store.close_journal()
        assert part.read_bytes() == b'{"generation": "gen-2"}\n+three\n'

    def test_partial_last_journal_line_is_ignored_and_cut_before_appending(self, tmp_path: Path):
        path = tmp_path / "s.state"
        state = fresh(path)
        state.begin()
        state.record(b"+", [add("a@example.com")])
        state.close()
        journal = tmp_path / "s.state.journal"
        journal.write_bytes(journal.read_bytes() + b'+{"email":"half@exa')  # killed mid-write
        retry = fresh(path)
        assert set(managed(retry).values()) == {"a@example.com\thard"}
        retry.record(b"+", [add("b@example.com")])
        retry.close()
        assert set(managed(fresh(path)).values()) == {"a@example.com\thard", "b@example.com\thard"}

    def test_stale_journal_of_an_older_generation_is_ignored(self, tmp_path: Path):
        path = tmp_path / "s.state"
        state = fresh(path)
        state.begin()
        state.record(b"+", [add("a@example.com")])
        state.close()
        stale = (tmp_path / "s.state.journal").read_bytes()
        state.commit(None)
        # A kill between the snapshot's rename and the journal's deletion leaves the old journal behind.
        (tmp_path / "s.state.journal").write_bytes(stale + add("b@example.com").join([b"+", b"\n"]))
        assert set(managed(fresh(path)).values()) == {"a@example.com\thard"}

    def test_snapshot_is_replaced_atomically(self, tmp_path: Path, monkeypatch):
        path = tmp_path / "s.state"
        state = fresh(path)
        state.begin()
        state.record(b"+", [add("a@example.com")])
        state.commit(None)
        before = path.read_bytes()

        def crash(*args):
            raise KeyboardInterrupt("killed before the rename")

        state = fresh(path)
        state.record(b"+", [add("b@example.com")])
        monkeypatch.setattr("os.replace", crash)
        with pytest.raises(KeyboardInterrupt):
            state.commit(None)
        assert path.read_bytes() == before  # the old snapshot, whole
        assert set(managed(fresh(path)).values()) == {"a@example.com\thard", "b@example.com\thard"}  # + journal


class TestObjectStorageStore:
    def test_parts_replay_in_order_across_attempts(self):
        location = UPath(f"memory://bucket-{uuid.uuid4().hex}/sync/s.state")
        state = fresh(location)
        state.begin()
        for attempt in range(3):  # each attempt a new process: its parts must follow the earlier ones
            # No time between flushes: one object per request, the worst case for ordering.
            state = open_state(location, EMAIL, URL, flush_interval=0).load()
            for i in range(12):
                sign = b"+" if (i + attempt) % 2 == 0 else b"-"
                state.record(sign, [add("a@example.com")])
            state.close()
        assert len(list(location.parent.iterdir())) == 1 + 36  # the snapshot and a part per request
        # The last request of the last attempt was an add (i=11, attempt=2: odd+even... see the sign rule).
        last_sign = b"+" if (11 + 2) % 2 == 0 else b"-"
        expected = set() if last_sign == b"-" else {"a@example.com\thard"}
        assert set(managed(fresh(location)).values()) == expected
        assert fresh(location).journal_ops == 36

    def test_a_flush_interval_gathers_requests_into_one_part_until_close(self):
        location = UPath(f"memory://bucket-{uuid.uuid4().hex}/sync/s.state")
        state = open_state(location, EMAIL, URL, flush_interval=1e12).load()  # no flush due while sending
        state.begin()
        state.record(b"+", [add("a@x.co")])
        state.record(b"+", [add("b@x.co"), add("c@x.co")])
        assert [p.name for p in location.parent.iterdir()] == ["s.state"]
        state.close()
        parts = [p.name for p in location.parent.iterdir() if ".journal." in p.name]
        assert len(parts) == 1 and parts[0].startswith(f"s.state.journal.{state.generation}.00000001.")
        assert set(managed(fresh(location)).values()) == {"a@x.co\thard", "b@x.co\thard", "c@x.co\thard"}
        state.commit(None)
        assert [p.name for p in location.parent.iterdir()] == ["s.state"]  # the journal's parts deleted
        header = json.loads(location.read_text().splitlines()[0])
        assert header["entries"] == 3
