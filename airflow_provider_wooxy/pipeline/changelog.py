"""
The audit trail (``changelog_path``, ``changelog_table``): one row per entry and outcome of a run's requests, in a
documented column order (:func:`columns`), appended to the user's own file or table after the sends.

While a run sends, every request Wooxy accepts, and every record it refuses, becomes one line of a **spool**, an
append-only file (or, on object storage, a series of part objects) that survives a kill: a sync keeps it beside its
state, a push beside its checkpoint (else in a temporary file). The line carries the run's context (DAG, task, run,
try, plan) and the time of Wooxy's answer, so that the rows of a killed try keep that try's number when a later run
writes them. After the sends, :meth:`Changelog.write` appends each spool to its sink (a file:
:mod:`.changelog_files`; a table: :mod:`.changelog_table`) and removes it; a sink that fails raises
:class:`~airflow_provider_wooxy.exceptions.WooxyChangelogError` naming the spool it keeps.

The rows are unmasked (the addresses as sent, Wooxy's error text as answered): the changelog goes to the user's
own store, beside the truth it came from. Plain Python: no Airflow import.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import json
import os
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from airflow_provider_wooxy.masking import mask_email, mask_phone

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

ADD, READD, REMOVE = "add", "re-add", "remove"
ACCEPTED, REFUSED = "accepted", "refused"
AFTER_KEY = ("rejectType", "status", "reason", "dag_id", "task_id", "run_id", "try_number", "at", "plan_id")
"""The columns after the entry's key column (``email`` or ``phoneNumber``), in order."""
MAX_REASON = 4096
"""Characters of Wooxy's error text a row keeps (the table's ``reason`` column is ``varchar(4096)``)."""

Row = tuple[Any, ...]
"""One changelog row, in :func:`columns` order."""


def columns(key_field: str) -> tuple[str, ...]:
    """The changelog's columns, in order: ``action``, the list's key (``email`` / ``phoneNumber``), the rest."""
    return ("action", key_field, *AFTER_KEY)


@dataclass(frozen=True)
class RunContext:
    """Who wrote the rows: the task instance (as Airflow names it) and, for a sync, its plan."""

    dag_id: str | None = None
    task_id: str | None = None
    run_id: str | None = None
    try_number: int | None = None
    plan_id: str | None = None


