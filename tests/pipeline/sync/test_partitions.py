"""How a sync's entries are spread over partitions, and a loaded state's partitions on disk (no Airflow, no HTTP)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_wooxy.pipeline.sync import partitions as partitions_module
from airflow_provider_wooxy.pipeline.sync.entries import EMAIL, PHONE
from airflow_provider_wooxy.pipeline.sync.partitions import (
    MAX_PARTITIONS,
    PartitionFiles,
    partition_indexes,
    partition_of,
    partitions_for,
    spread_lines,
    spread_over,
    utf8_each,
)


class TestPartitionOf:
    """An entry's partition is part of the snapshot's format: the same in every process and every release."""

    def test_the_partition_is_the_crc32_of_the_address(self):
        # Fixed values: a change here makes every grouped snapshot misread (see snapshot._GROUPED_BY).
        assert (partition_of("user1@example.com", 128), partition_of("+447400000001", 128)) == (38, 82)
        assert (partition_of("\u00e9@x.co", 64), partition_of("user1@example.com", 1)) == (51, 0)

    def test_indexes_in_bulk_are_partition_of_each(self):
        addresses = ["user1@example.com", "+447400000001", "\u00e9@x.co", ""]
        assert list(partition_indexes(utf8_each(addresses), 64)) == [partition_of(a, 64) for a in addresses]

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
            "from airflow_provider_wooxy.pipeline.sync import partitions, snapshot\n"
            "from airflow_provider_wooxy.pipeline.sync.entries import EMAIL\n"
            "from airflow_provider_wooxy.pipeline.sync.plan import make_plan\n"
            "from airflow_provider_wooxy.pipeline.sync.state import open_state\n"
            "from airflow_provider_wooxy.pipeline.validation import EmailRecords\n"
            "partitions.PARTITION_SIZE = 20\n"
            "addresses, build = [f'user{i}@example{i % 7}.com' for i in range(300)], EmailRecords()\n"
            "if sys.argv[2] == 'write':\n"
            "    state = open_state(Path(sys.argv[1]), EMAIL, 'https://api.wooxy.com').load()\n"
            "    state.begin()\n"
            "    state.record(b'+', [build(address)[1].encode() for address in addresses])\n"
            "    state.commit(None)\n"
            "else:\n"
            "    snapshot.spread_lines = None  # the groups are read as they are: no line is spread\n"
            "    state = open_state(Path(sys.argv[1]), EMAIL, 'https://api.wooxy.com').load()\n"
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


class TestPartitionsFor:
    @pytest.mark.parametrize(
        ("entries", "partitions"),
        [
            pytest.param(0, 1, id="empty"),
            pytest.param(8_000, 1, id="one-full"),
            pytest.param(8_001, 2, id="just-over"),
            pytest.param(24_001, 4, id="a-power-of-two"),
            pytest.param(10**9, MAX_PARTITIONS, id="at-most"),
        ],
    )
    def test_the_smallest_power_of_two_that_holds_them(self, entries: int, partitions: int):
        assert partitions_for(entries) == partitions

    def test_the_partition_size_is_read_when_called(self, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.setattr(partitions_module, "PARTITION_SIZE", 20)
        assert partitions_for(300) == 16


class TestSpreading:
    def test_items_go_to_the_list_their_index_names_in_order(self):
        assert spread_over(3, [2, 0, 2, 1], "abcd") == [["b"], ["d"], ["a", "c"]]

    def test_email_lines_are_spread_by_their_lower_cased_address(self):
        text = "A@x.co\thard\na@x.co\tcomplaint\nb@y.co\thard\n"
        spread = spread_lines(EMAIL, text, 4)
        expected: list[list[str]] = [[] for _ in range(4)]
        for line, address in zip(text.splitlines(), ["a@x.co", "a@x.co", "b@y.co"], strict=True):
            expected[partition_of(address, 4)].append(line)
        assert spread == expected

    def test_phone_lines_are_their_addresses_and_one_partition_takes_all(self):
        text = "+447400000001\n+447400000002\n"
        assert spread_lines(PHONE, text, 1) == [["+447400000001", "+447400000002"]]
        spread = spread_lines(PHONE, text, 128)
        for number in ("+447400000001", "+447400000002"):
            assert number in spread[partition_of(number, 128)]
        assert sum(map(len, spread)) == 2


class TestPartitionFiles:
    def test_snapshot_lines_and_ops_per_partition(self):
        files = PartitionFiles(2)
        try:
            files.write_snapshot_chunks([["a@x.co\thard"], ["b@x.co\thard", "c@x.co\thard"]])
            files.write_snapshot(0, b"d@x.co\thard\n")
            assert (files.snapshot_text(0), files.snapshot_text(1)) == (
                "a@x.co\thard\nd@x.co\thard\n",
                "b@x.co\thard\nc@x.co\thard\n",
            )
            assert not files.has_ops(1)
            files.write_op(1, b"-", "b@x.co\thard")
            files.write_op(1, b"+", "e@x.co\thard")
            assert files.has_ops(1) and list(files.ops(1)) == [(False, "b@x.co\thard"), (True, "e@x.co\thard")]
            folder = files.folder()
            assert folder.is_dir()
        finally:
            files.release()
        assert not folder.exists() and files.snapshot_text(0) == ""

    def test_dropping_the_snapshot_keeps_the_ops(self):
        files = PartitionFiles(1)
        try:
            files.write_snapshot(0, b"a@x.co\thard\n")
            files.write_op(0, b"+", "b@x.co\thard")
            files.close_ops()
            files.drop_snapshot()
            assert files.snapshot_text(0) == "" and list(files.ops(0)) == [(True, "b@x.co\thard")]
        finally:
            files.release()
