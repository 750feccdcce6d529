"""The engine (``pipeline/``), the API's facts, the exceptions and the sandbox import without Airflow."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import airflow_provider_wooxy.pipeline

ROOT = Path(__file__).parents[1]
ENGINE = sorted(
    [
        "airflow_provider_wooxy.api",
        "airflow_provider_wooxy.exceptions",
        "airflow_provider_wooxy.masking",
        "airflow_provider_wooxy.sandbox",
    ]
    + [
        m.name
        for m in pkgutil.walk_packages(airflow_provider_wooxy.pipeline.__path__, "airflow_provider_wooxy.pipeline.")
    ]
)
BLOCKER = """
import importlib.abc, sys

class NoAirflow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "airflow" or name.startswith("airflow."):
            message = f"No module named {name!r} (blocked: this module must not need Airflow)"
            raise ModuleNotFoundError(message, name=name)
        return None

sys.meta_path.insert(0, NoAirflow())
import importlib
importlib.import_module(sys.argv[1])
assert not [m for m in sys.modules if m.split(".")[0] == "airflow"], "airflow was imported"
"""


def import_without_airflow(module: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCKER, module], capture_output=True, text=True, cwd=ROOT)


@pytest.mark.parametrize("module", [pytest.param(m, id=m.removeprefix("airflow_provider_wooxy.")) for m in ENGINE])
def test_imports_without_airflow(module: str):
    done = import_without_airflow(module)
    assert done.returncode == 0, done.stderr.strip().splitlines()[-1]


def test_the_blocker_catches_a_module_that_needs_airflow():
    done = import_without_airflow("airflow_provider_wooxy.hooks.wooxy")
    assert done.returncode != 0
    assert "blocked: this module must not need Airflow" in done.stderr


def test_exceptions_keep_airflows_retry_semantics_when_it_is_there():
    from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

    from airflow_provider_wooxy.exceptions import WooxyAuthError, WooxyInputError, WooxyTransientError

    assert issubclass(WooxyTransientError, AirflowException)
    assert not issubclass(WooxyTransientError, AirflowFailException)
    assert issubclass(WooxyAuthError, AirflowFailException)
    assert issubclass(WooxyInputError, AirflowFailException)


def test_exceptions_without_airflow_keep_the_same_split():
    code = BLOCKER.replace("importlib.import_module(sys.argv[1])\n", "") + (
        "from airflow_provider_wooxy.exceptions import WooxyAuthError, WooxyTransientError\n"
        "assert 'AirflowException' in [c.__name__ for c in WooxyTransientError.__mro__]\n"
        "assert 'AirflowFailException' in [c.__name__ for c in WooxyAuthError.__mro__]\n"
        "assert 'AirflowFailException' not in [c.__name__ for c in WooxyTransientError.__mro__]\n"
    )
    done = subprocess.run([sys.executable, "-c", code, "-"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
