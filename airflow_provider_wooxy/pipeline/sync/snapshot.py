"""
A sync state's snapshot format: a JSON header line, then one state line per entry, grouped by partition.

The header holds the format, its version, the list, the connection's base URL, a generation id, the entry count,
the last plan applied, the digest of the entries (:func:`item_digest` summed), a checksum of the bytes after the
header, and each partition's group of lines (``partitions``: how they were grouped, each group's bytes and CRC-32),
so that a load copies each group into its partition as it is (:func:`copy_groups`). A snapshot without groups (an
older release's), or whose groups are not as the header says, has its lines spread one by one (:func:`spread_body`).
A commit writes the body a group after another (:func:`write_groups`), grouped anew when the list's size calls for
another count of partitions (:func:`regrouped`).

These functions read and write bodies; what a damaged one means to the state is the state's to say
(:class:`~airflow_provider_wooxy.pipeline.sync.state.StateError`): a line that is not an entry is
:class:`BadLine`.

Plain Python: no Airflow import.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import operator
import tempfile
import zlib
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from airflow_provider_wooxy.pipeline.sync.partitions import SPOOL_BYTES, partitions_for, spread_lines

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from pathlib import Path

    from airflow_provider_wooxy.pipeline.sync.entries import ListKind

FORMAT = "airflow-provider-wooxy/sync-state"
VERSION = 1
DIGEST_MOD = 1 << 256
"""Digests of sets (entries, requests) are sums of their items' :func:`item_digest` modulo this."""
_GROUPED_BY = "crc32"
"""How the snapshot's groups were made (its header's ``partitions.by``):
:func:`~airflow_provider_wooxy.pipeline.sync.partitions.partition_of` the address in
:meth:`~.entries.ListKind.addresses`' form. Change it with either: a snapshot grouped otherwise must be spread line
by line, or its entries would sit in the wrong partitions (and a sync would remove and re-add them)."""
_CHECKSUM = "crc32:"
"""The header's checksum: CRC-32 of the bytes after the header (it tells damage and edits, at memory speed)."""
_BLOCK = 1 << 20
"""Bytes of the snapshot read at once (its lines, in several forms, take about ten times that in memory)."""
_BLAKE2B = functools.partial(hashlib.blake2b, digest_size=32)
_DIGEST = operator.methodcaller("digest")
_FROM_BYTES = functools.partial(int.from_bytes, byteorder="big")


class BadLine(ValueError):
    """A line of the snapshot's body is not an entry of its list: ``number`` is its line in the file (from 1)."""

    def __init__(self, number: int) -> None:
        super().__init__(f"line {number} is not an entry")
        self.number = number


def item_digest(data: bytes) -> int:
    """The 256-bit digest of one entry or request body; sets are digested as the sum of their items' digests."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=32).digest(), "big")


def written_checksum(header: dict[str, Any]) -> str | None:
    """The header's checksum, when it is of the kind this release computes (else None: the lines are checked)."""
    checksum = header.get("checksum")
    return checksum if isinstance(checksum, str) and checksum.startswith(_CHECKSUM) else None


def written_groups(header: dict[str, Any], partitions: int) -> list[tuple[int, int]] | None:
    """
    The snapshot's groups as its header gives them (bytes and CRC-32 of each partition's lines, in order), when
    they are ``partitions`` groups made as this release makes them; else None, and the lines are spread one by one:
    an older release's snapshot, or one written for another count of partitions (``PARTITION_SIZE`` or
    ``MAX_PARTITIONS`` changed between releases).
    """
    grouped = header.get("partitions")
    if not isinstance(grouped, dict) or grouped.get("by") != _GROUPED_BY:
        return None
    sizes, checksums = grouped.get("bytes"), grouped.get("crc32")
    if not (isinstance(sizes, list) and isinstance(checksums, list)):
        return None
    if not (len(sizes) == len(checksums) == partitions):
        return None
    pairs = list(zip(sizes, checksums, strict=True))
    if not all(type(size) is int and size >= 0 and type(crc) is int for size, crc in pairs):
        return None
    return pairs


def copy_groups(
    handle: IO[bytes], groups: list[tuple[int, int]], write: Callable[[int, bytes], None]
) -> tuple[int, str] | None:
    """
    Copy each group of the body's lines into its partition as it is (``write(index, data)``; no line is decoded or
    hashed); return the lines' count and the checksum of the bytes read, or None when a group is not what the header
    says (its bytes, its CRC-32, a last line without a newline, or bytes after the last group).
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
            write(index, block)
            last = block[-1:]
        if crc != expected or last != b"\n":
            return None
    if handle.read(1):
        return None
    return count, f"{_CHECKSUM}{checksum:08x}"


def spread_body(
    handle: IO[bytes],
    kind: ListKind,
    parts: int,
    write: Callable[[list[list[str]]], None],
    *,
    compute: bool,
    check_lines: bool,
) -> tuple[int, int, str]:
    """
    Spread the body's state lines over ``parts`` partitions (``write(chunks)``, chunk N for partition N); return
    their count, digest (``compute``: else 0) and the checksum of the bytes read. With ``check_lines``, every line
    must look like an entry (a snapshot without a checksum in its header, written by an older release or edited by
    hand): else :class:`BadLine`. A block of lines at a time, with the per-line work in C (regex, ``map``), as a
    load is much of an unchanged run.
    """
    count = digest = checksum = 0
    carry = b""
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
            raise BadLine(count + bad + 2)
        if compute:
            # The sum of item_digest of each line (with its newline), the per-line work in C.
            raws = map(operator.add, block.split(b"\n")[:-1], itertools.repeat(b"\n"))
            digest += sum(map(_FROM_BYTES, map(_DIGEST, map(_BLAKE2B, raws))))
        chunks = spread_lines(kind, text, parts)
        count += sum(map(len, chunks))
        write(chunks)
    if carry:
        raise BadLine(count + 2)
    return count, digest, f"{_CHECKSUM}{checksum:08x}"


def first_bad_line(handle: IO[bytes], kind: ListKind) -> int | None:
    """The file line number (from 1) of the body's first line that is not an entry, or None (the lines are)."""
    number = 1
    for raw in handle:
        number += 1
        line = raw.decode("utf-8", "replace")
        if not line.endswith("\n") or kind.first_bad_line(line) is not None:
            return number
    return None


