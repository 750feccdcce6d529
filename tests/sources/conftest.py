"""Fixtures of the source tests: object storage in memory (from the operator tests) and the real services."""

from __future__ import annotations

from tests.operators.conftest import memory_storage

__all__ = ["memory_storage"]
