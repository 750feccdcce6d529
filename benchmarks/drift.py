"""
What ``verify=True`` costs a sync: an unchanged sync of N managed emails with and without it, against the sandbox in
its own process (latency L), next to an export of the same list (the paging time the issue measures against).

    python -m benchmarks.drift                    # 100,000 entries, L = 50 ms, 3 repeats, medians
    python -m benchmarks.drift -n 2000 -r 1 -l 0.01

The list is the sandbox's seeded one (``seed<i>-hard@example.com``), and the state manages exactly it: the verify
pages the ``hard`` list and finds nothing missing, so the difference is the check alone.
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

from benchmarks.run import TOKEN, SandboxProcess, make_state


def _address(i: int) -> str:
    return f"seed{i}-hard@example.com"  # what the sandbox's /_sandbox/seed lists


def _timed(operator: Any) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    summary = operator.execute({})
    return time.perf_counter() - started, summary


def measure(entries: int, latency: float, repeats: int) -> dict[str, Any]:
    from airflow_provider_wooxy.operators.export import WooxyExportEmailBlacklistOperator
    from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator

    sandbox = SandboxProcess(latency)
    os.environ["AIRFLOW_CONN_WOOXY_DEFAULT"] = json.dumps(
        {"conn_type": "wooxy", "host": sandbox.url, "password": TOKEN}
    )
    rows: list[dict[str, float]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="wooxy-drift-bench-") as tmp:
            directory = Path(tmp)
            source = directory / "input.csv"
            source.write_text("email\n" + "".join(f"{_address(i)}\n" for i in range(entries)))
            state = directory / "emails.state"
            for _ in range(repeats):
                sandbox.reset()
                sandbox.seed(entries)
                make_state(state, sandbox.url, entries, _address)
                common: dict[str, Any] = {
                    "task_id": "bench",
                    "path": str(source),
                    "state_path": str(state),
                    "progress_interval": 3600,
                }
                plain, summary = _timed(WooxySyncEmailBlacklistOperator(**common))
                assert summary["requests"] == 0
                verified, summary = _timed(WooxySyncEmailBlacklistOperator(verify=True, **common))
                assert (summary["verified"], summary["missing_on_wooxy"]) == (entries, 0), summary
                export = WooxyExportEmailBlacklistOperator(
                    task_id="bench", path=str(directory / "export.csv"), reject_types=["hard"], progress_interval=3600
                )
                exported, export_summary = _timed(export)
                stats = sandbox.stats()
                assert stats["over_limit"] == 0 and stats["max_in_flight"] <= 10, stats
                rows.append(
                    {
                        "sync_s": plain,
                        "sync_verify_s": verified,
                        "added_s": verified - plain,
                        "verify_s": summary["verify_seconds"],
                        "verify_requests": summary["verify_requests"],
                        "export_s": exported,
                        "export_paging_s": export_summary["duration_seconds"],
                    }
                )
    finally:
        sandbox.stop()
    result: dict[str, Any] = {key: statistics.median(row[key] for row in rows) for key in rows[0]}
    pages = result["verify_requests"]
    result.update(entries=entries, latency_ms=latency * 1000, repeats=repeats, ceiling_s=pages * latency / 10)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.drift", description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--entries", type=int, default=100_000)
    parser.add_argument("-l", "--latency", type=float, default=0.05)
    parser.add_argument("-r", "--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
    print(json.dumps(measure(args.entries, args.latency, args.repeats), indent=2))


if __name__ == "__main__":
    main()
