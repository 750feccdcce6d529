"""SQL input (pipeline/sources/sql.py) over a DB-API connection: SQLite here, PostgreSQL in tests/sources."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.sources import sql as sql_module
from airflow_provider_wooxy.pipeline.sources.sql import iter_sql_records
from airflow_provider_wooxy.pipeline.validation import RecordError

if TYPE_CHECKING:
    from pathlib import Path


class Recording:
    """A sqlite3 connection that notes its fetches and whether it was closed."""

    def __init__(self, database: Path, **kwargs: Any) -> None:
        self.connection = sqlite3.connect(database, **kwargs)
        self.fetches: list[int] = []
        self.closed = False

    def cursor(self, **kwargs: Any) -> Any:
        cursor = self.connection.cursor(**kwargs)
        fetchmany = cursor.fetchmany
        recording = self

        class Cursor:
            description = property(lambda _: cursor.description)
            execute = cursor.execute
            close = cursor.close

            def fetchmany(self, size: int) -> list[Any]:
                rows = fetchmany(size)
                recording.fetches.append(len(rows))
                return rows

        return Cursor()

    def close(self) -> None:
        self.closed = True
        self.connection.close()


class Psycopg(Recording):
    """Looks like a psycopg connection: a named (server-side) cursor, and the next batch fetched ahead."""

    __module__ = "psycopg2.extensions"

    def __init__(self, database: Path) -> None:
        super().__init__(database, check_same_thread=False)
        self.names: list[str] = []

    def cursor(self, name: str = "", **kwargs: Any) -> Any:
        self.names.append(name)
        return super().cursor(**kwargs)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE u (id INTEGER, email TEXT, phone INTEGER, reject_type TEXT)")
        connection.executemany(
            "INSERT INTO u VALUES (?, ?, ?, ?)",
            [
                (i, f"user{i}@example.com", None if i % 7 == 0 else 447911000000 + i, "complaint" if i % 2 else None)
                for i in range(1, 26)
            ],
        )
    connection.close()
    return path


def as_text(pairs: Any) -> list[tuple[int, object]]:
    return [(row, str(item) if isinstance(item, RecordError) else item) for row, item in pairs]


class TestReadingAQuery:
    def test_rows_are_numbered_across_fetches_and_the_connection_is_closed(self, database: Path):
        connection = Recording(database)
        items = list(iter_sql_records(connection, "SELECT email FROM u ORDER BY id", field="email", fetch_rows=10))
        assert items == [(i, f"user{i}@example.com") for i in range(1, 26)]
        assert connection.fetches == [10, 10, 5, 0]
        assert connection.closed

    def test_fetch_rows_defaults_to_fetch_rows(self, database: Path, monkeypatch):
        monkeypatch.setattr(sql_module, "FETCH_ROWS", 20)
        connection = Recording(database)
        assert len(list(iter_sql_records(connection, "SELECT email FROM u", field="email"))) == 25
        assert connection.fetches == [20, 5, 0]

    def test_parameters_in_the_drivers_style(self, database: Path):
        sql = "SELECT email FROM u WHERE id > ? ORDER BY id"
        items = iter_sql_records(sqlite3.connect(database), sql, parameters=[23], field="email")
        assert list(items) == [(1, "user24@example.com"), (2, "user25@example.com")]

    def test_a_number_comes_as_its_digits_and_a_null_as_a_reject(self, database: Path):
        items = iter_sql_records(sqlite3.connect(database), "SELECT phone FROM u WHERE id >= 6", field="phone")
        assert as_text(items)[:3] == [(1, "447911000006"), (2, "null in column 'phone'"), (3, "447911000008")]

    def test_reject_type_and_raw_log_columns_come_with_the_address(self, database: Path):
        sql = 'SELECT email, reject_type AS "rejectType", id AS "rawLog" FROM u WHERE id <= 2 ORDER BY id'
        items = list(iter_sql_records(sqlite3.connect(database), sql, field="email"))
        assert items == [
            (1, {"email": "user1@example.com", "rejectType": "complaint", "rawLog": 1}),
            (2, {"email": "user2@example.com", "rejectType": None, "rawLog": 2}),
        ]

    def test_an_upper_case_column_is_read_when_field_names_it(self, database: Path):
        sql = 'SELECT email AS "EMAIL" FROM u WHERE id = 1'
        assert list(iter_sql_records(sqlite3.connect(database), sql, field="EMAIL")) == [(1, "user1@example.com")]


class TestAQueryThatCannotBeRead:
    @pytest.mark.parametrize(
        ("sql", "message"),
        [
            pytest.param("SELEC email FROM u", r'^the query failed: near "SELEC": syntax error$', id="broken"),
            pytest.param("SELECT email FROM nowhere", "^the query failed: no such table: nowhere$", id="no-table"),
            pytest.param(
                "SELECT id, phone FROM u",
                r"the query's result has no 'email' column \(columns found: 'id', 'phone'\); set field=",
                id="missing-column",
            ),
            pytest.param(
                'SELECT email AS "Email", email AS "EMAIL" FROM u',
                r"has 2 columns that match 'email' \('Email', 'EMAIL'\) \(columns 1, 2\): which one to read is "
                r"ambiguous",
                id="ambiguous-case",
            ),
            pytest.param(
                "SELECT email, id AS email FROM u",
                r"names the column 'email' 2 times \(columns 1, 2\): which one to read is ambiguous",
                id="same-name-twice",
            ),
            pytest.param(
                'SELECT id AS "EMAIL", email FROM u',
                r"has 2 columns that match 'email' \('EMAIL', 'email'\)",
                id="exact-and-loose",
            ),
            pytest.param(
                "SELECT email, reject_type AS rejectType, reject_type AS RejectType FROM u",
                r"has 2 columns that match 'rejectType'",
                id="two-reject-types",
            ),
            pytest.param(
                'SELECT email AS "EMAIL", reject_type FROM u',
                r"has no 'email' column but 'EMAIL', which matches it only when case and '_' / '-' are ignored: "
                r"rename it to 'email' or set field='EMAIL'\.$",
                id="loose-address",
            ),
            pytest.param(
                "SELECT email, reject_type FROM u",
                r"has no 'rejectType' column but 'reject_type', .* rename it to 'rejectType'\.$",
                id="loose-reject-type",
            ),
            pytest.param("UPDATE u SET id = id", r"the query returned no result set \(is it a SELECT\?\)", id="update"),
        ],
    )
    def test_one_clear_error_and_the_connection_closed(self, database: Path, sql: str, message: str):
        connection = Recording(database)
        with pytest.raises(WooxyInputError, match=message):
            list(iter_sql_records(connection, sql, field="email"))
        assert connection.closed

    def test_a_fetch_failing_names_the_last_row_read(self, database: Path):
        connection = Recording(database)
        connection.connection.create_function("boom", 1, lambda i: 1 // (i - 13))
        items = iter_sql_records(connection, "SELECT email, boom(id) FROM u", field="email", fetch_rows=5)
        with pytest.raises(WooxyInputError, match=r"^the query failed after result row 10: "):
            list(items)
        assert connection.closed


class TestFetchingAhead:
    def test_a_server_side_cursor_and_the_next_batch_fetched_meanwhile(self, database: Path):
        connection = Psycopg(database)
        items = list(iter_sql_records(connection, "SELECT email FROM u ORDER BY id", field="email", fetch_rows=10))
        assert [row for row, _ in items] == list(range(1, 26))
        assert connection.names == ["wooxy_input"]
        assert connection.fetches == [10, 10, 5, 0]
        assert connection.closed

    def test_a_failure_in_the_fetching_thread_reaches_the_reader(self, database: Path):
        connection = Psycopg(database)
        connection.connection.create_function("boom", 1, lambda i: 1 // (i - 13))
        items = iter_sql_records(connection, "SELECT email, boom(id) FROM u", field="email", fetch_rows=5)
        with pytest.raises(WooxyInputError, match=r"^the query failed after result row 10: "):
            list(items)
        assert connection.closed

    def test_stopping_early_stops_the_fetching_thread(self, database: Path):
        import threading

        connection = Psycopg(database)
        items = iter_sql_records(connection, "SELECT email FROM u ORDER BY id", field="email", fetch_rows=2)
        assert next(items) == (1, "user1@example.com")
        items.close()
        assert connection.closed
        assert not [thread for thread in threading.enumerate() if thread.name == "wooxy-sql-fetch"]
