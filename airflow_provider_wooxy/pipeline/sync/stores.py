"""
Where a sync state lives: the snapshot's and the journal's storage, one class per strategy.

* :class:`LocalStore`, a local file: the snapshot is written to a temporary file, flushed to disk, then renamed over
  the old one, so a kill at any moment leaves the old or the new snapshot, never a mix. The journal is one
  append-only file ``<state>.journal`` (a generation header line, then one line per accepted request), flushed to the
  operating system before the next request is counted done.
* :class:`ObjectStorageStore`, object storage (``s3://`` ...), which has no rename and no append: the snapshot is one
  object (a PUT replaces an object atomically), and the journal a series of small objects
  ``<state>.journal.<generation>.<sequence>``, one per flush (every ``flush_interval`` seconds while sending, and
  when a run stops or fails). A worker killed outright there can lose the last few seconds of journal: the retry
  then re-sends those requests, which Wooxy ignores (adds and removes are idempotent), so the state still converges.

:func:`store_for` picks one for a location. Plain Python: no Airflow import. Local paths are :class:`pathlib.Path`;
other locations are any path object with ``open`` / ``exists`` / ``unlink`` / ``parent`` / ``iterdir`` / ``name``
(Airflow's ``ObjectStoragePath``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


class Store:
    """
    The storage strategy of a state at ``location``: the snapshot's replacement, and the journal's parts. The journal
    is written for one generation of the snapshot; a part of another generation is stale.
    """

    def __init__(self, location: Any) -> None:
        self.location = location
        self.before_flush: Callable[[], None] | None = None
        """Called before each journal part is written (object storage): the changelog's spool goes first."""

    def journal_parts(self, generation: str | None = None) -> list[Any]:
        """The journal's files or objects of ``generation`` (any generation when None), in replay order."""
        raise NotImplementedError

    def journal_lines(
        self, part: Any, lines: Iterator[bytes], generation: str | None
    ) -> tuple[Iterator[bytes], int] | None:
        """The journal lines of one part and the file line number of the first; None if the part is stale."""
        raise NotImplementedError

    def append(self, lines: list[bytes], generation: str | None) -> None:
        """Put accepted requests into the journal of ``generation`` (the caller holds its lock)."""
        raise NotImplementedError

    def close_journal(self) -> None:
        """Put what is pending into the journal and release it (the caller holds its lock)."""
        raise NotImplementedError

    def flush(self) -> None:
        """Put what is pending into the journal now (the caller holds its lock): a run's intent, before sending."""
        raise NotImplementedError

    def put_snapshot(self, header: dict[str, Any], body: IO[bytes]) -> None:
        """Replace the snapshot whole: the header line, then ``body`` (the entry lines)."""
        self.put(self.location, header, body)

    def put(self, location: Any, header: dict[str, Any], body: IO[bytes]) -> None:
        """Replace the file at ``location`` (the snapshot, or one beside it) whole: the header line, then ``body``."""
        raise NotImplementedError


