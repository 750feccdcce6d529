"""The sync state on its own (no Airflow, no HTTP): snapshot, journal, crash safety, refusing bad states."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
import zlib
from pathlib import Path
from typing import Any

import pytest
from upath import UPath

from airflow_provider_wooxy.pipeline.sync import state as state_module
from airflow_provider_wooxy.pipeline.sync.entries import EMAIL, PHONE
from airflow_provider_wooxy.pipeline.sync.state import StateError, SyncState, open_state, partition_of, utf8_each

URL = "https://api.wooxy.com"


def add(address: str, reject_type: str = "hard") -> bytes:
    return json.dumps({"email": address, "rejectType": reject_type}).encode()


def committed(path: Path, addresses: list[str]) -> Path:
    """A finished sync's state at ``path`` managing ``addresses`` (reject type hard)."""
    state = fresh(path)
    state.begin()
    state.record(b"+", [add(address) for address in addresses])
    state.commit(None)
    return path


def fresh(location, kind=EMAIL) -> SyncState:
    return open_state(location, kind, URL).load()


@pytest.fixture(params=["local", "object-storage"])
def location(request, tmp_path: Path):
    if request.param == "local":
        return tmp_path / "s.state"
    return UPath(f"memory://bucket-{uuid.uuid4().hex}/sync/s.state")


