"""
Looking numbers up in the phone blacklist: one ``phone-blacklist/find`` per number, up to ``max_concurrency`` in
flight, answers handed back in input order.

The phone blacklist cannot be listed (its find method needs a number), so checking a known set of numbers is the
read side it offers. No Airflow import here: the operator gives a ``find`` callable (the hook's).
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_wooxy.pipeline.paging import in_order

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping


class FindNumber(Protocol):
    """The API's ``phone-blacklist/find`` (the hook's ``find_phone_blacklist``)."""

    def __call__(
        self, phone_number: str, reject_type: str | None = None, *, offset: int = 0, limit: int = 20
    ) -> Mapping[str, Any]: ...


def look_up(
    find: FindNumber, numbers: Iterable[tuple[int, str]], *, max_concurrency: int = 10
) -> Iterator[tuple[int, str, list[Mapping[str, Any]]]]:
    """
    Yield ``(row, number, entries)`` for each ``(row, number)``, in input order; ``entries`` is empty when the
    number is not listed.

    At most ``max_concurrency`` look-ups are in flight and at most twice that many answers wait for an earlier
    one, so memory stays flat in the input's size.

    :param find: looks one E.164 number up; it retries transient faults itself.
    :param numbers: ``(row, E.164 number)`` pairs.
    :param max_concurrency: look-ups in flight at once.
    """
    pending = iter(numbers)

    def next_call() -> Callable[[], tuple[int, str, list[Mapping[str, Any]]]] | None:
        item = next(pending, None)
        return None if item is None else functools.partial(_find, find, *item)

    with ThreadPoolExecutor(max_concurrency, thread_name_prefix="wooxy-lookup") as pool:
        yield from in_order(pool, next_call, max_in_flight=max_concurrency, window=2 * max_concurrency)


def _find(find: FindNumber, row: int, number: str) -> tuple[int, str, list[Mapping[str, Any]]]:
    data = find(number, limit=100).get("data")
    return row, number, [entry for entry in data if isinstance(entry, dict)] if isinstance(data, list) else []
