# Sourced by the other scripts. Installs uv (from PyPI, into .venvs/uv) when it is not on PATH, creates the
# environment of one leg of the test matrix (scripts/airflow-matrix.txt) with the provider and its test tools, once
# per change of pyproject.toml or of the leg, and puts it first on PATH. The leg is $WOOXY_LEG, by default the
# matrix's first (newest Airflow, .venv). Needs only python3 (>= 3.10) and access to PyPI.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MATRIX="$ROOT/scripts/airflow-matrix.txt"
export UV_PYTHON_DOWNLOADS=never  # uv's own Python builds come from outside PyPI: use the machine's interpreters

matrix_legs() { grep -v '^\s*\(#\|$\)' "$MATRIX" | awk '{print $1}'; }

# leg_field LEG COLUMN: airflow, python, released, resolved_as_of, suites, default or provider_as_of of one leg.
leg_field() {
    local column
    case "$2" in
        airflow) column=2 ;; python) column=3 ;; released) column=4 ;; resolved_as_of) column=5 ;; suites) column=6 ;; default) column=7 ;;
        provider_as_of) column=8 ;;
        *) echo "unknown matrix column $2" >&2; return 1 ;;
    esac
    local value
    value="$(grep -v '^\s*#' "$MATRIX" | awk -v leg="$1" -v c="$column" '$1 == leg {print $c}')"
    [ -n "$value" ] || { echo "no leg $1 in $MATRIX" >&2; return 1; }
    echo "$value"
}

leg_venv() {
    if [ "$1" = "$(matrix_legs | head -1)" ]; then echo "$ROOT/.venv"; else echo "$ROOT/.venvs/$1"; fi
}

ensure_uv() {
    if [ -n "${UV:-}" ]; then return; fi
    if command -v uv > /dev/null 2>&1; then UV="$(command -v uv)"; return; fi
    UV="$ROOT/.venvs/uv/bin/uv"
    if [ ! -x "$UV" ]; then
        echo "==> installing uv from PyPI into .venvs/uv"
        "${PYTHON:-python3}" -m venv --without-pip "$ROOT/.venvs/uv"
        "${PYTHON:-python3}" -m pip --python "$ROOT/.venvs/uv/bin/python" install --quiet "uv>=0.5" 2>&1 \
            | grep -v "^WARNING: Location" || true
        [ -x "$UV" ] || { echo "installing uv failed" >&2; return 1; }
    fi
}

# find_python X.Y: prints an interpreter of that version found on this machine (PATH, pyenv, uv's list).
find_python() {
    local want="$1" candidate
    local pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
    for candidate in ${PYTHON:-} "python$want" python3 "$pyenv_root"/versions/"$want".*/bin/python"$want" \
        /usr/bin/python"$want" /usr/local/bin/python"$want" "$("${UV:-uv}" python find "$want" 2> /dev/null || true)"; do
        [ -n "$candidate" ] || continue
        if [ "$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2> /dev/null)" = "$want" ]; then
            command -v "$candidate"
            return
        fi
    done
    return 1
}

# ensure_env LEG [base]: the leg's environment, installed and up to date; prints nothing when it already is. With
# "base", the provider and Airflow only (what scripts/demo.sh needs: about 10 s less to download on a fresh machine);
# otherwise with the test tools too (the extra "test", installed on top of a base environment when there is one).
ensure_env() {
    local leg="$1" want="${2:-test}" venv airflow python resolved stamp interpreter spec
    venv="$(leg_venv "$leg")"
    airflow="$(leg_field "$leg" airflow)"
    python="$(leg_field "$leg" python)"
    resolved="$(leg_field "$leg" resolved_as_of)"
    provider_as_of="$(leg_field "$leg" provider_as_of)"
    stamp="$venv/.installed-$(cat "$ROOT/pyproject.toml" <(grep "^$leg " "$MATRIX") | sha256sum | cut -c1-16)"
    [ -f "$stamp-test" ] && return
    [ "$want" = base ] && [ -f "$stamp-base" ] && return
    # An environment that had the test tools keeps them (a test run may be using it while it runs the demo).
    if [ "$want" = base ] && compgen -G "$venv/.installed-*-test" > /dev/null; then want=test; fi
    ensure_uv
    interpreter="$(find_python "$python")" || {
        echo "no Python $python on this machine (looked on PATH, in pyenv and in uv's list)" >&2
        return 3
    }
    spec="$ROOT"
    if [ "$want" != base ]; then
        spec="$ROOT[test]"
        # The newest leg runs the end-to-end suite on the CeleryExecutor (tests/e2e/celery.py).
        [ "$leg" != "$(matrix_legs | head -1)" ] || spec="$ROOT[test,e2e-celery]"
    fi
    echo "==> installing Airflow $airflow (libraries as of $resolved) with the provider$([ "$want" = base ] \
        || echo " and its test tools") into ${venv#"$ROOT/"} (Python $python, uv)"
    if [ ! -f "$stamp-base" ]; then
        rm -rf "$venv"
        "$UV" venv --quiet --python "$interpreter" "$venv"
    fi
    if [ "$provider_as_of" = - ]; then
        "$UV" pip install --quiet --python "$venv/bin/python" --exclude-newer "$resolved" \
            "apache-airflow==$airflow" -e "$spec"
    else
        # As a user adds a provider to an existing deployment: Airflow with its libraries as of its release first,
        # then the provider, whose own needs (common-compat) resolve as of provider_as_of while what is installed
        # stays (uv keeps an installed version that satisfies).
        "$UV" pip install --quiet --python "$venv/bin/python" --exclude-newer "$resolved" "apache-airflow==$airflow"
        "$UV" pip install --quiet --python "$venv/bin/python" --exclude-newer "$provider_as_of" \
            "apache-airflow==$airflow" -e "$spec"
    fi
    local out
    out="$("$venv/bin/python" -c "import airflow_provider_wooxy.operators.blacklist" 2>&1)" || {
        echo "$out" | tail -5 >&2
        echo "the provider does not import in ${venv#"$ROOT/"} (Airflow $airflow)" >&2
        return 1
    }
    touch "$stamp-$want"
}

WOOXY_LEG="${WOOXY_LEG:-$(matrix_legs | head -1)}"
ensure_env "$WOOXY_LEG" "${WOOXY_ENV:-test}"
VENV="$(leg_venv "$WOOXY_LEG")"
export PATH="$VENV/bin:$PATH"
