"""The benchmark harness runs (a smoke run, tiny sizes): it must not rot. Speed is not asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.once
def test_harness_smoke_run(tmp_path):
    out = tmp_path / "rows.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--smoke", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| scenario | records | L (ms) | ceiling (rec/s) | measured (rec/s) | ratio |" in done.stdout
    rows = {row["scenario"]: row for row in json.loads(out.read_text())}
    assert set(rows) == {
        "email_add",
        "email_add_changelog",
        "email_add_streaming",
        "phone_add",
        "phone_add_e164",
        "email_remove",
        "cpu_email_add_L0",
        "sync_mixed",
        "email_export",
        "intake_email",
        "intake_phone",
        "csv_long_line_1mb",
    }
    long_line = rows.pop("csv_long_line_1mb")
    assert long_line["csv_seconds"] > 0 and long_line["jsonl_seconds"] > 0
    assert long_line["csv_outcome"].startswith("refused: a field is longer than")
    assert "| one long line | MB |" in done.stdout
    for name in ("intake_email", "intake_phone"):
        intake = rows.pop(name)
        assert intake["rows"] == 2_000, name
        assert intake["read_seconds"] > 0, name
        assert intake["validate_ratio"] > 1 and intake["sync_ratio"] > 1, name
    assert "| intake | rows | csv.reader (s) |" in done.stdout
    for name, row in rows.items():
        assert row["sent"] > 0, name
        assert row["records_per_s"] > 0, name
        assert row["cpu_us_per_record"] > 0, name
        assert row["max_in_flight"] <= 10, name
        assert row["over_limit"] == 0, name
    assert rows["email_add"]["naive_per_s"] > 0
    assert "changelog: email_add_changelog takes " in done.stdout  # its cost against email_add
    assert 0 < rows["email_add"]["ratio"] <= 1.05
