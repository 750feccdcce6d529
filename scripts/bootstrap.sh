# Sourced by the other scripts: creates .venv and installs the provider with its test tools, once per change
# of pyproject.toml. Needs only python3 (>= 3.10) and access to PyPI.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    echo "==> installing airflow-provider-wooxy and its test tools into $VENV (about a minute)"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
    "$VENV/bin/python" -m pip install --quiet -e "$ROOT[test]" 2>&1 | grep -v "^WARNING: Location" || true
    "$VENV/bin/python" -c "import airflow_provider_wooxy, airflow.sdk, pytest" \
        || { echo "installation failed" >&2; exit 1; }
    rm -f "$VENV"/.installed-*
    touch "$stamp"
fi
export PATH="$VENV/bin:$PATH"
