"""The phone look-up engine, without Airflow: answers in input order, bounded in flight, and the whole flow."""

from __future__ import annotations

import random
import threading
import time

import pytest

from airflow_provider_wooxy.exceptions import WooxyPagingError
from airflow_provider_wooxy.hooks.wooxy import WooxyHook
from airflow_provider_wooxy.pipeline.lookup import check_numbers, look_up
from airflow_provider_wooxy.pipeline.rejects import Rejects
from airflow_provider_wooxy.pipeline.validation import PhoneRecords
from tests.helpers.servers import LyingList


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
        data = [{"phoneNumber": phone_number, "rejectType": "import"}] if int(phone_number[-1]) % 2 == 0 else []
        return {"data": data, "totalCount": len(data)}


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


class TestCheckNumbers:
    """The whole look-up flow in plain Python: read -> validate/dedupe -> look up -> write -> counts."""

    def test_listed_numbers_written_invalid_rejected_duplicates_counted(self, tmp_path):
        items = iter(enumerate(["07911 123410", "+44 7911 123410", "not a number", "07911 123411"], start=1))
        rejects = Rejects()
        out = tmp_path / "listed.csv"
        summary = check_numbers(
            SlowFind(), items, PhoneRecords(default_region="GB"), out, fmt="csv", rejects=rejects, max_concurrency=2
        )
        assert summary == {
            "operation": "phone-blacklist/check",
            "checked": 2,
            "listed": 1,
            "not_listed": 1,
            "duplicates": 1,
            "invalid": 1,
            "by_reject_type": {"import": 1},
        }
        assert out.read_text().splitlines() == ["phoneNumber,rejectType,createdAt", "+447911123410,import,"]
        assert rejects.sample[0]["row"] == 3
        rejects.close()

    def test_a_failed_run_leaves_no_partial_file(self, tmp_path):
        def broken(phone_number, reject_type=None, *, offset=0, limit=20):
            raise RuntimeError("the API went away")

        out = tmp_path / "listed.csv"
        with pytest.raises(RuntimeError, match="went away"):
            check_numbers(broken, iter([(1, "+447911123410")]), PhoneRecords(), out, fmt="csv", rejects=Rejects())
        assert not out.exists()


class TestAServerThatLies:
    """Over real HTTP through the hook: a count the page contradicts ends the look-up, the number masked."""

    @pytest.mark.parametrize(
        ("total", "message"),
        [
            pytest.param(5, "1 entries served where the same answer's totalCount is 5", id="more-than-served"),
            pytest.param(None, None, id="consistent"),
        ],
    )
    def test_a_count_beyond_the_page(self, hostile, tmp_path, total, message):
        server = hostile(LyingList(0, total=total))
        numbers = [(row, f"+4479111234{row:02d}") for row in range(1, 31)]
        if message is None:
            assert len(list(look_up(WooxyHook().find_phone_blacklist, numbers, max_concurrency=3))) == 30
            return
        with pytest.raises(WooxyPagingError, match=message) as info:
            list(look_up(WooxyHook().find_phone_blacklist, numbers, max_concurrency=3))
        assert not any(number in str(info.value) for _, number in numbers)
        assert "phone number +4****" in str(info.value)  # masked
        assert len(server.requests) <= 1 + 2 * 3

    def test_an_empty_page_below_the_count(self):
        def find(phone_number, reject_type=None, *, offset=0, limit=20):
            return {"result": True, "data": [], "totalCount": 2}

        with pytest.raises(WooxyPagingError, match="an empty page at offset 0 while the same answer's totalCount is 2"):
            list(look_up(find, [(1, "+447911123410")]))
