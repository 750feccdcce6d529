"""
Peak memory of a sync against the size of its state: a dry-run email sync whose input holds every managed entry
but ``changes`` of them, plus ``changes`` new ones (so ``changes`` adds and ``changes`` removes), one process per
size, peak RSS from ``resource.getrusage``.

    python -m benchmarks.sync_memory                      # 300,000 and 3,000,000 entries: the slope per entry
    python -m benchmarks.sync_memory --sizes 10000000     # one size
    python -m benchmarks.sync_memory --json out.json

The slope (bytes per managed entry) is the difference of the peak RSS of two sizes over the difference of their
entry counts: what a sync holds per entry, whatever the process holds anyway (Airflow, Python).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.client import peak_rss_mb

URL = "http://127.0.0.1:9"  # a dry run sends nothing; the state is bound to this base URL
CHUNK = 100_000


def _address(i: int) -> str:
    return f"user{i}@example.com"


def make_files(directory: Path, entries: int, changes: int) -> tuple[Path, Path]:
    """A state managing users 0..entries-1 and an input of users changes..entries+changes-1."""
    from airflow_provider_wooxy.pipeline.sync.entries import EMAIL
    from airflow_provider_wooxy.pipeline.sync.snapshot import FORMAT, VERSION
    from airflow_provider_wooxy.pipeline.sync.state import open_state

    state = directory / "emails.state"
    header = {
        "format": FORMAT,
        "version": VERSION,
        "list": "email",
        "base_url": URL,
        "generation": uuid.uuid4().hex,
        "entries": entries,
        "last_plan_id": None,
    }
    with state.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps(header) + "\n")
        for start in range(0, entries, CHUNK):
            handle.write("".join(f"{_address(i)}\thard\n" for i in range(start, min(start + CHUNK, entries))))
    # Written again as a sync writes it (digest, checksum, grouped by partition): what a daily run loads.
    rewritten = open_state(state, EMAIL, URL).load()
    rewritten.commit(None)
    rewritten.release()
    source = directory / "emails.csv"
    with source.open("w", encoding="utf-8") as handle:
        handle.write("email\n")
        end = entries + changes
        for start in range(changes, end, CHUNK):
            handle.write("".join(f"{_address(i)}\n" for i in range(start, min(start + CHUNK, end))))
    return state, source


def run_one(state: Path, source: Path) -> dict[str, Any]:
    """In the measured process: one dry-run sync through the operator."""
    os.environ["AIRFLOW_CONN_WOOXY_DEFAULT"] = json.dumps({"conn_type": "wooxy", "host": URL, "password": "t"})
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
    from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator

    operator = WooxySyncEmailBlacklistOperator(
        task_id="bench",
        path=str(source),
        state_path=str(state),
        dry_run=True,
        max_removals=None,
        claim_existing=True,  # no look-up of the new entries: the engine's memory alone (benchmarks.lookups: theirs)
    )
    before = peak_rss_mb()
    wall = time.perf_counter()
    summary = operator.execute({})
    return {
        "seconds": round(time.perf_counter() - wall, 2),
        "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "to_add": summary["to_add"],
        "to_remove": summary["to_remove"],
        "unchanged": summary["unchanged"],
    }


def measure(entries: int, changes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="wooxy-sync-memory-") as tmp:
        state, source = make_files(Path(tmp), entries, changes)
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.sync_memory", "--one", str(state), str(source)],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).parents[1],
        )
        if done.returncode != 0:
            raise RuntimeError(f"the sync of {entries} entries failed:\n{done.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert (result["to_add"], result["to_remove"]) == (changes, changes), result
    return {"entries": entries, **result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[300_000, 3_000_000])
    parser.add_argument("--changes", type=int, default=10_000, help="adds, and removes, of each sync")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--one", nargs=2, metavar=("STATE", "INPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(Path(args.one[0]), Path(args.one[1]))))
        return 0
    rows = [measure(size, args.changes) for size in args.sizes]
    for row in rows:
        print(
            f"{row['entries']:>12,} entries: peak RSS {row['peak_rss_mb']:7.1f} MB "
            f"(before the sync {row['rss_before_mb']:.1f} MB), {row['seconds']:.1f} s"
        )
    figures: dict[str, Any] = {"rows": rows}
    if len(rows) >= 2:
        first, last = rows[0], rows[-1]
        slope = (last["peak_rss_mb"] - first["peak_rss_mb"]) * 2**20 / (last["entries"] - first["entries"])
        figures["bytes_per_entry"] = round(slope, 1)
        print(f"slope: {slope:.1f} bytes per managed entry")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
