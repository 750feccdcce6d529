"""
The cost of the intake (read -> validate -> dedupe) as a ratio to a bare ``csv.reader`` pass over the same file,
measured in one process, repeats interleaved so that a change in the machine's load hits all three alike.

``python -m benchmarks.intake --kind phone --path in.csv --repeats 3`` prints one JSON line of medians:

- ``read_seconds``: ``for row in csv.reader(file): pass``, the floor;
- ``validate_seconds``: the push operators' validation pass (read, validate, dedupe first-seen), consumed;
- ``load_seconds``: loading the state of that run alone (read, checksummed, spread over partitions);
- ``sync_seconds``: a whole unchanged sync run (``SyncRun.run`` against a state that manages every row, as the
  operator makes it: load, first pass, validation of what is left, plan; nothing to send).

``sync_ratio`` is the whole run's time over the read's, ``plan_ratio`` the same without the state's load.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable


def _address(i: int) -> str:
    return f"user{i}@example{i % 997}.com"


def _phone(i: int) -> str:
    # UK mobiles in E.164, +44 7400 000000 upwards: each a valid number of the main region (GB).
    return f"+447{400_000_000 + i}"


def make_file(path: Path, kind: str, rows: int) -> Path:
    if path.exists():
        return path
    value, header = (_phone, "phoneNumber") if kind == "phone" else (_address, "email")
    with path.open("w", encoding="utf-8") as handle:
        handle.write(header + "\n")
        for chunk in range(0, rows, 100_000):
            handle.write("".join(f"{value(i)}\n" for i in range(chunk, min(chunk + 100_000, rows))))
    return path


def _timed(step: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    count = step()
    return time.perf_counter() - started, count


def measure(kind: str, path: Path, repeats: int) -> dict[str, Any]:
    from airflow_provider_wooxy.pipeline.intake import Tally, validated
    from airflow_provider_wooxy.pipeline.rejects import Rejects
    from airflow_provider_wooxy.pipeline.sources.file import iter_file_records
    from airflow_provider_wooxy.pipeline.sync.entries import EMAIL, PHONE
    from airflow_provider_wooxy.pipeline.sync.run import SyncRun, SyncSettings
    from airflow_provider_wooxy.pipeline.sync.state import open_state
    from airflow_provider_wooxy.pipeline.validation import EmailRecords, PhoneRecords

    field, list_kind = ("phoneNumber", PHONE) if kind == "phone" else ("email", EMAIL)

    def builder() -> Callable[[object], Any]:  # what the operators build from their default arguments
        return PhoneRecords(field=field) if kind == "phone" else EmailRecords(field=field, reject_type="hard")

    def read() -> int:
        count = 0
        with path.open(newline="", encoding="utf-8") as handle:
            for _ in csv.reader(handle):
                count += 1
        return count - 1

    def validate() -> int:
        tally, rejects = Tally(), Rejects()
        items = iter_file_records(str(path), field=field)
        for _ in validated(items, builder(), tally, rejects, field):
            pass
        assert rejects.count == 0, rejects.describe(3)
        return tally.valid

    # The state of an unchanged run: it manages exactly the file's rows (written once, loaded before the timing:
    # the sync figure is the plan's, as the state's load is the same for any input).
    state_path = path.with_suffix(".state")
    for leftover in state_path.parent.glob(state_path.name + "*"):
        leftover.unlink()
    state = open_state(state_path, list_kind, "http://bench").load()
    state.begin()
    with path.open(encoding="utf-8") as handle:
        next(handle)
        key = "phoneNumber" if kind == "phone" else "email"
        extra = "" if kind == "phone" else ',"rejectType":"hard"'
        state.record(b"+", (f'{{"{key}":"{row.rstrip()}"{extra}}}'.encode() for row in handle))
    state.commit(None)
    state.release()

    class _Quiet:
        def info(self, *args: object) -> None:
            pass

        warning = error = info

    def load() -> int:  # the state's share of a sync: its load (read, checksummed, spread over partitions)
        loaded = open_state(state_path, list_kind, "http://bench").load()
        loaded.release()
        return loaded.snapshot_entries

    def sync() -> int:  # a whole unchanged run, as the operator makes it: load, first pass, validation, plan
        settings = SyncSettings(max_removals=None, max_invalid=0, field=field, source=str(path))
        run = SyncRun(None, open_state(state_path, list_kind, "http://bench"), settings, log=_Quiet())  # type: ignore[arg-type]
        summary = run.run(iter_file_records(str(path), field=field), builder(), Rejects())
        assert summary["to_add"] == summary["to_remove"] == 0 and summary["unchanged"] == summary["received"], summary
        return int(summary["unchanged"])

    figures: dict[str, list[float]] = {"read": [], "validate": [], "load": [], "sync": []}
    rows = 0
    for _ in range(repeats):
        for name, step in (("read", read), ("validate", validate), ("load", load), ("sync", sync)):
            seconds, rows = _timed(step)
            figures[name].append(seconds)
    medians = {f"{name}_seconds": statistics.median(values) for name, values in figures.items()}
    read_s = medians["read_seconds"]
    return {
        **medians,
        "rows": rows,
        "validate_ratio": medians["validate_seconds"] / read_s,
        "sync_ratio": medians["sync_seconds"] / read_s,
        "plan_ratio": (medians["sync_seconds"] - medians["load_seconds"]) / read_s,
        "validate_us_per_row": (medians["validate_seconds"] - read_s) / rows * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=["email", "phone"], required=True)
    parser.add_argument("--path", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to write when the file is missing")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    make_file(args.path, args.kind, args.rows)
    print(json.dumps(measure(args.kind, args.path, args.repeats)), flush=True)


if __name__ == "__main__":
    main()
