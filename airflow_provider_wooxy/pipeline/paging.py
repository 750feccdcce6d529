"""
The bounded, ordered request loop the read flows share (the export's pages, the look-up's numbers): calls run
on a thread pool, a fixed number in flight, and their answers come back in the order the calls were made.

And the one place that checks what the pages say against each other (:class:`PageWalk`, :func:`check_page`), which
the export, the drift check (through the export's pager) and the look-up use, so that a server that ignores
``offset`` or whose ``totalCount`` lies ends the walk with a clear error within a bounded number of requests:

* a page that repeats the one before it (two rows or more, the same rows in the same order), or more rows served
  twice than the tolerance: the server ignores ``offset`` (:class:`WooxyPagingError`);
* an empty page at an offset below the ``totalCount`` of the same answer (:class:`WooxyPagingError`);
* a ``totalCount`` that moves from the first page's by more than the tolerance, :func:`total_tolerance`: 10% of
  the first count or 1,000 entries, whichever is more, either way (:class:`WooxyTransientError`: a list changing
  that fast may be quieter later; Airflow's retries may run the task again);
* more requests than ``2 * ceil((first totalCount + tolerance) / page size served) + 10``: every page may come back
  short once and be completed by one more request (:class:`WooxyPagingError`).
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TYPE_CHECKING, TypeVar

from airflow_provider_wooxy.exceptions import WooxyPagingError, WooxyTransientError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from concurrent.futures import Executor

T = TypeVar("T")

TOLERANCE_SHARE = 0.1
"""How far ``totalCount`` may move during a walk, as a share of the first page's count (or :data:`TOLERANCE_MIN`)."""
TOLERANCE_MIN = 1_000
"""How far ``totalCount`` may move during a walk at least, in entries: a small list may grow by this much."""
REQUEST_MARGIN = 10
"""Requests allowed beyond twice the pages the tolerated ``totalCount`` needs."""


def total_tolerance(total: int) -> int:
    """How far ``totalCount`` may move from ``total`` during a walk, and how many rows may be served twice."""
    return max(TOLERANCE_MIN, math.ceil(max(total, 0) * TOLERANCE_SHARE))


def check_page(method: str, what: str, offset: int, served: int, total: int) -> None:
    """Raise :class:`WooxyPagingError` when an answer's page is empty at an offset below its own ``totalCount``."""
    if served == 0 and offset < total:
        raise WooxyPagingError(
            method,
            [
                f"{what}: an empty page at offset {offset} while the same answer's totalCount is {total}: the "
                "server's count cannot be trusted, so the list cannot be read whole",
                "check the connection's base URL",
            ],
        )


class PageWalk:
    """
    What the pages of one list have said so far, checked against each other (the rules are the module's).

    :meth:`answered` is called after every request (from any thread), :meth:`rows` with each stretch of rows in
    offset order.

    :param method: the API method, for the messages.
    :param what: what is paged (``reject type hard``), for the messages.
    :param first_total: the first page's ``totalCount``.
    :param step: how many rows the first page served: the page size the server serves.
    """

    def __init__(self, method: str, what: str, first_total: int, step: int) -> None:
        self.method = method
        self.what = what
        self.first_total = first_total
        self.tolerance = total_tolerance(first_total)
        self.max_requests = 2 * math.ceil((first_total + self.tolerance) / max(step, 1)) + REQUEST_MARGIN
        self.requests = 1  # the first page
        self.repeated = 0
        self._previous: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def _error(self, text: str) -> WooxyPagingError:
        return WooxyPagingError(self.method, [f"{self.what}: {text}", "check the connection's base URL"])

    def answered(self, offset: int, served: int, total: int) -> None:
        """One more request answered ``served`` rows at ``offset`` with ``totalCount`` ``total``."""
        with self._lock:
            self.requests += 1
            requests = self.requests
        if requests > self.max_requests:
            raise self._error(
                f"{requests} requests where a totalCount of {self.first_total} allows at most {self.max_requests}: "
                "the server serves pages far shorter than its first one, or never reaches its count"
            )
        if abs(total - self.first_total) > self.tolerance:
            raise WooxyTransientError(
                self.method,
                [
                    f"{self.what}: totalCount moved from {self.first_total} to {total} while the list was read, "
                    f"more than the {self.tolerance} entries tolerated; run again once the list is quieter"
                ],
            )
        check_page(self.method, self.what, offset, served, total)

    def rows(self, offset: int, keys: Sequence[str], repeated: int) -> None:
        """
        The rows from ``offset`` on (their keys, in order), of which ``repeated`` were served before: called in
        offset order.
        """
        page = tuple(keys)
        if len(page) >= 2 and page == self._previous:
            raise self._error(
                f"the page at offset {offset} repeats the one before it: the server ignores offset, so the list "
                "cannot be read whole"
            )
        self._previous = page
        self.repeated += repeated
        if self.repeated > self.tolerance:
            raise self._error(
                f"{self.repeated} rows served twice, more than the {self.tolerance} tolerated: the server ignores "
                "offset, so the list cannot be read whole"
            )


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
