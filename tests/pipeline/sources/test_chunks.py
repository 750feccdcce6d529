"""An input a chunk of rows at a time (pipeline/sources/chunks.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.sources.chunks import Chunk, Items, at_least, chunks_of

if TYPE_CHECKING:
    from collections.abc import Iterator


def _pairs(count: int, fail_after: int | None = None) -> Iterator[tuple[int, object]]:
    for row in range(1, count + 1):
        if row == fail_after:
            raise WooxyInputError(f"broken at row {row}")
        yield row, f"value {row}"


class TestChunksOf:
    def test_pairs_are_chunked_in_order(self):
        chunks = list(chunks_of(_pairs(7), size=3))
        assert [list(c.rows) for c in chunks] == [[1, 2, 3], [4, 5, 6], [7]]
        assert [item for c in chunks for item in c.items] == [f"value {r}" for r in range(1, 8)]

    def test_the_pairs_read_before_a_failure_come_out_first(self):
        chunks = chunks_of(_pairs(10, fail_after=6), size=4)
        assert list(next(chunks).rows) == [1, 2, 3, 4]
        assert list(next(chunks).rows) == [5]
        with pytest.raises(WooxyInputError, match="broken at row 6"):
            next(chunks)  # as a reader taking them one by one would have seen them

    def test_native_chunks_are_used_as_they_are(self):
        native = [Chunk(range(1, 3), ["a", "b"]), Chunk(range(3, 4), ["c"])]
        items = Items(lambda: iter(native))
        assert list(chunks_of(items)) == native
        assert list(Items(lambda: iter(native))) == [(1, "a"), (2, "b"), (3, "c")]


class TestAtLeast:
    def test_consecutive_ranges_join_into_one_range(self):
        chunks = [Chunk(range(1, 3), ["a", "b"]), Chunk(range(3, 6), ["c", "d", "e"]), Chunk(range(6, 7), ["f"])]
        joined = list(at_least(chunks, 4))
        assert joined == [Chunk(range(1, 6), ["a", "b", "c", "d", "e"]), Chunk(range(6, 7), ["f"])]

    def test_rows_that_do_not_follow_each_other_become_a_list(self):
        chunks = [Chunk((1, 4), ["a", "b"]), Chunk(range(9, 10), ["c"])]
        assert list(at_least(chunks, 10)) == [Chunk([1, 4, 9], ["a", "b", "c"])]
