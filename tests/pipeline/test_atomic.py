"""Outputs appear whole or not at all (pipeline/atomic.py): a temporary file beside the target, moved into place."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_wooxy.pipeline import atomic

ROOT = Path(__file__).parents[2]


def write_then_fail(location: object) -> None:
    with atomic.output_file(location) as stream:
        stream.write(b"partial\n" * 1000)
        raise RuntimeError("the API went away")


CHILD = """
import sys, time
from pathlib import Path
from airflow_provider_wooxy.pipeline.atomic import output_file

with output_file(Path(sys.argv[1])) as stream:
    for i in range(int(sys.argv[2])):
        stream.write(b"row %d\\n" % i * 1000)
        stream.flush()
        print(i, flush=True)
        sys.stdin.readline()  # the parent says when to go on: each kill point is reached exactly, not by timing
print("done", flush=True)
sys.stdin.readline()
"""


class TestOutputFile:
    """Outputs appear whole or not at all: a temporary file beside the target, renamed into place at the end."""

    def test_written_whole_under_its_name_and_nothing_else(self, tmp_path: Path):
        out = tmp_path / "sub" / "out.csv"
        with atomic.output_file(out) as stream:
            stream.write(b"a\n")
            [temp] = (tmp_path / "sub").iterdir()
            assert temp.name.startswith(".out.csv.wooxy-tmp-")  # recognisable beside the output
            assert not out.exists()
        assert out.read_bytes() == b"a\n"
        assert [p.name for p in (tmp_path / "sub").iterdir()] == ["out.csv"]

    @pytest.mark.parametrize("before", [pytest.param(None, id="new"), pytest.param(b"old\n", id="replacing")])
    def test_a_failure_leaves_what_was_there(self, tmp_path: Path, before):
        out = tmp_path / "out.csv"
        if before is not None:
            out.write_bytes(before)
        with pytest.raises(RuntimeError, match="went away"):
            write_then_fail(out)
        assert [p.name for p in tmp_path.iterdir()] == ([] if before is None else ["out.csv"])
        assert before is None or out.read_bytes() == before

    def test_leftovers_are_removed_by_the_next_write_of_that_output_only(self, tmp_path: Path):
        (tmp_path / ".out.csv.wooxy-tmp-0123456789ab").write_bytes(b"killed")
        (tmp_path / ".other.csv.wooxy-tmp-0123456789ab").write_bytes(b"another output's")
        with atomic.output_file(tmp_path / "out.csv") as stream:
            stream.write(b"a\n")
        assert sorted(p.name for p in tmp_path.iterdir()) == [".other.csv.wooxy-tmp-0123456789ab", "out.csv"]

    @pytest.mark.parametrize(
        "kill_at",
        [
            pytest.param(0, id="after-the-first-write"),
            pytest.param(25, id="midway"),
            pytest.param(49, id="after-the-last-write"),
            pytest.param("done", id="after-the-rename"),
        ],
    )
    def test_sigkill_at_any_moment_leaves_no_partial_file(self, tmp_path: Path, kill_at):
        out = tmp_path / "out.csv"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(out), "50"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        assert child.stdin is not None and child.stdout is not None
        for line in child.stdout:
            marker = line.decode().strip()
            assert not out.exists() or marker == "done"  # never a partial file at the final name
            if marker == str(kill_at):
                break
            child.stdin.write(b"\n")
            child.stdin.flush()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        if kill_at == "done":
            assert out.read_bytes().count(b"\n") == 50_000  # whole
        else:
            assert not out.exists()
            assert len([p for p in tmp_path.iterdir() if atomic.TEMP_MARK in p.name]) == 1  # the leftover
        with atomic.output_file(out) as stream:  # the next run
            stream.write(b"again\n")
        assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
