"""
An input a chunk of rows at a time: the form in which a sync reads (pipeline/sync/first_pass.py), so that per-row work
can run in C (``map``, ``set``) over a whole chunk. Every reader's ``(row, item)`` pairs can be read this way.

Plain Python: no Airflow import.
"""

from __future__ import annotations

import itertools
import operator
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

Item = tuple[int, object]
CHUNK_ROWS = 16_384
"""Rows per chunk where a reader has no chunks of its own (:func:`chunks_of`)."""


class Chunk(NamedTuple):
    """Consecutive items of an input and their rows."""

    rows: Sequence[int]
    items: list[object]


class TextChunk(Chunk):
    """A chunk whose items are all texts (``str``) holding no newline: a one-column CSV's lines."""

    __slots__ = ()


class Items:
    """
    An input's ``(row, item)`` pairs (iterate it once), which can be read a :class:`Chunk` at a time instead.

    :param chunks: makes the chunk iterator (called once).
    """

    def __init__(self, chunks: Callable[[], Iterator[Chunk]]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[Item]:
        for rows, items in self._chunks():
            yield from zip(rows, items, strict=True)

    def chunks(self) -> Iterator[Chunk]:
        """The same items, a :class:`Chunk` at a time (instead of iterating them)."""
        return self._chunks()


def chunks_of(items: Iterable[Item], size: int = CHUNK_ROWS) -> Iterator[Chunk]:
    """The input ``items`` a chunk of rows at a time: its own chunks when it has them, else ``size`` pairs each."""
    native = getattr(items, "chunks", None)
    if callable(native):
        yield from native()
        return
    pairs = iter(items)
    while True:
        chunk: list[Item] = []
        try:
            chunk.extend(itertools.islice(pairs, size))
        except Exception:
            # The reader stopped (a bad row, the end of a document that must be read again): the pairs read before
            # it are handed out first, as to a reader taking them one by one. extend() keeps what it got.
            if chunk:
                yield _chunk(chunk)
            raise
        if not chunk:
            return
        yield _chunk(chunk)


def at_least(chunks: Iterable[Chunk], rows: int) -> Iterator[Chunk]:
    """``chunks`` joined into chunks of at least ``rows`` rows (the last one may be smaller), in order."""
    parts: list[Sequence[int]] = []
    items: list[object] = []
    texts = True  # every part a TextChunk: so is the whole
    for chunk in chunks:
        parts.append(chunk.rows)
        items.extend(chunk.items)
        texts = texts and isinstance(chunk, TextChunk)
        if len(items) >= rows:
            yield (TextChunk if texts else Chunk)(_joined(parts), items)
            parts, items, texts = [], [], True
    if items:
        yield (TextChunk if texts else Chunk)(_joined(parts), items)


def _joined(parts: list[Sequence[int]]) -> Sequence[int]:
    """The rows of consecutive chunks: one range when they are ranges that follow each other (a file's)."""
    ranges = [part for part in parts if isinstance(part, range)]
    if len(ranges) == len(parts) and all(a.stop == b.start for a, b in itertools.pairwise(ranges)):
        return range(ranges[0].start, ranges[-1].stop)
    return list(itertools.chain.from_iterable(parts))


def _chunk(pairs: list[Item]) -> Chunk:
    # Two itemgetter passes: zip(*pairs) would take each pair as an argument, over a microsecond a pair.
    return Chunk(list(map(_ROW, pairs)), list(map(_ITEM, pairs)))


_ROW = operator.itemgetter(0)
_ITEM = operator.itemgetter(1)
