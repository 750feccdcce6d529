"""Fixtures of the source tests: object storage in memory (from the operator tests) and the real services."""

from __future__ import annotations

from tests.operators.conftest import memory_storage
from tests.sources.services import postgres, s3, s3_server, warehouse

__all__ = ["memory_storage", "postgres", "s3", "s3_server", "warehouse"]
