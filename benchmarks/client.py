"""
One measured client run, in its own process so that its CPU time and peak RSS are its own.

``python -m benchmarks.client provider --op email_add --path in.csv --url http://127.0.0.1:PORT --token T``
runs the real operator code path; ``... naive ...`` runs the sequential one-request-at-a-time loop a user might
write instead. Both print one JSON line with what they measured.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import resource
import time
from pathlib import Path
from typing import Any

OPERATIONS = {
    "email_add": ("WooxyAddEmailBlacklistOperator", "blacklist/add", True),
    "phone_add": ("WooxyAddPhoneBlacklistOperator", "phone-blacklist/add", True),
    "email_remove": ("WooxyRemoveEmailBlacklistOperator", "blacklist/remove", False),
    "email_sync": ("WooxySyncEmailBlacklistOperator", "", True),
    "email_export": ("WooxyExportEmailBlacklistOperator", "blacklist/find", False),
}


def peak_rss_mb() -> float:
    # Linux: the high-water mark of this process's own memory. getrusage's ru_maxrss survives exec, so a client
    # started by a harness that had grown (it builds the sync scenarios' states) would report the harness's peak.
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measured(operator: Any) -> tuple[dict[str, Any], dict[str, float]]:
    """Runs the operator once: its summary, and the wall and CPU seconds and peak RSS of this process."""
    rss_before = peak_rss_mb()
    cpu = time.process_time()
    wall = time.perf_counter()
    summary = operator.execute({})
    measured = {"wall_seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu}
    return summary, {**measured, "peak_rss_mb": peak_rss_mb(), "rss_before_mb": rss_before}


def run_provider(args: argparse.Namespace) -> dict[str, Any]:
    os.environ["AIRFLOW_CONN_WOOXY_DEFAULT"] = json.dumps(
        {"conn_type": "wooxy", "host": args.url, "password": args.token}
    )
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
    if args.op == "email_export":
        return run_export(args)
    from airflow_provider_wooxy.operators import blacklist, sync

    class_name, _, _ = OPERATIONS[args.op]
    kwargs: dict[str, Any] = {"task_id": "bench", "path": args.path, "progress_interval": 3600}
    module: Any = blacklist
    if args.op == "email_sync":
        module = sync
        kwargs.update(state_path=args.state, max_removals=None)
    if args.changelog:
        kwargs["changelog_path"] = args.changelog
    if args.streaming:
        kwargs["max_invalid"] = None  # else the operator's default (0): validate all, then send
    if args.op == "phone_add":
        kwargs["default_region"] = args.region
    operator = getattr(module, class_name)(**kwargs)
    summary, measured = _measured(operator)
    return {
        **measured,
        "send_seconds": summary.get("send_seconds") or 0.0,  # a sync with nothing to send has no sending phase
        "validation_seconds": summary.get("validation_seconds"),
        "received": summary["received"],
        "sent": summary["sent"] if "sent" in summary else summary["added"] + summary["removed"],
        "requests": summary["requests"],
        "retries": summary["retries"],
    }


def run_export(args: argparse.Namespace) -> dict[str, Any]:
    """The export operator: ``--path`` is where the file goes; "sent" counts the entries written."""
    from airflow_provider_wooxy.operators.export import WooxyExportEmailBlacklistOperator

    operator = WooxyExportEmailBlacklistOperator(
        task_id="bench", path=args.path, reject_types=["hard"], progress_interval=3600
    )
    summary, measured = _measured(operator)
    return {
        **measured,
        "send_seconds": summary["duration_seconds"],
        "validation_seconds": None,
        "received": summary["exported"],
        "sent": summary["exported"],
        "requests": summary["requests"],
        "retries": summary["retries"],
    }


def run_naive(args: argparse.Namespace) -> dict[str, Any]:
    """What a user might write first: read the file, then post one request at a time."""
    import requests

    _, method, is_add = OPERATIONS[args.op]
    key = "phoneNumber" if args.op.startswith("phone") else "email"
    session = requests.Session()
    session.headers["Access-Token"] = args.token
    url = f"{args.url}/v3/{method}"
    with open(args.path, newline="", encoding="utf-8") as handle:
        values = [row[0] for row in csv.reader(handle)][1:]
    if args.op == "phone_add":
        import phonenumbers

        values = [
            phonenumbers.format_number(phonenumbers.parse(v, args.region), phonenumbers.PhoneNumberFormat.E164)
            for v in values[: args.limit * 100]
        ]
    size = 100 if is_add else 1
    sent = requests_made = 0
    started = time.perf_counter()
    for start in range(0, min(len(values), args.limit * size), size):
        chunk = values[start : start + size]
        if is_add:
            body: dict[str, Any] = {
                "records": [{key: v, "rejectType": "hard"} if key == "email" else {key: v} for v in chunk]
            }
        else:
            body = {key: chunk[0]}
        response = session.post(url, json=body, timeout=30)
        response.raise_for_status()
        sent += len(chunk)
        requests_made += 1
    wall = time.perf_counter() - started
    return {"wall_seconds": wall, "sent": sent, "requests": requests_made}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["provider", "naive"])
    parser.add_argument("--op", choices=sorted(OPERATIONS), required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--region", default="GB")
    parser.add_argument("--streaming", action="store_true", help="max_invalid=None: validate while sending")
    parser.add_argument("--limit", type=int, default=50, help="naive client: requests to make")
    parser.add_argument("--state", help="sync: the state_path")
    parser.add_argument("--changelog", help="the changelog_path (the audit trail's cost)")
    args = parser.parse_args()
    result = run_provider(args) if args.kind == "provider" else run_naive(args)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
