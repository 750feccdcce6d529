"""
Draws the performance page's table and chart from the benchmark's JSON rows (docs/performance/results.json: the
rows `python -m benchmarks.run --json FILE` writes, as that list or under "rows" with a "source" note, each with the
day it was measured in "measured_on").

Writes docs/performance/table.txt (a Markdown table the page includes) and docs/assets/performance.svg (records/s
against the API ceiling, one bar per scenario that has a ceiling). Standard library only: scripts/docs.sh runs it in
the docs environment before every build; ``--check`` exits 1 when the written files are not what the JSON gives
(tests/test_docs.py runs that).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "performance" / "results.json"
TABLE = ROOT / "docs" / "performance" / "table.txt"
CHART = ROOT / "docs" / "assets" / "performance.svg"


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(rows: list[dict[str, Any]]) -> str:
    header = (
        "| scenario | records | L (ms) | ceiling (rec/s) | measured (rec/s) | ratio | send phase ratio "
        "| validation (s) | CPU µs/record | peak RSS (MB) | max in flight | naive (rec/s) | naive ratio | measured |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for row in rows:
        lines.append(
            f"| {row['scenario']} | {row['records']:,} | {row['latency_ms']:g} | {_fmt(row['ceiling'], ',.0f')} "
            f"| {row['records_per_s']:,.0f} | {_fmt(row.get('ratio'), '.3f')} "
            f"| {_fmt(row.get('send_phase_ratio'), '.3f')} | {_fmt(row.get('validation_s'), '.2f')} "
            f"| {row['cpu_us_per_record']:.1f} | {row['peak_rss_mb']:.0f} | {row['max_in_flight']} "
            f"| {_fmt(row.get('naive_per_s'), ',.0f')} | {_fmt(row.get('naive_ratio'), '.3f')} "
            f"| {row.get('measured_on', '-')} |"
        )
    return "\n".join(lines) + "\n"


def chart(rows: list[dict[str, Any]]) -> str:
    """Horizontal bars: each scenario's records/s as a share of its ceiling, the naive client's beside it."""
    bars = [row for row in rows if row.get("ceiling")]
    left, width, bar, gap, top = 190, 520, 16, 14, 40
    height = top + len(bars) * (2 * bar + gap) + 40
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 190}" height="{height}" '
        'font-family="sans-serif" font-size="12" role="img">',
        "<title>Records per second against the API ceiling, per benchmark scenario</title>",
        f'<text x="{left}" y="18" font-weight="bold">records/s against the API ceiling (10 requests in flight)</text>',
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = left + tick * width
        out.append(f'<line x1="{x:g}" y1="{top - 8}" x2="{x:g}" y2="{height - 30}" stroke="#ccc"/>')
        out.append(f'<text x="{x:g}" y="{height - 14}" text-anchor="middle">{tick:.0%}</text>')
    y = top
    for row in bars:
        ratio = row["records_per_s"] / row["ceiling"]
        out.append(f'<text x="{left - 8}" y="{y + bar - 3}" text-anchor="end">{row["scenario"]}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{ratio * width:.1f}" height="{bar}" fill="#3b7dd8"/>')
        out.append(
            f'<text x="{left + ratio * width + 6:.1f}" y="{y + bar - 3}">'
            f"{row['records_per_s']:,.0f} of {row['ceiling']:,.0f} rec/s ({ratio:.2f})</text>"
        )
        if row.get("naive_per_s") is not None:
            naive = row["naive_per_s"] / row["ceiling"]
            out.append(f'<rect x="{left}" y="{y + bar}" width="{naive * width:.1f}" height="{bar - 4}" fill="#bbb"/>')
            out.append(
                f'<text x="{left + naive * width + 6:.1f}" y="{y + 2 * bar - 5}" fill="#555">'
                f"naive client {row['naive_per_s']:,.0f}</text>"
            )
        y += 2 * bar + gap
    out.append(f'<line x1="{left + width}" y1="{top - 8}" x2="{left + width}" y2="{height - 30}" stroke="#c33"/>')
    out.append(f'<text x="{left + width}" y="{top - 12}" text-anchor="middle" fill="#c33">ceiling</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    data = json.loads(RESULTS.read_text())
    rows = data["rows"] if isinstance(data, dict) else data  # {"source": ..., "rows": [...]} or --json's own list
    wanted = {TABLE: table(rows), CHART: chart(rows)}
    if "--check" in argv:
        stale = [str(p.relative_to(ROOT)) for p, text in wanted.items() if not p.exists() or p.read_text() != text]
        if stale:
            print(f"stale: {', '.join(stale)}; run scripts/docs.sh (or python scripts/docs_chart.py)")
            return 1
        return 0
    for path, text in wanted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
