"""The sources benchmark harness runs (a smoke run, tiny sizes): it must not rot. Speed is not asserted here."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.sources.services import ROOT, Postgres


@pytest.mark.once
def test_sources_benchmark_smoke_run(postgres: Postgres, tmp_path):
    out = tmp_path / "rows.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.sources", "--smoke", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| scenario | wall (s) | CPU (s) | peak RSS (MB) | limit | verdict |" in done.stdout
    rows = {row["scenario"]: row for row in json.loads(out.read_text())}
    assert set(rows) == {"csv_sync", "sql_sync", "csv_one", "parquet_parts"}
    assert all(row["received"] == 2_000 and row["peak_rss_mb"] > 0 for row in rows.values())
    assert {"sql_sync", "parquet_parts"} <= {name for name, row in rows.items() if "wall_ratio" in row}
