"""
The partitions of a sync: how its entries are spread, so that a sync diffs one partition in memory at a time.

An entry's partition is the CRC-32 of its address (:func:`partition_of`), modulo a power of two
(:func:`partitions_for`): the same in every process and every release, since a snapshot's lines are grouped by it.
The state, the first pass and the plan spread their lines over the same partitions (:func:`spread_lines`,
:func:`partition_indexes`, :func:`spread_over`), with the per-line work in C. While a run holds the state, its
partitions are scratch files (:class:`PartitionFiles`), held in memory up to ``SPOOL_BYTES`` and then on local disk.

Plain Python: no Airflow import.
"""

from __future__ import annotations

import tempfile
import zlib
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from airflow_provider_wooxy.pipeline.sync.entries import ListKind

PARTITION_SIZE = 8_000
"""Managed entries a partition holds on average at most (4,000 to 8,000), up to ``MAX_PARTITIONS`` partitions (then
more each): what a sync diffs in memory at once (a partition's look-ups stay in cache). See :func:`partitions_for`."""
MAX_PARTITIONS = 128
"""Partitions at most, a power of two (each then holds more than ``PARTITION_SIZE``): the state, the first pass and
the plan each keep a scratch file open per partition, about 400 files at most."""
SPOOL_BYTES = 32 << 20
"""Bytes of scratch held in memory while a run holds the state, then on disk: for the snapshot's partitions, and as
much again for the first pass's (pipeline/sync/first_pass.py)."""
_T = TypeVar("_T")


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
    # The CRC-32 of each address, masked to the partition count (a power of two).
    return map((partitions - 1).__and__, map(zlib.crc32, addresses))


def spread_over(parts: int, indexes: Iterable[int], items: Iterable[_T]) -> list[list[_T]]:
    """``items`` in ``parts`` lists, each into the list its index names, the per-item work in C."""
    spread: list[list[_T]] = [[] for _ in range(parts)]
    # Append each item to the list its index names (append returns None: any() runs through them all).
    any(map(list.append, map(spread.__getitem__, indexes), items))
    return spread


def spread_lines(kind: ListKind, text: str, parts: int) -> list[list[str]]:
    """The state lines of ``text`` (whole lines) spread over ``parts`` partitions by their address."""
    lines = text.split("\n")
    lines.pop()  # after the last newline
    if parts == 1:
        return [lines]
    spread = kind.addresses(text)
    addresses = lines if spread is text else spread.split("\n")[:-1]  # a phone's address is its line
    return spread_over(parts, partition_indexes(utf8_each(addresses), parts), lines)


class PartitionFiles:
    """
    A loaded state's entries, in ``count`` partitions of scratch files: each partition is two files,
    ``snapshot.N``, the snapshot's lines as they are (in memory up to its share of ``SPOOL_BYTES``), and ``ops.N``,
    the journal's records (``+`` or ``-`` and the state line) and those recorded since loading, in order.

    :param count: the partitions (:func:`partitions_for`).
    """

    def __init__(self, count: int = 1) -> None:
        self.count = count
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._snapshots: dict[int, IO[bytes]] = {}
        self._ops: dict[int, IO[bytes]] = {}

    def path(self, name: str, index: int) -> Path:
        """The scratch file ``name.index`` (its folder is made on first use; removed by :meth:`release`)."""
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="wooxy-state-")  # removed by release(), or at exit
        return Path(self._scratch.name) / f"{name}.{index}"

    def folder(self) -> Path:
        """The scratch files' folder (made on first use)."""
        return self.path("scratch", 0).parent

    def write_snapshot(self, index: int, data: bytes) -> None:
        """Append snapshot lines (whole lines, in UTF-8) to partition ``index``."""
        part = self._snapshots.get(index)
        if part is None:
            # In memory up to its share of SPOOL_BYTES, then on disk (small writes to a disk file cost more than
            # the rest of a load).
            part = self._snapshots[index] = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (closed by release)
                max_size=SPOOL_BYTES // self.count, dir=str(self.folder())
            )
        part.write(data)

    def write_snapshot_chunks(self, chunks: list[list[str]]) -> None:
        """Append each chunk of snapshot lines to its partition (chunk N to partition N), emptying the chunks."""
        for index, chunk in enumerate(chunks):
            if chunk:
                self.write_snapshot(index, ("\n".join(chunk) + "\n").encode("utf-8", "surrogatepass"))
                chunk.clear()

    def snapshot_text(self, index: int) -> str:
        """The snapshot's lines of partition ``index``, each ending in a newline ("" when it holds none)."""
        part = self._snapshots.get(index)
        if part is None:
            return ""
        part.seek(0)
        return part.read().decode("utf-8", "replace")

    def drop_snapshot(self) -> None:
        """Forget the snapshot's lines (a load that copied groups in vain starts over)."""
        for part in self._snapshots.values():
            part.close()
        self._snapshots.clear()

    def write_op(self, index: int, sign: bytes, line: str) -> None:
        """Append a record (``+`` or ``-`` and the state line) to partition ``index``'s ops."""
        handle = self._ops.get(index)
        if handle is None:
            handle = self._ops[index] = self.path("ops", index).open("ab")
        handle.write(sign + line.encode() + b"\n")

    def has_ops(self, index: int) -> bool:
        """Whether a record fell in partition ``index`` (its ops written so far are then on disk)."""
        handle = self._ops.get(index)
        if handle is not None:
            handle.flush()
        return self.path("ops", index).exists()

    def ops(self, index: int) -> Iterator[tuple[bool, str]]:
        """Partition ``index``'s records in order: (an add, the state line). Call :meth:`has_ops` first."""
        with self.path("ops", index).open("rb") as records:
            for raw in records:
                yield raw[:1] == b"+", raw[1:-1].decode()

    def close_ops(self) -> None:
        """Close the ops files (they stay on disk; a record reopens its file)."""
        for handle in self._ops.values():
            handle.close()
        self._ops.clear()

    def release(self) -> None:
        """Remove every scratch file (the partitions cannot be read after this)."""
        self.close_ops()
        self.drop_snapshot()
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None
