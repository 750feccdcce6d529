"""Changelog tables (pipeline/changelog_table.py) on a real PostgreSQL through common.sql's PostgresHook."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_wooxy.exceptions import WooxyChangelogError, WooxyInputError
from airflow_provider_wooxy.pipeline.changelog import Changelog, RunContext, Spool
from airflow_provider_wooxy.pipeline.changelog_table import TableSink, check_table_name, create_table_sql
from tests.sources.services import WAREHOUSE_CONN_ID, Postgres, postgres, warehouse

__all__ = ["postgres", "warehouse"]  # the fixtures


def hook():
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    return PostgresHook(postgres_conn_id=WAREHOUSE_CONN_ID)


def append(tmp_path: Path, table: str, addresses: list[str], *, chunk_rows: int = 2, name: str = "spool") -> int:
    sink = TableSink(hook(), table, chunk_rows=chunk_rows)
    changelog = Changelog("phoneNumber", RunContext("d", "t", "r", 2), [(sink, Spool(tmp_path / name))])
    for number in addresses:  # one request each, as a remove
        changelog.accepted("remove", [json.dumps({"phoneNumber": number}).encode()])
    return changelog.write()


class TestTableSink:
    def test_created_when_missing_then_appended(self, warehouse: Postgres, tmp_path: Path):
        warehouse.execute("DROP TABLE IF EXISTS phone_log")
        assert append(tmp_path, "phone_log", ["+447911000001", "+447911000002", "+447911000003"]) == 3
        assert append(tmp_path, "phone_log", ["+447911000004"]) == 1
        with warehouse.connect() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT action, phone_number, reject_type, try_number FROM phone_log ORDER BY phone_number")
            assert cursor.fetchall() == [("remove", f"+44791100000{i}", None, 2) for i in range(1, 5)]

    def test_a_failure_midway_keeps_only_the_rows_not_inserted(self, warehouse: Postgres, tmp_path: Path):
        warehouse.execute("DROP TABLE IF EXISTS phone_log")
        warehouse.execute(create_table_sql("phone_log", "phoneNumber").replace("varchar(16)", "varchar(13)"))
        with pytest.raises(WooxyChangelogError, match="table phone_log: value too long"):
            # Chunks of 2 rows: the first goes in, the second holds a number too long for the narrowed column.
            append(tmp_path, "phone_log", ["+447911000001", "+447911000002", "+4479110000033", "+447911000004"])
        kept = [json.loads(line)["r"][0]["phoneNumber"] for line in (tmp_path / "spool").read_bytes().splitlines()]
        assert kept == ["+4479110000033", "+447911000004"]
        with warehouse.connect() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM phone_log")
            assert cursor.fetchone() == (2,)

    def test_the_documented_ddl(self):
        assert create_table_sql("audit.wooxy_email_changelog", "email") == (
            "CREATE TABLE audit.wooxy_email_changelog (\n"
            "    action varchar(8) NOT NULL,\n"
            "    email varchar(320) NOT NULL,\n"
            "    reject_type varchar(32),\n"
            "    status varchar(8) NOT NULL,\n"
            "    reason varchar(4096),\n"
            "    dag_id varchar(250),\n"
            "    task_id varchar(250),\n"
            "    run_id varchar(250),\n"
            "    try_number integer,\n"
            "    at timestamp NOT NULL,\n"
            "    plan_id varchar(64)\n"
            ")"
        )

    @pytest.mark.parametrize("name", ["wooxy_log", "audit.wooxy_log", "db.audit.log_1"])
    def test_plain_names(self, name: str):
        assert check_table_name(name) == name

    @pytest.mark.parametrize("name", ["", "a b", "log; DROP TABLE x", '"quoted"', "a.b.c.d", "1st"])
    def test_anything_else_is_refused(self, name: str):
        with pytest.raises(WooxyInputError, match="is not a table name"):
            check_table_name(name)
