"""
The state of a sync: the entries the provider manages on one Wooxy list, kept so that it can tell later what it
added (and may remove) from what others put there (which it never touches).

Layout, next to each other:

* the **snapshot**, ``state_path``: a JSON header line (format, version, list, the connection's base URL, a
  generation id, the entry count, the last plan applied), then one entry per line (``address<TAB>reject type``
  for emails, an E.164 number for phones). It is only ever replaced whole: written to a temporary file, flushed to
  disk, then renamed over the old one, so a kill at any moment leaves the old or the new snapshot, never a mix.
* the **journal**, ``state_path + ".journal"``: while a run sends, every request Wooxy accepts is appended at
  once (``+`` and the add's JSON record, ``-`` and the remove's), flushed to the operating system before the next
  request is counted done. Loading replays it over the snapshot of the same generation; a partial last line (the
  process died mid-write) is ignored, which at worst re-sends one idempotent request. A run that finishes writes a
  new snapshot (new generation) and deletes the journal; a journal of an older generation is stale and ignored.

On object storage (``s3://`` ...) there is no rename and no append. The snapshot is written as one object (a PUT
replaces an object atomically), and the journal is a series of small objects
``<state>.journal.<generation>.<sequence>``, one per flush (every few seconds while sending, and when a run stops
or fails). A worker killed outright there can lose the last few seconds of journal: the retry then re-sends those
requests, which Wooxy ignores (adds and removes are idempotent), so the state still converges.

A file that is not a state, is damaged, or was written for another list or another connection's base URL raises
:class:`StateError`: it is never taken for an empty state (which would make every entry look new and, worse, make
the provider forget what it may remove).

Plain Python: no Airflow import. Local paths are :class:`pathlib.Path`; other locations are any path object with
``open`` / ``exists`` / ``unlink`` / ``parent`` / ``iterdir`` / ``name`` (Airflow's ``ObjectStoragePath``).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from airflow_provider_wooxy.pipeline.sync.entries import ListKind

FORMAT = "airflow-provider-wooxy/sync-state"
VERSION = 1
DIGEST_MOD = 1 << 256


_NEVER_EMPTY = (
    "It is never taken for an empty state: restore it from a backup, or point state_path at a new path to start "
    "over (the provider then manages nothing it added before)."
)


class StateError(Exception):
    """The state cannot be used (corrupt, foreign, or of another list or connection); the message says why."""


def item_digest(data: bytes) -> int:
    """The 256-bit digest of one entry or request body; sets are digested as the sum of their items' digests."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=32).digest(), "big")


