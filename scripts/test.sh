#!/usr/bin/env bash
# Runs every check: lint (ruff), types (mypy), and the test suite (pytest), after installing what they need.
# Extra arguments go to pytest, e.g. scripts/test.sh -k hook -x
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
cd "$ROOT"
# The end-to-end suite drives Debian's Chromium (test tools' own browser downloads cannot work here).
if ! command -v chromium > /dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null 2>&1; then
        echo "==> installing Debian's chromium for the browser test"
        apt-get update -qq > /dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
    else
        echo "==> chromium is not installed: the browser test will be skipped (apt-get install chromium)"
    fi
fi
echo "==> ruff"
ruff check airflow_provider_wooxy tests example_dags benchmarks
echo "==> mypy"
mypy
echo "==> pytest"
python -m pytest "$@"
