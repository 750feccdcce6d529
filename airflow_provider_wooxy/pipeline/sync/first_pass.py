"""
The first pass of a sync over its input: rows that name a managed entry as they stand.

A daily sync mostly reads an unchanged truth. A row whose text is exactly the identity of an entry the state
manages (an E.164 number it holds; an address which, lower-cased, it holds with the run's reject type) was
validated when that entry was added, so it needs no parse: it is **unchanged**, or a **duplicate** when an
earlier row named the same entry. Only the other rows (new, changed, malformed, not plain text) are validated,
and they come out of :meth:`FirstPass.rest` in input order, for the plan.

The pass works a chunk of rows at a time with the per-row work in C (``map``, ``set``), and keeps memory flat
like the plan: the rows are spread over the state's partitions by their address (:func:`~.partitions.partition_of`),
then each partition of the input is matched against the same partition of the state, one in memory at a time. The
partitions are scratch files, held in memory up to :data:`~.partitions.SPOOL_BYTES` in all, then on disk.

A managed entry is matched by its text only: a row that would fail today's validation but is, character for
character, an entry the provider added under older rules counts as unchanged (it is on the list already).

Plain Python: no Airflow import.
"""

from __future__ import annotations

import array
import heapq
import itertools
import operator
import pickle
import struct
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypeVar, cast

from airflow_provider_wooxy.pipeline.sources.chunks import TextChunk, at_least, chunks_of
from airflow_provider_wooxy.pipeline.sync.partitions import SPOOL_BYTES, partition_indexes, spread_over, utf8_each

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from airflow_provider_wooxy.pipeline.sources.chunks import Chunk, Item
    from airflow_provider_wooxy.pipeline.sync.state import SyncState


