"""
The package's shape, as docs/architecture.md states it: small modules, short and simple functions, thin operators,
and a test module for every engine module. (The layers' import rules are checked by ``lint-imports`` in the test
command: pyproject.toml's ``[tool.importlinter]``.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

radon_complexity = pytest.importorskip("radon.complexity")

pytestmark = pytest.mark.once  # the code is the same on every leg

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "airflow_provider_wooxy"

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
MAX_COMPLEXITY = 15
MAX_EXECUTE_LINES = 40
DATA_FUNCTIONS = {"get_provider_info"}  # a literal dict: long, and no logic

# What is still over a limit, to be split. The test fails when an entry is no longer over it (remove the entry)
# and when anything else goes over: the list can only shrink.
KNOWN_OVER: set[str] = {
    "complex airflow_provider_wooxy/hooks/wooxy.py:_post_once",
    "complex airflow_provider_wooxy/hooks/wooxy.py:conn_params",
    "complex airflow_provider_wooxy/pipeline/push.py:_send",
    "complex airflow_provider_wooxy/sandbox/server.py:do_POST",
    "long airflow_provider_wooxy/hooks/wooxy.py:conn_params",
    "long airflow_provider_wooxy/pipeline/push.py:_send",
    "long airflow_provider_wooxy/pipeline/sync/plan.py:make_plan",
    "long airflow_provider_wooxy/pipeline/sync/run.py:_apply",
    "long airflow_provider_wooxy/sandbox/server.py:do_POST",
    "module airflow_provider_wooxy/hooks/wooxy.py",
    "module airflow_provider_wooxy/pipeline/export.py",
    "module airflow_provider_wooxy/pipeline/sync/state.py",
}
# Engine modules still without a test module of their own name (the same rule: the list can only shrink).
KNOWN_UNTESTED: set[str] = {
    "tests/pipeline/test_checkpoint.py",
    "tests/pipeline/test_door.py",
    "tests/pipeline/test_push.py",
    "tests/pipeline/test_rejects.py",
    "tests/pipeline/sync/test_apply.py",
    "tests/pipeline/sync/test_entries.py",
}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _over_limits() -> set[str]:
    over = set()
    for path in _modules():
        source = path.read_text(encoding="utf-8")
        if source.count("\n") > MAX_MODULE_LINES:
            over.add(f"module {_name(path)}")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name not in DATA_FUNCTIONS:
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    over.add(f"long {_name(path)}:{node.name}")
                if node.name == "execute" and lines > MAX_EXECUTE_LINES:
                    over.add(f"execute {_name(path)}:{node.lineno}")
        for block in radon_complexity.cc_visit(source):
            for function in [block, *getattr(block, "methods", [])]:
                if function.complexity > MAX_COMPLEXITY:
                    over.add(f"complex {_name(path)}:{function.name}")
    return over


def test_modules_and_functions_stay_small():
    over = _over_limits()
    assert over - KNOWN_OVER == set(), (
        f"over the limits (modules {MAX_MODULE_LINES} lines, functions {MAX_FUNCTION_LINES} lines or complexity "
        f"{MAX_COMPLEXITY}, execute {MAX_EXECUTE_LINES} lines): split them"
    )
    assert KNOWN_OVER - over == set(), "no longer over a limit: take these out of KNOWN_OVER"


def test_every_engine_module_has_a_test_module_of_its_name():
    engine = PACKAGE / "pipeline"
    missing = []
    for path in sorted(engine.rglob("*.py")):
        if path.name == "__init__.py":
            continue
        relative = path.relative_to(engine)
        expected = ROOT / "tests" / "pipeline" / relative.parent / f"test_{relative.name}"
        if not expected.is_file():
            missing.append(_name(expected))
    assert set(missing) - KNOWN_UNTESTED == set(), "engine modules without a test module of their own name"
    assert KNOWN_UNTESTED - set(missing) == set(), "these have a test module now: take them out of KNOWN_UNTESTED"
