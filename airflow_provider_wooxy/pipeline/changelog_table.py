"""
A changelog table (``changelog_table`` + ``changelog_conn_id``): the rows appended through the connection's
common.sql ``DbApiHook`` (the ``[sql]`` extra; the operator makes the hook, the engine only calls it).

* The table is created when missing (:func:`create_table_sql`: portable types, ``varchar`` / ``integer`` /
  ``timestamp``); its columns are the file's, in snake case (``reject_type``, ``phone_number``), so that they need
  no quoting in any database.
* Rows go in with the hook's ``insert_rows`` (``executemany``, and ``fast_executemany``: the hook's bulk path where
  it has one, ``execute_values`` on PostgreSQL with psycopg2), :data:`CHUNK_ROWS` at a time, each chunk its own
  transaction. A failure midway leaves the chunks written in the table and the others in the spool.
* ``at`` is a ``timestamp`` without time zone, holding UTC.

Plain Python: no Airflow import.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.changelog import columns, rows_of

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

CHUNK_ROWS = 5_000
"""Rows per ``insert_rows`` call (one transaction each)."""
TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}")
"""``table``, ``schema.table`` or ``database.schema.table``, unquoted: the name goes into SQL as it is."""
_SNAKE = {"rejectType": "reject_type", "phoneNumber": "phone_number"}
_TYPES = {
    "action": "varchar(8) NOT NULL",
    "email": "varchar(320) NOT NULL",
    "phone_number": "varchar(16) NOT NULL",
    "reject_type": "varchar(32)",
    "status": "varchar(8) NOT NULL",
    "reason": "varchar(4096)",
    "dag_id": "varchar(250)",
    "task_id": "varchar(250)",
    "run_id": "varchar(250)",
    "try_number": "integer",
    "at": "timestamp NOT NULL",
    "plan_id": "varchar(64)",
}


def table_columns(key_field: str) -> tuple[str, ...]:
    """The table's columns: the file's (:func:`~.changelog.columns`) in snake case."""
    return tuple(_SNAKE.get(name, name) for name in columns(key_field))


def check_table_name(table: str) -> str:
    """``table`` when it is a plain (unquoted) table name, optionally with its schema and database."""
    if not isinstance(table, str) or not TABLE_NAME.fullmatch(table):
        raise WooxyInputError(
            f"changelog_table {table!r} is not a table name: letters, digits and '_', as table, schema.table or "
            "database.schema.table, unquoted."
        )
    return table


def create_table_sql(table: str, key_field: str) -> str:
    """The DDL that creates a missing changelog table (the guide quotes it)."""
    body = ",\n".join(f"    {name} {_TYPES[name]}" for name in table_columns(key_field))
    return f"CREATE TABLE {check_table_name(table)} (\n{body}\n)"


class TableSink:
    """
    Appends changelog rows to a table through a common.sql ``DbApiHook`` (anything with its ``get_records``,
    ``run`` and ``insert_rows``).

    :param hook: the connection's hook.
    :param table: the table's name (:func:`check_table_name`).
    """

    def __init__(self, hook: Any, table: str, *, chunk_rows: int = CHUNK_ROWS) -> None:
        self.hook = hook
        self.table = check_table_name(table)
        self.chunk_rows = chunk_rows
        self.display = f"table {table}"

    def write(self, lines: Callable[[], Iterator[bytes]], key_field: str, written: list[int]) -> int:
        """Insert the rows of the spool ``lines()``, a chunk at a time; ``written[0]``: the spool lines inserted."""
        self.ensure_table(key_field)
        fields = list(table_columns(key_field))
        at = fields.index("at")
        count, chunk, chunk_lines = 0, [], 0
        for line in lines():
            for row in rows_of((line,), key_field):
                values = list(row)
                values[at] = values[at].removesuffix("Z")  # UTC, into a timestamp without time zone
                chunk.append(tuple(values))
            chunk_lines += 1
            if len(chunk) >= self.chunk_rows:
                count += self._insert(chunk, fields)
                written[0] += chunk_lines
                chunk, chunk_lines = [], 0
        if chunk:
            count += self._insert(chunk, fields)
            written[0] += chunk_lines
        return count

    def _insert(self, rows: list[tuple[Any, ...]], fields: list[str]) -> int:
        self.hook.insert_rows(
            self.table, rows, target_fields=fields, commit_every=len(rows), executemany=True, fast_executemany=True
        )
        return len(rows)

    def ensure_table(self, key_field: str) -> None:
        """Create the table when a query of it fails (it is missing); a table there already is used as it is."""
        try:
            self.hook.get_records(f"SELECT 1 FROM {self.table} WHERE 1 = 0")
            return
        except Exception:  # each driver has its own error for a missing table
            pass
        self.hook.run(create_table_sql(self.table, key_field))
