"""
Benchmark harness: the provider against the Wooxy sandbox (in its own process, with a chosen latency), and a naive
sequential client on the same workload, in one run.

    python -m benchmarks.run                 # every scenario, 3 repeats, medians
    python -m benchmarks.run --smoke         # tiny sizes, 1 repeat: CI runs this so the harness cannot rot
    python -m benchmarks.run -s email_add -r 5

Figures are ratios measured within one run on a shared, noisy machine; nothing here is a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks import intake, long_line

if TYPE_CHECKING:
    from collections.abc import Callable

TOKEN = "benchmark-token"


@dataclass
class Scenario:
    name: str
    op: str
    records: int
    latency: float
    streaming: bool = False
    naive_requests: int = 0
    note: str = ""
    state: int = 0
    """Sync scenarios: entries in the state before the run (users 0..state-1); the input starts at user ``shift``."""
    shift: int = 0
    removes: bool = False
    """Sync scenarios whose sending is all removes (the ceiling is then 10/L)."""
    e164: bool = False
    """Phone scenarios: the input in E.164 (``+447911000000``) instead of national format (``07911 000000``)."""
    changelog: str = ""
    """The run writes a changelog file of this suffix (``.csv``...): its cost, against the same scenario without."""

    @property
    def intake(self) -> str | None:
        """Intake scenarios (no sandbox, no sending): the list, ``email`` or ``phone``."""
        return self.op.removeprefix("intake_") if self.op.startswith("intake_") else None

    @property
    def per_request(self) -> int:
        return 1 if self.op.endswith("remove") or self.removes else 100

    @property
    def ceiling(self) -> float | None:
        """Records/s the API allows: 10 requests in flight, each taking the latency."""
        return 10 * self.per_request / self.latency if self.latency else None


def scenarios(smoke: bool) -> list[Scenario]:
    if smoke:
        return [
            Scenario("email_add", "email_add", 3_000, 0.01, naive_requests=3),
            Scenario("email_add_streaming", "email_add", 3_000, 0.01, streaming=True),
            Scenario("phone_add", "phone_add", 1_000, 0.01, naive_requests=2),
            Scenario("phone_add_e164", "phone_add", 1_000, 0.01, e164=True),
            Scenario("email_remove", "email_remove", 100, 0.01, naive_requests=20),
            Scenario("cpu_email_add_L0", "email_add", 2_000, 0.0),
            Scenario("sync_mixed", "email_sync", 2_000, 0.01, state=2_000, shift=100, note="100 adds + 100 removes"),
            Scenario("email_add_changelog", "email_add", 3_000, 0.01, changelog=".csv", note="email_add + CSV log"),
            Scenario("email_export", "email_export", 3_000, 0.01),
            Scenario("intake_email", "intake_email", 2_000, 0.0),
            Scenario("intake_phone", "intake_phone", 2_000, 0.0),
            Scenario("csv_long_line_1mb", "long_line", 1, 0.0, note="records: MB on one line"),
        ]
    return [
        Scenario("email_add", "email_add", 200_000, 0.05, naive_requests=40, note="CSV"),
        Scenario("email_add_streaming", "email_add", 200_000, 0.05, streaming=True, note="CSV, max_invalid=None"),
        Scenario("email_add_changelog", "email_add", 200_000, 0.05, changelog=".csv", note="email_add + CSV changelog"),
        Scenario("phone_add", "phone_add", 100_000, 0.1, naive_requests=20, note="national GB numbers"),
        Scenario("phone_add_e164", "phone_add", 100_000, 0.1, naive_requests=20, e164=True, note="E.164 numbers"),
        Scenario("phone_add_streaming", "phone_add", 100_000, 0.1, streaming=True, note="max_invalid=None"),
        Scenario("email_remove", "email_remove", 2_000, 0.02, naive_requests=100),
        Scenario("cpu_email_add_L0", "email_add", 200_000, 0.0, note="client CPU per record"),
        Scenario("memory_100k", "email_add", 100_000, 0.0, note="peak RSS baseline"),
        Scenario("memory_1m", "email_add", 1_000_000, 0.0, note="peak RSS"),
        Scenario("memory_10m", "email_add", 10_000_000, 0.0, note="peak RSS, dedupe spilled to disk"),
        Scenario("sync_adds", "email_sync", 200_000, 0.05, note="empty state: 200k adds"),
        Scenario(
            "sync_adds_changelog", "email_sync", 200_000, 0.05, changelog=".csv", note="sync_adds + CSV changelog"
        ),
        Scenario("sync_removes", "email_sync", 1_000, 0.02, state=3_000, shift=2_000, removes=True, note="2k removes"),
        Scenario("sync_1m", "email_sync", 1_000_000, 0.0, state=1_000_000, shift=10_000, note="10k adds + 10k removes"),
        Scenario("sync_unchanged_1m", "email_sync", 1_000_000, 0.0, state=1_000_000, note="0 requests"),
        Scenario("email_export", "email_export", 100_000, 0.05, note="pages of 100, to CSV"),
        Scenario("intake_email_1m", "intake_email", 1_000_000, 0.0, note="normal-form emails"),
        Scenario("intake_phone_1m", "intake_phone", 1_000_000, 0.0, note="E.164 phones"),
        *(
            Scenario(f"csv_long_line_{mb}mb", "long_line", mb, 0.0, note="one line vs JSON Lines")
            for mb in (12, 50, 200)
        ),
    ]


def _address(i: int) -> str:
    return f"user{i}@example{i % 997}.com"


def make_input(directory: Path, scenario: Scenario) -> Path:
    if scenario.op == "email_export":  # the list is seeded on the sandbox; this is where the export goes
        return directory / "export.csv"
    path = directory / f"{scenario.op}-{scenario.records}-{scenario.shift}{'-e164' if scenario.e164 else ''}.csv"
    if path.exists():
        return path
    if scenario.intake:
        return intake.make_file(path, scenario.intake, scenario.records)
    with path.open("w", encoding="utf-8") as handle:
        if scenario.op == "phone_add":
            handle.write("phoneNumber\n")
            # UK mobiles, 07911 000000 upwards in national format (or +447911000000 in E.164), each a valid number.
            line = "+447911{:06d}\n" if scenario.e164 else "07911 {:06d}\n"
            handle.writelines(line.format(i) for i in range(scenario.records))
        else:
            handle.write("email\n")
            start = scenario.shift
            for chunk in range(start, start + scenario.records, 100_000):
                end = min(chunk + 100_000, start + scenario.records)
                handle.write("".join(f"{_address(i)}\n" for i in range(chunk, end)))
    return path


def make_state(path: Path, url: str, entries: int, address: Callable[[int], str] | None = None) -> None:
    """A sync state that manages ``address(0..entries-1)`` (users by default), as a finished sync leaves it."""
    address = address or _address
    from airflow_provider_wooxy.pipeline.sync.entries import EMAIL
    from airflow_provider_wooxy.pipeline.sync.state import open_state

    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    state = open_state(path, EMAIL, url).load()
    state.begin()
    state.record(b"+", (b'{"email":"%b","rejectType":"hard"}' % address(i).encode() for i in range(entries)))
    state.commit(None)
    state.release()


class SandboxProcess:
    """The sandbox in a process of its own, as the real API would be."""

    def __init__(self, latency: float) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "airflow_provider_wooxy.sandbox",
                "--port",
                "0",
                "--token",
                TOKEN,
                "--latency",
                str(latency),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if "listening on" not in line:
            self.proc.kill()
            raise RuntimeError(f"the sandbox did not start: {line!r}")
        self.url = line.split("listening on ")[1].split()[0]

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_sandbox/stats", timeout=10) as response:
            result: dict[str, Any] = json.load(response)
            return result

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.url}/_sandbox/reset", data=b"{}", method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def seed(self, emails: int) -> None:
        """Put ``emails`` generated entries (reject type ``hard``) on the sandbox's email blacklist."""
        body = json.dumps({"emails": emails, "rejectType": "hard"}).encode()
        request = urllib.request.Request(f"{self.url}/_sandbox/seed", data=body, method="POST")
        urllib.request.urlopen(request, timeout=60).close()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def run_client(kind: str, scenario: Scenario, path: Path, url: str, state: Path | None = None) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "benchmarks.client",
        kind,
        "--op",
        scenario.op,
        "--path",
        str(path),
        "--url",
        url,
        "--token",
        TOKEN,
    ]
    if scenario.streaming:
        command.append("--streaming")
    if state is not None:
        command += ["--state", str(state)]
    if scenario.changelog and kind == "provider":
        changelog = path.parent / f"changelog-{scenario.name}{scenario.changelog}"
        changelog.unlink(missing_ok=True)  # each repeat writes a new file, as the run without writes none
        command += ["--changelog", str(changelog)]
    if kind == "naive":
        command += ["--limit", str(scenario.naive_requests)]
    env = {**os.environ, "AIRFLOW__CORE__UNIT_TEST_MODE": "True", "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} client failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def measure_intake(scenario: Scenario, path: Path, repeats: int) -> dict[str, Any]:
    """An intake scenario in a process of its own: read, validate, dedupe, each as a ratio to csv.reader."""
    command = [sys.executable, "-m", "benchmarks.intake", "--kind", str(scenario.intake), "--path", str(path)]
    done = subprocess.run([*command, "--repeats", str(repeats)], capture_output=True, text=True, timeout=1800)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"intake run failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    row: dict[str, Any] = {"scenario": scenario.name, "note": scenario.note, "repeats": repeats, "intake": True}
    row.update(json.loads(lines[-1]))
    return row


def measure(scenario: Scenario, directory: Path, repeats: int) -> dict[str, Any]:
    if scenario.op == "long_line":  # its own files: one line of ``records`` MB, as CSV and as JSON Lines
        return {"scenario": scenario.name, "note": scenario.note, "repeats": repeats, "long_line": True} | (
            long_line.measure(scenario.records, repeats)
        )
    path = make_input(directory, scenario)
    if scenario.intake:
        return measure_intake(scenario, path, repeats)
    sandbox = SandboxProcess(scenario.latency)
    runs: list[dict[str, Any]] = []
    naive: list[dict[str, Any]] = []
    try:
        for _ in range(repeats):
            sandbox.reset()
            state = None
            if scenario.op == "email_sync":
                state = directory / "sync" / "emails.state"
                state.parent.mkdir(exist_ok=True)
                make_state(state, sandbox.url, scenario.state)
            if scenario.op == "email_export":
                sandbox.seed(scenario.records)
            result = run_client("provider", scenario, path, sandbox.url, state)
            stats = sandbox.stats()
            result["max_in_flight"] = stats["max_in_flight"]
            result["over_limit"] = stats["over_limit"]
            runs.append(result)
            if scenario.naive_requests:
                sandbox.reset()
                naive.append(run_client("naive", scenario, path, sandbox.url))
    finally:
        sandbox.stop()

    def median(key: str, rows: list[dict[str, Any]] = runs) -> float:
        return statistics.median(row[key] for row in rows)

    sent = median("sent")
    row: dict[str, Any] = {
        "scenario": scenario.name,
        "note": scenario.note,
        "records": scenario.records,
        "latency_ms": scenario.latency * 1000,
        "ceiling": scenario.ceiling,
        "sent": sent,
        "records_per_s": sent / median("wall_seconds"),
        "send_phase_per_s": sent / median("send_seconds") if median("send_seconds") else None,
        "wall_s": median("wall_seconds"),
        "requests": median("requests"),
        "validation_s": statistics.median(r["validation_seconds"] or 0 for r in runs),
        "cpu_us_per_record": median("cpu_seconds") / scenario.records * 1e6,
        "peak_rss_mb": median("peak_rss_mb"),
        "max_in_flight": max(r["max_in_flight"] for r in runs),
        "over_limit": sum(r["over_limit"] for r in runs),
        "repeats": repeats,
    }
    if scenario.ceiling:
        row["ratio"] = row["records_per_s"] / scenario.ceiling
        row["send_phase_ratio"] = row["send_phase_per_s"] / scenario.ceiling if row["send_phase_per_s"] else None
    if naive:
        row["naive_per_s"] = statistics.median(r["sent"] / r["wall_seconds"] for r in naive)
        if scenario.ceiling:
            row["naive_ratio"] = row["naive_per_s"] / scenario.ceiling
    return row


def table(rows: list[dict[str, Any]]) -> str:
    def fmt(value: Any, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    header = (
        "| scenario | records | L (ms) | ceiling (rec/s) | measured (rec/s) | ratio | send phase ratio "
        "| validation (s) | CPU µs/record | peak RSS (MB) | max in flight | naive (rec/s) | naive ratio "
        "| wall (s) | requests |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for row in rows:
        if row.get("intake") or row.get("long_line"):
            continue
        lines.append(
            f"| {row['scenario']} | {row['records']:,} | {row['latency_ms']:g} | {fmt(row['ceiling'], ',.0f')} "
            f"| {row['records_per_s']:,.0f} | {fmt(row.get('ratio'), '.3f')} "
            f"| {fmt(row.get('send_phase_ratio'), '.3f')} | {row['validation_s']:.2f} "
            f"| {row['cpu_us_per_record']:.1f} | {row['peak_rss_mb']:.0f} "
            f"| {row['max_in_flight']} | {fmt(row.get('naive_per_s'), ',.0f')} | {fmt(row.get('naive_ratio'), '.3f')} "
            f"| {row['wall_s']:.1f} | {row['requests']:,.0f} |"
        )
    intakes = [row for row in rows if row.get("intake")]
    if intakes:
        lines += [
            "",
            "| intake | rows | csv.reader (s) | read + validate + dedupe (s) | ratio | µs/row over the read "
            "| unchanged sync run (s) | ratio | of which the state's load (s) | ratio without the load |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {row['scenario']} | {row['rows']:,} | {row['read_seconds']:.3f} | {row['validate_seconds']:.3f} "
            f"| {row['validate_ratio']:.1f} | {row['validate_us_per_row']:.2f} | {row['sync_seconds']:.3f} "
            f"| {row['sync_ratio']:.1f} | {row['load_seconds']:.3f} | {row['plan_ratio']:.1f} |"
            for row in intakes
        ]
    long_lines = [row for row in rows if row.get("long_line")]
    if long_lines:
        lines += [
            "",
            "| one long line | MB | CSV (s) | JSON Lines (s) | CSV / JSON Lines | the CSV | peak RSS CSV / JSONL |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {row['scenario']} | {row['megabytes']} | {row['csv_seconds']:.3f} | {row['jsonl_seconds']:.3f} "
            f"| {row['ratio']:.2f} | {row['csv_outcome']} "
            f"| {row['csv_peak_rss_mb']:.0f} / {row['jsonl_peak_rss_mb']:.0f} MB |"
            for row in long_lines
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1] if __doc__ else None)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat")
    parser.add_argument("-r", "--repeats", type=int, default=None, help="runs per scenario (median reported)")
    parser.add_argument("-s", "--scenario", action="append", help="only these scenarios (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.smoke else 3)
    chosen = [s for s in scenarios(args.smoke) if not args.scenario or s.name in args.scenario]
    if not chosen:
        parser.error("no such scenario")
    rows = []
    with tempfile.TemporaryDirectory(prefix="wooxy-bench-") as directory:
        for scenario in chosen:
            started = time.monotonic()
            rows.append(measure(scenario, Path(directory), repeats))
            print(f"{scenario.name}: done in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    print(table(rows))
    memory = {row["scenario"]: row for row in rows}
    if {"memory_100k", "memory_1m"} <= memory.keys():
        extra = (memory["memory_1m"]["peak_rss_mb"] - memory["memory_100k"]["peak_rss_mb"]) * 2**20 / 900_000
        print(f"\nmemory: {extra:.0f} bytes per extra record (1,000,000 vs 100,000 rows)")
    for row in rows:
        base = memory.get(row["scenario"].removesuffix("_changelog"))
        if row["scenario"].endswith("_changelog") and base is not None:
            extra = row["wall_s"] / base["wall_s"] - 1
            print(f"changelog: {row['scenario']} takes {extra:+.1%} wall time against {base['scenario']}")
    sent = [row for row in rows if not row.get("intake") and not row.get("long_line")]
    if sent:
        over = sum(row["over_limit"] for row in sent)
        most = max(row["max_in_flight"] for row in sent)
        print(f"sandbox: at most {most} requests in flight, {over} refused over 10")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
