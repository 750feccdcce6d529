"""
One long line (issue 29): a single-line CSV of N MB against the same payload as JSON Lines, read by the provider's
file reader (``iter_file_records``), each in a process of its own. The CSV is refused at its field limit or read;
either way its time should stay within 5 times the JSON Lines time (it was quadratic: 50 MB took 12.8 s).

    python -m benchmarks.long_line --mb 50 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.client import peak_rss_mb


def make_files(directory: Path, megabytes: int) -> tuple[Path, Path]:
    """``email`` then one line of ``megabytes`` MB (no comma, no quote: the one-column fast path), and the same
    value as one JSON Lines record."""
    payload = "x" * (megabytes << 20)
    csv_path, jsonl_path = directory / f"line-{megabytes}.csv", directory / f"line-{megabytes}.jsonl"
    csv_path.write_text(f"email\n{payload}\n")
    jsonl_path.write_text(json.dumps({"email": payload}) + "\n")
    return csv_path, jsonl_path


def read_once(path: str) -> dict[str, Any]:
    """Read ``path`` through the provider's reader; the time, the outcome and this process's peak RSS."""
    from airflow_provider_wooxy.exceptions import WooxyInputError
    from airflow_provider_wooxy.pipeline.sources.file import iter_file_records

    started = time.perf_counter()
    try:
        rows = sum(len(chunk.items) for chunk in iter_file_records(path, field="email").chunks())
        outcome = f"read {rows} row"
    except WooxyInputError as exc:
        outcome = "refused: " + str(exc).split(": ", 1)[-1][:60]
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "outcome": outcome, "peak_rss_mb": peak_rss_mb()}


def _timed(path: Path, repeats: int) -> dict[str, Any]:
    runs = []
    for _ in range(repeats):
        command = [sys.executable, "-m", "benchmarks.long_line", "--read", str(path)]
        done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=1800)
        runs.append(json.loads(done.stdout.splitlines()[-1]))
    median = statistics.median(run["seconds"] for run in runs)
    return {"seconds": median, "outcome": runs[0]["outcome"], "peak_rss_mb": max(r["peak_rss_mb"] for r in runs)}


def measure(megabytes: int, repeats: int) -> dict[str, Any]:
    """The row of one size: CSV and JSON Lines seconds (medians), their ratio, what became of the CSV."""
    with tempfile.TemporaryDirectory(prefix="wooxy-long-line-") as directory:
        csv_path, jsonl_path = make_files(Path(directory), megabytes)
        csv_run, jsonl_run = _timed(csv_path, repeats), _timed(jsonl_path, repeats)
    return {
        "megabytes": megabytes,
        "csv_seconds": csv_run["seconds"],
        "jsonl_seconds": jsonl_run["seconds"],
        "ratio": csv_run["seconds"] / jsonl_run["seconds"],
        "csv_outcome": csv_run["outcome"],
        "csv_peak_rss_mb": csv_run["peak_rss_mb"],
        "jsonl_peak_rss_mb": jsonl_run["peak_rss_mb"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--read", help="read this file once and print the result (the measured process)")
    args = parser.parse_args()
    print(json.dumps(read_once(args.read) if args.read else measure(args.mb, args.repeats)))


if __name__ == "__main__":
    main()
