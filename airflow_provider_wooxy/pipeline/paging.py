"""
The bounded, ordered request loop the read flows share (the export's pages, the look-up's numbers): calls run
on a thread pool, a fixed number in flight, and their answers come back in the order the calls were made.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from concurrent.futures import Executor

T = TypeVar("T")


def in_order(
    pool: Executor, next_call: Callable[[], Callable[[], T] | None], *, max_in_flight: int, window: int
) -> Iterator[T]:
    """
    Yield the answers of the calls ``next_call`` hands out, in the order it handed them out.

    At most ``max_in_flight`` calls run at once, and at most ``window`` have been made since the oldest answer not
    yet yielded, so that memory stays flat however long the run. ``next_call`` returns ``None`` when it has
    nothing to call for now; it is asked again after every answer (an answer may tell it there is more, such as a
    list that grew), and the loop ends when it has nothing while nothing is in flight. A call that raises stops
    the loop with its error as soon as it finishes.

    :param pool: runs the calls; at least ``max_in_flight`` workers.
    :param next_call: the next call to make, or ``None``.
    :param max_in_flight: calls running at once.
    :param window: calls made ahead of the oldest answer not yet yielded (at least ``max_in_flight``).
    """
    in_flight: dict[Future[T], int] = {}
    done: dict[int, T] = {}
    made = yielded = 0
    while True:
        while len(in_flight) < max_in_flight and made - yielded < window:
            call = next_call()
            if call is None:
                break
            in_flight[pool.submit(call)] = made
            made += 1
        if not in_flight:
            return  # every answer was yielded, and there is nothing more to call
        finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
        for future in finished:
            done[in_flight.pop(future)] = future.result()
        while yielded in done:
            yield done.pop(yielded)
            yielded += 1
