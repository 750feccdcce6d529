"""SQL input (pipeline/sources/sql.py) against a real PostgreSQL (tests/sources/services.py), and SQLite, over real
HTTP."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING

import pytest

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.operators.blacklist import WooxyAddEmailBlacklistOperator, WooxyAddPhoneBlacklistOperator
from airflow_provider_wooxy.operators.lookup import WooxyCheckPhoneBlacklistOperator
from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator
from airflow_provider_wooxy.pipeline.sources import sql as sql_module
from airflow_provider_wooxy.pipeline.sources.sql import iter_sql_records
from airflow_provider_wooxy.pipeline.validation import RecordError
from tests.sources.services import TABLE_ROWS, WAREHOUSE_CONN_ID

if TYPE_CHECKING:
    from pathlib import Path

    from airflow_provider_wooxy.sandbox import WooxySandbox
    from tests.sources.services import Postgres

UNSUBSCRIBES = 'SELECT email, reject_type AS "rejectType" FROM unsubscribes ORDER BY id'


class TestReadingAQuery:
    def test_server_side_cursor_streams_fetchmany_by_fetchmany(self, postgres: Postgres):
        import psycopg2
        import psycopg2.extensions

        fetches: list[tuple[str | None, int]] = []

        class CountingCursor(psycopg2.extensions.cursor):
            def fetchmany(self, size: int | None = None) -> list:
                rows = super().fetchmany(size)
                fetches.append((self.name, len(rows)))
                return rows

        connection = psycopg2.connect(
            host=postgres.host,
            port=postgres.port,
            user="postgres",
            dbname=postgres.database,
            cursor_factory=CountingCursor,
        )
        sql = "SELECT email FROM unsubscribes ORDER BY id"
        rows = [row for row, _ in iter_sql_records(connection, sql, field="email", fetch_rows=7_000)]
        assert rows == list(range(1, TABLE_ROWS + 1))  # numbered by position in the result, across fetches
        # A named (server-side) cursor: the result stays on the server, 7,000 rows come per fetch.
        assert fetches == [("wooxy_input", 7_000)] * 14 + [("wooxy_input", 2_000), ("wooxy_input", 0)]
        assert connection.closed

    def test_a_query_failing_mid_result_names_the_last_row_read(self, postgres: Postgres):
        # A server-side cursor computes rows as they are fetched: the division fails in the second fetch.
        sql = "SELECT CASE WHEN i < 15000 THEN 'u' || i || '@example.com' ELSE (1 / (i - i))::text END AS email "
        sql += "FROM generate_series(1, 20000) AS i"
        items = iter_sql_records(postgres.connect(), sql, field="email", fetch_rows=10_000)
        with pytest.raises(WooxyInputError, match="the query failed after result row 10000: division by zero"):
            for _ in items:
                pass

    def test_null_cells_are_rejects_of_their_row(self, postgres: Postgres):
        items = dict(
            iter_sql_records(
                postgres.connect(), "SELECT phone FROM unsubscribes WHERE id <= 14 ORDER BY id", field="phone"
            )
        )
        assert isinstance(items[7], RecordError) and str(items[7]) == "null in column 'phone'"
        assert items[1] == "447911000001"  # a bigint as its digits, then normalised like text

    def test_column_names_folded_by_the_database(self, postgres: Postgres):
        # Snowflake answers upper-case names: field= names them as they come, or the query quotes them.
        sql = 'SELECT email AS "EMAIL" FROM unsubscribes LIMIT 2'
        items = list(iter_sql_records(postgres.connect(), sql, field="EMAIL"))
        assert [item for _, item in items] == ["user1@example.com", "user2@example.com"]
        with pytest.raises(WooxyInputError, match="rename it to 'email' or set field='EMAIL'"):
            list(iter_sql_records(postgres.connect(), sql, field="email"))


class TestSqlInputOperators:
    def test_sync_from_a_query_over_the_whole_table(
        self, wooxy_conn: WooxySandbox, warehouse: Postgres, tmp_path: Path
    ):
        op = WooxySyncEmailBlacklistOperator(
            task_id="sync",
            sql=UNSUBSCRIBES,
            sql_conn_id=WAREHOUSE_CONN_ID,
            state_path=str(tmp_path / "state.json"),
            max_invalid=None,
            rejects_path=str(tmp_path / "rejects.jsonl"),
        )
        summary = op.execute({})
        assert (summary["received"], summary["invalid"], summary["added"]) == (TABLE_ROWS, 100, TABLE_ROWS - 100)
        assert len(wooxy_conn.email_addresses()) == TABLE_ROWS - 100
        assert wooxy_conn.emails["user10@example.com"].keys() == {"complaint"}  # the rejectType column
        first = json.loads((tmp_path / "rejects.jsonl").read_text().splitlines()[0])
        assert (first["row"], first["value"]) == (1000, "not-an-address-1000")  # its position in the result

    def test_parameters(self, wooxy_conn: WooxySandbox, warehouse: Postgres):
        op = WooxyAddEmailBlacklistOperator(
            task_id="add",
            sql="SELECT email FROM unsubscribes WHERE unsubscribed_on = %(day)s AND id < %(below)s",
            parameters={"day": "2026-01-02", "below": 301},
            sql_conn_id=WAREHOUSE_CONN_ID,
        )
        assert op.execute({})["sent"] == 10  # ids 1, 31, ... 271: day 2 of every 30
        assert "user31@example.com" in wooxy_conn.email_addresses()

    def test_integer_phone_column_with_nulls(self, wooxy_conn: WooxySandbox, warehouse: Postgres):
        op = WooxyAddPhoneBlacklistOperator(
            task_id="add",
            sql="SELECT phone FROM unsubscribes WHERE id <= 70",
            sql_conn_id=WAREHOUSE_CONN_ID,
            field="phone",
            default_region="GB",
            max_invalid=10,
        )
        summary = op.execute({})
        assert (summary["sent"], summary["invalid"]) == (60, 10)
        assert summary["rejects_sample"][0]["row"] == 7

    @pytest.mark.parametrize(
        ("sql", "message"),
        [
            pytest.param(
                "SELEC email FROM unsubscribes", r"the query failed: syntax error at or near \"SELEC\"", id="broken"
            ),
            pytest.param(
                "SELECT email FROM nowhere", r'the query failed: relation "nowhere" does not exist', id="no-table"
            ),
            pytest.param(
                "SELECT id, phone FROM unsubscribes",
                r"the query's result has no 'email' column \(columns found: 'id', 'phone'\); set field=",
                id="missing-column",
            ),
        ],
    )
    def test_a_query_that_cannot_be_read_sends_nothing(
        self, wooxy_conn: WooxySandbox, warehouse: Postgres, sql, message
    ):
        op = WooxyAddEmailBlacklistOperator(task_id="add", sql=sql, sql_conn_id=WAREHOUSE_CONN_ID)
        with pytest.raises(WooxyInputError, match=message):
            op.execute({})
        assert wooxy_conn.stats()["requests"] == {}

    def test_lookup_from_a_query(self, wooxy_conn: WooxySandbox, warehouse: Postgres, tmp_path: Path):
        wooxy_conn.phones["+447911000001"] = {
            "phoneNumber": "+447911000001",
            "rejectType": "unsubscribe",
            "createdAt": "2026-01-01T00:00:00Z",
        }
        op = WooxyCheckPhoneBlacklistOperator(
            task_id="check",
            sql='SELECT phone AS "phoneNumber" FROM unsubscribes WHERE id <= 3',
            sql_conn_id=WAREHOUSE_CONN_ID,
            default_region="GB",
            path=str(tmp_path / "listed.csv"),
        )
        assert op.execute({})["listed"] == 1

    def test_sqlite_through_its_dbapi_hook(self, wooxy_conn: WooxySandbox, tmp_path: Path, monkeypatch):
        database = tmp_path / "warehouse.db"
        with sqlite3.connect(database) as connection:
            connection.execute("CREATE TABLE u (email TEXT)")
            connection.executemany("INSERT INTO u VALUES (?)", [(f"user{i}@example.com",) for i in range(25)])
        monkeypatch.setenv("AIRFLOW_CONN_LITE", json.dumps({"conn_type": "sqlite", "host": str(database)}))
        monkeypatch.setattr(sql_module, "FETCH_ROWS", 10)
        op = WooxyAddEmailBlacklistOperator(
            task_id="add", sql="SELECT email FROM u WHERE rowid > ?", parameters=[5], sql_conn_id="lite"
        )
        assert op.execute({})["sent"] == 20

    def test_openlineage_without_database_info_names_the_connection(self, wooxy_conn, tmp_path: Path, monkeypatch):
        database = tmp_path / "warehouse.db"
        sqlite3.connect(database).close()
        monkeypatch.setenv("AIRFLOW_CONN_LITE", json.dumps({"conn_type": "sqlite", "host": str(database)}))
        op = WooxyAddEmailBlacklistOperator(task_id="add", sql="SELECT email FROM u", sql_conn_id="lite")
        lineage = op.get_openlineage_facets_on_complete(None)
        assert [(d.namespace, d.name) for d in lineage.inputs] == [(f"sqlite://{database}", "query")]

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            pytest.param({"sql": "SELECT 1"}, "sql= needs sql_conn_id=", id="no-connection"),
            pytest.param({"sql": "SELECT 1", "sql_conn_id": "wooxy_default"}, "not a SQL .*DbApiHook", id="not-sql"),
            pytest.param({"sql": "SELECT 1", "path": "a.csv"}, "exactly one of .* got path and sql", id="two-inputs"),
        ],
    )
    def test_arguments(self, wooxy_conn: WooxySandbox, kwargs, message):
        with pytest.raises(WooxyInputError, match=message):
            WooxyAddEmailBlacklistOperator(task_id="add", **kwargs).execute({})

    def test_openlineage_names_the_tables_in_the_connections_namespace(
        self, wooxy_conn: WooxySandbox, warehouse: Postgres
    ):
        op = WooxyAddEmailBlacklistOperator(
            task_id="add", sql="SELECT email FROM public.unsubscribes LIMIT 3", sql_conn_id=WAREHOUSE_CONN_ID
        )
        op.execute({})
        lineage = op.get_openlineage_facets_on_complete(None)
        assert [(d.namespace, d.name) for d in lineage.inputs] == [
            (f"postgres://127.0.0.1:{warehouse.port}", f"{warehouse.database}.public.unsubscribes")
        ]
