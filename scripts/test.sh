#!/usr/bin/env bash
# Runs every check: lint (ruff), types (mypy), and the test suite (pytest), after installing what they need.
# Extra arguments go to pytest, e.g. scripts/test.sh -k hook -x
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
cd "$ROOT"
echo "==> ruff"
ruff check airflow_provider_wooxy tests example_dags benchmarks
echo "==> mypy"
mypy
echo "==> pytest"
python -m pytest "$@"
