"""The stores' primitives under the lease: create only if absent, replace only at the version read."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from upath import UPath

from airflow_provider_wooxy.pipeline.sync.lease_stores import Backend, Conflict, LocalBackend, MemoryBackend, S3Backend
from tests.sources.services import BUCKET, S3, s3, s3_server  # noqa: F401 (fixtures)


@pytest.fixture(params=["local", "memory", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        return LocalBackend(tmp_path / "s.state.lease")
    if request.param == "memory":
        return MemoryBackend(UPath(f"memory://stores-{uuid.uuid4().hex}/s.state.lease"))
    server: S3 = request.getfixturevalue("s3")
    location: Any = UPath(
        f"s3://{BUCKET}/stores/{uuid.uuid4().hex}/s.state.lease",
        key="testing",
        secret="testing",
        client_kwargs={"endpoint_url": server.endpoint, "region_name": "us-east-1"},
    )
    return S3Backend(location)


def test_create_only_if_absent(backend: Backend):
    assert backend.read() == (None, None)
    version = backend.create(b"one")
    assert backend.read() == (b"one", version)
    with pytest.raises(Conflict):
        backend.create(b"two")
    assert backend.read()[0] == b"one"


def test_replace_only_at_the_version_read(backend: Backend):
    first = backend.create(b"one")
    second = backend.replace(b"two", first)
    assert second != first and backend.read() == (b"two", second)
    with pytest.raises(Conflict):
        backend.replace(b"three", first)  # stale: someone replaced it since
    assert backend.read()[0] == b"two"


def test_the_local_lock_is_reentrant_in_its_thread(tmp_path: Path):
    backend = LocalBackend(tmp_path / "s.state.lease")
    version = backend.create(b"one")
    with backend.exclusive(), backend.exclusive():
        backend.replace(b"two", version)  # would deadlock if the lock were taken again
    assert backend.read()[0] == b"two"