@dataclass
class Body:
    """A snapshot's body written to a scratch file, and what its header says of it."""

    file: IO[bytes]
    count: int
    digest: int
    checksum: str
    groups: list[tuple[int, int]]

    def header_fields(self) -> dict[str, Any]:
        """The header's keys that describe the body, beside its entry count (``entries``)."""
        return {
            "digest": f"{self.digest:x}",
            "checksum": self.checksum,
            # The next load copies each partition's lines as they are.
            "partitions": {
                "by": _GROUPED_BY,
                "bytes": [size for size, _ in self.groups],
                "crc32": [crc for _, crc in self.groups],
            },
        }


@contextlib.contextmanager
def written_body(groups: Iterable[Iterable[str]], kind: ListKind, scratch: Callable[[], Path]) -> Iterator[Body]:
    """
    The body of the state lines of ``groups`` (one per partition, or none), in a scratch file read from its start:
    grouped anew in the folder ``scratch()`` when their count calls for another count of partitions.
    """
    with contextlib.ExitStack() as stack:
        file: IO[bytes] = stack.enter_context(tempfile.TemporaryFile(prefix="wooxy-snapshot-"))
        count, digest, checksum, written = write_groups(file, groups)
        parts = partitions_for(count)
        if len(written) != parts:  # the list's size calls for another count: group its lines anew
            file, checksum, written = regrouped(file, kind, parts, scratch())
            stack.enter_context(file)
        file.seek(0)
        yield Body(file, count, digest, checksum, written)


def write_groups(handle: IO[bytes], groups: Iterable[Iterable[str]]) -> tuple[int, int, str, list[tuple[int, int]]]:
    """
    Write the state lines, a group after the other; return their count, digest, the checksum of the bytes written,
    and each group's bytes and CRC-32.
    """
    digest = count = 0
    body = GroupedBody(handle)
    for entries in groups:
        lines = iter(entries)
        while chunk := list(itertools.islice(lines, 10_000)):
            raws = [entry.encode() + b"\n" for entry in chunk]
            digest += sum(map(item_digest, raws))
            count += len(raws)
            body.write(b"".join(raws))
        body.end_group()
    return count, digest % DIGEST_MOD, body.checksum, body.groups


def regrouped(
    body: IO[bytes], kind: ListKind, parts: int, scratch: Path
) -> tuple[IO[bytes], str, list[tuple[int, int]]]:
    """
    The state lines of ``body`` grouped by ``parts`` partitions, in a new scratch file in ``scratch``; its
    checksum, and each group's bytes and CRC-32. Through scratch files held in memory up to ``SPOOL_BYTES`` (beside
    the state's own), as a load spreads: only when a commit finds the list's size calls for another count.
    """
    with contextlib.ExitStack() as stack:
        spools = [
            stack.enter_context(tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES // parts, dir=str(scratch)))
            for _ in range(parts)
        ]
        body.seek(0)
        carry = b""
        while block := body.read(_BLOCK):
            block = carry + block
            end = block.rfind(b"\n") + 1
            block, carry = block[:end], block[end:]
            for spool, chunk in zip(spools, spread_lines(kind, block.decode(), parts), strict=True):
                if chunk:
                    spool.write(("\n".join(chunk) + "\n").encode())
        out = tempfile.TemporaryFile(prefix="wooxy-snapshot-", dir=str(scratch))  # noqa: SIM115 (the caller closes it)
        grouped = GroupedBody(out)
        for spool in spools:
            spool.seek(0)
            while data := spool.read(_BLOCK):
                grouped.write(data)
            grouped.end_group()
    return out, grouped.checksum, grouped.groups


class GroupedBody:
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


NEVER_EMPTY = (
    "It is never taken for an empty state: restore it from a backup, or point state_path at a new path to start "
    "over (the provider then manages nothing it added before)."
)


class StateError(Exception):
    """The state cannot be used (corrupt, foreign, or of another list or connection); the message says why."""


def read_header(first: bytes, kind: ListKind, base_url: str, display: str) -> dict[str, Any]:
    """The snapshot's header, from its first line; :class:`StateError` when it is not this sync's."""
    try:
        header = json.loads(first)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        what = "is empty" if not first else "does not start with a sync state header"
        raise StateError(f"{display} {what}: it is not a Wooxy sync state (or it is damaged). {NEVER_EMPTY}")
    if header.get("version") != VERSION:
        raise StateError(
            f"{display} has sync state format version {header.get('version')!r}; this provider reads "
            f"version {VERSION}. Upgrade the provider."
        )
    if header.get("list") != kind.name:
        raise StateError(
            f"{display} is the state of a {header.get('list')} list sync, not of the {kind.name} list: "
            "each list needs its own state_path."
        )
    if header.get("base_url") != base_url:
        raise StateError(
            f"{display} belongs to the Wooxy connection at {header.get('base_url')}, but this task's "
            f"connection is {base_url}: each account needs its own state_path (the entries in it were "
            "added to the other account)."
        )
    if not isinstance(header.get("entries"), int) or not isinstance(header.get("generation"), str):
        raise StateError(f"{display} has a damaged header (no entry count or generation). {NEVER_EMPTY}")
    return header