class LocalStore(Store):
    """A local file: atomic rename, and one append-only journal file ``<state>.journal`` flushed at each request."""

    def __init__(self, location: Path) -> None:
        super().__init__(location)
        self._journal: IO[bytes] | None = None

    @property
    def _journal_path(self) -> Path:
        path: Path = self.location.parent / f"{self.location.name}.journal"
        return path

    def journal_parts(self, generation: str | None = None) -> list[Any]:
        # One file for every generation: its header says which one, and a stale one is overwritten.
        path = self._journal_path
        return [path] if path.exists() else []

    def journal_lines(
        self, part: Any, lines: Iterator[bytes], generation: str | None
    ) -> tuple[Iterator[bytes], int] | None:
        first = next(lines, b"")
        if not first.endswith(b"\n"):
            return None
        try:
            written_for = json.loads(first).get("generation")
        except (ValueError, AttributeError):
            written_for = None
        if written_for != generation:
            return None  # written for an older snapshot, which the current one already includes
        return lines, 2  # file lines: the header is line 1

    def append(self, lines: list[bytes], generation: str | None) -> None:
        if self._journal is None:
            self._journal = self._open_journal(generation)
        self._journal.write(b"".join(lines))
        self._journal.flush()  # in the OS's hands now: a killed process cannot lose it

    def flush(self) -> None:
        pass  # every append is flushed already

    def _open_journal(self, generation: str | None) -> IO[bytes]:
        path = self._journal_path
        current = False
        if path.exists():
            with path.open("rb") as handle, contextlib.suppress(ValueError, AttributeError):
                current = json.loads(handle.readline()).get("generation") == generation
        if not current:
            path.write_bytes(json.dumps({"generation": generation}).encode() + b"\n")
        _drop_partial_line(path)  # a kill mid-write left half a record, which replay ignored: cut it off
        return path.open("ab")

    def close_journal(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def put(self, location: Any, header: dict[str, Any], body: IO[bytes]) -> None:
        path: Path = location
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with temporary.open("wb") as handle:
            handle.write(json.dumps(header).encode() + b"\n")
            shutil.copyfileobj(body, handle, 1 << 20)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        _fsync_directory(path.parent)


class ObjectStorageStore(Store):
    """
    Object storage: the snapshot is one object, the journal a series of objects
    ``<state>.journal.<generation>.<sequence>``, one per flush (every ``flush_interval`` seconds while sending).
    """

    def __init__(self, location: Any, flush_interval: float) -> None:
        super().__init__(location)
        self.flush_interval = flush_interval
        self._pending: list[bytes] = []
        self._part = 0
        self._generation: str | None = None
        self._last_flush = 0.0

    def _part_prefix(self, generation: str | None = None) -> str:
        return f"{self.location.name}.journal.{generation or ''}"

    def journal_parts(self, generation: str | None = None) -> list[Any]:
        prefix = self._part_prefix(generation)
        try:
            siblings = list(self.location.parent.iterdir())
        except (FileNotFoundError, NotADirectoryError):  # no such "directory" (prefix) yet
            return []
        return sorted((p for p in siblings if p.name.startswith(prefix)), key=_part_number)

    def journal_lines(
        self, part: Any, lines: Iterator[bytes], generation: str | None
    ) -> tuple[Iterator[bytes], int] | None:
        self._part = max(self._part, _part_number(part))  # a retry's parts continue the sequence
        return lines, 1

    def append(self, lines: list[bytes], generation: str | None) -> None:
        self._pending.extend(lines)
        self._generation = generation
        if time.monotonic() - self._last_flush >= self.flush_interval:
            self._flush_part()

    def _flush_part(self) -> None:
        if not self._pending:
            return
        if self.before_flush is not None:
            self.before_flush()
        self._part += 1
        # Replay order is the sequence number, which a retry continues from the parts it loaded.
        name = f"{self._part_prefix(self._generation)}.{self._part:08d}.{uuid.uuid4().hex[:8]}"
        with (self.location.parent / name).open("wb") as handle:
            handle.write(b"".join(self._pending))
        self._pending.clear()
        self._last_flush = time.monotonic()

    def flush(self) -> None:
        self._flush_part()

    def close_journal(self) -> None:
        self._flush_part()

    def put(self, location: Any, header: dict[str, Any], body: IO[bytes]) -> None:
        with contextlib.suppress(Exception):  # object stores have no directories to create
            location.parent.mkdir(parents=True, exist_ok=True)
        with location.open("wb") as handle:
            handle.write(json.dumps(header).encode() + b"\n")
            shutil.copyfileobj(body, handle, 1 << 20)


def store_for(location: Any, flush_interval: float) -> Store:
    """
    The store of ``location``: a :class:`LocalStore` for a :class:`pathlib.Path`, an :class:`ObjectStorageStore`
    (flushing its journal every ``flush_interval`` seconds) for any other path object.
    """
    # An object storage path is never local, even where it subclasses pathlib.Path (universal-pathlib < 0.3).
    if isinstance(location, Path) and not hasattr(location, "fs"):
        return LocalStore(location)
    return ObjectStorageStore(location, flush_interval)


def _part_number(part: Any) -> int:
    """The sequence number of a journal object ``<state>.journal.<generation>.<number>.<random>``."""
    try:
        return int(part.name.rsplit(".", 2)[-2])
    except (ValueError, IndexError):
        return 0


def _drop_partial_line(path: Path) -> None:
    with path.open("r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        tail_start = max(0, size - 8192)  # a journal line is at most ~1.2 kB (an add with a 1024-byte rawLog)
        handle.seek(tail_start)
        tail = handle.read()
        if tail and not tail.endswith(b"\n"):
            handle.truncate(tail_start + tail.rfind(b"\n") + 1)


def _fsync_directory(directory: Path) -> None:
    # The rename itself must reach the disk, or a power cut could bring the old name back.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
