"""
The input sources, measured against each other in one run (issue 19):

- ``sql_sync``: a dry-run sync of N rows from a PostgreSQL query (scripts/postgres.sh), against ``csv_sync``, the
  same rows from a local CSV file: peak RSS at most 300 MB, wall time at most 1.3 times the CSV's;
- ``parquet_parts``: read + validation (a dry-run add) of N rows in 10 Parquet parts, against ``csv_one``, the
  same rows in one CSV file: peak RSS at most 250 MB, no slower than the CSV.

``python -m benchmarks.sources [--rows 1000000] [--repeat 2] [--json out.json]``. Each measurement runs in its own
process (``benchmarks.client``'s ``_measured``: wall, CPU, peak RSS), the pairs interleaved, best of ``--repeat``;
the table and the verdicts are printed. ``--smoke`` runs tiny sizes (the harness must not rot).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_DIR = ROOT / ".services" / "postgres-bench"  # its own cluster: the tests start theirs per leg
PORT_VARIABLE = "WOOXY_BENCH_POSTGRES_PORT"
"""The server's port, for the measured child processes (set by :func:`start_postgres`)."""
DATABASE = "wooxy_bench"
PARTS = 10
LIMITS = {"sql_sync": (300.0, 1.3, "csv_sync"), "parquet_parts": (250.0, 1.0, "csv_one")}
"""scenario: (peak RSS MB, wall ratio at most, the scenario it is compared with)."""


def email(i: int) -> str:
    return f"user{i}@example.com"


def _port() -> int:
    return int(os.environ[PORT_VARIABLE])