class FirstPass:
    """
    Matches an input against a state before validation (see the module). Use once: :meth:`rest`, then
    :meth:`entries` for each partition while planning, then :meth:`close`.

    :param state: the loaded state.
    :param reject_type: the run's reject type for records that give none.
    """

    @classmethod
    def for_run(cls, state: SyncState, reject_type: str | None) -> FirstPass | None:
        """The first pass of a run, or None when nothing can match (an empty state, records without a form)."""
        if not (state.snapshot_entries or state.journal_ops):
            return None
        addresses = state.kind.plain_addresses(reject_type)
        return None if addresses is None else cls(state, reject_type, addresses)

    def __init__(self, state: SyncState, reject_type: str | None, addresses: Callable[[list[str]], list[str]]) -> None:
        """
        :param addresses: the addresses texts name as they stand
            (:meth:`~airflow_provider_wooxy.pipeline.sync.entries.ListKind.plain_addresses`).
        """
        self.state = state
        self.reject_type = reject_type
        self.addresses = addresses
        self.rows = 0
        """Input rows that named a managed entry (each unchanged or a duplicate)."""
        self.unchanged = 0
        self.duplicates = 0
        self._managed: list[int] = []
        self.active = True
        """False when the input's first chunk holds no plain text (objects: a CSV with more columns, JSON): every
        row is then validated, none matched."""
        self._scratch = tempfile.TemporaryDirectory(prefix="wooxy-known-")
        parts = state.partitions
        # Each partition's input, and the rows that are not text, share SPOOL_BYTES, and one share more is left
        # for the unmatched rows: a partition's are fewer than its input, which is closed once they are written.
        self._share = SPOOL_BYTES // (parts + 2)
        self._inputs = [self._spool() for _ in range(parts)]
        self._input_rows = [0] * parts
        self._rests: list[IO[bytes] | None] = [None] * parts  # made when a partition has rows left (a file each)
        self._other = self._spool()

    def _spool(self) -> IO[bytes]:
        """A scratch file held in memory up to its share of :data:`SPOOL_BYTES`, then on disk."""
        return tempfile.SpooledTemporaryFile(max_size=self._share, dir=self._scratch.name)

    def _file(self, name: str) -> Path:
        return Path(self._scratch.name) / name

    def rest(self, items: Iterable[Item]) -> Iterator[Item]:
        """
        Match ``items`` against the state, then yield every row that did not name a managed entry, in input
        order. The matching happens on the first ``next()``.
        """
        chunks = chunks_of(items)
        first = next(chunks, None)
        if first is None or str not in map(type, first.items):  # no input, or objects (a CSV with more columns)
            self.active = False
            for rows, values in itertools.chain(() if first is None else (first,), chunks):
                yield from zip(rows, values, strict=True)
            return
        self._spread(at_least(itertools.chain((first,), chunks), SPREAD_ROWS))
        self._match()
        rests = [_pairs(rest) for rest in self._rests if rest is not None]
        yield from heapq.merge(_object_pairs(self._other), *rests, key=_ROW)

    def _spread(self, chunks: Iterable[Chunk]) -> None:
        """Write each text row into its partition's input file, and anything else (objects, errors) to ``other``."""
        parts = self.state.partitions
        addresses = self.addresses
        files, other = self._inputs, self._other
        for chunk in chunks:
            rows, values = chunk
            # Objects, unreadable rows and texts holding a newline (a quoted CSV value; never an identity) are
            # validated, in row order; a one-column CSV's lines are known to be neither.
            if not isinstance(chunk, TextChunk) and (set(map(type, values)) != {str} or "\n" in "".join(values)):  # type: ignore[arg-type]
                plain = [value.__class__ is str and "\n" not in value for value in values]
                others = list(map(operator.not_, plain))
                _write_objects(other, itertools.compress(rows, others), itertools.compress(values, others))
                rows, values = list(itertools.compress(rows, plain)), list(itertools.compress(values, plain))
                if not values:
                    continue
            texts = cast("list[str]", values)
            if parts == 1:
                self._input_rows[0] += len(texts)
                if isinstance(rows, range):
                    _write(files[0], range(len(rows)), _utf8(texts), base=rows.start)
                else:
                    _write(files[0], rows, _utf8(texts))
                continue
            found = addresses(texts)
            keys = utf8_each(found)
            # The texts as they are, in UTF-8: the addresses' when they are the texts (E.164 numbers, lower case).
            encoded = keys if found is texts else None
            # Each row's position into its partition's list, the per-row work in C.
            positions = spread_over(parts, partition_indexes(keys, parts), range(len(texts)))
            self._input_rows = list(map(operator.add, self._input_rows, map(len, positions)))
            for handle, part in zip(files, positions, strict=True):
                if part:
                    data = b"\n".join(_picked(part, encoded)) if encoded is not None else _utf8(_picked(part, texts))
                    if isinstance(rows, range):  # a file's rows: the positions and where they start
                        _write(handle, part, data, base=rows.start)
                    else:
                        _write(handle, _picked(part, rows), data)

    def _match(self) -> None:
        """Match each partition of the input against the state's; keep the unmatched rows and managed entries."""
        state, kind, reject_type = self.state, self.state.kind, self.reject_type
        for index in range(state.partitions):
            text = state.partition_text(index)
            managed = text.count("\n")
            self._managed.append(managed)
            plainly = kind.named_plainly(text, reject_type)  # one per line of text
            spool = self._inputs[index]
            given = self._distinct_texts(spool, managed) if state.lines_distinct else None
            if given is not None and given.issuperset(plainly):
                # The unchanged case: the rows name every entry (distinct), and nothing else (they name no more
                # than ``managed`` texts).
                self.rows += self._input_rows[index]
                self.unchanged += managed
                spool.close()
                continue
            if given is None:
                known = set(plainly)
                if len(known) != managed:  # an entry twice: partition() says how the state is corrupt
                    state.partition(index)
                named = self._keep_unmatched(index, known, collect=True)
            else:
                named = self._keep_unmatched(index, given.intersection(plainly), collect=False)
            spool.close()
            self.unchanged += len(named)
            if len(named) < managed:  # the lines of the managed entries no row named as it stands
                lines = text.split("\n")
                lines.pop()  # after the last newline
                unnamed = map(operator.not_, map(named.__contains__, plainly))
                left = "\n".join(itertools.compress(lines, unnamed)) + "\n"
                self._file(f"left.{index}").write_bytes(left.encode("utf-8", "surrogatepass"))
        self.duplicates = self.rows - self.unchanged

    def _distinct_texts(self, spool: IO[bytes], managed: int) -> set[str] | None:
        """
        The distinct addresses the rows of a partition name as they stand: None as soon as they are more than the
        partition manages (then some rows are new: held in memory, they could be the whole input).
        """
        given: set[str] = set()
        for _, _, texts in _frames(spool):
            given.update(self.addresses(texts))
            if len(given) > managed:
                return None
        return given

    def _keep_unmatched(self, index: int, known: set[str], *, collect: bool) -> set[str]:
        """
        Count the rows of partition ``index`` that name an entry of ``known`` (addresses of managed entries) and
        keep the others for validation; return the entries they name: with ``collect``, gathered from the rows,
        else ``known`` itself (every entry of it is named by a row).
        """
        contains = known.__contains__
        found_entries: set[str] = set() if collect else known
        for base, rows, texts in _frames(self._inputs[index]):
            found_addresses = self.addresses(texts)
            if known.issuperset(found_addresses):  # every row names an entry
                self.rows += len(found_addresses)
                if collect:
                    found_entries.update(found_addresses)
                continue
            hits = list(map(contains, found_addresses))
            found = hits.count(True)
            if found:
                self.rows += found
                if collect:
                    found_entries.update(itertools.compress(found_addresses, hits))
            if found < len(hits):
                missed = list(map(operator.not_, hits))
                rest = self._rests[index]
                if rest is None:
                    rest = self._rests[index] = self._spool()
                _write(rest, itertools.compress(rows, missed), _utf8(itertools.compress(texts, missed)), base)
        return found_entries

    def entries(self, index: int, named: bool) -> tuple[dict[str, str | None], int]:
        """
        For the plan's diff of partition ``index``: the managed entries no row named as it stands (identity ->
        state line), and how many the partition manages. With ``named`` (validated rows fall in this partition),
        the entries matched here are included too, as None (named already), so that such a row is a duplicate.
        """
        if not self.active:
            entries: dict[str, str | None] = dict(self.state.partition(index))
            return entries, len(entries)
        left: dict[str, str | None] = {}
        path = self._file(f"left.{index}")
        if path.exists():
            text = path.read_bytes().decode("utf-8", "surrogatepass")  # as written: a line may hold a CR
            lines = text.split("\n")
            lines.pop()
            idents = self.state.kind.identity(text).split("\n")
            idents.pop()
            left = dict(zip(idents, lines, strict=True))
        if named:
            managed: dict[str, str | None] = dict(self.state.partition(index))
            managed.update(dict.fromkeys(managed.keys() - left.keys()))
            return managed, self._managed[index]
        return left, self._managed[index]

    def close(self) -> None:
        """Remove the scratch files (the plan's diff is over)."""
        for spool in (*self._inputs, *self._rests, self._other):
            if spool is not None:
                spool.close()
        self._scratch.cleanup()


