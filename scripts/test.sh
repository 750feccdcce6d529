#!/usr/bin/env bash
# Runs every check: lint (ruff) and types (mypy) once, then the test suite (pytest) on every leg of the test matrix
# (scripts/airflow-matrix.txt: Airflow 3.0, 3.1, 3.2 and 3.3, and Pythons 3.10 and 3.12 on the newest), each in an
# environment of its own that the script installs with uv. A failing leg is named with its Airflow and Python.
# Usage: scripts/test.sh [--full | --leg LEG...] [pytest arguments]
#   scripts/test.sh                                    the default run (what CI runs): the matrix's "default" column
#   scripts/test.sh --full                             every leg with its "suites" (about 45 minutes here)
#   scripts/test.sh --leg airflow-3.0 tests/hooks -x   one leg (repeat --leg for more), arguments go to pytest
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
cd "$ROOT"

LEGS=()
FULL=0
if [ $# -gt 0 ] && [ "$1" = "--full" ]; then
    FULL=1
    shift
fi
while [ $# -gt 0 ] && [ "$1" = "--leg" ]; do
    [ $# -ge 2 ] || { echo "--leg needs a leg name: $(matrix_legs | xargs)" >&2; exit 2; }
    leg_field "$2" airflow > /dev/null || exit 2
    LEGS+=("$2")
    shift 2
done
EXPLICIT=$((${#LEGS[@]} > 0 || FULL))
if [ ${#LEGS[@]} = 0 ]; then
    for leg in $(matrix_legs); do
        if [ $FULL = 1 ] || [ "$(leg_field "$leg" default)" != - ]; then LEGS+=("$leg"); fi
    done
fi

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

SUMMARY=()
FAILED=0
started_all=$SECONDS
for leg in "${LEGS[@]}"; do
    airflow="$(leg_field "$leg" airflow)"
    python="$(leg_field "$leg" python)"
    if [ $EXPLICIT = 1 ]; then suites="$(leg_field "$leg" suites)"; else suites="$(leg_field "$leg" default)"; fi
    name="$(printf '%-12s Airflow %-6s Python %-5s %s' "$leg" "$airflow" "$python" "$suites")"
    started=$SECONDS
    rc=0
    ensure_env "$leg" || rc=$?
    if [ $rc = 3 ]; then
        SUMMARY+=("SKIPPED  $name   (no Python $python on this machine)")
        continue
    elif [ $rc != 0 ]; then
        SUMMARY+=("FAILED   $name   (could not install the environment)")
        FAILED=1
        continue
    fi
    case "$suites" in
        all) pytest_args=() ;;
        no-e2e) pytest_args=(-m "not e2e") ;;            # unit, operator and example-DAG tests
        unit) pytest_args=(-m "not e2e and not dag") ;;  # no Airflow CLI runs either
        *) echo "unknown suites $suites for $leg in $MATRIX" >&2; exit 2 ;;
    esac
    if [ "$leg" != "$(matrix_legs | head -1)" ]; then
        # Our own tooling (-m once) is checked on the newest leg only, and coverage is measured there too.
        if [ ${#pytest_args[@]} = 0 ]; then pytest_args=(-m "not once"); else pytest_args=(-m "${pytest_args[1]} and not once"); fi
        pytest_args+=(--no-cov)
    elif [ $# = 0 ]; then
        pytest_args+=(--cov-fail-under=90)  # the whole suite on the newest leg: lines and branches together (coverage.py)
    fi
    echo "==> pytest on $leg: Airflow $airflow, Python $python, ${suites} tests"
    WOOXY_LEG="$leg" "$(leg_venv "$leg")/bin/python" -m pytest "${pytest_args[@]}" "$@" || rc=$?
    seconds=$((SECONDS - started))
    if [ $rc = 0 ] || { [ $rc = 5 ] && [ $# -gt 0 ]; }; then  # 5: the given arguments select no test on this leg
        SUMMARY+=("passed   $name   ${seconds} s")
    else
        SUMMARY+=("FAILED   $name   ${seconds} s   (pytest exit code $rc)")
        FAILED=1
    fi
done

echo "==> test matrix ($((SECONDS - started_all)) s; legs and dates: scripts/airflow-matrix.txt)"
printf '    %s\n' "${SUMMARY[@]}"
if [ $FAILED != 0 ]; then
    echo "FAILED: $(printf '%s\n' "${SUMMARY[@]}" | grep -c '^FAILED') leg(s) of the test matrix" >&2
    exit 1
fi
