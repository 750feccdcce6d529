"""The bounded, ordered request loop the export and the look-up share (pipeline/paging.py)."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from airflow_provider_wooxy.pipeline.paging import in_order


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
