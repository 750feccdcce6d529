#!/usr/bin/env bash
# Runs every check: lint (ruff) and types (mypy) once, then the test suite (pytest) on every leg of the test matrix
# (scripts/airflow-matrix.txt: Airflow 2.11, 3.0, 3.1, 3.2 and 3.3, and Pythons 3.10 and 3.12 on the newest), each in an
# environment of its own that the script installs with uv. A failing leg is named with its Airflow and Python.
# Legs run two at a time (WOOXY_TEST_JOBS): one pytest process keeps about one core busy, and the machine has two.
# Each leg's output goes to test-artifacts/legs/<leg>.log and is printed when the leg ends (whole when it failed).
# Usage: scripts/test.sh [--full | --leg LEG...] [pytest arguments]
#   scripts/test.sh                                    the default run (what CI runs): the matrix's "default" column
#   scripts/test.sh --full                             every leg with its "suites"
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

# Debian packages the end-to-end suites need, installed when missing and run as root: Chromium for the browser
# tests (test tools' own browser downloads cannot work here), Redis as the CeleryExecutor's broker
# (tests/e2e/celery.py). Without root, the suites that need them fail or skip, saying which is missing.
MISSING=()
for package in chromium redis-server; do
    command -v "$package" > /dev/null 2>&1 || MISSING+=("$package")
done
if [ ${#MISSING[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null 2>&1; then
        echo "==> installing Debian's ${MISSING[*]} for the end-to-end suites"
        apt-get update -qq > /dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${MISSING[@]}" > /dev/null
    else
        echo "==> not installed: ${MISSING[*]} (apt-get install ${MISSING[*]}); the end-to-end suites need them"
    fi
fi
echo "==> ruff"
ruff check airflow_provider_wooxy tests example_dags benchmarks scripts
echo "==> mypy"
mypy
echo "==> lint-imports (the layers' contract: pyproject.toml, [tool.importlinter])"
lint-imports --no-cache
scripts/docs.sh  # the documentation site in strict mode: a broken link, API reference or example-DAG snippet fails

SUMMARY=()
FAILED=0
JOBS="${WOOXY_TEST_JOBS:-2}"
LOGS="$ROOT/test-artifacts/legs"
mkdir -p "$LOGS"
started_all=$SECONDS

leg_name() { printf '%-12s Airflow %-6s Python %-5s %s' "$1" "$(leg_field "$1" airflow)" "$(leg_field "$1" python)" "$2"; }

# run_leg LEG SUITES [pytest arguments]: one leg's pytest, its output in $LOGS/LEG.log, its verdict in LEG.result.
run_leg() {
    local leg="$1" suites="$2" started=$SECONDS rc=0 args=()
    shift 2
    case "${suites%,no-engine}" in
        all) args=() ;;
        no-e2e) args=(-m "not e2e") ;;            # unit, operator and example-DAG tests
        unit) args=(-m "not e2e and not dag") ;;  # no Airflow runs either
        *) echo "unknown suites $suites for $leg in $MATRIX" >&2; return 2 ;;
    esac
    local ignore=()
    [[ "$suites" != *,no-engine ]] || ignore=(--ignore=tests/pipeline)  # the Airflow-free engine: one leg is enough
    if [ "$leg" != "$(matrix_legs | head -1)" ]; then
        # Our own tooling (-m once) is checked on the newest leg only, and coverage is measured there too.
        if [ ${#args[@]} = 0 ]; then args=(-m "not once"); else args=(-m "${args[1]} and not once"); fi
        args+=(--no-cov)
    elif [ $# = 0 ]; then
        args+=(--cov-fail-under=90)  # the whole suite on the newest leg: lines and branches together (coverage.py)
    fi
    WOOXY_LEG="$leg" "$(leg_venv "$leg")/bin/python" -m pytest "${args[@]}" "${ignore[@]}" "$@" > "$LOGS/$leg.log" 2>&1 || rc=$?
    local seconds=$((SECONDS - started)) verdict
    if [ $rc = 0 ] || { [ $rc = 5 ] && [ $# -gt 0 ]; }; then  # 5: the given arguments select no test on this leg
        verdict="passed   $(leg_name "$leg" "$suites")   ${seconds} s"
    else
        verdict="FAILED   $(leg_name "$leg" "$suites")   ${seconds} s   (pytest exit code $rc)"
    fi
    echo "$verdict" > "$LOGS/$leg.result"
}

# Environments first, one at a time (uv's output stays readable), then the legs, $JOBS at a time.
READY=()
for leg in "${LEGS[@]}"; do
    if [ $EXPLICIT = 1 ]; then suites="$(leg_field "$leg" suites)"; else suites="$(leg_field "$leg" default)"; fi
    rc=0
    ensure_env "$leg" || rc=$?
    if [ $rc = 3 ]; then
        SUMMARY+=("SKIPPED  $(leg_name "$leg" "$suites")   (no Python $(leg_field "$leg" python) on this machine)")
    elif [ $rc != 0 ]; then
        SUMMARY+=("FAILED   $(leg_name "$leg" "$suites")   (could not install the environment)")
        FAILED=1
    else
        READY+=("$leg:$suites")
    fi
done

report_leg() {
    local leg="$1" verdict
    verdict="$(cat "$LOGS/$leg.result" 2> /dev/null || echo "FAILED   $(leg_name "$leg" "?")   (no result)")"
    echo "==> $verdict"
    if [[ "$verdict" == passed* ]]; then
        tail -n 60 "$LOGS/$leg.log" | sed 's/^/    /'
    else
        sed 's/^/    /' "$LOGS/$leg.log"
    fi
    SUMMARY+=("$verdict")
    [[ "$verdict" == passed* ]] || FAILED=1
}

declare -A PIDS=()
for entry in "${READY[@]}"; do
    leg="${entry%%:*}"
    suites="${entry#*:}"
    while [ "${#PIDS[@]}" -ge "$JOBS" ]; do
        wait -n || true
        for running in "${!PIDS[@]}"; do
            if ! kill -0 "${PIDS[$running]}" 2> /dev/null; then report_leg "$running"; unset "PIDS[$running]"; fi
        done
    done
    rm -f "$LOGS/$leg.result"
    echo "==> pytest on $(leg_name "$leg" "$suites")   (output: ${LOGS#"$ROOT/"}/$leg.log)"
    run_leg "$leg" "$suites" "$@" &
    PIDS[$leg]=$!
done
for running in "${!PIDS[@]}"; do
    wait "${PIDS[$running]}" || true
    report_leg "$running"
done

echo "==> test matrix ($((SECONDS - started_all)) s, $JOBS legs at a time; legs and dates: scripts/airflow-matrix.txt)"
printf '    %s\n' "${SUMMARY[@]}"
if [ $FAILED != 0 ]; then
    echo "FAILED: $(printf '%s\n' "${SUMMARY[@]}" | grep -c '^FAILED') leg(s) of the test matrix" >&2
    exit 1
fi
