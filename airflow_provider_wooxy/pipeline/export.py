"""
Exporting the email blacklist: page through ``blacklist/find`` and stream every entry to a CSV or JSON Lines file.

Paging follows what the API answered, not what was asked: the API may return fewer rows than ``limit`` (a
server-side cap), so the first page of a reject type tells the page size actually served, and every later page
starts where the rows received so far end. A page that comes back short before the list's end is completed by
another request from where it stopped; an empty page ends its span when the list shrank below its offset (and is an
error while the same answer's ``totalCount`` says there is more). When ``totalCount`` grows while paging, the export
follows it to the new end, within a tolerance: the checks of :mod:`~airflow_provider_wooxy.pipeline.paging`
(:class:`~airflow_provider_wooxy.pipeline.paging.PageWalk`) end an export whose server ignores ``offset`` or whose
``totalCount`` lies, within a bounded number of requests.

Up to ``max_concurrency`` pages are in flight; pages are written in offset order (a small reorder buffer, at most
two pages per request in flight), so the file follows the API's order and memory stays flat in the list's size.

**Changes while paging.** Offset paging over a list that changes is not a snapshot:

- an entry inserted before a page that is still to be read shifts the rest of the list by one, so that page
  repeats the last entry of the previous one: an entry *seen twice*. These overlaps are removed: every entry is
  compared with (at least) the last :data:`DEDUPE_WINDOW` entries written for its reject type, and counted as a
  duplicate;
- an entry removed before a page that is still to be read shifts the rest back by one, so one entry that was
  listed all along is never served: an entry *missed*. No client can see this from the pages alone; the report's
  ``changed`` flag says that ``totalCount`` moved during the export, and a second export gives a complete copy of a
  list that has stopped changing.

No Airflow import here: the operator gives a ``find`` callable (the hook's) and a path object (:class:`EmailExport`).
The file is written by :mod:`~airflow_provider_wooxy.pipeline.output`.
"""

from __future__ import annotations

import functools
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_wooxy.api import EMAIL_LIST, MAX_ANSWER_BYTES, MAX_CONCURRENT_REQUESTS, MAX_PAGE_SIZE
from airflow_provider_wooxy.pipeline.atomic import output_file
from airflow_provider_wooxy.pipeline.output import EntryWriter, ExportError
from airflow_provider_wooxy.pipeline.paging import PageWalk, check_page, in_order
from airflow_provider_wooxy.pipeline.stopping import Stoppable

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

DEFAULT_PAGE_SIZE = 100
DEDUPE_WINDOW = 100_000
"""Entries per reject type remembered to remove overlaps (at least this many, at most twice; about 20 MB at most):
far more than a list can shift while a page is in flight."""


class FindPage(Protocol):
    """The API's ``blacklist/find``: one page of one reject type (the hook's ``find_email_blacklist``)."""

    def __call__(
        self,
        reject_type: str,
        email: str | None = None,
        *,
        with_raw_log: bool = False,
        offset: int = 0,
        limit: int = 20,
    ) -> Mapping[str, Any]: ...


def entry(row: Mapping[str, Any], reject_type: str, with_raw_log: bool) -> dict[str, Any]:
    """An API row ``{"email", "type", "createdAt", "expireAt"?, "rawLog"?}`` as an export row."""
    out: dict[str, Any] = {
        "email": row.get("email"),
        "rejectType": row.get("type") or row.get("rejectType") or reject_type,
        "createdAt": row.get("createdAt"),
    }
    if row.get("expireAt") is not None:
        out["expireAt"] = row["expireAt"]
    if with_raw_log and row.get("rawLog") is not None:
        out["rawLog"] = row["rawLog"]
    return out


@dataclass
class TypeReport:
    """What the export of one reject type saw."""

    exported: int = 0
    duplicates: int = 0
    pages: int = 0
    total_at_start: int = 0
    total_at_end: int = 0

    @property
    def changed(self) -> bool:
        return self.total_at_start != self.total_at_end


@dataclass
class ExportReport:
    """Counts per reject type (no addresses)."""

    types: dict[str, TypeReport] = field(default_factory=dict)

    @property
    def exported(self) -> int:
        return sum(t.exported for t in self.types.values())

    @property
    def requests(self) -> int:
        return sum(t.pages for t in self.types.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "exported": self.exported,
            "by_reject_type": {name: t.exported for name, t in self.types.items()},
            "duplicates": sum(t.duplicates for t in self.types.values()),
            "requests": self.requests,
            "changed_while_exporting": sorted(name for name, t in self.types.items() if t.changed),
        }


