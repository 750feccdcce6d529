"""
The stores' atomic primitives a sync's lease (:mod:`.lease`) is built on: read the lease record with its version,
create it only if absent, replace it only if still at a version (compare-and-swap).

* :class:`LocalBackend`: every change under an exclusive OS lock (``flock``) on ``<lease>.lock``, the record written
  to a temporary file and renamed; the lock is re-entrant in the thread that holds it.
* :class:`S3Backend`: a create-only PUT (``If-None-Match: *``) and a PUT with ``If-Match: <ETag>``, through s3fs.
* :class:`MemoryBackend`: fsspec's ``memory://`` store (one process; tests): a lock in this process.

Plain Python: no Airflow import.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

ATTEMPTS = 5
"""Reads of an S3 record before its ETag and its bytes are of one version."""


class Conflict(Exception):
    """The record is not in the version the change expected (or exists, for a create)."""


class Backend:
    """Reads the record with its version; creates it if absent; replaces it if still at a version."""

    locks_out_takeovers = True
    """Whether :meth:`exclusive` keeps other runs from changing the record while it is held (else a no-op)."""

    def __init__(self, location: Any) -> None:
        self.location = location

    def read(self) -> tuple[bytes | None, str | None]:
        raise NotImplementedError

    def create(self, data: bytes) -> str:
        raise NotImplementedError

    def replace(self, data: bytes, version: str) -> str:
        raise NotImplementedError

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Held around a change, and around a fenced block where the store allows (local: the OS lock)."""
        yield


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalBackend(Backend):
    location: Path

    def __init__(self, location: Any) -> None:
        super().__init__(location)
        self._depth = threading.local()  # a thread holding the lock takes it again (a fenced block's renewal)

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        depth = getattr(self._depth, "n", 0)
        if depth:
            self._depth.n = depth + 1
            try:
                yield
            finally:
                self._depth.n = depth
            return
        with self._locked():
            self._depth.n = 1
            try:
                yield
            finally:
                self._depth.n = 0

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        import fcntl

        self.location.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{self.location}.lock", "a+b") as lock:  # the lock file stays: it holds no data
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def read(self) -> tuple[bytes | None, str | None]:
        try:
            data = self.location.read_bytes()
        except FileNotFoundError:
            return None, None
        return data, _digest(data)

    def _write(self, data: bytes) -> str:
        temporary = self.location.with_name(f".{self.location.name}.{uuid.uuid4().hex[:8]}.tmp")
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.location)
        return _digest(data)

    def create(self, data: bytes) -> str:
        with self.exclusive():
            if self.location.exists():
                raise Conflict
            return self._write(data)

    def replace(self, data: bytes, version: str) -> str:
        with self.exclusive():
            if self.read()[1] != version:
                raise Conflict
            return self._write(data)


class S3Backend(Backend):
    locks_out_takeovers = False

    def __init__(self, location: Any) -> None:
        super().__init__(location)
        self.fs, self.key = location.fs, location.path

    def read(self) -> tuple[bytes | None, str | None]:
        for _ in range(ATTEMPTS):  # the ETag and the bytes of one version (each write holds a new token)
            self.fs.invalidate_cache(self.key)
            try:
                before = self.fs.info(self.key)["ETag"]
                data = self.fs.cat_file(self.key)
                self.fs.invalidate_cache(self.key)
                if self.fs.info(self.key)["ETag"] == before:
                    return data, before
            except FileNotFoundError:
                return None, None
        raise Conflict

    def _put(self, data: bytes, **condition: Any) -> str:
        try:
            answer = self.fs.pipe_file(self.key, data, **condition)
        except FileExistsError:
            raise Conflict from None
        except OSError as exc:
            if "pre-condition" in str(exc) or "ConditionalRequestConflict" in str(exc):  # S3's 412, or 409
                raise Conflict from None
            raise
        finally:
            self.fs.invalidate_cache(self.key)
        etag = answer.get("ETag") if isinstance(answer, dict) else None
        return str(etag) if etag else str(self.fs.info(self.key)["ETag"])

    def create(self, data: bytes) -> str:
        return self._put(data, mode="create")

    def replace(self, data: bytes, version: str) -> str:
        return self._put(data, IfMatch=version)


_MEMORY_LOCK = threading.Lock()


class MemoryBackend(LocalBackend):
    """fsspec's ``memory://`` store: one process, so a lock in it is enough."""

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with _MEMORY_LOCK:
            yield

    def read(self) -> tuple[bytes | None, str | None]:
        if not self.location.exists():
            return None, None
        data = self.location.read_bytes()
        return data, _digest(data)

    def _write(self, data: bytes) -> str:
        self.location.write_bytes(data)
        return _digest(data)
