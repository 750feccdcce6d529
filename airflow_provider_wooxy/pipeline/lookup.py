"""
Looking numbers up in the phone blacklist: one ``phone-blacklist/find`` per number, up to ``max_concurrency`` in
flight, answers handed back in input order.

The phone blacklist cannot be listed (its find method needs a number), so checking a known set of numbers is the
read side it offers. No Airflow import here: the operator gives a ``find`` callable (the hook's).
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping


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
    with ThreadPoolExecutor(max_concurrency, thread_name_prefix="wooxy-lookup") as pool:
        in_flight: dict[Future[Mapping[str, Any]], int] = {}
        order: dict[int, tuple[int, str]] = {}
        done: dict[int, list[Mapping[str, Any]]] = {}
        submitted = emitted = 0
        exhausted = False
        while True:
            while not exhausted and len(in_flight) < max_concurrency and submitted - emitted < 2 * max_concurrency:
                item = next(pending, None)
                if item is None:
                    exhausted = True
                    break
                order[submitted] = item
                in_flight[pool.submit(find, item[1], limit=100)] = submitted
                submitted += 1
            while emitted in done:
                row, number = order.pop(emitted)
                yield row, number, done.pop(emitted)
                emitted += 1
            if not in_flight:
                if exhausted:
                    return
                continue
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                index = in_flight.pop(future)
                data = future.result().get("data")
                done[index] = [row for row in data if isinstance(row, dict)] if isinstance(data, list) else []
