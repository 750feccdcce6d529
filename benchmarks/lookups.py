"""
What never claiming someone else's entries costs a sync: the look-ups of its new entries (issue 27), against the
sandbox in its own process (latency L), side by side with the same runs under ``claim_existing=True`` (no look-up:
the behaviour before).

    python -m benchmarks.lookups                          # 100,000 emails and 10,000 phones, L = 50 ms, 3 repeats
    python -m benchmarks.lookups -e 2000 -p 200 -r 1 -l 0.01

Per list: a first sync into an empty list, then a daily run whose input drops 1% of the entries and brings 1% new
ones (the list on Wooxy then holds every managed entry, so the email check pages it or looks each address up,
whichever takes fewer requests). Medians of the wall time and the request counts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.run import TOKEN, SandboxProcess


def _inputs(kind: str, count: int, directory: Path) -> tuple[Path, Path]:
    """The first input (entries 0..count-1) and the daily one (1% dropped at the start, 1% new at the end)."""
    shift = max(1, count // 100)
    if kind == "email":
        header, line = "email\n", "user{}@example{}.com\n"
        rows = [line.format(i, i % 997) for i in range(count + shift)]
    else:
        header, line = "phoneNumber\n", "+447911{:06d}\n"
        rows = [line.format(i) for i in range(count + shift)]
    first, daily = directory / f"{kind}-first.csv", directory / f"{kind}-daily.csv"
    first.write_text(header + "".join(rows[:count]))
    daily.write_text(header + "".join(rows[shift:]))
    return first, daily


def _run(kind: str, source: Path, state: Path, claim: bool) -> tuple[float, dict[str, Any]]:
    from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator, WooxySyncPhoneBlacklistOperator

    operator_class: Any = WooxySyncEmailBlacklistOperator if kind == "email" else WooxySyncPhoneBlacklistOperator
    operator = operator_class(
        task_id="bench",
        path=str(source),
        state_path=str(state),
        max_removals=None,
        claim_existing=claim,
        progress_interval=3600,
    )
    started = time.perf_counter()
    summary = operator.execute({})
    return time.perf_counter() - started, summary


def measure(kind: str, count: int, latency: float, repeats: int) -> dict[str, Any]:
    sandbox = SandboxProcess(latency)
    os.environ["AIRFLOW_CONN_WOOXY_DEFAULT"] = json.dumps(
        {"conn_type": "wooxy", "host": sandbox.url, "password": TOKEN}
    )
    rows: list[dict[str, float]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="wooxy-lookup-bench-") as tmp:
            directory = Path(tmp)
            first, daily = _inputs(kind, count, directory)
            for _ in range(repeats):
                row: dict[str, float] = {}
                for claim in (False, True):  # alternated within a repeat: the machine's noise hits both alike
                    label = "claim" if claim else "lookups"
                    sandbox.reset()
                    state = directory / f"{kind}-{label}.state"
                    for leftover in directory.glob(f"{state.name}*"):
                        leftover.unlink()
                    for phase, source in (("first", first), ("daily", daily)):
                        seconds, summary = _run(kind, source, state, claim)
                        assert summary["already_listed"] == 0, summary  # nobody else adds in this benchmark
                        row[f"{phase}_{label}_s"] = seconds
                        row[f"{phase}_{label}_lookup_requests"] = summary["lookup_requests"]
                        row[f"{phase}_{label}_send_requests"] = summary["requests"]
                    stats = sandbox.stats()
                    assert stats["over_limit"] == 0 and stats["max_in_flight"] <= 10, stats
                rows.append(row)
    finally:
        sandbox.stop()
    result: dict[str, Any] = {key: statistics.median(row[key] for row in rows) for key in rows[0]}
    result.update(list=kind, entries=count, latency_ms=latency * 1000, repeats=repeats)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lookups", description=__doc__.split("\n\n")[0])
    parser.add_argument("-e", "--emails", type=int, default=100_000)
    parser.add_argument("-p", "--phones", type=int, default=10_000)
    parser.add_argument("-l", "--latency", type=float, default=0.05)
    parser.add_argument("-r", "--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
    results = [
        measure("email", args.emails, args.latency, args.repeats),
        measure("phone", args.phones, args.latency, args.repeats),
    ]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
