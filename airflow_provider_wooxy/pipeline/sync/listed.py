"""
Which of a sync's new entries Wooxy lists already: added by Wooxy's bounce handling, its UI, another tool or another
sync. A sync never takes ownership of those (it would remove someone else's entry once its input drops it), unless
the user asks it to (``claim_existing``).

* Emails: per reject type, whichever takes fewer requests: look each new address up (``blacklist/find`` with the
  address), or page the reject type's whole list, 1,000 rows a request (one request tells its size first).
* Phones: look each new number up (``phone-blacklist/find``; the list cannot be paged). A number listed with any
  reject type counts, since the phone list's remove takes none: removing ours would lift theirs.

The look-ups are reads: a dry run makes them too. At most ``max_concurrency`` are in flight. Plain Python: no
Airflow import.
"""

from __future__ import annotations

import functools
import math
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_wooxy.exceptions import WooxyPagingError
from airflow_provider_wooxy.pipeline.export import RejectTypePager
from airflow_provider_wooxy.pipeline.lookup import look_up
from airflow_provider_wooxy.pipeline.paging import in_order
from airflow_provider_wooxy.pipeline.stopping import Stoppable

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from airflow_provider_wooxy.pipeline.sync.entries import ListKind
    from airflow_provider_wooxy.pipeline.sync.plan import Plan
    from airflow_provider_wooxy.pipeline.sync.state import SyncState

_ROWS_PER_LOOKUP = 100
"""Rows asked for per look-up: far more than one address or number has (one per reject type)."""
LISTING_PAGE_SIZE = 1_000
"""Rows asked for per page when a reject type's list is paged (rows without rawLog: about 100 kB a page). A server
that serves fewer per page is followed (the pager asks again from where it stopped)."""


class ListedCheckStopped(Exception):
    """The check was stopped (the task is being killed); nothing was sent."""


@dataclass
class ListedReport:
    """What the check found and cost."""

    checked: int = 0
    listed: int = 0
    requests: int = 0
    paged_types: tuple[str, ...] = ()
    """Email reject types read by paging their whole list rather than by looking each address up."""
    seconds: float = 0.0