class _Deduper:
    """
    Remembers the last ``window`` to ``2 * window`` keys seen, to drop the overlaps a shifting list causes.

    Two generations of keys instead of a queue: a key costs one set look-up or two, and memory stays bounded.
    """

    def __init__(self, window: int) -> None:
        self._window = max(1, window)
        self._new: set[str] = set()
        self._old: set[str] = set()

    def is_new(self, key: str) -> bool:
        if key in self._new or key in self._old:
            return False
        self._new.add(key)
        if len(self._new) >= self._window:
            self._old, self._new = self._new, set()
        return True


class RejectTypePager(Stoppable):
    """
    Pages through one reject type after another and hands every entry, once, to ``write``.

    :param find: fetches one page (the hook's ``find_email_blacklist``); it retries transient faults itself.
    :param write: receives each page's new entries, in the API's order.
    :param max_concurrency: pages in flight at once.
    :param page_size: ``limit`` asked for per page; the API may serve fewer.
    :param with_raw_log: ask for and keep ``rawLog``.
    :param dedupe_window: entries remembered per reject type to remove overlaps.
    :param on_page: called after each page is written (progress logging).
    """

    def __init__(
        self,
        find: FindPage,
        write: Callable[[list[dict[str, Any]]], None],
        *,
        max_concurrency: int = MAX_CONCURRENT_REQUESTS,
        page_size: int = DEFAULT_PAGE_SIZE,
        with_raw_log: bool = False,
        dedupe_window: int = DEDUPE_WINDOW,
        on_page: Callable[[str, TypeReport], None] | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ExportError(f"max_concurrency must be >= 1, got {max_concurrency}.")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ExportError(
                f"page_size must be 1 to {MAX_PAGE_SIZE}, got {page_size}: a larger page could exceed the "
                f"{MAX_ANSWER_BYTES // (1024 * 1024)} MiB an answer may hold."
            )
        self._find = find
        self._write = write
        self.max_concurrency = max_concurrency
        self.page_size = page_size
        self.with_raw_log = with_raw_log
        self.dedupe_window = dedupe_window
        self._on_page = on_page

    def run(self, reject_types: Sequence[str]) -> ExportReport:
        report = ExportReport()
        with ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="wooxy-export") as pool:
            for reject_type in reject_types:
                report.types[reject_type] = self._export_type(pool, reject_type)
        return report

    def fetch(self, reject_type: str, offset: int, limit: int) -> tuple[list[Mapping[str, Any]], int]:
        answer = self._find(reject_type, with_raw_log=self.with_raw_log, offset=offset, limit=limit)
        data, total = answer.get("data"), answer.get("totalCount")
        if not isinstance(data, list) or not isinstance(total, int):
            raise ExportError(
                f"{EMAIL_LIST.find} for {reject_type} at offset {offset} answered without a list of rows and a "
                f"totalCount (keys: {sorted(answer)})."
            )
        return data, total

    def _export_type(self, pool: ThreadPoolExecutor, reject_type: str) -> TypeReport:
        report = TypeReport()
        dedupe = _Deduper(self.dedupe_window)
        is_new, with_raw_log = dedupe.is_new, self.with_raw_log
        what = f"reject type {reject_type}"

        def emit(offset: int, rows: list[Mapping[str, Any]], walk: PageWalk | None) -> None:
            keys = [str(row.get("email")) for row in rows]
            fresh = [entry(row, reject_type, with_raw_log) for row, key in zip(rows, keys, strict=True) if is_new(key)]
            report.duplicates += len(rows) - len(fresh)
            if walk is not None:
                walk.rows(offset, keys, len(rows) - len(fresh))
            if fresh:
                self._write(fresh)
                report.exported += len(fresh)

        # The first page alone: it tells the total and the page size the API really serves.
        first, total = self.fetch(reject_type, 0, self.page_size)
        check_page(EMAIL_LIST.find, what, 0, len(first), total)
        report.pages = 1
        report.total_at_start = report.total_at_end = total
        if not first or len(first) >= total:
            emit(0, first, None)
            return report
        walk = PageWalk(EMAIL_LIST.find, what, total, len(first))
        emit(0, first, walk)
        spans = _Spans(self, reject_type, walk, step=len(first), total=total)
        window = 2 * self.max_concurrency  # spans asked for ahead of the write position: bounds the reorder buffer
        for start, rows, requests in in_order(pool, spans.next, max_in_flight=self.max_concurrency, window=window):
            report.pages += requests
            emit(start, rows, walk)
            if self._on_page is not None:
                self._on_page(reject_type, report)
            if self.stopped:
                break
        report.total_at_end = spans.latest_total
        if self.stopped:
            raise ExportError(f"the export was stopped: {self.stopped}")
        return report


