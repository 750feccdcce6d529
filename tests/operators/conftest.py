"""Fixtures of the operator tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import fsspec
import pytest

from tests.airflow_compat import attach

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def memory_storage() -> Iterator[str]:
    """An object store that is not a local disk (fsspec's in-memory filesystem) attached as ``memory://``."""
    fs = fsspec.filesystem("memory")
    attach("memory", fs=fs)
    yield "memory://wooxy-test"
    if fs.exists("/wooxy-test"):
        fs.rm("/wooxy-test", recursive=True)
