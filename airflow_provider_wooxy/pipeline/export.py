"""
Exporting the email blacklist: page through ``blacklist/find`` and stream every entry to a CSV or JSON Lines file.

Paging follows what the API answered, not what was asked: the API may return fewer rows than ``limit`` (a
server-side cap), so the first page of a reject type tells the page size actually served, and every later page
starts where the rows received so far end. A page that comes back short before the list's end is completed by
another request from where it stopped; an empty page ends its span, so a list that shrinks while it is read cannot
loop forever. When ``totalCount`` grows while paging, the export follows it to the new end.

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
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Protocol

from airflow_provider_wooxy.api import MAX_CONCURRENT_REQUESTS
from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.paging import in_order
from airflow_provider_wooxy.pipeline.sources.file import detect_format
from airflow_provider_wooxy.pipeline.storage import output_file

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

DEFAULT_PAGE_SIZE = 100
DEDUPE_WINDOW = 100_000
"""Entries per reject type remembered to remove overlaps (at least this many, at most twice; about 20 MB at most):
far more than a list can shift while a page is in flight."""

EXPORT_FORMATS = ("csv", "jsonl")
_WRITE_SIZE = 1 << 20
_READ_AS = {"csv": "csv", "jsonl": "jsonl", "json": "jsonl"}
"""Input formats an export may be written in: a ``.json`` name gets JSON Lines."""


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


class ExportError(Exception):
    """The export cannot be done as asked (an unknown format, an answer that is not a page)."""


def export_format(path: str) -> tuple[str, bool]:
    """``(format, gzipped)`` from the path's suffixes: ``.csv`` or ``.jsonl`` / ``.ndjson`` / ``.json`` (written as
    JSON Lines), optionally ``.gz``; read as the input readers read them (:func:`~.sources.file.detect_format`)."""
    try:
        fmt, gzipped = detect_format(path, None)
    except WooxyInputError:
        fmt, gzipped = "", False
    if fmt not in _READ_AS:
        raise ExportError(
            f"cannot tell the export format of {path!r} from its name: use a .csv or .jsonl suffix (optionally .gz)."
        )
    return _READ_AS[fmt], gzipped


class EntryWriter:
    """
    Writes blacklist entries to a binary stream, one row per entry: ``email``, ``rejectType``, ``createdAt``,
    ``expireAt`` (when present) and ``rawLog`` (when asked for).

    CSV always has the same columns (empty when absent); JSON Lines leaves absent keys out.

    :param stream: an open binary stream (local file or object storage); not closed here.
    :param fmt: ``csv`` or ``jsonl``.
    :param gzipped: compress what is written.
    :param with_raw_log: include the ``rawLog`` column.
    :param columns: other columns than the email blacklist's (the phone look-up's).
    """

    def __init__(
        self,
        stream: IO[bytes],
        fmt: str,
        *,
        gzipped: bool = False,
        with_raw_log: bool = False,
        columns: Sequence[str] | None = None,
    ) -> None:
        if fmt not in EXPORT_FORMATS:
            raise ExportError(f"export format {fmt!r} is not one of {', '.join(EXPORT_FORMATS)}.")
        self._gzip = gzip.GzipFile(fileobj=stream, mode="wb") if gzipped else None
        self._out: IO[bytes] = self._gzip if self._gzip is not None else stream  # type: ignore[assignment]
        if columns is not None:
            self.columns = list(columns)
        else:
            self.columns = ["email", "rejectType", "createdAt", "expireAt"] + (["rawLog"] if with_raw_log else [])
        self._csv = fmt == "csv"
        # Pages are gathered into writes of about 1 MiB: every write may block on I/O and release the GIL, and
        # taking it back from the paging threads can cost milliseconds.
        self._pending: list[bytes] = []
        self._pending_size = 0
        if self._csv:
            self.write_text(",".join(self.columns) + "\n")

    def write_text(self, text: str) -> None:
        data = text.encode("utf-8")
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= _WRITE_SIZE:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self._out.write(b"".join(self._pending))
            self._pending, self._pending_size = [], 0

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        """Write one page of rows: encoded together and written at once (a write per row costs more than the row)."""
        if self._csv:
            page = io.StringIO()
            columns = self.columns
            csv.writer(page, lineterminator="\n").writerows([row.get(c, "") for c in columns] for row in rows)
            self.write_text(page.getvalue())
        else:
            dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
            self.write_text("".join([dumps(row) + "\n" for row in rows]))

    def close(self) -> None:
        """Write what is pending and end the gzip member, if any; the underlying stream stays open."""
        self.flush()
        if self._gzip is not None:
            self._gzip.close()


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
    page_size_served: int = 0

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


class BlacklistExporter:
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
        if page_size < 1:
            raise ExportError(f"page_size must be >= 1, got {page_size}.")
        self._find = find
        self._write = write
        self.max_concurrency = max_concurrency
        self.page_size = page_size
        self.with_raw_log = with_raw_log
        self.dedupe_window = dedupe_window
        self._on_page = on_page
        self._stopped: str | None = None

    def stop(self, reason: str) -> None:
        """Ask a running export to stop after the requests in flight."""
        self._stopped = reason

    def run(self, reject_types: Sequence[str]) -> ExportReport:
        report = ExportReport()
        with ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="wooxy-export") as pool:
            for reject_type in reject_types:
                report.types[reject_type] = self._export_type(pool, reject_type)
        return report

    def _fetch(self, reject_type: str, offset: int, limit: int) -> tuple[list[Mapping[str, Any]], int]:
        answer = self._find(reject_type, with_raw_log=self.with_raw_log, offset=offset, limit=limit)
        data, total = answer.get("data"), answer.get("totalCount")
        if not isinstance(data, list) or not isinstance(total, int):
            raise ExportError(
                f"blacklist/find for {reject_type} at offset {offset} answered without a list of rows and a "
                f"totalCount (keys: {sorted(answer)})."
            )
        return data, total

    def _export_type(self, pool: ThreadPoolExecutor, reject_type: str) -> TypeReport:
        report = TypeReport()
        dedupe = _Deduper(self.dedupe_window)

        is_new, with_raw_log = dedupe.is_new, self.with_raw_log

        def emit(rows: list[Mapping[str, Any]]) -> None:
            fresh = [entry(row, reject_type, with_raw_log) for row in rows if is_new(str(row.get("email")))]
            report.duplicates += len(rows) - len(fresh)
            if fresh:
                self._write(fresh)
                report.exported += len(fresh)

        # The first page alone: it tells the total and the page size the API really serves.
        first, total = self._fetch(reject_type, 0, self.page_size)
        report.pages = 1
        report.total_at_start = report.total_at_end = total
        emit(first)
        if not first or len(first) >= total:
            return report
        step = report.page_size_served = len(first)
        latest_total = [total]  # the newest totalCount, set by whichever page answered last
        planned_end = step  # offsets below this are covered by spans already asked for

        def span(start: int) -> tuple[list[Mapping[str, Any]], int]:
            """The rows of offsets ``[start, start + step)``: more requests when the API serves a short page."""
            rows: list[Mapping[str, Any]] = []
            offset, end, requests = start, start + step, 0
            while True:
                page, latest_total[0] = self._fetch(reject_type, offset, min(self.page_size, end - offset))
                requests += 1
                rows.extend(page)
                offset += len(page)
                # Short but not at the list's end: the API served less than asked; ask again from where it stopped.
                # An empty page ends the span, so a list that shrinks while it is read cannot loop forever.
                if not page or offset >= end or offset >= latest_total[0]:
                    return rows, requests

        def next_span() -> Callable[[], tuple[list[Mapping[str, Any]], int]] | None:
            nonlocal planned_end
            if self._stopped or planned_end >= latest_total[0]:  # the newest total: follows a list that grows
                return None
            start, planned_end = planned_end, planned_end + step
            return functools.partial(span, start)

        window = 2 * self.max_concurrency  # spans asked for ahead of the write position: bounds the reorder buffer
        for rows, requests in in_order(pool, next_span, max_in_flight=self.max_concurrency, window=window):
            report.pages += requests
            emit(rows)
            if self._on_page is not None:
                self._on_page(reject_type, report)
            if self._stopped:
                break
        report.total_at_end = latest_total[0]
        if self._stopped:
            raise ExportError(f"the export was stopped: {self._stopped}")
        return report


@dataclass
class ExportSettings:
    """What an export run needs from the operator's rendered arguments."""

    reject_types: Sequence[str]
    with_raw_log: bool = False
    page_size: int = DEFAULT_PAGE_SIZE
    max_concurrency: int = MAX_CONCURRENT_REQUESTS
    progress_interval: float = 30.0


class EmailExport:
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
        self._exporter: BlacklistExporter | None = None
        self._stopped: str | None = None

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
            self._exporter = BlacklistExporter(
                self.find,
                writer.write,
                max_concurrency=s.max_concurrency,
                page_size=s.page_size,
                with_raw_log=s.with_raw_log,
                on_page=progress,
            )
            if self._stopped is not None:
                self._exporter.stop(self._stopped)
            report = self._exporter.run(s.reject_types)
            writer.close()
        summary: dict[str, Any] = {"operation": "blacklist/export", **report.as_dict()}
        if summary["changed_while_exporting"]:
            self.log.warning(
                "The list changed while it was exported (%s): an entry may be missing from the file. Export again "
                "once the list is quiet for an exact copy.",
                ", ".join(summary["changed_while_exporting"]),
            )
        return summary

    def stop(self, reason: str) -> None:
        """Stop paging after the requests in flight (Airflow's on_kill); the partial file is removed."""
        self._stopped = reason
        if self._exporter is not None:
            self._exporter.stop(reason)
