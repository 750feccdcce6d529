"""The sync memory benchmark runs (tiny sizes): it must not rot. Memory is not asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.once
def test_sync_memory_smoke_run(tmp_path: Path):
    out = tmp_path / "figures.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.sync_memory",
            "--sizes",
            "2000",
            "5000",
            "--changes",
            "100",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert [row["entries"] for row in figures["rows"]] == [2000, 5000]
    assert all(
        (row["to_add"], row["to_remove"], row["unchanged"]) == (100, 100, row["entries"] - 100)
        for row in figures["rows"]
    )
    assert "bytes per managed entry" in done.stdout
    assert isinstance(figures["bytes_per_entry"], float)
