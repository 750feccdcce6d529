"""
The snapshot's format (no Airflow, no HTTP): the header's digest and checksum, the body grouped by partition, and a
damaged body refused line by line.
"""

from __future__ import annotations

import io
import json
import zlib
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wooxy.pipeline.sync import partitions as partitions_module
from airflow_provider_wooxy.pipeline.sync import snapshot as snapshot_module
from airflow_provider_wooxy.pipeline.sync.entries import EMAIL, PHONE
from airflow_provider_wooxy.pipeline.sync.partitions import partition_of
from airflow_provider_wooxy.pipeline.sync.snapshot import (
    BadLine,
    copy_groups,
    first_bad_line,
    item_digest,
    spread_body,
    write_groups,
    written_checksum,
    written_groups,
)
from airflow_provider_wooxy.pipeline.sync.state import StateError, SyncState
from tests.helpers.sync import add, committed, fresh, managed


class TestHeaderAndDigest:
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
        assert (managed(read), read.snapshot_digest) == (managed(written), written.snapshot_digest) != ({}, 0)

    def test_a_checksum_of_another_kind_is_ignored_and_the_lines_are_checked(self, tmp_path: Path):
        path = committed(tmp_path / "s.state", [f"user{i}@x.co" for i in range(5)])
        written = fresh(path)
        header, body = path.read_text().split("\n", 1)
        other = {**json.loads(header), "checksum": "sha999:0000", "digest": "1"}  # neither is this release's
        path.write_text(json.dumps(other) + "\n" + body)
        read = fresh(path)
        assert (managed(read), read.snapshot_digest) == (managed(written), written.snapshot_digest)
        path.write_text(json.dumps(other) + "\n" + body.replace("user3@x.co\t", "user3@x.co "))
        with pytest.raises(StateError, match="line 5 is not an email entry"):
            fresh(path)

    def test_an_entry_changed_by_hand_into_another_valid_one_is_refused(self, tmp_path: Path):
        path = committed(tmp_path / "s.state", [f"user{i}@x.co" for i in range(30)])
        path.write_text(path.read_text().replace("user7@x.co", "user8@x.co.uk"))  # every line still an entry
        with pytest.raises(StateError, match=r"not those it was written with \(its header.s checksum differs"):
            fresh(path)

    def test_the_digest_is_the_sum_of_the_lines_digests(self):
        count, digest, checksum, groups = write_groups(io.BytesIO(), [["a@x.co\thard"], [], ["b@x.co\thard"]])
        expected = (item_digest(b"a@x.co\thard\n") + item_digest(b"b@x.co\thard\n")) % snapshot_module.DIGEST_MOD
        crc = zlib.crc32(b"a@x.co\thard\nb@x.co\thard\n")
        assert (count, digest, checksum) == (2, expected, f"crc32:{crc:08x}")
        assert groups == [(12, zlib.crc32(b"a@x.co\thard\n")), (0, 0), (12, zlib.crc32(b"b@x.co\thard\n"))]

    @pytest.mark.parametrize(
        ("checksum", "expected"),
        [
            pytest.param("crc32:0000abcd", "crc32:0000abcd", id="this-releases"),
            pytest.param("sha999:0000", None, id="another-kind"),
            pytest.param(7, None, id="not-a-string"),
            pytest.param(None, None, id="none"),
        ],
    )
    def test_only_a_checksum_this_release_computes_is_taken(self, checksum: Any, expected: str | None):
        assert written_checksum({"checksum": checksum}) == expected


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
        monkeypatch.setattr(
            partitions_module, "PARTITION_SIZE", 20
        )  # 300 entries: 15 partitions, and 16 a power of two

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
        assert sorted(managed(state).values()) == sorted(f"{address}\thard" for address in self.ADDRESSES)

    @pytest.fixture
    def spread(self, monkeypatch: pytest.MonkeyPatch) -> list[int]:
        """How many blocks of lines a load spread one by one."""
        calls: list[int] = []
        spread_lines = snapshot_module.spread_lines

        def counted(*args: Any) -> list[list[str]]:
            calls.append(1)
            return spread_lines(*args)

        monkeypatch.setattr(snapshot_module, "spread_lines", counted)
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
        assert (managed(read), read.snapshot_digest) == (managed(written), written.snapshot_digest)
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
        assert spread and managed(read) == managed(written) and _grouped_by_partition(read)

    def test_boundaries_moved_by_whole_lines_are_caught(self, snapshot: Path, spread: list[int]):
        # The sizes still add up and end on newlines: only each group's CRC-32 tells the lines are misplaced.
        written = fresh(snapshot)
        header, body = _header_and_body(snapshot)
        sizes = header["partitions"]["bytes"]
        moved = len(body.encode()[: sizes[0]].splitlines(keepends=True)[-1])
        sizes[0], sizes[1] = sizes[0] - moved, sizes[1] + moved
        snapshot.write_text(json.dumps(header) + "\n" + body)
        read = fresh(snapshot)
        assert spread and managed(read) == managed(written) and _grouped_by_partition(read)

    def test_the_partitions_follow_the_lists_size(self, snapshot: Path):
        state = fresh(snapshot)
        state.record(b"-", [add(address) for address in self.ADDRESSES[100:]])
        state.commit(None)
        header, _ = _header_and_body(snapshot)
        assert (header["entries"], len(header["partitions"]["bytes"])) == (100, 8)  # 5 partitions: 8
        shrunk = fresh(snapshot)
        assert shrunk.partitions == 8 and _grouped_by_partition(shrunk)
        assert sorted(managed(shrunk).values()) == sorted(f"{address}\thard" for address in self.ADDRESSES[:100])

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
        assert f"{extra}\thard" in managed(read) and len(managed(read)) == len(self.ADDRESSES) + 1


