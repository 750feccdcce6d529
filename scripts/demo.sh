#!/usr/bin/env bash
# The main job, end to end, with no credentials: starts the Wooxy sandbox, sets up a throw-away Airflow home
# with the wooxy_default connection and the wooxy_api pool, and runs the example DAGs with dag.test() (what
# `airflow dags test` does) in one process: scripts/demo_dags.py. Then the sync story: a first sync, a change in
# the truth, a run the removal guard stops (its plan written), and the approved apply of that plan.
# Usage: scripts/demo.sh [dag_id ... | sync]   (default: the push examples, then the sync story)
set -euo pipefail
WOOXY_ENV=base source "$(dirname "$0")/bootstrap.sh"  # the demo needs no test tools
cd "$ROOT"
DAG_IDS=("$@")
[ ${#DAG_IDS[@]} -gt 0 ] || DAG_IDS=(example_wooxy_email_from_csv example_wooxy_phone_from_xcom example_wooxy_removals sync)
export AIRFLOW_HOME="${WOOXY_DEMO_HOME:-$ROOT/.airflow-demo}"  # tests give each run a home of its own
export AIRFLOW__CORE__DAGS_FOLDER="$AIRFLOW_HOME/dags"  # the example DAGs and the demo's two sync DAGs, linked
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export WOOXY_EXAMPLE_STORAGE="file://$AIRFLOW_HOME/data"
rm -rf "$AIRFLOW_HOME"
mkdir -p "$AIRFLOW__CORE__DAGS_FOLDER"
ln -s "$ROOT"/example_dags/*.py "$ROOT/scripts/demo_sync_dags.py" "$AIRFLOW__CORE__DAGS_FOLDER/"

echo "==> starting the Wooxy sandbox"
python -m airflow_provider_wooxy.sandbox --port 0 --token demo-token --latency 0.02 > "$AIRFLOW_HOME/sandbox.out" &
SANDBOX_PID=$!
trap 'kill $SANDBOX_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "listening on" "$AIRFLOW_HOME/sandbox.out" 2>/dev/null && break; sleep 0.1; done
SANDBOX_URL="$(grep -o 'http://[0-9.:]*' "$AIRFLOW_HOME/sandbox.out")"
echo "    $SANDBOX_URL"
export AIRFLOW_CONN_WOOXY_DEFAULT="{\"conn_type\": \"wooxy\", \"host\": \"$SANDBOX_URL\", \"password\": \"demo-token\"}"

echo "==> running ${DAG_IDS[*]} with dag.test(), as \`airflow dags test\` does   (log: ${AIRFLOW_HOME#"$ROOT/"}/demo.log)"
rc=0
python scripts/demo_dags.py "${DAG_IDS[@]}" > "$AIRFLOW_HOME/demo.log" 2>&1 || rc=$?
grep -E "^==> |Done:|Read [0-9]+ records|Sending|Invalid records|Wrote|refused|State .*managed|Plan [0-9a-f]+[: ]|Dry run|^(Wooxy|airflow_provider_wooxy)[.a-zA-Z]*: the plan removes" \
    "$AIRFLOW_HOME/demo.log" | grep -v "Pushing xcom" \
    | sed -E 's/^[^ ]+ \[[a-z ]+\] /    /; s/ \[airflow[^]]*\] loc=.*//' || true
[ $rc = 0 ] || { echo "FAILED: see $AIRFLOW_HOME/demo.log" >&2; tail -30 "$AIRFLOW_HOME/demo.log" >&2; exit 1; }

echo "==> what the sandbox received"
python - "$SANDBOX_URL" <<'PY'
import json, sys, urllib.request
stats = json.load(urllib.request.urlopen(sys.argv[1] + "/_sandbox/stats"))
print(json.dumps(stats, indent=2))
if stats["total_requests"] == 0:
    sys.exit("FAILED: the sandbox received no request")
PY
echo "==> demo succeeded"