def start_postgres() -> None:
    """The benchmark's own PostgreSQL (scripts/postgres.sh) on a free port, or the port of one left running."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    script = str(ROOT / "scripts" / "postgres.sh")
    started = subprocess.run(
        [script, "start", str(POSTGRES_DIR), os.environ.get(PORT_VARIABLE, str(free))],
        check=True,
        capture_output=True,
        text=True,
    )
    os.environ[PORT_VARIABLE] = started.stdout.strip().rsplit(":", 1)[1].split("/")[0]
    subprocess.run([script, "createdb", str(POSTGRES_DIR), DATABASE], check=True, capture_output=True)


def stop_postgres() -> None:
    subprocess.run([str(ROOT / "scripts" / "postgres.sh"), "stop", str(POSTGRES_DIR)], check=False)


def prepare(rows: int, folder: Path) -> None:
    """The same rows as a PostgreSQL table, one CSV file and ten Parquet parts."""
    import psycopg2
    import pyarrow as pa
    import pyarrow.parquet as pq

    with (
        psycopg2.connect(host="127.0.0.1", port=_port(), user="postgres", dbname=DATABASE) as db,
        db.cursor() as cur,
    ):
        cur.execute("DROP TABLE IF EXISTS bench_emails")
        cur.execute("CREATE TABLE bench_emails (id integer, email text)")
        cur.execute(
            f"INSERT INTO bench_emails SELECT i, 'user' || i || '@example.com' FROM generate_series(0, {rows - 1}) i"
        )
    with (folder / "one.csv").open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["email"])
        writer.writerows([email(i)] for i in range(rows))
    (folder / "parts").mkdir(exist_ok=True)
    size = -(-rows // PARTS)
    for part in range(PARTS):
        addresses = [email(i) for i in range(part * size, min((part + 1) * size, rows))]
        pq.write_table(pa.table({"email": addresses}), folder / "parts" / f"part-{part:05d}.parquet")
    (folder / "parts" / "_SUCCESS").write_text("")


def child(scenario: str, folder: Path) -> dict[str, Any]:
    """One measured run in this process (called as ``--child``)."""
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
    # A dry run sends nothing: the connection only names the list the sync's state is bound to.
    os.environ["AIRFLOW_CONN_WOOXY_DEFAULT"] = json.dumps(
        {"conn_type": "wooxy", "host": "http://127.0.0.1:9", "password": "bench-token-unused"}
    )
    os.environ["AIRFLOW_CONN_BENCH_WAREHOUSE"] = json.dumps(
        {"conn_type": "postgres", "host": "127.0.0.1", "port": _port(), "login": "postgres", "schema": DATABASE}
    )
    from airflow_provider_wooxy.operators.blacklist import WooxyAddEmailBlacklistOperator
    from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator
    from benchmarks.client import _measured

    common: dict[str, Any] = {"task_id": "bench", "dry_run": True, "progress_interval": 3600}
    sync = {**common, "claim_existing": True}  # the sources' cost alone: no look-up of the new entries
    state = str(folder / f"{scenario}.state")
    Path(state).unlink(missing_ok=True)
    operator: Any
    if scenario == "sql_sync":
        operator = WooxySyncEmailBlacklistOperator(
            sql="SELECT email FROM bench_emails", sql_conn_id="bench_warehouse", state_path=state, **sync
        )
    elif scenario == "csv_sync":
        operator = WooxySyncEmailBlacklistOperator(path=str(folder / "one.csv"), state_path=state, **sync)
    elif scenario == "parquet_parts":
        operator = WooxyAddEmailBlacklistOperator(path=f"{folder}/parts/", **common)
    else:
        operator = WooxyAddEmailBlacklistOperator(path=str(folder / "one.csv"), **common)
    summary, measured = _measured(operator)
    return {"scenario": scenario, "received": summary["received"], **measured}


def run(scenario: str, folder: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.sources", "--child", scenario, "--folder", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{scenario} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", help="write the rows here as JSON")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat: does the harness run")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, Path(args.folder))))
        return
    rows, repeat = (2_000, 1) if args.smoke else (args.rows, args.repeat)
    start_postgres()
    with tempfile.TemporaryDirectory(prefix="wooxy-bench-sources-") as tmp:
        folder = Path(tmp)
        try:
            prepare(rows, folder)
            best = measure(rows, repeat, folder)
        finally:
            stop_postgres()
    report(best, rows, repeat, args.json, args.smoke)


def measure(rows: int, repeat: int, folder: Path) -> dict[str, dict[str, Any]]:
    """The best run of each scenario, the pairs interleaved."""
    best: dict[str, dict[str, Any]] = {}
    for _ in range(repeat):
        for scenario in ("csv_sync", "sql_sync", "csv_one", "parquet_parts"):
            result = run(scenario, folder)
            assert result["received"] == rows, result
            if scenario not in best or result["wall_seconds"] < best[scenario]["wall_seconds"]:
                best[scenario] = result
    return best


def report(best: dict[str, dict[str, Any]], rows: int, repeat: int, json_path: str | None, smoke: bool) -> None:
    """Print the table with each limit's verdict; exit 1 when a limit is exceeded (not in a smoke run)."""
    print(f"rows: {rows:,}, best of {repeat}\n")
    print("| scenario | wall (s) | CPU (s) | peak RSS (MB) | limit | verdict |")
    print("|---|---|---|---|---|---|")
    failed = False
    for scenario, result in best.items():
        verdict, limit = "", ""
        if scenario in LIMITS:
            rss_limit, ratio_limit, baseline = LIMITS[scenario]
            ratio = result["wall_seconds"] / best[baseline]["wall_seconds"]
            cpu_ratio = result["cpu_seconds"] / best[baseline]["cpu_seconds"]
            result["wall_ratio"], result["cpu_ratio"] = round(ratio, 3), round(cpu_ratio, 3)
            ok = result["peak_rss_mb"] <= rss_limit and ratio <= ratio_limit
            failed |= not ok
            limit = f"RSS <= {rss_limit:.0f} MB, wall <= {ratio_limit}x {baseline}"
            # The machine's load moves wall time; this process's CPU ratio says whether the code is the cause.
            verdict = f"{'ok' if ok else 'OVER'} (wall {ratio:.2f}x, CPU {cpu_ratio:.2f}x)"
        print(
            f"| {scenario} | {result['wall_seconds']:.2f} | {result['cpu_seconds']:.2f} | "
            f"{result['peak_rss_mb']:.0f} | {limit} | {verdict} |"
        )
    if json_path:
        Path(json_path).write_text(json.dumps(list(best.values()), indent=2))
    if failed and not smoke:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