class TestBodyFunctions:
    """The body's readers on their own, over bytes in memory."""

    BODY = b"a@x.co\thard\nb@x.co\thard\n"
    GROUPS = [(12, zlib.crc32(b"a@x.co\thard\n")), (12, zlib.crc32(b"b@x.co\thard\n"))]

    def test_groups_are_copied_as_they_are(self):
        written: list[tuple[int, bytes]] = []
        copied = copy_groups(io.BytesIO(self.BODY), self.GROUPS, lambda index, data: written.append((index, data)))
        assert copied == (2, f"crc32:{zlib.crc32(self.BODY):08x}")
        assert written == [(0, b"a@x.co\thard\n"), (1, b"b@x.co\thard\n")]

    def test_a_group_not_as_said_is_not_copied(self):
        assert copy_groups(io.BytesIO(self.BODY), [self.GROUPS[1], self.GROUPS[0]], lambda *_: None) is None
        assert copy_groups(io.BytesIO(self.BODY + b"c"), self.GROUPS, lambda *_: None) is None

    @pytest.mark.parametrize(
        ("partitions", "expected"),
        [pytest.param(2, GROUPS, id="as-many-as-the-load-uses"), pytest.param(4, None, id="another-count")],
    )
    def test_written_groups_are_taken_for_the_partitions_of_the_load(self, partitions: int, expected):
        header = {"partitions": {"by": "crc32", "bytes": [12, 12], "crc32": [crc for _, crc in self.GROUPS]}}
        assert written_groups(header, partitions) == expected

    def test_a_spread_body_is_counted_digested_and_checksummed(self):
        chunks: list[list[list[str]]] = []
        count, digest, checksum = spread_body(
            io.BytesIO(self.BODY),
            EMAIL,
            1,
            lambda spread: chunks.append([list(c) for c in spread]),
            compute=True,
            check_lines=True,
        )
        assert (count, checksum) == (2, f"crc32:{zlib.crc32(self.BODY):08x}")
        assert digest == item_digest(b"a@x.co\thard\n") + item_digest(b"b@x.co\thard\n")
        assert chunks == [[["a@x.co\thard", "b@x.co\thard"]]]

    @pytest.mark.parametrize(
        ("body", "number"),
        [
            pytest.param(b"+447911000001\nnot a number\n", 3, id="a-line"),
            pytest.param(b"+447911000001\n+447911000002", 3, id="no-last-newline"),
        ],
    )
    def test_a_line_that_is_no_entry_is_named_by_its_file_line(self, body: bytes, number: int):
        with pytest.raises(BadLine) as bad:
            spread_body(io.BytesIO(body), PHONE, 1, lambda _: None, compute=False, check_lines=True)
        assert bad.value.number == number
        assert first_bad_line(io.BytesIO(body), PHONE) == number

    def test_a_body_of_entries_has_no_bad_line(self):
        assert first_bad_line(io.BytesIO(self.BODY), EMAIL) is None


class TestSnapshotBlocks:
    """The snapshot is read a block of lines at a time: line numbers and the last line hold across blocks."""

    @pytest.fixture
    def snapshot(self, tmp_path: Path, monkeypatch) -> Path:
        path = committed(tmp_path / "s.state", [f"user{i}@example.com" for i in range(40)])
        monkeypatch.setattr(snapshot_module, "_BLOCK", 50)  # a line or two a block
        monkeypatch.setattr(partitions_module, "PARTITION_SIZE", 7)
        return path

    def test_entries_and_digest_as_one_block(self, snapshot: Path, monkeypatch):
        small = fresh(snapshot)
        assert small.partitions == 8  # 40 entries, 7 a partition: 6, and the power of two above
        monkeypatch.setattr(snapshot_module, "_BLOCK", 4 << 20)
        monkeypatch.setattr(partitions_module, "PARTITION_SIZE", 50_000)
        whole = fresh(snapshot)
        assert (managed(small), small.snapshot_digest) == (managed(whole), whole.snapshot_digest)
        assert len(managed(small)) == 40

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
