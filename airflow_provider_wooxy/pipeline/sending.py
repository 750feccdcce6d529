"""Sending pre-encoded batches with a fixed number of requests in flight."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_wooxy.exceptions import WooxyError, WooxyRejectedError

if TYPE_CHECKING:
    from collections.abc import Callable, Container, Iterable, Iterator, Sequence

    from airflow_provider_wooxy.pipeline.door import WooxyDoor

Record = tuple[int, bytes]
"""A record as the sender sees it: its input row and its encoded JSON object."""


@dataclass(frozen=True)
class Batch:
    """Records sent in one request; ``number`` is its 0-based place in the batch sequence (for checkpoints)."""

    number: int
    records: Sequence[Record]


@dataclass
class Refusal:
    """A record the API refused, with the API's own messages."""

    row: int
    payload: bytes
    errors: list[str]


@dataclass
class SendReport:
    sent: int = 0
    requests: int = 0
    refused: list[Refusal] = field(default_factory=list)


def batches(records: Iterable[Record], size: int, skip: Container[int] = ()) -> Iterator[Batch]:
    """
    Cut records into numbered batches of ``size`` (the last may be shorter).

    :param skip: batch numbers to leave out (already accepted: a checkpoint); the numbering is the same.
    """
    number = 0
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            if number not in skip:
                yield Batch(number, batch)
            number += 1
            batch = []
    if batch and number not in skip:
        yield Batch(number, batch)


class BatchSender:
    """
    Sends batches through one hook from ``max_concurrency`` threads, each taking the next batch as soon as its
    previous request is answered, so the pipe stays full and a slow request holds up no other.

    A batch the API refuses for its content (:class:`WooxyRejectedError`) is split in halves and re-sent until
    the refused records are isolated; the rest is delivered. Any other error stops
    every thread after its current request and is raised from :meth:`run`.

    Every request goes through the hook's one write door, ``WooxyHook.send_records``, which checks the batch
    against the API's limits and encodes the body.

    :param hook: the hook whose session the threads share.
    :param method: the API method, e.g. ``blacklist/add``.
    :param max_concurrency: requests in flight at once (threads).
    :param on_batch_done: called (from a sending thread) with each batch once every record in it is settled.
    :param on_accepted: called (from a sending thread) with the records of each request Wooxy accepted, before
        the request counts as done (a sync records them in its state there).
    :param on_refused: called (from a sending thread) with each record the API refused, once isolated.
    :param log: where progress lines go, every ``progress_interval`` seconds.
    """

    def __init__(
        self,
        hook: WooxyDoor,
        method: str,
        *,
        max_concurrency: int,
        on_batch_done: Callable[[Batch], None] | None = None,
        on_accepted: Callable[[Sequence[Record]], None] | None = None,
        on_refused: Callable[[Refusal], None] | None = None,
        log: Any = None,
        progress_interval: float = 30.0,
        total: int | None = None,
    ) -> None:
        self.hook = hook
        self.method = method
        self.max_concurrency = max_concurrency
        self.on_batch_done = on_batch_done
        self.on_accepted = on_accepted
        self.on_refused = on_refused
        self.log = log or logging.getLogger(__name__)
        self.progress_interval = progress_interval
        self.total = total
        self.report = SendReport()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._failure: BaseException | None = None

    def run(self, batches: Iterator[Batch]) -> SendReport:
        """Send every batch; return the report, or raise the first fatal error once all threads have stopped."""
        source_lock = threading.Lock()

        def worker() -> None:
            while not self._stop.is_set():
                with source_lock:
                    try:
                        batch = next(batches, None)
                    except BaseException as exc:  # reading the spool (or, streaming, the input) failed: stop everyone
                        self._fail(exc)
                        return
                if batch is None:
                    return
                try:
                    self._deliver(batch.records)
                    if self.on_batch_done is not None:
                        self.on_batch_done(batch)
                except BaseException as exc:
                    self._fail(exc)
                    return

        threads = [
            threading.Thread(target=worker, name=f"wooxy-sender-{i}", daemon=True) for i in range(self.max_concurrency)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        last_sent, last_time = 0, started
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=max(0.05, self.progress_interval - (time.monotonic() - last_time)))
                now = time.monotonic()
                if now - last_time >= self.progress_interval:
                    self._log_progress(now - started, (self.report.sent - last_sent) / (now - last_time))
                    last_sent, last_time = self.report.sent, now
        if self._failure is not None:
            raise self._failure
        return self.report

    def _log_progress(self, elapsed: float, rate: float) -> None:
        total = f" / {self.total:,}" if self.total else ""
        self.log.info(
            "Wooxy %s progress: %s%s records accepted, %d refused, %.0f records/s, %d requests, %d retries, %.0f s",
            self.method,
            f"{self.report.sent:,}",
            total,
            len(self.report.refused),
            rate,
            self.report.requests,
            self.hook.retries,
            elapsed,
        )

    def stop(self, reason: str) -> None:
        """Stop every thread after its current request; :meth:`run` then raises a ``WooxyError`` with ``reason``."""
        self._fail(WooxyError(self.method, [reason]))

    def _fail(self, exc: BaseException) -> None:
        with self._lock:
            if self._failure is None:
                self._failure = exc
        self._stop.set()

    def _deliver(self, records: Sequence[Record]) -> None:
        try:
            self.hook.send_records(self.method, [payload for _, payload in records])
        except WooxyRejectedError as exc:
            with self._lock:
                self.report.requests += 1
            if len(records) > 1:
                middle = len(records) // 2
                self._deliver(records[:middle])
                self._deliver(records[middle:])
                return
            refused = [Refusal(row, payload, exc.errors) for row, payload in records]
            with self._lock:
                self.report.refused.extend(refused)
            if self.on_refused is not None:
                for refusal in refused:
                    self.on_refused(refusal)
            return
        if self.on_accepted is not None:
            self.on_accepted(records)
        with self._lock:
            self.report.requests += 1
            self.report.sent += len(records)
