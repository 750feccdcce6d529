"""
The state of a sync: the entries the provider manages on one Wooxy list, kept so that it can tell later what it
added (and may remove) from what others put there (which it never touches).

Layout, next to each other:

* the **snapshot**, ``state_path``: a JSON header line (format, version, list, the connection's base URL, a
  generation id, the entry count, the last plan applied, the digest of the entries, a checksum of the bytes
  after the header, and each partition's group of lines), then one entry per line (``address<TAB>reject type``
  for emails, an E.164 number for phones), grouped by partition. It is only ever replaced whole: written to a
  temporary file, flushed to disk, then renamed over the old one, so a kill at any moment leaves the old or the
  new snapshot, never a mix.
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

Each strategy is a class: :class:`LocalState` and :class:`ObjectStorageState`; :func:`open_state` picks one.

While a run holds a state, its entries are not in memory: loading puts the snapshot's lines, and the journal's
records, into partitions (:func:`partitions_for`, :func:`partition_of`: the CRC-32 of their address), in scratch
files held in memory up to ``SPOOL_BYTES`` and then on local disk (the snapshot's size again).
:meth:`SyncState.partition` reads one back, the plan and the first pass spread the input over the same partitions,
and a commit writes the new snapshot from them, so a sync's memory is flat in the state's size. The snapshot's
lines are grouped by partition, each group's bytes and CRC-32 in the header (``partitions``), so that a load
copies each group into its partition as it is; a snapshot without them (an older release's), or whose groups are
not as the header says, has its lines spread one by one.

A file that is not a state, is damaged, or was written for another list or another connection's base URL raises
:class:`StateError`: it is never taken for an empty state (which would make every entry look new and, worse, make
the provider forget what it may remove).

Plain Python: no Airflow import. Local paths are :class:`pathlib.Path`; other locations are any path object with
``open`` / ``exists`` / ``unlink`` / ``parent`` / ``iterdir`` / ``name`` (Airflow's ``ObjectStoragePath``).
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import itertools
import json
import operator
import os
import shutil
import tempfile
import threading
import time
import uuid
import zlib
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from airflow_provider_wooxy.pipeline.sync.entries import ListKind

FORMAT = "airflow-provider-wooxy/sync-state"
VERSION = 1
DIGEST_MOD = 1 << 256
PARTITION_SIZE = 8_000
"""Managed entries a partition holds on average at most (4,000 to 8,000), up to ``MAX_PARTITIONS`` partitions (then
more each): what a sync diffs in memory at once (a partition's look-ups stay in cache). See :func:`partitions_for`."""
MAX_PARTITIONS = 128
"""Partitions at most, a power of two (each then holds more than ``PARTITION_SIZE``): the state, the first pass and
the plan each keep a scratch file open per partition, about 400 files at most."""
_GROUPED_BY = "crc32"
"""How the snapshot's groups were made (its header's ``partitions.by``): :func:`partition_of` the address in
:meth:`~.entries.ListKind.addresses`' form. Change it with either: a snapshot grouped otherwise must be spread line
by line, or its entries would sit in the wrong partitions (and a sync would remove and re-add them)."""
SPOOL_BYTES = 32 << 20
"""Bytes of scratch held in memory while a run holds the state, then on disk: for the snapshot's partitions, and as
much again for the first pass's (pipeline/sync/first_pass.py)."""
_CHECKSUM = "crc32:"
"""The header's checksum: CRC-32 of the bytes after the header (it tells damage and edits, at memory speed)."""
_BLOCK = 1 << 20
"""Bytes of the snapshot read at once (its lines, in several forms, take about ten times that in memory)."""
_BLAKE2B = functools.partial(hashlib.blake2b, digest_size=32)
_DIGEST = operator.methodcaller("digest")
_FROM_BYTES = functools.partial(int.from_bytes, byteorder="big")
_T = TypeVar("_T")


_NEVER_EMPTY = (
    "It is never taken for an empty state: restore it from a backup, or point state_path at a new path to start "
    "over (the provider then manages nothing it added before)."
)


class StateError(Exception):
    """The state cannot be used (corrupt, foreign, or of another list or connection); the message says why."""


def partitions_for(entries: int) -> int:
    """
    The partitions for a state of ``entries``: the smallest power of two that holds at most ``PARTITION_SIZE`` each
    on average, and at most ``MAX_PARTITIONS``. A power of two, so that a list's usual growth and shrinking leave
    the count as it was, and a snapshot's groups (written by the last run) can be read as they are.
    """
    needed = max(1, -(-entries // PARTITION_SIZE))
    return min(MAX_PARTITIONS, 1 << (needed - 1).bit_length())


def partition_of(address: str, partitions: int) -> int:
    """The partition of an entry's address: the CRC-32 of its UTF-8 form modulo ``partitions`` (a power of two)."""
    return zlib.crc32(address.encode("utf-8", "surrogatepass")) & (partitions - 1)


def utf8_each(texts: list[str]) -> list[bytes]:
    """Each text in UTF-8, the per-text work in C (one by one when a text holds a newline)."""
    if not texts:
        return []
    each = "\n".join(texts).encode("utf-8", "surrogatepass").split(b"\n")
    return each if len(each) == len(texts) else [text.encode("utf-8", "surrogatepass") for text in texts]


def partition_indexes(addresses: list[bytes], partitions: int) -> Iterator[int]:
    """
    :func:`partition_of` each address, given in UTF-8 (:func:`utf8_each`), the per-address work in C. The same in
    every process (Python's own ``hash`` of a string is not), so that a snapshot can be written grouped by partition.
    """
    return map((partitions - 1).__and__, map(zlib.crc32, addresses))


def spread_over(parts: int, indexes: Iterable[int], items: Iterable[_T]) -> list[list[_T]]:
    """``items`` in ``parts`` lists, each into the list its index names, the per-item work in C."""
    spread: list[list[_T]] = [[] for _ in range(parts)]
    any(map(list.append, map(spread.__getitem__, indexes), items))  # append returns None: any() runs through
    return spread


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
        self.exists = False
        self.snapshot_entries = 0
        """Entries in the snapshot, before its journal."""
        self.managed = 0
        """Managed entries now: exact once a plan was made (:meth:`partition`) or a snapshot written."""
        self.generation: str | None = None
        self.last_plan_id: str | None = None
        self.snapshot_digest = 0
        self.lines_distinct = False
        """Whether the snapshot's lines are known to be distinct entries: its checksum holds (this provider wrote it
        from its entries). Else a partition's are checked for an entry twice when :meth:`partition` reads it."""
        self.journal_add_digest = 0
        self.journal_remove_digest = 0
        self.journal_ops = 0
        self._lock = threading.Lock()
        self.partitions = 1
        """How many partitions the entries are spread over on disk (:func:`partitions_for`)."""
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._snapshots: dict[int, IO[bytes]] = {}
        self._spill: dict[int, IO[bytes]] = {}

    @property
    def entries(self) -> dict[str, str]:
        """
        identity -> state line of every managed entry, all in memory: for tests and small states. The engine
        reads the entries one :meth:`partition` at a time instead.
        """
        merged: dict[str, str] = {}
        for index in range(self.partitions):
            merged.update(self.partition(index))
        return merged

    def iter_lines(self) -> Iterator[str]:
        """Every managed entry's state line (a drift check reads them without reaching into :attr:`entries`)."""
        for index in range(self.partitions):
            yield from self.partition(index).values()

    # -- the storage strategy (one subclass each) ------------------------------------------------------------

    def _journal_parts(self, generation: str | None = None) -> list[Any]:
        """The journal's files or objects of ``generation`` (any generation when None), in replay order."""
        raise NotImplementedError

    def _journal_lines(self, part: Any, lines: Iterator[bytes]) -> tuple[Iterator[bytes], int] | None:
        """The journal lines of one part and the file line number of the first; None if the part is stale."""
        raise NotImplementedError

    def _append(self, lines: list[bytes]) -> None:
        """Put accepted requests into the journal (called under the lock)."""
        raise NotImplementedError

    def _close_journal(self) -> None:
        """Put what is pending into the journal and release it (called under the lock)."""
        raise NotImplementedError

    def _put_snapshot(self, header: dict[str, Any], body: IO[bytes]) -> None:
        """Replace the snapshot whole: the header line, then ``body`` (the entry lines)."""
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
            self._open_scratch(header["entries"])
            # Digested and checksummed when written; a snapshot without both (an older release's, or edited by hand)
            # is digested and checked line by line here.
            checksum = header.get("checksum")
            if not (isinstance(checksum, str) and checksum.startswith(_CHECKSUM)):
                checksum = None  # none, or of a kind this release does not compute
            written = header.get("digest") if checksum is not None else None
            groups = self._groups(header) if isinstance(written, str) else None
            copied = None if groups is None else self._copy_groups(handle, groups)
        if copied is not None:
            count, body = copied  # the digest is the header's
        else:  # no groups, or not as the header says: the lines are spread one by one
            self._close_snapshot_parts()  # what a copy that failed left
            with self.location.open("rb") as handle:  # from the start (an object storage stream may not seek)
                handle.readline()
                count, digest, body = self._spread_snapshot(
                    handle, compute=not isinstance(written, str), check_lines=checksum is None
                )
        if isinstance(written, str):
            try:
                digest = int(written, 16)
            except ValueError:
                raise StateError(f"{self.display} has a damaged header (its digest). {_NEVER_EMPTY}") from None
        if count != header["entries"]:
            raise StateError(
                f"{self.display} is corrupt: its header says {header['entries']} entries but it holds {count}. "
                f"{_NEVER_EMPTY}"
            )
        if isinstance(checksum, str) and body != checksum:
            self._corrupt_body()
        self.lines_distinct = checksum is not None
        self.snapshot_digest = digest % DIGEST_MOD
        self.snapshot_entries = self.managed = count
        self._replay()
        self._close_spill()
        return self

    # -- the entries, in partitions on disk ------------------------------------------------------------------

    # Each partition is two files: ``snapshot.N``, the snapshot's lines as they are, and ``ops.N``, the journal's
    # records (``+`` or ``-`` and the state line) and those recorded since loading, replayed over it in order.

    def _open_scratch(self, entries: int) -> None:
        self.partitions = partitions_for(entries)
        self._scratch = tempfile.TemporaryDirectory(prefix="wooxy-state-")  # removed by release(), or at exit

    def _close_snapshot_parts(self) -> None:
        for part in self._snapshots.values():
            part.close()
        self._snapshots.clear()

    def _groups(self, header: dict[str, Any]) -> list[tuple[int, int]] | None:
        """
        The snapshot's groups as its header gives them (bytes and CRC-32 of each partition's lines, in order), when
        they are the partitions this load uses; else None, and the lines are spread one by one: an older release's
        snapshot, or one written for another count of partitions (``PARTITION_SIZE`` or ``MAX_PARTITIONS`` changed
        between releases).
        """
        grouped = header.get("partitions")
        if not isinstance(grouped, dict) or grouped.get("by") != _GROUPED_BY:
            return None
        sizes, checksums = grouped.get("bytes"), grouped.get("crc32")
        if not (isinstance(sizes, list) and isinstance(checksums, list)):
            return None
        if not (len(sizes) == len(checksums) == self.partitions):
            return None
        pairs = list(zip(sizes, checksums, strict=True))
        if not all(type(size) is int and size >= 0 and type(crc) is int for size, crc in pairs):
            return None
        return pairs

    def _copy_groups(self, handle: IO[bytes], groups: list[tuple[int, int]]) -> tuple[int, str] | None:
        """
        Copy each group of the snapshot's lines into its partition as it is (no line is decoded or hashed); return
        the lines' count and the checksum of the bytes read, or None when a group is not what the header says (its
        bytes, its CRC-32, a last line without a newline, or bytes after the last group).
        """
        count = checksum = 0
        for index, (size, expected) in enumerate(groups):
            crc, left, last = 0, size, b"\n"
            while left:
                block = handle.read(min(left, _BLOCK))
                if not block:
                    return None
                left -= len(block)
                crc = zlib.crc32(block, crc)
                checksum = zlib.crc32(block, checksum)
                count += block.count(b"\n")
                self._write_part(index, block)
                last = block[-1:]
            if crc != expected or last != b"\n":
                return None
        if handle.read(1):
            return None
        return count, f"{_CHECKSUM}{checksum:08x}"

    def _partition_path(self, kind: str, index: int) -> Path:
        if self._scratch is None:  # a first run: nothing on disk yet
            self._scratch = tempfile.TemporaryDirectory(prefix="wooxy-state-")
        return Path(self._scratch.name) / f"{kind}.{index}"

    def _spread_snapshot(self, handle: IO[bytes], *, compute: bool, check_lines: bool) -> tuple[int, int, str]:
        """
        Spread the snapshot's entry lines over the partitions; return their count, digest (``compute``: else 0)
        and the checksum of the bytes read. With ``check_lines``, every line must look like an entry (a snapshot
        without a checksum in its header, written by an older release or edited by hand). A block of lines at a
        time, with the per-line work in C (regex, ``map``), as a load is much of an unchanged run.
        """
        kind, parts = self.kind, self.partitions
        count = digest = 0
        carry = b""
        checksum = 0
        while block := handle.read(_BLOCK):
            checksum = zlib.crc32(block, checksum)
            block = carry + block
            end = block.rfind(b"\n") + 1
            block, carry = block[:end], block[end:]
            if not block:
                continue
            text = block.decode("utf-8", "replace")  # a character never spans a newline: as line by line
            bad = kind.first_bad_line(text) if check_lines else None
            if bad is not None:
                raise StateError(
                    f"{self.display} is corrupt: line {count + bad + 2} is not {self._an_entry()}. {_NEVER_EMPTY}"
                )
            if compute:  # item_digest of each line
                raws = map(operator.add, block.split(b"\n")[:-1], itertools.repeat(b"\n"))
                digest += sum(map(_FROM_BYTES, map(_DIGEST, map(_BLAKE2B, raws))))
            chunks = _spread_lines(kind, text, parts)
            count += sum(map(len, chunks))
            self._write_snapshot_chunks(chunks)
        if carry:
            raise StateError(f"{self.display} is corrupt: line {count + 2} is not {self._an_entry()}. {_NEVER_EMPTY}")
        return count, digest, f"{_CHECKSUM}{checksum:08x}"

    def _corrupt_body(self) -> None:
        """The snapshot's entries differ from what was written: say which line, when one is not an entry."""
        with self.location.open("rb") as handle:
            handle.readline()
            number = 1
            for raw in handle:
                number += 1
                line = raw.decode("utf-8", "replace")
                if not line.endswith("\n") or self.kind.first_bad_line(line) is not None:
                    raise StateError(
                        f"{self.display} is corrupt: line {number} is not {self._an_entry()}. {_NEVER_EMPTY}"
                    )
        raise StateError(
            f"{self.display} is corrupt: its entries are not those it was written with (its header's checksum "
            f"differs). {_NEVER_EMPTY}"
        )

    def _write_snapshot_chunks(self, chunks: list[list[str]]) -> None:
        for index, chunk in enumerate(chunks):
            if chunk:
                self._write_part(index, ("\n".join(chunk) + "\n").encode("utf-8", "surrogatepass"))
                chunk.clear()

    def _write_part(self, index: int, data: bytes) -> None:
        part = self._snapshots.get(index)
        if part is None:
            # In memory up to its share of SPOOL_BYTES, then on disk (small writes to a disk file cost more than
            # the rest of a load).
            part = self._snapshots[index] = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (closed by release)
                max_size=SPOOL_BYTES // self.partitions, dir=str(self._partition_path("snapshot", index).parent)
            )
        part.write(data)

    def _snapshot_text(self, index: int) -> str:
        part = self._snapshots.get(index)
        if part is None:
            return ""
        part.seek(0)
        return part.read().decode("utf-8", "replace")

    def _spilled(self, sign: bytes, line: str) -> None:
        """Add one journal record (``+`` or ``-`` and the state line) to its partition."""
        index = partition_of(self.kind.address_of(self.kind.identity(line)), self.partitions)
        handle = self._spill.get(index)
        if handle is None:
            handle = self._spill[index] = self._partition_path("ops", index).open("ab")
        handle.write(sign + line.encode() + b"\n")

    def _close_spill(self) -> None:
        for handle in self._spill.values():
            handle.close()
        self._spill.clear()

    def partition(self, index: int) -> dict[str, str]:
        """
        identity -> state line of the managed entries whose address is in partition ``index`` (of
        :attr:`partitions`, :func:`partition_of`): the snapshot's, with the journal and the requests recorded since
        loading replayed.
        """
        entries: dict[str, str] = {}
        text = self._snapshot_text(index)
        if text:
            lines = text.split("\n")
            lines.pop()  # after the last newline
            # The identities of a whole partition at once (str methods run in C): the common, unchanged case.
            idents = self.kind.identities(text).split("\n")
            idents.pop()
            entries = dict(zip(idents, lines, strict=True))
            if len(entries) != len(lines):
                raise StateError(
                    f"{self.display} is corrupt: it holds an entry twice (its header counts "
                    f"{self.snapshot_entries} entries, fewer are distinct). {_NEVER_EMPTY}"
                )
        handle = self._spill.get(index)
        if handle is not None:
            handle.flush()
        ops = self._partition_path("ops", index)
        if ops.exists():
            identity = self.kind.identity
            with ops.open("rb") as records:
                for raw in records:
                    line = raw[1:-1].decode()
                    if raw[:1] == b"+":
                        entries[identity(line)] = line
                    else:
                        entries.pop(identity(line), None)
        return entries

    def partition_text(self, index: int) -> str:
        """
        The state lines of partition ``index``, each ending in a newline: the snapshot's part as it is when no
        journal record falls in it (a sync's first pass reads it so, without a dict), else :meth:`partition`'s.
        """
        handle = self._spill.get(index)
        if handle is not None:
            handle.flush()
        if self._partition_path("ops", index).exists():
            return "".join(line + "\n" for line in self.partition(index).values())
        return self._snapshot_text(index)

    def release(self) -> None:
        """Remove the partitions from disk (the state cannot be read after this)."""
        with self._lock:
            self._close_spill()
        self._close_snapshot_parts()
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

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
                found = self._journal_lines(part, iter(handle.readline, b""))
                if found is None:
                    continue
                lines, first = found
                for number, raw in enumerate(lines, start=first):
                    if raw.endswith(b"\n"):  # the last line, without one, was cut by a kill mid-write
                        self._apply_journal_line(raw[:-1], part, number)

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
        self._spilled(sign, entry)
        if sign == b"+":
            self.journal_add_digest = (self.journal_add_digest + item_digest(payload)) % DIGEST_MOD
        else:
            self.journal_remove_digest = (self.journal_remove_digest + item_digest(payload)) % DIGEST_MOD
        self.journal_ops += 1

    # -- while sending ---------------------------------------------------------------------------------------

    def begin(self) -> None:
        """Before the first request: make sure a snapshot exists for the journal to refer to."""
        if not self.exists:
            self._write_snapshot(())
            self.exists = True

    def record(self, sign: bytes, payloads: Iterable[bytes]) -> None:
        """Record requests Wooxy accepted (``b"+"`` adds, ``b"-"`` removes); thread-safe."""
        lines = [sign + payload + b"\n" for payload in payloads]
        line_of = self.kind.line_of_payload
        with self._lock:
            self._append(lines)
            for line in lines:
                self._spilled(sign, line_of(line[1:-1]))

    def close(self) -> None:
        """After a failure (or before a commit): put what is pending into the journal."""
        with self._lock:
            self._close_journal()

    def commit(self, plan_id: str | None) -> None:
        """After a complete run: a new snapshot with every entry as it is now, and the journal deleted."""
        self.close()
        old = self._journal_parts(self.generation)
        self.last_plan_id = plan_id
        self._write_snapshot(self.partition(index).values() for index in range(self.partitions))
        for part in old:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
        self.journal_ops = 0
        self.journal_add_digest = self.journal_remove_digest = 0

    # -- the snapshot ----------------------------------------------------------------------------------------

    def _write_snapshot(self, groups: Iterable[Iterable[str]]) -> None:
        """
        Replace the snapshot with the entry lines of ``groups``: one per partition (a commit), or none (an empty
        state). The header (with the count) comes first: the entries are counted into a scratch file, then copied.
        """
        with contextlib.ExitStack() as stack:
            body: IO[bytes] = stack.enter_context(tempfile.TemporaryFile(prefix="wooxy-snapshot-"))
            count, digest, checksum, written = _write_groups(body, groups)
            parts = partitions_for(count)
            if len(written) != parts:  # the list's size calls for another count: group its lines anew
                body, checksum, written = self._regrouped(body, parts)
                stack.enter_context(body)
            body.seek(0)
            sizes, crcs = ([size for size, _ in written], [crc for _, crc in written])
            header = {
                **self._header(count),
                "digest": f"{digest:x}",
                "checksum": checksum,
                # The next load copies each partition's lines as they are.
                "partitions": {"by": _GROUPED_BY, "bytes": sizes, "crc32": crcs},
            }
            self._put_snapshot(header, body)
        self.snapshot_digest = digest
        self.snapshot_entries = self.managed = count

    def _regrouped(self, body: IO[bytes], parts: int) -> tuple[IO[bytes], str, list[tuple[int, int]]]:
        """
        The entry lines of ``body`` grouped by ``parts`` partitions, in a new scratch file; its checksum, and each
        group's bytes and CRC-32. Through scratch files held in memory up to ``SPOOL_BYTES`` (beside the state's
        own), as a load spreads: only when a commit finds the list's size calls for another count of partitions.
        """
        with contextlib.ExitStack() as stack:
            scratch = str(self._partition_path("regrouped", 0).parent)
            spools = [
                stack.enter_context(tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES // parts, dir=scratch))
                for _ in range(parts)
            ]
            body.seek(0)
            carry = b""
            while block := body.read(_BLOCK):
                block = carry + block
                end = block.rfind(b"\n") + 1
                block, carry = block[:end], block[end:]
                for spool, chunk in zip(spools, _spread_lines(self.kind, block.decode(), parts), strict=True):
                    if chunk:
                        spool.write(("\n".join(chunk) + "\n").encode())
            regrouped = tempfile.TemporaryFile(prefix="wooxy-snapshot-", dir=scratch)  # noqa: SIM115 (the caller closes it)
            grouped = _GroupedBody(regrouped)
            for spool in spools:
                spool.seek(0)
                while data := spool.read(_BLOCK):
                    grouped.write(data)
                grouped.end_group()
        return regrouped, grouped.checksum, grouped.groups

    def _header(self, count: int) -> dict[str, Any]:
        self.generation = uuid.uuid4().hex
        return {
            "format": FORMAT,
            "version": VERSION,
            "list": self.kind.name,
            "base_url": self.base_url,
            "generation": self.generation,
            "entries": count,
            "last_plan_id": self.last_plan_id,
            "updated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }


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

    def _journal_lines(self, part: Any, lines: Iterator[bytes]) -> tuple[Iterator[bytes], int] | None:
        first = next(lines, b"")
        if not first.endswith(b"\n"):
            return None
        try:
            generation = json.loads(first).get("generation")
        except (ValueError, AttributeError):
            generation = None
        if generation != self.generation:
            return None  # written for an older snapshot, which the current one already includes
        return lines, 2  # file lines: the header is line 1

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

    def _put_snapshot(self, header: dict[str, Any], body: IO[bytes]) -> None:
        path: Path = self.location
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with temporary.open("wb") as handle:
            handle.write(json.dumps(header).encode() + b"\n")
            shutil.copyfileobj(body, handle, 1 << 20)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        _fsync_directory(path.parent)


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

    def _journal_lines(self, part: Any, lines: Iterator[bytes]) -> tuple[Iterator[bytes], int] | None:
        self._part = max(self._part, _part_number(part))  # a retry's parts continue the sequence
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

    def _put_snapshot(self, header: dict[str, Any], body: IO[bytes]) -> None:
        with contextlib.suppress(Exception):  # object stores have no directories to create
            self.location.parent.mkdir(parents=True, exist_ok=True)
        with self.location.open("wb") as handle:
            handle.write(json.dumps(header).encode() + b"\n")
            shutil.copyfileobj(body, handle, 1 << 20)


def open_state(location: Any, kind: ListKind, base_url: str, **kwargs: Any) -> SyncState:
    """
    The state at ``location``, not loaded yet: a :class:`LocalState` for a :class:`pathlib.Path`, an
    :class:`ObjectStorageState` for any other path object. Takes :class:`SyncState`'s keyword arguments.
    """
    # An object storage path is never local, even where it subclasses pathlib.Path (universal-pathlib < 0.3).
    if isinstance(location, Path) and not hasattr(location, "fs"):
        return LocalState(location, kind, base_url, **kwargs)
    return ObjectStorageState(location, kind, base_url, **kwargs)


def _spread_lines(kind: ListKind, text: str, parts: int) -> list[list[str]]:
    """The entry lines of ``text`` (whole lines) spread over ``parts`` partitions by their address."""
    lines = text.split("\n")
    lines.pop()  # after the last newline
    if parts == 1:
        return [lines]
    spread = kind.addresses(text)
    addresses = lines if spread is text else spread.split("\n")[:-1]  # a phone's address is its line
    return spread_over(parts, partition_indexes(utf8_each(addresses), parts), lines)


def _write_groups(handle: IO[bytes], groups: Iterable[Iterable[str]]) -> tuple[int, int, str, list[tuple[int, int]]]:
    """
    Write the entry lines, a group after the other; return their count, digest, the checksum of the bytes written,
    and each group's bytes and CRC-32.
    """
    digest = count = 0
    body = _GroupedBody(handle)
    for entries in groups:
        lines = iter(entries)
        while chunk := list(itertools.islice(lines, 10_000)):
            raws = [entry.encode() + b"\n" for entry in chunk]
            digest += sum(map(item_digest, raws))
            count += len(raws)
            body.write(b"".join(raws))
        body.end_group()
    return count, digest % DIGEST_MOD, body.checksum, body.groups


class _GroupedBody:
    """A snapshot's body, written a group of lines after another: each group's bytes and CRC-32, and the checksum."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.groups: list[tuple[int, int]] = []
        self._checksum = self._size = self._crc = 0

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self._size += len(data)
        self._crc = zlib.crc32(data, self._crc)
        self._checksum = zlib.crc32(data, self._checksum)

    def end_group(self) -> None:
        self.groups.append((self._size, self._crc))
        self._size = self._crc = 0

    @property
    def checksum(self) -> str:
        """The header's checksum of everything written."""
        return f"{_CHECKSUM}{self._checksum:08x}"


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
