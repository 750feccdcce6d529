"""The bounded, ordered request loop the export and the look-up share (pipeline/paging.py)."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from airflow_provider_wooxy.exceptions import WooxyPagingError, WooxyPermanentError, WooxyTransientError
from airflow_provider_wooxy.pipeline.paging import (
    REQUEST_MARGIN,
    TOLERANCE_MIN,
    PageWalk,
    check_page,
    in_order,
    total_tolerance,
)


class Calls:
    """Hands out ``count`` calls that answer their own number after a random pause, counting how many overlap."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.made = self.running = self.most = 0
        self._lock = threading.Lock()
        self._random = random.Random(7)

    def __call__(self):
        if self.made >= self.count:
            return None
        number, self.made = self.made, self.made + 1
        pause = self._random.uniform(0, 0.003)

        def call() -> int:
            with self._lock:
                self.running += 1
                self.most = max(self.most, self.running)
            time.sleep(pause)
            with self._lock:
                self.running -= 1
            return number

        return call


class TestInOrder:
    @pytest.mark.parametrize("max_in_flight", [pytest.param(1, id="one"), pytest.param(6, id="six")])
    def test_answers_in_call_order_and_bounded(self, max_in_flight):
        calls = Calls(80)
        with ThreadPoolExecutor(max_in_flight) as pool:
            answers = list(in_order(pool, calls, max_in_flight=max_in_flight, window=2 * max_in_flight))
        assert answers == list(range(80))
        assert calls.most <= max_in_flight

    def test_asked_again_after_each_answer(self):
        """A source that has nothing for now but more once an answer arrived (a list that grew) is followed."""
        answered: list[int] = []
        limit = [3]
        made = [0]

        def next_call():
            if made[0] >= limit[0]:
                return None
            made[0] += 1
            number = made[0]
            return lambda: number

        with ThreadPoolExecutor(2) as pool:
            for answer in in_order(pool, next_call, max_in_flight=2, window=4):
                answered.append(answer)
                if answer == 3:
                    limit[0] = 5  # the list grew: two more calls
        assert answered == [1, 2, 3, 4, 5]

    def test_a_failing_call_stops_the_loop_with_its_error(self):
        def next_call():
            def call() -> int:
                raise RuntimeError("refused")

            return call

        with ThreadPoolExecutor(2) as pool, pytest.raises(RuntimeError, match="refused"):
            list(in_order(pool, next_call, max_in_flight=2, window=4))


class TestTolerance:
    @pytest.mark.parametrize(
        ("total", "tolerance"),
        [
            pytest.param(0, TOLERANCE_MIN, id="empty"),
            pytest.param(5_000, TOLERANCE_MIN, id="small-list-the-minimum"),
            pytest.param(10_000, 1_000, id="at-the-switch"),
            pytest.param(1_000_001, 100_001, id="large-list-ten-percent-rounded-up"),
        ],
    )
    def test_values(self, total, tolerance):
        assert total_tolerance(total) == tolerance


class TestCheckPage:
    @pytest.mark.parametrize(
        ("offset", "served", "total"),
        [
            pytest.param(0, 0, 0, id="empty-list"),
            pytest.param(100, 0, 100, id="empty-at-the-end"),
            pytest.param(100, 0, 90, id="the-list-shrank-below-the-offset"),
            pytest.param(0, 5, 10**9, id="rows-served"),
        ],
    )
    def test_consistent_pages_pass(self, offset, served, total):
        check_page("blacklist/find", "reject type hard", offset, served, total)

    def test_empty_before_the_count_is_a_permanent_error(self):
        with pytest.raises(
            WooxyPagingError, match=r"empty page at offset 100 while the same answer's totalCount is 10+:"
        ):
            check_page("blacklist/find", "reject type hard", 100, 0, 10**9)
        assert issubclass(WooxyPagingError, WooxyPermanentError)  # never retried: the server lies


class TestPageWalk:
    def test_the_request_bound(self):
        """A first page of 100 from a count of 1000 (tolerance 1000): twice the pages of 2000 rows, plus the margin."""
        walk = PageWalk("blacklist/find", "reject type hard", 1000, 100)
        assert walk.max_requests == 2 * 20 + REQUEST_MARGIN
        for _ in range(walk.max_requests - 1):
            walk.answered(100, 1, 1000)
        with pytest.raises(WooxyPagingError, match=r"51 requests where a totalCount of 1000 allows at most 50"):
            walk.answered(100, 1, 1000)

    @pytest.mark.parametrize(
        ("total", "fails"),
        [
            pytest.param(11_000, False, id="grew-by-the-tolerance"),
            pytest.param(11_001, True, id="grew-beyond"),
            pytest.param(9_000, False, id="shrank-by-the-tolerance"),
            pytest.param(8_999, True, id="shrank-beyond"),
        ],
    )
    def test_a_count_that_moves(self, total, fails):
        walk = PageWalk("blacklist/find", "reject type hard", 10_000, 100)
        if not fails:
            walk.answered(100, 100, total)
            return
        with pytest.raises(WooxyTransientError, match=rf"totalCount moved from 10000 to {total} .* than the 1000"):
            walk.answered(100, 100, total)

    def test_a_repeated_page(self):
        walk = PageWalk("blacklist/find", "reject type hard", 10_000, 2)
        walk.rows(0, ["a", "b"], 0)
        with pytest.raises(WooxyPagingError, match="the page at offset 2 repeats the one before it"):
            walk.rows(2, ["a", "b"], 2)

    def test_a_one_row_overlap_is_a_shift_not_a_repeat(self):
        """An entry inserted before the next page repeats one row: tolerated, counted."""
        walk = PageWalk("blacklist/find", "reject type hard", 10_000, 2)
        walk.rows(0, ["a", "b"], 0)
        walk.rows(2, ["b", "c"], 1)
        walk.rows(4, ["d"], 0)
        walk.rows(5, ["d"], 1)  # one row pages: the same row twice may be a shift
        assert walk.repeated == 2

    def test_rows_served_twice_beyond_the_tolerance(self):
        walk = PageWalk("blacklist/find", "reject type hard", 100, 1)
        for offset in range(TOLERANCE_MIN):
            walk.rows(offset, ["a"] if offset % 2 else ["b"], 1)
        with pytest.raises(WooxyPagingError, match=r"1001 rows served twice, more than the 1000 tolerated"):
            walk.rows(TOLERANCE_MIN, ["c"], 1)