_ROW = operator.itemgetter(0)
_T = TypeVar("_T")
_SIZE = 8
_HEAD = struct.Struct(">qQQc")
"""A frame's header: the base of its rows, the bytes of its rows and of its texts, and the rows' array type."""
SPREAD_ROWS = 32_768
"""Input rows spread over the partitions at once (a reader's chunks are joined up to it: fewer, larger frames)."""


def _write(handle: IO[bytes], rows: Iterable[int], text: bytes, base: int | None = None) -> None:
    """
    Append one frame of texts and their rows: its header (:data:`_HEAD`), the rows (with ``base``, their offsets
    from it, positions in a chunk: 4-byte integers; else the row numbers, 8-byte), then the texts in UTF-8 joined
    by newlines (:func:`_utf8`: they hold none). A few C calls per frame; reading it back is one split.
    """
    typecode = "q" if base is None else "I"
    numbers = array.array(typecode, rows).tobytes()
    handle.write(_HEAD.pack(base or 0, len(numbers), len(text), typecode.encode()) + numbers + text)


def _utf8(texts: Iterable[str]) -> bytes:
    return "\n".join(texts).encode("utf-8", "surrogatepass")


def _picked(positions: list[int], values: Sequence[_T]) -> Sequence[_T]:
    """The values at ``positions`` (one C call)."""
    if len(positions) == 1:
        return (values[positions[0]],)
    return cast("Sequence[_T]", operator.itemgetter(*positions)(values))


def _frames(handle: IO[bytes]) -> Iterator[tuple[int | None, array.array[int], list[str]]]:
    """Each frame's base (None: its rows are row numbers), rows (offsets from the base) and texts."""
    handle.seek(0)
    while head := handle.read(_HEAD.size):
        base, numbers, text, typecode = _HEAD.unpack(head)
        rows = array.array(typecode.decode())
        rows.frombytes(handle.read(numbers))
        yield (None if typecode == b"q" else base), rows, handle.read(text).decode("utf-8", "surrogatepass").split("\n")


def _pairs(handle: IO[bytes]) -> Iterator[Item]:
    for base, rows, values in _frames(handle):
        yield from zip(map(base.__add__, rows) if base else rows, values, strict=True)


def _write_objects(handle: IO[bytes], rows: Iterable[int], values: Iterable[object]) -> None:
    data = pickle.dumps((list(rows), list(values)))
    handle.write(len(data).to_bytes(_SIZE, "big") + data)


def _object_pairs(handle: IO[bytes]) -> Iterator[Item]:
    handle.seek(0)
    while head := handle.read(_SIZE):
        rows, values = pickle.loads(handle.read(int.from_bytes(head, "big")))
        yield from zip(rows, values, strict=True)