class ListedCheck(Stoppable):
    """
    Finds which new entries a list on Wooxy holds already.

    :param kind: the list (:data:`~airflow_provider_wooxy.pipeline.sync.entries.EMAIL` or ``PHONE``).
    :param find: the hook's ``find_email_blacklist`` (email) or ``find_phone_blacklist`` (phone).
    :param max_concurrency: requests in flight.
    :param page_size: emails: rows asked for per page when a reject type is paged.
    """

    def __init__(
        self,
        kind: ListKind,
        find: Callable[..., Mapping[str, Any]],
        *,
        max_concurrency: int = 10,
        page_size: int = LISTING_PAGE_SIZE,
    ) -> None:
        self.kind = kind
        self.find: Any = find
        self.max_concurrency = max_concurrency
        self.page_size = page_size
        self.report = ListedReport()

    def run(self, lines: Iterable[str]) -> set[str]:
        """The identities of the entries (state lines ``lines``) that Wooxy lists already."""
        started = time.monotonic()
        try:
            listed = self._emails(lines) if self.kind.find_pages_the_list else self._phones(lines)
        finally:
            self.report.seconds = time.monotonic() - started
        self.report.listed = len(listed)
        return listed

    # -- email -----------------------------------------------------------------------------------------------

    def _emails(self, lines: Iterable[str]) -> set[str]:
        by_type: dict[str, list[str]] = defaultdict(list)
        for line in lines:
            by_type[line.rpartition("\t")[2].lower()].append(line)
        listed: set[str] = set()
        paged: list[str] = []
        for reject_type, group in sorted(by_type.items()):
            self._check_stopped()
            size = self._type_size(reject_type)
            if size == 0:  # an empty list (a first sync) lists none of them
                self.report.checked += len(group)
            elif math.ceil(size / self.page_size) < len(group):  # paging it costs fewer requests
                paged.append(reject_type)
                self.report.checked += len(group)
                listed |= self._paged(reject_type, group)
            else:
                listed |= self._each(group, self._email_listed)
        self.report.paged_types = tuple(paged)
        return listed

    def _type_size(self, reject_type: str) -> int:
        answer = self.find(reject_type, offset=0, limit=1)
        self.report.requests += 1
        total = answer.get("totalCount")
        if not isinstance(total, int) or isinstance(total, bool) or total < 0:
            raise _unreadable(self.kind.wooxy.find, f"for {reject_type}, a totalCount of {total!r}")
        return total

    def _paged(self, reject_type: str, group: list[str]) -> set[str]:
        identity = self.kind.identity
        wanted = {identity(line) for line in group}
        found: set[str] = set()

        def write(rows: list[dict[str, Any]]) -> None:
            for row in rows:
                ident = identity(f"{row.get('email')}\t{reject_type}")
                if ident in wanted:
                    found.add(ident)

        pager = self.adopt(
            RejectTypePager(self.find, write, max_concurrency=self.max_concurrency, page_size=self.page_size)
        )
        self.report.requests += pager.run([reject_type]).requests
        return found

    def _email_listed(self, line: str) -> bool:
        address, _, reject_type = line.rpartition("\t")
        rows = _rows(self.kind.wooxy.find, self.find(reject_type, email=address, offset=0, limit=_ROWS_PER_LOOKUP))
        wanted = address.lower()
        return any(isinstance(row, dict) and str(row.get("email", "")).lower() == wanted for row in rows)

    # -- phone: the look-up's own (pipeline/lookup.py), with its page checks -----------------------------------

    def _phones(self, lines: Iterable[str]) -> set[str]:
        numbers = ((0, line) for line in self._unstopped(lines))
        listed: set[str] = set()
        for _, number, entries in look_up(self.find, numbers, max_concurrency=self.max_concurrency):
            self.report.requests += 1
            if any(entry.get("phoneNumber") == number for entry in entries):
                listed.add(number)
        return listed

    # -- one look-up per entry, up to max_concurrency in flight ----------------------------------------------

    def _each(self, lines: Iterable[str], is_listed: Callable[[str], bool]) -> set[str]:
        pending = self._unstopped(lines)

        def next_call() -> Callable[[], tuple[str, bool]] | None:
            line = next(pending, None)
            return None if line is None else functools.partial(lambda text: (text, is_listed(text)), line)

        listed: set[str] = set()
        with ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="wooxy-listed") as pool:
            window = 2 * self.max_concurrency
            for line, found in in_order(pool, next_call, max_in_flight=self.max_concurrency, window=window):
                self.report.requests += 1
                if found:
                    listed.add(self.kind.identity(line))
        return listed

    def _unstopped(self, lines: Iterable[str]) -> Iterator[str]:
        """``lines``, counted as checked, until the check is stopped (then :class:`ListedCheckStopped`)."""
        for line in lines:
            self._check_stopped()
            self.report.checked += 1
            yield line

    def _check_stopped(self) -> None:
        if self.stopped is not None:
            raise ListedCheckStopped(f"the look-up of existing entries was stopped ({self.stopped}); nothing was sent")


def _rows(method: str, answer: Mapping[str, Any]) -> list[Any]:
    """A look-up's rows; an answer without them is an error, never "not listed" (that would claim the entry)."""
    rows = answer.get("data")
    if not isinstance(rows, list):
        raise _unreadable(method, f"an answer without rows (keys: {sorted(answer)})")
    return rows


def _unreadable(method: str, what: str) -> WooxyPagingError:
    return WooxyPagingError(
        method,
        [f"the look-up of new entries got {what}: it cannot tell whose they are, so nothing was added or removed"],
    )


def leave_listed(plan: Plan, state: SyncState, check: ListedCheck | None, log: Any) -> int:
    """
    Take the plan's new entries that Wooxy lists already out of its adds (with ``check``; None: claim them), and
    have the state keep them as known; return the look-up requests made.
    """
    if check is None:
        state.keep_listed(plan.listed)
        return 0
    plan.drop_listed(check.run(plan.new_entries()))
    state.keep_listed(plan.listed)
    report = check.report
    log.info(
        "Looked up the %d new entries on Wooxy in %d requests (%.1f s)%s: %d are listed already (added by Wooxy "
        "or another tool), so this sync keeps them as known and never adds or removes them.",
        report.checked,
        report.requests,
        report.seconds,
        f", paging the {', '.join(report.paged_types)} list" if report.paged_types else "",
        report.listed,
    )
    return report.requests
