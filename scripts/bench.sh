#!/usr/bin/env bash
# The benchmark harness (see README, "Performance"): every scenario, 3 repeats, medians.
# Arguments go to `python -m benchmarks.run`, e.g. scripts/bench.sh -s email_add -r 5, or --smoke.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
cd "$ROOT"
exec python -m benchmarks.run "$@"