class _Spans:
    """
    The spans of one reject type after its first page: offsets ``[start, start + step)``, planned up to the newest
    ``totalCount`` (so a list that grows is followed), each checked by the walk.
    """

    def __init__(self, pager: RejectTypePager, reject_type: str, walk: PageWalk, *, step: int, total: int) -> None:
        self._pager = pager
        self._reject_type = reject_type
        self._walk = walk
        self._step = step
        self.latest_total = total  # the newest totalCount, set by whichever page answered last
        self._planned_end = step  # offsets below this are covered by spans already asked for

    def next(self) -> Callable[[], tuple[int, list[Mapping[str, Any]], int]] | None:
        if self._pager.stopped or self._planned_end >= self.latest_total:
            return None
        start, self._planned_end = self._planned_end, self._planned_end + self._step
        return functools.partial(self._span, start)

    def _span(self, start: int) -> tuple[int, list[Mapping[str, Any]], int]:
        """The rows of offsets ``[start, start + step)``: more requests when the API serves a short page."""
        rows: list[Mapping[str, Any]] = []
        offset, end, requests = start, start + self._step, 0
        while True:
            limit = min(self._pager.page_size, end - offset)
            page, total = self._pager.fetch(self._reject_type, offset, limit)
            requests += 1
            self._walk.answered(offset, len(page), total)  # an empty page here is the list's end, or an error
            self.latest_total = total
            rows.extend(page)
            offset += len(page)
            # Short but not at the list's end: the API served less than asked; ask again from where it stopped.
            if not page or offset >= end or offset >= total:
                return start, rows, requests


@dataclass
class ExportSettings:
    """What an export run needs from the operator's rendered arguments."""

    reject_types: Sequence[str]
    with_raw_log: bool = False
    page_size: int = DEFAULT_PAGE_SIZE
    max_concurrency: int = MAX_CONCURRENT_REQUESTS
    progress_interval: float = 30.0


class EmailExport(Stoppable):
    """
    The export flow: page through each reject type -> write the file (removed if the export fails) -> report.

    :param find: fetches one page (the hook's ``find_email_blacklist``).
    :param settings: the rendered arguments.
    :param log: where progress and result lines go.
    """

    def __init__(self, find: FindPage, settings: ExportSettings, log: Any) -> None:
        self.find = find
        self.settings = settings
        self.log = log

    def run(self, out: Any, fmt: str, gzipped: bool = False) -> dict[str, Any]:
        """Export to the path object ``out``; returns the counts per reject type (no addresses)."""
        s = self.settings
        last_log = [time.monotonic()]

        def progress(reject_type: str, report: TypeReport) -> None:
            if time.monotonic() - last_log[0] >= s.progress_interval:
                last_log[0] = time.monotonic()
                self.log.info("%s: %d of about %d entries written.", reject_type, report.exported, report.total_at_end)

        with output_file(out) as stream:
            writer = EntryWriter(stream, fmt, gzipped=gzipped, with_raw_log=s.with_raw_log)
            pager = RejectTypePager(
                self.find,
                writer.write,
                max_concurrency=s.max_concurrency,
                page_size=s.page_size,
                with_raw_log=s.with_raw_log,
                on_page=progress,
            )
            report = self.adopt(pager).run(s.reject_types)
            writer.close()
        summary: dict[str, Any] = {"operation": "blacklist/export", **report.as_dict()}
        if summary["changed_while_exporting"]:
            self.log.warning(
                "The list changed while it was exported (%s): an entry may be missing from the file. Export again "
                "once the list is quiet for an exact copy.",
                ", ".join(summary["changed_while_exporting"]),
            )
        return summary
