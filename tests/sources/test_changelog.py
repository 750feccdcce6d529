"""
The audit trail on real services: a changelog table on PostgreSQL (tests/sources/services.py), a changelog file on
an S3 API server, and a sync and a push killed (SIGKILL) mid-send, then retried: no row of an accepted request lost.
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator
from airflow_provider_wooxy.sandbox import WooxySandbox
from tests.helpers.sandbox import TOKEN, connection_json
from tests.helpers.tasks import kill_after_requests, once_the_lease_expires
from tests.operators.test_changelog import REFUSED, emails, outcomes, received
from tests.sources.services import BUCKET, S3_CONN_ID, WAREHOUSE_CONN_ID

if TYPE_CHECKING:
    from tests.sources.services import S3, Postgres

TABLE_COLUMNS = "action,email,reject_type,status,reason,dag_id,task_id,run_id,try_number,at,plan_id"


@pytest.fixture
def refusing(monkeypatch: pytest.MonkeyPatch):
    with WooxySandbox(token=TOKEN, retry_after="0", refuse=[REFUSED], latency=0.002) as sandbox:
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url))
        sandbox.received = []
        yield sandbox


def sync(state: str, addresses: list[str], **kwargs: Any) -> dict[str, Any]:
    return WooxySyncEmailBlacklistOperator(
        task_id="sync", records=addresses, state_path=state, max_removals=None, max_invalid=5, batch_size=10, **kwargs
    ).execute({})


def table_rows(postgres: Postgres, table: str) -> list[dict[str, Any]]:
    with postgres.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT {TABLE_COLUMNS} FROM {table} ORDER BY at, action, email")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class TestChangelogTable:
    def test_rows_are_what_the_sandbox_received_and_a_second_run_appends(
        self, refusing: WooxySandbox, warehouse: Postgres, tmp_path: Path
    ):
        warehouse.execute("DROP TABLE IF EXISTS audit.wooxy_changelog; CREATE SCHEMA IF NOT EXISTS audit")
        state, table = str(tmp_path / "emails.state"), "audit.wooxy_changelog"
        kwargs = {"changelog_table": table, "changelog_conn_id": WAREHOUSE_CONN_ID}
        assert sync(state, emails(30), **kwargs)["changelog_rows"] == 30  # the table is created
        refusing.received = []
        second = sync(state, [*emails(25, start=5), *emails(24, start=100), REFUSED], **kwargs)
        rows = table_rows(warehouse, table)
        assert len(rows) == 60
        new = [r for r in rows if r["plan_id"] == second["plan_id"]]
        as_file = [
            {**r, "rejectType": r["reject_type"] or "", "reason": r["reason"] or "", "action": r["action"]} for r in new
        ]
        assert outcomes(as_file) == received(refusing)
        assert Counter((r["action"], r["status"]) for r in new) == {
            ("add", "accepted"): 24,
            ("add", "refused"): 1,
            ("remove", "accepted"): 5,
        }
        assert all(r["at"].tzinfo is None for r in rows)  # a timestamp without time zone, holding UTC
        with warehouse.connect() as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT data_type FROM information_schema.columns WHERE table_schema = 'audit' "
                "AND table_name = 'wooxy_changelog' ORDER BY ordinal_position"
            )
            types = [t for (t,) in cursor.fetchall()]
        assert types == ["character varying"] * 8 + ["integer", "timestamp without time zone", "character varying"]

    def test_a_table_that_refuses_the_rows_fails_after_the_sends_and_keeps_them(
        self, refusing: WooxySandbox, warehouse: Postgres, tmp_path: Path
    ):
        from airflow_provider_wooxy.exceptions import WooxyChangelogError

        warehouse.execute("DROP TABLE IF EXISTS narrow_log; CREATE TABLE narrow_log (action varchar(8))")
        state = str(tmp_path / "emails.state")
        kwargs = {"changelog_table": "narrow_log", "changelog_conn_id": WAREHOUSE_CONN_ID}
        with pytest.raises(WooxyChangelogError, match=r"table narrow_log: .*kept in .*emails.state.changelog-table"):
            sync(state, emails(5), **kwargs)
        assert refusing.email_addresses() == set(emails(5))
        warehouse.execute("DROP TABLE narrow_log")  # fixed: the next run creates it and writes the kept rows
        assert sync(state, emails(5), **kwargs)["changelog_rows"] == 5
        assert len(table_rows(warehouse, "narrow_log")) == 5


class TestChangelogOnObjectStorage:
    def test_appends_to_a_file_in_a_bucket(self, refusing: WooxySandbox, s3: S3, tmp_path: Path):
        uri = f"s3://{BUCKET}/audit/changelog.csv"
        kwargs = {"changelog_path": uri, "storage_conn_id": S3_CONN_ID}
        state = f"s3://{BUCKET}/state/emails.state"
        sync(state, emails(12), **kwargs)
        sync(state, emails(10, start=2), **kwargs)
        body = s3.client().get_object(Bucket=BUCKET, Key="audit/changelog.csv")["Body"].read().decode()
        rows = list(csv.DictReader(body.splitlines()))
        assert Counter(r["action"] for r in rows) == {"add": 12, "remove": 2}
        keys = [o["Key"] for o in s3.client().list_objects_v2(Bucket=BUCKET)["Contents"]]
        assert not [k for k in keys if "changelog-" in k]  # the spool's parts went once written


KILLED = (
    "import json, sys, types\n"
    "from airflow_provider_wooxy.operators import blacklist, sync\n"
    "kw = json.loads(sys.argv[1])\n"
    "ti = types.SimpleNamespace(dag_id='audit', task_id='t', run_id='r', try_number=1)\n"
    "op = sync.WooxySyncEmailBlacklistOperator if 'state_path' in kw else blacklist.WooxyAddEmailBlacklistOperator\n"
    "op(task_id='t', max_concurrency=2, batch_size=5, **kw).execute({'ti': ti})\n"
)


@pytest.mark.parametrize("flow", ["sync", "push"])
def test_a_killed_try_loses_no_row(flow: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from types import SimpleNamespace

    from airflow_provider_wooxy.operators.blacklist import WooxyAddEmailBlacklistOperator

    addresses = emails(300)
    source = tmp_path / "input.json"
    source.write_text(json.dumps(addresses))
    path = tmp_path / "changelog.jsonl"
    arguments: dict[str, Any] = {"path": str(source), "changelog_path": str(path)}
    if flow == "sync":
        arguments.update(state_path=str(tmp_path / "emails.state"), max_removals=None, lease_seconds=1)
    else:
        arguments.update(checkpoint_path=str(tmp_path / "push.checkpoint"))
    with WooxySandbox(token=TOKEN, latency=0.01) as sandbox:
        conn = connection_json(sandbox.url)
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", conn)
        sandbox.received = []
        env = {**os.environ, "AIRFLOW_CONN_WOOXY_DEFAULT": conn, "AIRFLOW__CORE__UNIT_TEST_MODE": "1"}
        assert kill_after_requests(sandbox, ["-c", KILLED, json.dumps(arguments)], env, 20)
        assert not path.exists()  # killed mid-send: nothing written, the rows wait in the spool
        killed = received(sandbox)
        sandbox.received = []
        retry = SimpleNamespace(dag_id="audit", task_id="t", run_id="r", try_number=2)
        operator = WooxySyncEmailBlacklistOperator if flow == "sync" else WooxyAddEmailBlacklistOperator
        task = operator(task_id="t", max_concurrency=2, batch_size=5, **arguments)
        once_the_lease_expires(lambda: task.execute({"ti": retry}))  # the killed sync's lease expires first
        retried = received(sandbox)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    by_try = {
        n: Counter(("add", r["email"], r["rejectType"], r["status"], "") for r in rows if r["try_number"] == n)
        for n in (1, 2)
    }
    # The killed try's rows: only what Wooxy accepted then; what they lack was in flight at the kill, and the
    # retry sent it again. The retry's rows: exactly what Wooxy accepted in the retry.
    assert by_try[1] and by_try[1] <= killed
    assert killed - by_try[1] <= retried
    assert by_try[2] == retried
    assert sum(by_try.values(), Counter()).keys() >= {("add", a, "hard", "accepted", "") for a in addresses}
    assert sandbox.email_addresses() == set(addresses)
