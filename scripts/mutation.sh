#!/usr/bin/env bash
# Mutation testing of airflow_provider_wooxy/hooks/ (wooxy.py, connection.py, transport.py) and
# pipeline/sending.py with mutmut: a measurement of how many deliberate bugs the tests catch, run by hand (not by
# scripts/test.sh or CI; about 30-60 minutes on 2 shared cores). Settings: setup.cfg [mutmut]; scripts/mutmut_run.py
# lets mutmut reach @cached_property methods.
# Usage: scripts/mutation.sh [mutmut arguments]   (default: run; then e.g. `scripts/mutation.sh results`,
#        `scripts/mutation.sh show NAME`). mutmut itself goes to .venvs/mutation (beside .venv, same versions).
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
cd "$ROOT"

MUTMUT_VERSION=3.8.1
TOOLS=.venvs/mutation
if [ ! -f "$TOOLS/mutmut-$MUTMUT_VERSION.dist-info/METADATA" ]; then
    echo "==> installing mutmut $MUTMUT_VERSION from PyPI into $TOOLS"
    ensure_uv
    # pinned to .venv's own versions of what both need (pytest, coverage, libcst...), so the tests run as usual
    constraints=$(mktemp)
    "$UV" pip freeze --python .venv/bin/python | grep -v -e '^-e ' -e ' @ ' > "$constraints"
    rm -rf "$TOOLS"
    "$UV" pip install -q --python .venv/bin/python --target "$TOOLS" -c "$constraints" "mutmut==$MUTMUT_VERSION"
    rm -f "$constraints"
fi

export PYTHONPATH="$ROOT/$TOOLS"
if [ $# = 0 ]; then
    rm -rf mutants  # a fresh measurement: mutmut keeps earlier verdicts in mutants/
    nice -n 10 .venv/bin/python scripts/mutmut_run.py run --max-children 2 || true
    .venv/bin/python scripts/mutmut_run.py results --all true > mutants/results.txt
    echo "==> verdicts per file (mutants/results.txt):"
    for file in hooks.wooxy hooks.connection hooks.transport pipeline.sending; do
        printf '%-18s' "$file"
        grep "^ *airflow_provider_wooxy\.$file\." mutants/results.txt | awk -F': ' '{print $NF}' | sort | uniq -c \
            | awk '{printf "  %s %s", $1, substr($0, index($0, $2))} END {print ""}'
    done
    exit 0
fi
exec .venv/bin/python scripts/mutmut_run.py "$@"