class TestSyncState:
    def test_missing_state_is_a_first_run(self, location):
        state = fresh(location)
        assert (state.exists, state.entries, state.journal_ops) == (False, {}, 0)

    def test_round_trip_through_journal_and_snapshot(self, location):
        state = fresh(location)
        state.begin()
        state.record(b"+", [add("a@example.com"), add("B@example.com", "complaint")])
        state.record(b"-", [add("a@example.com")])
        state.close()
        replayed = fresh(location)  # as a retry after a failure sees it: snapshot + journal
        assert set(replayed.entries.values()) == {"B@example.com\tcomplaint"}
        assert replayed.journal_ops == 3
        replayed.commit("plan-1")
        committed = fresh(location)
        assert set(committed.entries.values()) == {"B@example.com\tcomplaint"}
        assert (committed.journal_ops, committed.last_plan_id) == (0, "plan-1")
        # Identities compare addresses case-insensitively.
        assert "b@example.com\tcomplaint" in committed.entries

    def test_snapshot_digest_ignores_order_and_follows_content(self, tmp_path: Path):
        one, two = tmp_path / "1.state", tmp_path / "2.state"
        committed(one, ["a@x.co", "b@x.co"])
        committed(two, ["b@x.co", "a@x.co"])
        assert fresh(one).snapshot_digest == fresh(two).snapshot_digest != 0
        state = fresh(two)
        state.record(b"+", [add("c@x.co")])
        state.commit(None)
        assert fresh(two).snapshot_digest != fresh(one).snapshot_digest

    def test_the_header_carries_the_digest_and_a_checksum_an_older_state_is_read_without(self, tmp_path: Path):
        path = committed(tmp_path / "s.state", [f"user{i}@x.co" for i in range(30)])
        written = fresh(path)
        header, body = path.read_text().split("\n", 1)
        older = {k: v for k, v in json.loads(header).items() if k not in ("digest", "checksum")}
        path.write_text(json.dumps(older) + "\n" + body)  # as a release before the two keys wrote it
        read = fresh(path)
        assert (read.entries, read.snapshot_digest) == (written.entries, written.snapshot_digest) != ({}, 0)

    def test_a_checksum_of_another_kind_is_ignored_and_the_lines_are_checked(self, tmp_path: Path):
        path = committed(tmp_path / "s.state", [f"user{i}@x.co" for i in range(5)])
        written = fresh(path)
        header, body = path.read_text().split("\n", 1)
        other = {**json.loads(header), "checksum": "sha999:0000", "digest": "1"}  # neither is this release's
        path.write_text(json.dumps(other) + "\n" + body)
        read = fresh(path)
        assert (read.entries, read.snapshot_digest) == (written.entries, written.snapshot_digest)
        path.write_text(json.dumps(other) + "\n" + body.replace("user3@x.co\t", "user3@x.co "))
        with pytest.raises(StateError, match="line 5 is not an email entry"):
            fresh(path)

    def test_an_entry_changed_by_hand_into_another_valid_one_is_refused(self, tmp_path: Path):
        path = committed(tmp_path / "s.state", [f"user{i}@x.co" for i in range(30)])
        path.write_text(path.read_text().replace("user7@x.co", "user8@x.co.uk"))  # every line still an entry
        with pytest.raises(StateError, match=r"not those it was written with \(its header.s checksum differs"):
            fresh(path)

    def test_partial_last_journal_line_is_ignored_and_cut_before_appending(self, tmp_path: Path):
        path = tmp_path / "s.state"
        state = fresh(path)
        state.begin()
        state.record(b"+", [add("a@example.com")])
        state.close()
        journal = tmp_path / "s.state.journal"
        journal.write_bytes(journal.read_bytes() + b'+{"email":"half@exa')  # killed mid-write
        retry = fresh(path)
        assert set(retry.entries.values()) == {"a@example.com\thard"}
        retry.record(b"+", [add("b@example.com")])
        retry.close()
        assert set(fresh(path).entries.values()) == {"a@example.com\thard", "b@example.com\thard"}

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
        assert set(fresh(path).entries.values()) == {"a@example.com\thard"}

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
        assert set(fresh(path).entries.values()) == {"a@example.com\thard", "b@example.com\thard"}  # + journal

    def test_phone_entries_are_e164_numbers(self, location):
        state = fresh(location, PHONE)
        state.begin()
        state.record(b"+", [b'{"phoneNumber":"+447911000001","rejectType":"unsubscribe"}'])
        state.commit(None)
        assert set(fresh(location, PHONE).entries.values()) == {"+447911000001"}
        assert PHONE.remove_payload("+447911000001") == b'{"phoneNumber":"+447911000001"}'

    @pytest.mark.parametrize(
        ("header", "message"),
        [
            pytest.param({"list": "phone"}, "state of a phone list sync", id="other-list"),
            pytest.param({"base_url": "https://other.example"}, "belongs to the Wooxy connection at", id="other-url"),
            pytest.param({"format": "something-else"}, "not a Wooxy sync state", id="other-format"),
            pytest.param({"version": 2}, "format version 2", id="newer-version"),
            pytest.param({"entries": 5}, "header says 5 entries but it holds 1", id="count"),
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

    def test_journal_without_snapshot_is_refused(self, tmp_path: Path):
        (tmp_path / "s.state.journal").write_text('{"generation": "x"}\n')
        with pytest.raises(StateError, match="is missing but its journal is there"):
            fresh(tmp_path / "s.state")


def test_engine_modules_import_without_airflow():
    code = (
        "import sys\n"
        "import airflow_provider_wooxy.pipeline.sync.entries, airflow_provider_wooxy.pipeline.sync.state\n"
        "import airflow_provider_wooxy.pipeline.sync.plan, airflow_provider_wooxy.pipeline.intake\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'airflow'], 'airflow was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[3])
    assert done.returncode == 0, done.stderr


def _grouped_by_partition(state: SyncState) -> bool:
    """Every entry of every partition of ``state`` has its address's partition."""
    return all(
        partition_of(EMAIL.address_of(identity), state.partitions) == index
        for index in range(state.partitions)
        for identity in state.partition(index)
    )


def _resize(header: dict, index: int, change: int) -> None:
    """Change the size of group ``index`` by ``change`` bytes."""
    header["partitions"]["bytes"][index] += change


def _regrouped_header(header: dict, body: str, sizes: list[int]) -> None:
    """Give the header the group sizes ``sizes``, with each group's CRC-32 computed for them (a consistent lie)."""
    data, start, crcs = body.encode(), 0, []
    for size in sizes:
        crcs.append(zlib.crc32(data[start : start + size]))
        start += size
    header["partitions"].update(bytes=sizes, crc32=crcs)


def _header_and_body(path: Path) -> tuple[dict, str]:
    header, body = path.read_text().split("\n", 1)
    return json.loads(header), body


class TestGroupedSnapshot:
    """
    A commit writes the snapshot's lines grouped by partition, each group's bytes and CRC-32 in the header, and a
    load copies the groups as they are; a snapshot without them, or with groups not as the header says, is spread
    line by line.
    """

    ADDRESSES = [f"User{i}@example{i % 7}.com" for i in range(300)]

    @pytest.fixture(autouse=True)
    def small_partitions(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(state_module, "PARTITION_SIZE", 20)  # 300 entries: 15 partitions, and 16 a power of two

    @pytest.fixture
    def snapshot(self, tmp_path: Path) -> Path:
        return committed(tmp_path / "s.state", self.ADDRESSES)

    def test_each_group_is_one_partition_and_a_load_copies_them(self, snapshot: Path, spread: list[int]):
        header, body = _header_and_body(snapshot)
        groups = header["partitions"]
        assert (groups["by"], len(groups["bytes"]), sum(groups["bytes"])) == ("crc32", 16, len(body.encode()))
        start = 0
        for index, size in enumerate(groups["bytes"]):  # the first commit, from one partition, grouped anew
            lines = body.encode()[start : start + size].decode().splitlines()
            assert lines and {partition_of(line.split("\t")[0].lower(), 16) for line in lines} == {index}
            start += size

        state = fresh(snapshot)
        assert not spread  # no line was decoded or hashed
        assert state.partitions == 16 and _grouped_by_partition(state)
        assert sorted(state.entries.values()) == sorted(f"{address}\thard" for address in self.ADDRESSES)

    @pytest.fixture
    def spread(self, monkeypatch: pytest.MonkeyPatch) -> list[int]:
        """How many blocks of lines a load spread one by one."""
        calls: list[int] = []
        spread_lines = state_module._spread_lines

        def counted(*args: Any) -> list[list[str]]:
            calls.append(1)
            return spread_lines(*args)

        monkeypatch.setattr(state_module, "_spread_lines", counted)
        return calls

    @pytest.mark.parametrize(
        "damage",
        [
            pytest.param(lambda groups: groups.pop("partitions"), id="an-older-release"),
            pytest.param(lambda groups: groups["partitions"].update(by="hash"), id="grouped-otherwise"),
            pytest.param(lambda groups: groups["partitions"]["crc32"].__setitem__(3, 0), id="a-group-crc"),
            pytest.param(lambda groups: groups["partitions"]["bytes"].pop(), id="fewer-groups"),
            pytest.param(lambda groups: groups["partitions"]["bytes"].__setitem__(0, "7"), id="not-a-size"),
            pytest.param(lambda groups: groups["partitions"]["bytes"].__setitem__(0, True), id="a-bool-size"),
            pytest.param(lambda groups: _resize(groups, -1, 5), id="the-file-ends-first"),
        ],
    )
    def test_groups_not_as_the_header_says_are_spread_line_by_line(self, snapshot: Path, spread: list[int], damage):
        written = fresh(snapshot)
        assert not spread
        header, body = _header_and_body(snapshot)
        damage(header)
        snapshot.write_text(json.dumps(header) + "\n" + body)
        read = fresh(snapshot)
        assert spread
        assert (read.entries, read.snapshot_digest) == (written.entries, written.snapshot_digest)
        assert _grouped_by_partition(read)

    @pytest.mark.parametrize(
        "move",
        [
            pytest.param(lambda sizes: [*sizes[:-1], 0], id="lines-after-the-last-group"),
            pytest.param(lambda sizes: [sizes[0] - 1, sizes[1] + 1, *sizes[2:]], id="a-group-ends-mid-line"),
        ],
    )
    def test_groups_whose_checksums_agree_but_not_their_lines_are_spread(self, snapshot: Path, spread: list[int], move):
        # Sizes and CRC-32s that agree with each other (a header written for other groups): a group must end in a
        # newline, and no byte may follow the last one that the header names.
        written = fresh(snapshot)
        header, body = _header_and_body(snapshot)
        _regrouped_header(header, body, move(header["partitions"]["bytes"]))
        snapshot.write_text(json.dumps(header) + "\n" + body)
        read = fresh(snapshot)
        assert spread and read.entries == written.entries and _grouped_by_partition(read)

    def test_boundaries_moved_by_whole_lines_are_caught(self, snapshot: Path, spread: list[int]):
        # The sizes still add up and end on newlines: only each group's CRC-32 tells the lines are misplaced.
        written = fresh(snapshot)
        header, body = _header_and_body(snapshot)
        sizes = header["partitions"]["bytes"]
        moved = len(body.encode()[: sizes[0]].splitlines(keepends=True)[-1])
        sizes[0], sizes[1] = sizes[0] - moved, sizes[1] + moved
        snapshot.write_text(json.dumps(header) + "\n" + body)
        read = fresh(snapshot)
        assert spread and read.entries == written.entries and _grouped_by_partition(read)

    def test_the_partitions_follow_the_lists_size(self, snapshot: Path):
        state = fresh(snapshot)
        state.record(b"-", [add(address) for address in self.ADDRESSES[100:]])
        state.commit(None)
        header, _ = _header_and_body(snapshot)
        assert (header["entries"], len(header["partitions"]["bytes"])) == (100, 8)  # 5 partitions: 8
        shrunk = fresh(snapshot)
        assert shrunk.partitions == 8 and _grouped_by_partition(shrunk)
        assert sorted(shrunk.entries.values()) == sorted(f"{address}\thard" for address in self.ADDRESSES[:100])

    def test_an_edited_state_without_checksum_is_spread_whatever_its_groups(self, snapshot: Path, spread: list[int]):
        # Edited by hand as the docs say (checksum and digest removed, the groups left): a line added at the end
        # belongs to another partition than the last group's, and is read into its own.
        header, body = _header_and_body(snapshot)
        del header["checksum"], header["digest"]
        header["entries"] += 1
        last = len(header["partitions"]["bytes"]) - 1
        extra = next(f"extra{i}@x.co" for i in range(100) if partition_of(f"extra{i}@x.co", 16) != last)
        snapshot.write_text(json.dumps(header) + "\n" + body + f"{extra}\thard\n")
        read = fresh(snapshot)
        assert spread and _grouped_by_partition(read)
        assert f"{extra}\thard" in read.entries and len(read.entries) == len(self.ADDRESSES) + 1


class TestPartitionOf:
    """An entry's partition is part of the snapshot's format: the same in every process and every release."""

    def test_the_partition_is_the_crc32_of_the_address(self):
        # Fixed values: a change here makes every grouped snapshot misread (see state._GROUPED_BY).
        assert (partition_of("user1@example.com", 128), partition_of("+447400000001", 128)) == (38, 82)
        assert (partition_of("\u00e9@x.co", 64), partition_of("user1@example.com", 1)) == (51, 0)

    def test_each_text_gets_its_own_bytes_even_holding_a_newline(self):
        assert utf8_each(["a@x.co", "b\nc", "", "\u00e9"]) == [b"a@x.co", b"b\nc", b"", "\u00e9".encode()]
        assert utf8_each([]) == []

    def test_a_snapshot_is_grouped_alike_in_every_process(self, tmp_path: Path):
        """
        Partitions come from a CRC-32, not from Python's hash of a string (seeded per process): a state written
        under one hash seed is read by its groups, and an unchanged input plans nothing, under another.
        """
        code = (
            "import json, sys\n"
            "from pathlib import Path\n"
            "from airflow_provider_wooxy.pipeline.sync import state as state_module\n"
            "from airflow_provider_wooxy.pipeline.sync.entries import EMAIL\n"
            "from airflow_provider_wooxy.pipeline.sync.plan import make_plan\n"
            "from airflow_provider_wooxy.pipeline.validation import EmailRecords\n"
            "state_module.PARTITION_SIZE = 20\n"
            "addresses, build = [f'user{i}@example{i % 7}.com' for i in range(300)], EmailRecords()\n"
            "if sys.argv[2] == 'write':\n"
            "    state = state_module.open_state(Path(sys.argv[1]), EMAIL, 'https://api.wooxy.com').load()\n"
            "    state.begin()\n"
            "    state.record(b'+', [build(address)[1].encode() for address in addresses])\n"
            "    state.commit(None)\n"
            "else:\n"
            "    state_module._spread_lines = None  # the groups are read as they are: no line is spread\n"
            "    state = state_module.open_state(Path(sys.argv[1]), EMAIL, 'https://api.wooxy.com').load()\n"
            "    plan = make_plan([(row, *build(a)) for row, a in enumerate(addresses, start=1)], state)\n"
            "    print(json.dumps([state.partitions, plan.to_add, plan.to_remove, plan.unchanged]))\n"
        )
        path = str(tmp_path / "s.state")
        outputs = []
        for seed, step in (("1", "write"), ("2", "plan")):
            done = subprocess.run(
                [sys.executable, "-c", code, path, step],
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONHASHSEED": seed},
                cwd=Path(__file__).parents[3],
            )
            assert done.returncode == 0, done.stderr
            outputs.append(done.stdout)
        assert json.loads(outputs[1]) == [16, 0, 0, 300]


class TestObjectStorageJournal:
    def test_parts_replay_in_order_across_attempts(self):
        location = UPath(f"memory://bucket-{uuid.uuid4().hex}/sync/s.state")
        state = fresh(location)
        state.begin()
        for attempt in range(3):  # each attempt a new process: its parts must follow the earlier ones
            state = fresh(location)
            for i in range(12):
                sign = b"+" if (i + attempt) % 2 == 0 else b"-"
                state.record(sign, [add("a@example.com")])
                state._flush_part()  # one object per request, the worst case for ordering
            state.close()
        # The last request of the last attempt was an add (i=11, attempt=2: odd+even... see the sign rule).
        last_sign = b"+" if (11 + 2) % 2 == 0 else b"-"
        expected = set() if last_sign == b"-" else {"a@example.com\thard"}
        assert set(fresh(location).entries.values()) == expected
        assert fresh(location).journal_ops == 36


class TestSnapshotBlocks:
    """The snapshot is read a block of lines at a time: line numbers and the last line hold across blocks."""

    @pytest.fixture
    def snapshot(self, tmp_path: Path, monkeypatch) -> Path:
        path = committed(tmp_path / "s.state", [f"user{i}@example.com" for i in range(40)])
        monkeypatch.setattr("airflow_provider_wooxy.pipeline.sync.state._BLOCK", 50)  # a line or two a block
        monkeypatch.setattr("airflow_provider_wooxy.pipeline.sync.state.PARTITION_SIZE", 7)
        return path

    def test_entries_and_digest_as_one_block(self, snapshot: Path, monkeypatch):
        small = fresh(snapshot)
        assert small.partitions == 8  # 40 entries, 7 a partition: 6, and the power of two above
        monkeypatch.setattr("airflow_provider_wooxy.pipeline.sync.state._BLOCK", 4 << 20)
        monkeypatch.setattr("airflow_provider_wooxy.pipeline.sync.state.PARTITION_SIZE", 50_000)
        whole = fresh(snapshot)
        assert (small.entries, small.snapshot_digest) == (whole.entries, whole.snapshot_digest)
        assert len(small.entries) == 40

    @pytest.mark.parametrize(
        ("damage", "message"),
        [
            pytest.param(
                lambda text: text.replace("user29@example.com\t", "user29@example.com "), "line 31 is", id="mid"
            ),
            pytest.param(lambda text: text.rstrip("\n"), "line 41 is not an email entry", id="no-last-newline"),
            pytest.param(lambda text: text.replace("user0@", "user0"), "line 2 is not", id="first"),
        ],
    )
    def test_a_damaged_line_is_named(self, snapshot: Path, damage, message):
        text = snapshot.read_text()
        header, body = text.split("\n", 1)
        snapshot.write_text(header + "\n" + damage(body))
        with pytest.raises(StateError, match=message):
            fresh(snapshot)

    @pytest.mark.parametrize(
        "line",
        [
            "a@x.co\thard",
            "a@x.co\t",
            "a.x.co\thard",
            "a@x.co",
            "a@x.co\thard\tx",
            "\t@",
            "@\tx",
            "a\t@b\tc",
            "é@x\tq\r",
        ],
    )
    def test_the_line_shape_is_the_entry_check(self, line: str):
        address, tab, reject_type = line.partition("\t")
        expected = bool(tab) and "@" in address and bool(reject_type) and "\t" not in reject_type
        assert EMAIL.check_line(line) is expected
        assert (EMAIL.first_bad_line(f"a@x.co\thard\n{line}\n") is None) is expected