class SyncState:
    """
    The managed entries of one list, loaded from the snapshot and its journal, and kept up to date as requests
    are accepted. Use :func:`open_state`, which picks the storage strategy for the location:
    :class:`LocalState` or :class:`ObjectStorageState`.

    :param location: the snapshot's location.
    :param kind: the list (:data:`~airflow_provider_wooxy.pipeline.sync.entries.EMAIL` or ``PHONE``).
    :param base_url: the Wooxy connection's base URL; a state written for another one is refused.
    :param display: how to name the state in messages (the ``state_path`` as the user wrote it).
    :param flush_interval: seconds between journal writes on object storage (local journals flush every request).
    """

    def __init__(
        self,
        location: Any,
        kind: ListKind,
        base_url: str,
        *,
        display: str | None = None,
        flush_interval: float = 5.0,
    ) -> None:
        self.location = location
        self.kind = kind
        self.base_url = base_url
        self.display = display or str(location)
        self.flush_interval = flush_interval
        self.entries: dict[str, str] = {}
        """identity -> state line, for every managed entry."""
        self.exists = False
        self.snapshot_entries = 0
        """Entries in the snapshot, before its journal."""
        self.generation: str | None = None
        self.last_plan_id: str | None = None
        self.snapshot_digest = 0
        self.journal_add_digest = 0
        self.journal_remove_digest = 0
        self.journal_ops = 0
        self._lock = threading.Lock()

    @property
    def managed(self) -> int:
        """How many entries are managed now (snapshot, journal and the requests recorded since loading)."""
        return len(self.entries)

    def iter_lines(self) -> Iterator[str]:
        """Every managed entry's state line (a drift check reads them without reaching into :attr:`entries`)."""
        return iter(self.entries.values())

    # -- the storage strategy (one subclass each) ------------------------------------------------------------

    def _journal_parts(self, generation: str | None = None) -> list[Any]:
        """The journal's files or objects of ``generation`` (any generation when None), in replay order."""
        raise NotImplementedError

    def _journal_lines(self, part: Any, data: bytes) -> tuple[list[bytes], int] | None:
        """The complete journal lines of one part and the file line number of the first; None if stale."""
        raise NotImplementedError

    def _append(self, lines: list[bytes]) -> None:
        """Put accepted requests into the journal (called under the lock)."""
        raise NotImplementedError

    def _close_journal(self) -> None:
        """Put what is pending into the journal and release it (called under the lock)."""
        raise NotImplementedError

    def _put_snapshot(self, header: dict[str, Any], entries: list[str]) -> int:
        """Replace the snapshot whole; return its digest."""
        raise NotImplementedError

    # -- loading ---------------------------------------------------------------------------------------------

    def load(self) -> SyncState:
        """Read the snapshot and replay its journal; a missing snapshot is a first run (no managed entries)."""
        if not self.location.exists():
            if self._journal_parts():
                raise StateError(
                    f"{self.display} is missing but its journal is there: the state was deleted or moved "
                    "halfway. Restore it, or remove the journal too to start over (the provider then manages "
                    "nothing and removes nothing it added before)."
                )
            return self
        self.exists = True
        with self.location.open("rb") as handle:
            header = self._read_header(handle.readline())
            count = 0
            entries = self.entries
            identity, check = self.kind.identity, self.kind.check_line
            digest = 0
            # readline, not iteration: Airflow 3.0's object storage file wrapper is not iterable.
            for count, raw in enumerate(iter(handle.readline, b""), start=1):
                line = raw.rstrip(b"\n").decode("utf-8", "replace")
                if not raw.endswith(b"\n") or not check(line):
                    raise StateError(
                        f"{self.display} is corrupt: line {count + 1} is not {self._an_entry()}. {_NEVER_EMPTY}"
                    )
                ident = identity(line)
                entries[ident if ident != line else line] = line
                digest += item_digest(raw)
        if count != header["entries"] or len(entries) != count:
            raise StateError(
                f"{self.display} is corrupt: its header says {header['entries']} entries but it holds {count} "
                f"({len(entries)} distinct). {_NEVER_EMPTY}"
            )
        self.snapshot_digest = digest % DIGEST_MOD
        self.snapshot_entries = count
        self._replay()
        return self

    def _an_entry(self) -> str:
        return "an email entry (address, tab, reject type)" if self.kind.name == "email" else "an E.164 number"

    def _read_header(self, first: bytes) -> dict[str, Any]:
        try:
            header = json.loads(first)
        except ValueError:
            header = None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            what = "is empty" if not first else "does not start with a sync state header"
            raise StateError(f"{self.display} {what}: it is not a Wooxy sync state (or it is damaged). {_NEVER_EMPTY}")
        if header.get("version") != VERSION:
            raise StateError(
                f"{self.display} has sync state format version {header.get('version')!r}; this provider reads "
                f"version {VERSION}. Upgrade the provider."
            )
        if header.get("list") != self.kind.name:
            raise StateError(
                f"{self.display} is the state of a {header.get('list')} list sync, not of the {self.kind.name} list: "
                "each list needs its own state_path."
            )
        if header.get("base_url") != self.base_url:
            raise StateError(
                f"{self.display} belongs to the Wooxy connection at {header.get('base_url')}, but this task's "
                f"connection is {self.base_url}: each account needs its own state_path (the entries in it were "
                "added to the other account)."
            )
        if not isinstance(header.get("entries"), int) or not isinstance(header.get("generation"), str):
            raise StateError(f"{self.display} has a damaged header (no entry count or generation). {_NEVER_EMPTY}")
        self.generation = header["generation"]
        self.last_plan_id = header.get("last_plan_id")
        return header

    # -- the journal -----------------------------------------------------------------------------------------

    def _replay(self) -> None:
        for part in self._journal_parts(self.generation):
            with part.open("rb") as handle:
                data = handle.read()
            found = self._journal_lines(part, data)
            if found is None:
                continue
            lines, first = found
            for number, line in enumerate(lines, start=first):
                self._apply_journal_line(line, part, number)

    def _apply_journal_line(self, line: bytes, part: Any, number: int) -> None:
        sign, payload = line[:1], line[1:]
        try:
            entry = self.kind.line_of_payload(payload)
        except (ValueError, KeyError, TypeError):
            entry = None
        if sign not in (b"+", b"-") or entry is None:
            raise StateError(
                f"the journal {part} of {self.display} is corrupt at line {number}: restore it, or delete it and "
                "run again (requests it recorded are re-sent or forgotten)."
            )
        ident = self.kind.identity(entry)
        if sign == b"+":
            self.entries[ident if ident != entry else entry] = entry
            self.journal_add_digest = (self.journal_add_digest + item_digest(payload)) % DIGEST_MOD
        else:
            self.entries.pop(ident, None)
            self.journal_remove_digest = (self.journal_remove_digest + item_digest(payload)) % DIGEST_MOD
        self.journal_ops += 1

    # -- while sending ---------------------------------------------------------------------------------------

    def begin(self) -> None:
        """Before the first request: make sure a snapshot exists for the journal to refer to."""
        if not self.exists:
            self._write_snapshot(self.entries.values())
            self.exists = True

    def record(self, sign: bytes, payloads: Iterable[bytes]) -> None:
        """Record requests Wooxy accepted (``b"+"`` adds, ``b"-"`` removes); thread-safe."""
        lines = [sign + payload + b"\n" for payload in payloads]
        line_of, identity = self.kind.line_of_payload, self.kind.identity
        with self._lock:
            self._append(lines)
            for line in lines:
                entry = line_of(line[1:-1])
                ident = identity(entry)
                if sign == b"+":
                    self.entries[ident if ident != entry else entry] = entry
                else:
                    self.entries.pop(ident, None)

    def close(self) -> None:
        """After a failure (or before a commit): put what is pending into the journal."""
        with self._lock:
            self._close_journal()

    def commit(self, plan_id: str | None) -> None:
        """After a complete run: a new snapshot with every entry as it is now, and the journal deleted."""
        self.close()
        old = self._journal_parts(self.generation)
        self.last_plan_id = plan_id
        self._write_snapshot(self.entries.values())
        for part in old:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
        self.journal_ops = 0
        self.journal_add_digest = self.journal_remove_digest = 0

    # -- the snapshot ----------------------------------------------------------------------------------------

    def _write_snapshot(self, lines: Iterable[str]) -> None:
        entries = list(lines)
        self.generation = uuid.uuid4().hex
        header = {
            "format": FORMAT,
            "version": VERSION,
            "list": self.kind.name,
            "base_url": self.base_url,
            "generation": self.generation,
            "entries": len(entries),
            "last_plan_id": self.last_plan_id,
            "updated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        self.snapshot_digest = self._put_snapshot(header, entries)


class LocalState(SyncState):
    """
    A state in a local file: the snapshot is replaced by an atomic rename, the journal is one append-only file
    ``<state>.journal`` (a generation header line, then one line per accepted request, flushed at once).
    """

    def __init__(self, location: Path, kind: ListKind, base_url: str, **kwargs: Any) -> None:
        super().__init__(location, kind, base_url, **kwargs)
        self._journal: IO[bytes] | None = None

    @property
    def _journal_path(self) -> Path:
        path: Path = self.location.parent / f"{self.location.name}.journal"
        return path

    def _journal_parts(self, generation: str | None = None) -> list[Any]:
        # One file for every generation: its header says which one, and a stale one is overwritten.
        path = self._journal_path
        return [path] if path.exists() else []

    def _journal_lines(self, part: Any, data: bytes) -> tuple[list[bytes], int] | None:
        lines = data.split(b"\n")
        # The last piece has no newline: empty after a complete write, a partial line after a kill mid-write.
        lines.pop()
        if not lines:
            return None
        try:
            generation = json.loads(lines[0]).get("generation")
        except (ValueError, AttributeError):
            generation = None
        if generation != self.generation:
            return None  # written for an older snapshot, which the current one already includes
        return lines[1:], 2  # file lines: the header is line 1

    def _append(self, lines: list[bytes]) -> None:
        if self._journal is None:
            self._journal = self._open_journal()
        self._journal.write(b"".join(lines))
        self._journal.flush()  # in the OS's hands now: a killed process cannot lose it

    def _open_journal(self) -> IO[bytes]:
        path = self._journal_path
        current = False
        if path.exists():
            with path.open("rb") as handle, contextlib.suppress(ValueError, AttributeError):
                current = json.loads(handle.readline()).get("generation") == self.generation
        if not current:
            path.write_bytes(json.dumps({"generation": self.generation}).encode() + b"\n")
        _drop_partial_line(path)  # a kill mid-write left half a record, which replay ignored: cut it off
        return path.open("ab")

    def _close_journal(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def _put_snapshot(self, header: dict[str, Any], entries: list[str]) -> int:
        path: Path = self.location
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with temporary.open("wb") as handle:
            digest = _write_lines(handle, header, entries)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        _fsync_directory(path.parent)
        return digest


class ObjectStorageState(SyncState):
    """
    A state on object storage (``s3://`` ...), which has no rename and no append: the snapshot is one object
    (a PUT replaces it atomically), the journal a series of objects ``<state>.journal.<generation>.<sequence>``,
    one per flush (every ``flush_interval`` seconds while sending, and when a run stops or fails).
    """

    def __init__(self, location: Any, kind: ListKind, base_url: str, **kwargs: Any) -> None:
        super().__init__(location, kind, base_url, **kwargs)
        self._pending: list[bytes] = []
        self._part = 0
        self._last_flush = 0.0

    def _part_prefix(self, generation: str | None = None) -> str:
        return f"{self.location.name}.journal.{generation or ''}"

    def _journal_parts(self, generation: str | None = None) -> list[Any]:
        prefix = self._part_prefix(generation)
        try:
            siblings = list(self.location.parent.iterdir())
        except (FileNotFoundError, NotADirectoryError):  # no such "directory" (prefix) yet
            return []
        return sorted((p for p in siblings if p.name.startswith(prefix)), key=_part_number)

    def _journal_lines(self, part: Any, data: bytes) -> tuple[list[bytes], int] | None:
        self._part = max(self._part, _part_number(part))  # a retry's parts continue the sequence
        lines = data.split(b"\n")
        lines.pop()  # a part is written whole: the last piece is empty
        return lines, 1

    def _append(self, lines: list[bytes]) -> None:
        self._pending.extend(lines)
        if time.monotonic() - self._last_flush >= self.flush_interval:
            self._flush_part()

    def _flush_part(self) -> None:
        if not self._pending:
            return
        self._part += 1
        # Replay order is the sequence number, which a retry continues from the parts it loaded.
        name = f"{self._part_prefix(self.generation)}.{self._part:08d}.{uuid.uuid4().hex[:8]}"
        with (self.location.parent / name).open("wb") as handle:
            handle.write(b"".join(self._pending))
        self._pending.clear()
        self._last_flush = time.monotonic()

    def _close_journal(self) -> None:
        self._flush_part()

    def _put_snapshot(self, header: dict[str, Any], entries: list[str]) -> int:
        with contextlib.suppress(Exception):  # object stores have no directories to create
            self.location.parent.mkdir(parents=True, exist_ok=True)
        with self.location.open("wb") as handle:
            return _write_lines(handle, header, entries)


def open_state(location: Any, kind: ListKind, base_url: str, **kwargs: Any) -> SyncState:
    """
    The state at ``location``, not loaded yet: a :class:`LocalState` for a :class:`pathlib.Path`, an
    :class:`ObjectStorageState` for any other path object. Takes :class:`SyncState`'s keyword arguments.
    """
    # An object storage path is never local, even where it subclasses pathlib.Path (universal-pathlib < 0.3).
    if isinstance(location, Path) and not hasattr(location, "fs"):
        return LocalState(location, kind, base_url, **kwargs)
    return ObjectStorageState(location, kind, base_url, **kwargs)


def _write_lines(handle: IO[bytes], header: dict[str, Any], entries: list[str]) -> int:
    handle.write(json.dumps(header).encode() + b"\n")
    digest = 0
    chunk: list[bytes] = []
    for entry in entries:
        raw = entry.encode() + b"\n"
        digest += item_digest(raw)
        chunk.append(raw)
        if len(chunk) >= 10_000:
            handle.write(b"".join(chunk))
            chunk.clear()
    handle.write(b"".join(chunk))
    return digest % DIGEST_MOD


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
