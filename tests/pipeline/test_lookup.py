"""The phone look-up engine: answers in input order, bounded in flight, whatever order they arrive in."""

from __future__ import annotations

import random
import threading
import time

import pytest

from airflow_provider_wooxy.pipeline.lookup import look_up


class SlowFind:
    """Answers after a random pause; lists the numbers ending in an even digit."""

    def __init__(self) -> None:
        self.in_flight = self.most = 0
        self._lock = threading.Lock()
        self._random = random.Random(3)

    def __call__(self, phone_number, reject_type=None, *, offset=0, limit=20):
        with self._lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            pause = self._random.uniform(0, 0.005)
        time.sleep(pause)
        with self._lock:
            self.in_flight -= 1
        listed = int(phone_number[-1]) % 2 == 0
        return {"data": [{"phoneNumber": phone_number, "rejectType": "import"}] if listed else [], "totalCount": 1}


class TestLookUp:
    @pytest.mark.parametrize("max_concurrency", [pytest.param(1, id="one"), pytest.param(7, id="seven")])
    def test_input_order_and_concurrency(self, max_concurrency):
        find = SlowFind()
        numbers = [(row, f"+4479111234{row:02d}") for row in range(1, 61)]
        answers = list(look_up(find, numbers, max_concurrency=max_concurrency))
        assert [(row, number) for row, number, _ in answers] == numbers
        assert all(bool(entries) == (int(number[-1]) % 2 == 0) for _, number, entries in answers)
        assert find.most <= max_concurrency

    def test_empty_input(self):
        assert list(look_up(SlowFind(), [])) == []