def utc_now() -> str:
    """The time of an answer as the rows hold it: ISO 8601 in UTC, to the millisecond (``...T10:00:00.123Z``)."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def rows_of(lines: Iterable[bytes], key_field: str) -> Iterator[Row]:
    """The rows of spool lines (:meth:`Changelog.accepted` says their form): one per record of each line."""
    for line in lines:
        entry = json.loads(line)
        dag_id, task_id, run_id, try_number, plan_id = entry["c"]
        action, status, reason, at = entry["a"], entry["s"], entry.get("e"), entry["t"]
        for record in entry["r"]:
            yield (
                action,
                record.get(key_field),
                record.get("rejectType"),
                status,
                reason,
                dag_id,
                task_id,
                run_id,
                try_number,
                at,
                plan_id,
            )


def _is_local(location: Any) -> bool:
    return isinstance(location, Path) and not hasattr(location, "fs")


def _part_number(part: Any) -> int:
    """The sequence number of a spool part ``<spool>.<number>.<random>``; 0 when the name is not one."""
    try:
        return int(part.name.rsplit(".", 2)[-2])
    except (ValueError, IndexError):
        return 0


class Spool:
    """
    The changelog lines of one sink, waiting to be written: an append-only local file (each append handed to the
    operating system at once, so a killed process loses none), or on object storage, which has no append, a part
    object ``<name>.<sequence>.<random>`` per :meth:`flush` (the engine flushes it before its own progress record:
    the sync's journal, the push's checkpoint).

    :param location: the spool (a ``Path``, or a path object on object storage).
    :param kept_for_next_run: whether the next run of the same task finds it (beside a state or a checkpoint), or
        only the user does (a temporary file): what the error says when it is kept.
    """

    def __init__(self, location: Any, *, kept_for_next_run: bool = True) -> None:
        self.location = location
        self.kept_for_next_run = kept_for_next_run
        self.local = _is_local(location)
        self._lock = threading.Lock()
        self._handle: IO[bytes] | None = None
        self._pending: list[bytes] = []
        self._part: int | None = None

    def append(self, line: bytes) -> None:
        with self._lock:
            if not self.local:
                self._pending.append(line)
                return
            if self._handle is None:
                self.location.parent.mkdir(parents=True, exist_ok=True)
                _drop_partial_line(self.location)  # a kill mid-write left half a line: never glue onto it
                self._handle = self.location.open("ab")
            self._handle.write(line)
            self._handle.flush()

    def flush(self) -> None:
        """Object storage: put the pending lines into a part of their own (local lines are written already)."""
        with self._lock:
            if not self._pending:
                return
            if self._part is None:  # continue the sequence a killed try left
                self._part = max((_part_number(part) for part in self._parts()), default=0)
            self._part += 1
            name = f"{self.location.name}.{self._part:08d}.{uuid.uuid4().hex[:8]}"
            with (self.location.parent / name).open("wb") as handle:
                handle.write(b"".join(self._pending))
            self._pending.clear()

    def close(self) -> None:
        self.flush()
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    def parts(self) -> list[Any]:
        """The spool's files or objects, in the order they were written."""
        with self._lock:
            return self._parts()

    def _parts(self) -> list[Any]:
        if self.local:
            return [self.location] if self.location.exists() else []
        prefix = f"{self.location.name}."
        try:
            siblings = list(self.location.parent.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted((p for p in siblings if p.name.startswith(prefix) and _part_number(p)), key=_part_number)

    @staticmethod
    def lines(parts: Sequence[Any]) -> Iterator[bytes]:
        """Every whole line of ``parts`` (a last line cut by a kill mid-write is left out)."""
        for part in parts:
            with part.open("rb") as handle:
                # readline, not iteration: Airflow 2.11's and 3.0's object storage file wrapper is not iterable.
                while line := handle.readline():
                    if line.endswith(b"\n"):
                        yield line

    def drop(self, parts: Sequence[Any], lines: int | None = None) -> None:
        """
        Remove ``parts``, written to their sink; with ``lines`` (a sink that failed), keep what follows their first
        ``lines`` lines, the ones the sink did not get.
        """
        self.close()
        if lines is not None:
            if lines == 0:
                return
            rest = list(self.lines(parts))[lines:]  # a sink failed midway: rare, and one run's lines
            if self.local:
                temporary = self.location.with_name(f".{self.location.name}.{os.getpid()}.tmp")
                temporary.write_bytes(b"".join(rest))
                os.replace(temporary, self.location)
                return
            with self._lock:
                self._pending = rest
            self.flush()  # a part after the others, which go
        for part in parts:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()

    def describe(self) -> str:
        """How an error names the spool: the file, or the prefix of its parts."""
        return str(self.location) if self.local else f"{self.location}.* (parts on object storage)"


def _drop_partial_line(path: Path) -> None:
    if not path.exists():
        return
    with path.open("r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        start = max(0, size - (1 << 20))  # a line is one request: at most about 130 kB
        handle.seek(start)
        tail = handle.read()
        if tail and not tail.endswith(b"\n"):
            handle.truncate(start + tail.rfind(b"\n") + 1)


def spool_for(beside: Any, sink: str) -> Spool:
    """
    The spool of the sink named ``sink`` (``path``, ``table``): ``<beside>.changelog-<sink>`` beside a state or a
    checkpoint, where the next run finds it; a temporary local file when ``beside`` is None.
    """
    if beside is None:
        name = f"wooxy-changelog-{sink}-{uuid.uuid4().hex[:12]}.jsonl"
        return Spool(Path(tempfile.gettempdir()) / name, kept_for_next_run=False)
    return Spool(beside.parent / f"{beside.name}.changelog-{sink}")


class Sink(Protocol):
    """Where a changelog goes: a file (:class:`~.changelog_files.FileSink`) or a table
    (:class:`~.changelog_table.TableSink`)."""

    display: str
    """How messages name it: the path, or ``table <name>``."""

    def write(self, lines: Callable[[], Iterator[bytes]], key_field: str, written: list[int]) -> int:
        """
        Append the rows of ``lines()`` (spool lines; :func:`rows_of`); returns how many rows. ``written[0]`` counts
        the spool lines in the sink so far, so that a failure midway keeps only the others.
        """
        ...


class Changelog:
    """
    A run's audit trail: the spool lines written while sending (thread-safe), then the rows appended to each sink.

    :param key_field: the list's key (``email`` or ``phoneNumber``), the rows' second column.
    :param context: the task instance writing the rows.
    :param sinks: each sink with its own spool (a failure of one keeps only its spool).
    :param clock: the time of an answer (:func:`utc_now`).
    """

    def __init__(
        self,
        key_field: str,
        context: RunContext,
        sinks: Sequence[tuple[Sink, Spool]],
        *,
        clock: Callable[[], str] = utc_now,
    ) -> None:
        self.key_field = key_field
        self.sinks = list(sinks)
        self.clock = clock
        self.rows = 0
        """Rows written by :meth:`write`."""
        self.with_plan(context)

    def with_plan(self, context: RunContext) -> None:
        """The context of the lines from now on (a sync knows its plan id once it is made)."""
        self.context = context
        fields = [context.dag_id, context.task_id, context.run_id, context.try_number, context.plan_id]
        self._prefix = b'{"c":' + json.dumps(fields, separators=(",", ":")).encode()

    def accepted(self, action: str, payloads: Sequence[bytes]) -> None:
        """One request Wooxy accepted: ``action`` (add, re-add, remove) and the JSON records it sent."""
        # The records as sent, embedded as they are: one join per request, no encoding in the sending threads.
        line = b'%b,"a":"%b","s":"accepted","t":"%b","r":[%b]}\n' % (
            self._prefix,
            action.encode(),
            self.clock().encode(),
            b",".join(payloads),
        )
        for _, spool in self.sinks:
            spool.append(line)

    def refused(self, action: str, payload: bytes, errors: Sequence[str]) -> None:
        """
        One record Wooxy refused (alone: a refused batch is bisected down to it), with the API's error text: the
        hook masks the record's address there (for logs and errors); the changelog, the user's own store, gets it
        back as it was sent (the access token stays masked).
        """
        value = json.loads(payload).get(self.key_field)
        text = "; ".join(errors)
        if isinstance(value, str) and value:
            text = text.replace(mask_email(value) if "@" in value else mask_phone(value), value)
        reason = json.dumps(text[:MAX_REASON])
        line = b'%b,"a":"%b","s":"refused","e":%b,"t":"%b","r":[%b]}\n' % (
            self._prefix,
            action.encode(),
            reason.encode(),
            self.clock().encode(),
            payload,
        )
        for _, spool in self.sinks:
            spool.append(line)

    def flush(self) -> None:
        """Object storage: put the lines so far into the spools (before the engine records its progress)."""
        for _, spool in self.sinks:
            spool.flush()

    def write(self) -> int:
        """
        After the sends: append every spool (a killed try's lines included) to its sink, and remove it. Returns the
        rows written. A sink that fails raises :class:`WooxyChangelogError` once every sink was tried; the spool of
        the failed sink is kept, without the lines written before the failure.
        """
        failures: list[str] = []
        for sink, spool in self.sinks:
            spool.close()
            parts = spool.parts()
            if next(Spool.lines(parts), None) is None:  # nothing sent: no row, and no empty file
                spool.drop(parts)
                continue
            written = [0]
            try:
                self.rows += sink.write(functools.partial(Spool.lines, parts), self.key_field, written)
            except Exception as exc:  # every database driver and store has its own errors
                spool.drop(parts, written[0])
                failures.append(_failure(sink, spool, exc))
                continue
            spool.drop(parts)
        if failures:
            from airflow_provider_wooxy.exceptions import WooxyChangelogError  # here: importing it may import Airflow

            raise WooxyChangelogError(
                "the changelog could not be written after the sends (every request was sent, and the outcome is "
                f"recorded): {'; '.join(failures)}"
            )
        return self.rows


def write_after_failure(changelog: Changelog | None, log: Any) -> None:
    """
    A try that fails while sending writes the rows it has too; a failure to write them is logged, not raised (the
    sending error says more), and their spool is kept.
    """
    if changelog is None:
        return
    from airflow_provider_wooxy.exceptions import WooxyChangelogError

    try:
        log.info("Changelog: %d rows written before the failure.", changelog.write())
    except WooxyChangelogError as exc:
        log.error("%s", exc)


def _failure(sink: Sink, spool: Spool, exc: Exception) -> str:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    then = (
        "the next run of this task writes them"
        if spool.kept_for_next_run
        else "load them from there (JSON Lines; docs/guides/audit.md)"
    )
    return f"{sink.display}: {reason}. Its rows are kept in {spool.describe()}: {then}"
