#!/usr/bin/env bash
# Builds the documentation site (mkdocs.yml, docs/) into site/ with Zensical, in strict mode: a broken link, a
# missing API reference or a snippet whose example-DAG markers are gone fails the build. The docs tools (the
# "docs" extra of pyproject.toml) live in an environment of their own, .venvs/docs, installed with uv; they do not
# need Airflow (mkdocstrings reads the source without importing it).
# Usage: scripts/docs.sh            build into site/
#        scripts/docs.sh --serve    build, then serve a live preview on http://127.0.0.1:8000
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export UV_PYTHON_DOWNLOADS=never
VENV="$ROOT/.venvs/docs"
RESOLVED_AS_OF="${WOOXY_DOCS_RESOLVED_AS_OF:-2026-11-30}"

if [ -z "${UV:-}" ]; then
    if command -v uv > /dev/null 2>&1; then UV="$(command -v uv)"; else UV="$ROOT/.venvs/uv/bin/uv"; fi
fi
if [ ! -x "$UV" ]; then
    echo "==> installing uv from PyPI into .venvs/uv"
    "${PYTHON:-python3}" -m venv --without-pip "$ROOT/.venvs/uv"
    "${PYTHON:-python3}" -m pip --python "$ROOT/.venvs/uv/bin/python" install --quiet "uv>=0.5"
fi

# The docs extra, read from pyproject.toml (installing ".[docs]" would pull Airflow in too).
STAMP="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
    echo "==> installing the docs tools into .venvs/docs (uv)"
    [ -x "$VENV/bin/python" ] || "$UV" venv --quiet --python "${PYTHON:-python3}" "$VENV"
    mapfile -t REQUIREMENTS < <("${PYTHON:-python3}" - <<'PY'
import re, pathlib
text = pathlib.Path("pyproject.toml").read_text()
block = re.search(r"^docs = \[(.*?)^\]", text, re.M | re.S).group(1)
print("\n".join(re.findall(r'"([^"]+)"', block)))
PY
)
    "$UV" pip install --quiet --python "$VENV/bin/python" --exclude-newer "$RESOLVED_AS_OF" "${REQUIREMENTS[@]}"
    rm -f "$VENV"/.installed-*
    touch "$STAMP"
fi

echo "==> docs: strict build of the site (scripts/docs.sh)"
# The performance chart and table are drawn from the benchmark's JSON (docs/performance/results.json).
"$VENV/bin/python" scripts/docs_chart.py

if [ "${1:-}" = "--serve" ]; then
    exec "$VENV/bin/zensical" serve --strict
fi
rm -rf site
"$VENV/bin/zensical" build --strict --clean
echo "==> site built into site/ ($(find site -name '*.html' | wc -l) pages)"
