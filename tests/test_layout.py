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
    assert over == set(), (
        f"over the limits (modules {MAX_MODULE_LINES} lines, functions {MAX_FUNCTION_LINES} lines or complexity "
        f"{MAX_COMPLEXITY}, execute {MAX_EXECUTE_LINES} lines): split them"
    )


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
    assert missing == [], "engine modules without a test module of their own name"
