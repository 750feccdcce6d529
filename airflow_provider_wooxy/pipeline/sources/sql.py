"""
Reading a SQL query's result as input, streamed with ``cursor.fetchmany`` from any DB-API 2 connection.

With psycopg2 or psycopg (PostgreSQL, Redshift) the query runs in a server-side (named) cursor, so a 10M-row
result stays on the server and arrives ``fetch_rows`` at a time; other drivers stream as far as their cursor
does. The operator gets the connection from a common.sql ``DbApiHook``; this module sees only DB-API.

Rows are numbered by their position in the result (1-based). ``field`` names the column holding the address;
``rejectType`` and ``rawLog`` columns are passed on when present. Columns are found by columns.py's rule, as in
every source: a database that folds names to upper case (Snowflake) needs them quoted (``AS "email"``). A null
address is a reject of its row; a number (an integer phone column) is read as its digits, as for Parquet.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from typing import TYPE_CHECKING, Any

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.sources.columns import columns_read
from airflow_provider_wooxy.pipeline.sources.parquet import cell_text
from airflow_provider_wooxy.pipeline.validation import RecordError

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator, Mapping, Sequence

    from airflow_provider_wooxy.pipeline.sources.chunks import Item


FETCH_ROWS = 10_000
_NAMED_CURSOR_DRIVERS = ("psycopg2", "psycopg")


def _error(exc: BaseException) -> str:
    """A driver's error in one line (psycopg adds a LINE / caret block after the first)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _named(connection: Any) -> bool:
    return type(connection).__module__.split(".")[0] in _NAMED_CURSOR_DRIVERS


def _cursor(connection: Any) -> Any:
    """A server-side cursor where the driver has one, so the result is not loaded in the client; else a plain one."""
    return connection.cursor(name="wooxy_input") if _named(connection) else connection.cursor()


def _batches(cursor: Any, first: list[Any], fetch_rows: int, *, ahead: bool) -> Generator[list[Any], None, None]:
    """
    The result's batches, ``first`` then ``fetchmany`` until an empty one. With ``ahead`` (a server-side cursor,
    psycopg: thread-safe, and waiting on the network without the GIL), a thread fetches the next batch while this
    one is validated, so the database's work and ours overlap instead of taking turns: at most three batches in
    memory. Other drivers (sqlite3 refuses a second thread) fetch in turn.
    """
    if not ahead:
        rows = first
        while rows:
            yield rows
            rows = cursor.fetchmany(fetch_rows)
        return
    results: queue.Queue[Any] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(value: Any) -> None:
        while not stop.is_set():
            try:
                results.put(value, timeout=0.1)
                return
            except queue.Full:
                continue

    def fetch() -> None:
        try:
            while not stop.is_set():
                rows = cursor.fetchmany(fetch_rows)
                put(rows)
                if not rows:
                    return
        except Exception as exc:  # handed to the reader, which reports it
            put(exc)

    thread = threading.Thread(target=fetch, name="wooxy-sql-fetch", daemon=True)
    thread.start()
    try:
        rows = first
        while rows:
            yield rows
            got = results.get()
            if isinstance(got, Exception):
                raise got
            rows = got
    finally:
        stop.set()
        thread.join()


def iter_sql_records(
    connection: Any,
    sql: str,
    *,
    parameters: Sequence[Any] | Mapping[str, Any] | None = None,
    field: str,
    fetch_rows: int | None = None,
) -> Iterator[Item]:
    """
    Items from the result of ``sql`` (with ``parameters``, in the driver's style) on ``connection``, ``fetch_rows``
    (default :data:`FETCH_ROWS`) at a time; closes the connection at the end.
    """
    fetch_rows = fetch_rows or FETCH_ROWS
    try:
        cursor = _cursor(connection)
        try:
            rows = _execute(cursor, sql, parameters, fetch_rows)
            names = _result_names(cursor)
            index, extra = _columns_read(names, field)
            null = RecordError(f"null in column {names[index]!r}")
            row = 0
            batches = _batches(cursor, rows, fetch_rows, ahead=_named(connection))
            try:
                for rows in batches:
                    for values in rows:
                        row += 1
                        value = values[index]
                        if value is None:
                            yield row, null
                        elif not extra:
                            yield row, value if value.__class__ is str else cell_text(value)
                        else:
                            item = {field: cell_text(value)}
                            for i, key in extra:
                                item[key] = values[i]
                            yield row, item
            except Exception as exc:  # only the fetches raise here: each driver has its own error classes
                raise WooxyInputError(f"the query failed after result row {row}: {_error(exc)}") from None
            finally:
                batches.close()  # stops and joins the fetching thread before the cursor is closed
        finally:
            with contextlib.suppress(Exception):  # a cursor of a failed transaction may refuse to close
                cursor.close()
    finally:
        connection.close()


def _execute(cursor: Any, sql: str, parameters: Any, fetch_rows: int) -> list[Any]:
    """Runs the query; returns its first rows. Raises :class:`WooxyInputError` with the driver's error."""
    try:
        if parameters is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, parameters)
        # A named cursor knows its columns only once the first rows have come.
        return cursor.fetchmany(fetch_rows)
    except Exception as exc:  # each driver has its own error classes
        raise WooxyInputError(f"the query failed: {_error(exc)}") from None


def _result_names(cursor: Any) -> list[str]:
    """The result's column names; raises :class:`WooxyInputError` when the query returned no result set."""
    if cursor.description is None:
        raise WooxyInputError("the query returned no result set (is it a SELECT?).")
    return [str(column[0]) for column in cursor.description]


def _columns_read(names: list[str], field: str) -> tuple[int, list[tuple[int, str]]]:
    """The index of the ``field`` column and the ``(index, name)`` of the extra columns present (columns.py's
    rule); raises :class:`WooxyInputError` naming the result's columns when there is no ``field`` column."""
    found = columns_read(names, field, "the query's result")
    if field not in found:
        listed = ", ".join(repr(name) for name in names[:20]) or "none"
        raise WooxyInputError(
            f"the query's result has no {field!r} column (columns found: {listed}); set field= to the column "
            "holding the address."
        )
    index = found.pop(field)
    return index, [(i, name) for name, i in found.items()]
