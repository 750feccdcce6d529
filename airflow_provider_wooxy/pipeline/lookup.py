"""
Looking numbers up in the phone blacklist: read -> validate/dedupe -> one ``phone-blacklist/find`` per number, up
to ``max_concurrency`` in flight, answers in input order -> write the listed ones -> report.

The phone blacklist cannot be listed (its find method needs a number), so checking a known set of numbers is the
read side it offers. No Airflow import here: the operator gives a ``find`` callable (the hook's) and a path object.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_wooxy.api import MAX_CONCURRENT_REQUESTS, PHONE_FIND
from airflow_provider_wooxy.exceptions import WooxyPagingError
from airflow_provider_wooxy.masking import mask_value
from airflow_provider_wooxy.pipeline.atomic import output_file
from airflow_provider_wooxy.pipeline.intake import Tally, validated
from airflow_provider_wooxy.pipeline.output import EntryWriter
from airflow_provider_wooxy.pipeline.paging import check_page, in_order

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from airflow_provider_wooxy.pipeline.rejects import Rejects
    from airflow_provider_wooxy.pipeline.sources.chunks import Item
    from airflow_provider_wooxy.pipeline.validation import PhoneRecords

_ENTRIES_PER_NUMBER = 100
"""The page asked for per number: far more than its entries (one per reject type), so one request answers it."""
LISTED_COLUMNS = ("phoneNumber", "rejectType", "createdAt")
"""The columns of the file of listed numbers."""


class FindNumber(Protocol):
    """The API's ``phone-blacklist/find`` (the hook's ``find_phone_blacklist``)."""

    def __call__(
        self, phone_number: str, reject_type: str | None = None, *, offset: int = 0, limit: int = 20
    ) -> Mapping[str, Any]: ...


def look_up(
    find: FindNumber, numbers: Iterable[tuple[int, str]], *, max_concurrency: int = MAX_CONCURRENT_REQUESTS
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
    answer = find(number, limit=_ENTRIES_PER_NUMBER)
    data, total = answer.get("data"), answer.get("totalCount")
    what = f"phone number {mask_value(number)}"
    if not isinstance(data, list):  # never read as "not listed": a sync would then claim someone else's entry
        raise WooxyPagingError(
            PHONE_FIND, [f"{what}: an answer without rows (keys: {sorted(answer)})", "check the connection's base URL"]
        )
    entries: list[Mapping[str, Any]] = [entry for entry in data if isinstance(entry, dict)]
    if isinstance(total, int) and not isinstance(total, bool):
        # One page answers a number (its entries are one per reject type): a count beyond it is a server that lies.
        check_page(PHONE_FIND, what, 0, len(entries), total)
        if total > len(entries):
            raise WooxyPagingError(
                PHONE_FIND,
                [
                    f"{what}: {len(entries)} entries served where the same answer's totalCount is {total}; one page "
                    f"of {_ENTRIES_PER_NUMBER} holds every entry of a number, so the server's count cannot be trusted",
                    "check the connection's base URL",
                ],
            )
    return row, number, entries


def check_numbers(
    find: FindNumber,
    items: Iterable[Item],
    numbers: PhoneRecords,
    out: Any,
    *,
    fmt: str,
    gzipped: bool = False,
    rejects: Rejects,
    max_concurrency: int = MAX_CONCURRENT_REQUESTS,
) -> dict[str, Any]:
    """
    The look-up flow: validate and dedupe the input's numbers, look each up, write the listed ones to ``out``
    (removed if the run fails). Returns the counts, never a number; invalid numbers go to ``rejects``.

    :param find: looks one E.164 number up (the hook's ``find_phone_blacklist``).
    :param items: the input's ``(row, item)`` pairs (:func:`~airflow_provider_wooxy.pipeline.sources.iter_input`).
    :param numbers: validates and normalises one item (its ``field`` names the key holding the number).
    :param out: the path object to write (``.csv`` or ``.jsonl`` by ``fmt``).
    :param fmt: ``csv`` or ``jsonl``.
    :param gzipped: compress the file.
    :param rejects: receives the invalid numbers.
    :param max_concurrency: look-ups in flight.
    """
    tally = Tally()
    # A phone record's key is its E.164 number and, after a NUL, its reject type (none here).
    valid = (
        (row, key.partition("\x00")[0]) for row, key, _ in validated(items, numbers, tally, rejects, numbers.field)
    )
    counts = {"checked": 0, "listed": 0, "not_listed": 0}
    by_reject_type: dict[str, int] = {}
    with output_file(out) as stream:
        writer = EntryWriter(stream, fmt, gzipped=gzipped, columns=LISTED_COLUMNS)
        for _, number, entries in look_up(find, valid, max_concurrency=max_concurrency):
            counts["checked"] += 1
            counts["listed" if entries else "not_listed"] += 1
            rows = [
                {"phoneNumber": number, "rejectType": e.get("rejectType"), "createdAt": e.get("createdAt")}
                for e in entries
            ]
            for row in rows:
                by_reject_type[str(row["rejectType"])] = by_reject_type.get(str(row["rejectType"]), 0) + 1
            if rows:
                writer.write(rows)
        writer.close()
    return {
        "operation": "phone-blacklist/check",
        **counts,
        "duplicates": tally.duplicates,
        "invalid": rejects.count,
        "by_reject_type": by_reject_type,
    }
