"""
Input, state, plan and rejects on a real S3 API (moto's server, tests/sources/services.py), reached as a user
would: Airflow's ObjectStoragePath with s3fs and an ``aws`` connection. Over real HTTP to the sandbox.
"""

from __future__ import annotations

import gzip
import io
import json
import os
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from airflow.providers.common.compat.sdk import ObjectStoragePath

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.operators.blacklist import WooxyAddEmailBlacklistOperator
from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator
from airflow_provider_wooxy.pipeline import atomic
from airflow_provider_wooxy.pipeline.sync.entries import EMAIL
from airflow_provider_wooxy.pipeline.sync.state import open_state
from airflow_provider_wooxy.sandbox import WooxySandbox
from tests.helpers.sandbox import TOKEN, connection_json
from tests.helpers.tasks import kill_after_removes, once_the_lease_expires
from tests.pipeline.test_atomic import write_then_fail
from tests.sources.services import BUCKET, S3_CONN_ID

if TYPE_CHECKING:
    from tests.sources.services import S3

PREFIX = f"s3://{BUCKET}"


def emails(n: int, start: int = 0) -> list[str]:
    return [f"user{i}@example.com" for i in range(start, start + n)]


def put(s3: S3, key: str, body: bytes) -> None:
    s3.client().put_object(Bucket=BUCKET, Key=key, Body=body)


def parquet_bytes(addresses: list[str | None]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"email": pa.array(addresses, type=pa.string())}), sink)
    return sink.getvalue()


def managed(uri: str, sandbox: WooxySandbox) -> set[str]:
    """The sync state's entries in the bucket, as a new run would load them (snapshot + journal)."""
    return set(open_state(ObjectStoragePath(uri, conn_id=S3_CONN_ID), EMAIL, sandbox.url).load().iter_lines())


def on_wooxy(sandbox: WooxySandbox) -> set[str]:
    return {f"{address}\t{kind}" for address, kinds in sandbox.emails.items() for kind in kinds}


class TestInputFromABucket:
    def test_glob_over_a_snowflake_style_unload(self, wooxy_conn: WooxySandbox, s3: S3):
        for i in range(3):
            lines = "".join(f"{e}\n" for e in emails(50, 50 * i))
            put(s3, f"unload/2026-01-01/data_0_{i}_0.csv.gz", gzip.compress(f"EMAIL\n{lines}".encode()))
        put(s3, "unload/2026-01-02/data_0_0_0.csv.gz", gzip.compress(b"EMAIL\nother@example.com\n"))
        op = WooxyAddEmailBlacklistOperator(
            task_id="add", path=f"{PREFIX}/unload/2026-01-01/data_*.csv.gz", field="EMAIL", storage_conn_id=S3_CONN_ID
        )
        assert op.execute({})["sent"] == 150
        assert wooxy_conn.email_addresses() == set(emails(150))

    def test_folder_of_parquet_parts_with_markers(self, wooxy_conn: WooxySandbox, s3: S3):
        put(s3, "spark/part-00000.parquet", parquet_bytes(emails(10)))
        put(s3, "spark/part-00001.parquet", parquet_bytes([*emails(5, 10), None]))
        put(s3, "spark/_SUCCESS", b"")
        put(s3, "spark_$folder$", b"")
        op = WooxyAddEmailBlacklistOperator(
            task_id="add", path=f"{PREFIX}/spark/", storage_conn_id=S3_CONN_ID, max_invalid=1
        )
        summary = op.execute({})
        assert (summary["sent"], summary["invalid"]) == (15, 1)
        assert summary["rejects_sample"][0]["file"] == f"{PREFIX}/spark/part-00001.parquet"
        assert summary["rejects_sample"][0]["file_row"] == 6

    def test_damaged_part_in_the_bucket(self, wooxy_conn: WooxySandbox, s3: S3):
        put(s3, "bad/part-00000.parquet", parquet_bytes(emails(10)))
        put(s3, "bad/part-00001.parquet", parquet_bytes(emails(10, 10))[:-20])
        op = WooxyAddEmailBlacklistOperator(task_id="add", path=f"{PREFIX}/bad/", storage_conn_id=S3_CONN_ID)
        with pytest.raises(WooxyInputError, match=r"s3://wooxy-exports/bad/part-00001\.parquet is not a readable"):
            op.execute({})
        assert wooxy_conn.email_addresses() == set()

    def test_nothing_matches(self, wooxy_conn: WooxySandbox, s3: S3):
        op = WooxyAddEmailBlacklistOperator(
            task_id="add", path=f"{PREFIX}/unload/2030-01-01/*.csv", storage_conn_id=S3_CONN_ID
        )
        with pytest.raises(WooxyInputError, match="no data file matches s3://wooxy-exports/unload/2030-01-01/"):
            op.execute({})


class TestSyncFilesInABucket:
    def test_state_plan_and_rejects_in_the_bucket(self, wooxy_conn: WooxySandbox, s3: S3):
        put(s3, "in/part-0.csv", ("email\n" + "\n".join([*emails(300), "broken"]) + "\n").encode())
        make = lambda **kw: WooxySyncEmailBlacklistOperator(  # noqa: E731
            task_id="sync",
            path=f"{PREFIX}/in/",
            state_path=f"{PREFIX}/state/emails.state",
            rejects_path=f"{PREFIX}/rejects/run.csv",
            storage_conn_id=S3_CONN_ID,
            max_invalid=None,
            **kw,
        ).execute({})
        assert make()["added"] == 300
        assert managed(f"{PREFIX}/state/emails.state", wooxy_conn) == on_wooxy(wooxy_conn)
        rejects = ObjectStoragePath(f"{PREFIX}/rejects/run.csv", conn_id=S3_CONN_ID).read_text()
        assert "broken" in rejects and f"{PREFIX}/in/part-0.csv,301" in rejects
        put(s3, "in/part-0.csv", ("email\n" + "\n".join(emails(100)) + "\n").encode())
        with pytest.raises(WooxyInputError, match="removes 200 of 300"):
            make(plan_path=f"{PREFIX}/plans/plan.csv")
        plan = ObjectStoragePath(f"{PREFIX}/plans/plan.csv", conn_id=S3_CONN_ID).read_text()
        assert "remove,user299@example.com,hard" in plan
        assert wooxy_conn.email_addresses() == set(emails(300))

    def test_sigkill_mid_run_then_retry_converges(self, s3: S3, monkeypatch):
        state = f"{PREFIX}/state/killed.state"
        with WooxySandbox(token=TOKEN, latency=0.02) as sandbox:
            conn = connection_json(sandbox.url)
            monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", conn)
            sync = lambda **kw: WooxySyncEmailBlacklistOperator(  # noqa: E731
                task_id="s", path=f"{PREFIX}/desired/", state_path=state, storage_conn_id=S3_CONN_ID, **kw
            ).execute({})
            put(s3, "desired/part-0.jsonl", "".join(json.dumps(e) + "\n" for e in emails(200)).encode())
            sync()
            desired = emails(100, start=100) + emails(3000, start=1000)  # 30 add requests, 100 removes
            put(s3, "desired/part-0.jsonl", "".join(json.dumps(e) + "\n" for e in desired[:1600]).encode())
            put(s3, "desired/part-1.jsonl", "".join(json.dumps(e) + "\n" for e in desired[1600:]).encode())
            script = (
                "import sys\n"
                "from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator as Op\n"
                "Op(task_id='s', path=sys.argv[1], state_path=sys.argv[2], storage_conn_id=sys.argv[3],"
                " max_removals=None, max_concurrency=2, lease_seconds=1).execute({})\n"
            )
            env = {
                **os.environ,
                "AIRFLOW_CONN_WOOXY_DEFAULT": conn,
                f"AIRFLOW_CONN_{S3_CONN_ID.upper()}": s3.conn_json,
                "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
            }
            kill_after_removes(sandbox, ["-c", script, f"{PREFIX}/desired/", state, S3_CONN_ID], env)
            listed = on_wooxy(sandbox)
            recorded = managed(state, sandbox)  # readable from the bucket after a kill
            # On object storage the journal is flushed every few seconds (pipeline/sync/state.py), but the run's
            # intent was written before its first request: every add it may have made is in the state (in doubt),
            # and what the state still holds that Wooxy dropped can only be this run's removes (in doubt too).
            removes = {f"{a}\thard" for a in emails(100)}
            assert listed - recorded == set()
            assert recorded - listed <= removes
            summary = once_the_lease_expires(lambda: sync(max_removals=None))  # the killed run's, a second
            assert on_wooxy(sandbox) == {f"{a}\thard" for a in desired}
            assert managed(state, sandbox) == {f"{a}\thard" for a in desired}  # exact after the retry
            assert summary["requests"] <= 130  # never more than the whole change


def keys(s3: S3, prefix: str) -> list[str]:
    listing = s3.client().list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(entry["Key"] for entry in listing.get("Contents", []))


class TestOutputsAppearWhole:
    """Uploaded under a temporary key beside the output, copied into place, the temporary key deleted."""

    def test_an_export_to_a_bucket(self, wooxy_conn: WooxySandbox, s3: S3):
        from airflow_provider_wooxy.operators.export import WooxyExportEmailBlacklistOperator

        wooxy_conn.add_emails([(e, "hard") for e in emails(30)])
        put(s3, "exports/.out.csv.wooxy-tmp-0123456789ab", b"a killed run's upload")
        op = WooxyExportEmailBlacklistOperator(
            task_id="export", output_path=f"{PREFIX}/exports/out.csv", reject_types=["hard"], storage_conn_id=S3_CONN_ID
        )
        assert op.execute({})["exported"] == 30
        assert keys(s3, "exports/") == ["exports/out.csv"]  # the leftover removed, no temporary key kept
        body = s3.client().get_object(Bucket=BUCKET, Key="exports/out.csv")["Body"].read().decode()
        assert len(body.splitlines()) == 31

    def test_a_failure_leaves_the_old_object_and_no_temporary_key(self, s3: S3):
        put(s3, "exports/out.csv", b"old\n")
        location = ObjectStoragePath(f"{PREFIX}/exports/out.csv", conn_id=S3_CONN_ID)
        with pytest.raises(RuntimeError, match="went away"):
            write_then_fail(location)
        assert keys(s3, "exports/") == ["exports/out.csv"]
        assert s3.client().get_object(Bucket=BUCKET, Key="exports/out.csv")["Body"].read() == b"old\n"

    def test_while_it_is_written_the_final_key_does_not_exist(self, s3: S3):
        location = ObjectStoragePath(f"{PREFIX}/plans/plan.jsonl", conn_id=S3_CONN_ID)
        with atomic.output_file(location) as stream:
            stream.write(b"{}\n")
            stream.flush()
            assert "plans/plan.jsonl" not in keys(s3, "plans/")
        assert keys(s3, "plans/") == ["plans/plan.jsonl"]


class TestSyncLeaseInABucket:
    """The lease on a state in a bucket (conditional writes on the S3 API server): the operators' view."""

    def test_a_second_run_mid_send_fails_at_once_and_the_first_finishes(
        self, wooxy_conn: WooxySandbox, s3: S3, monkeypatch: pytest.MonkeyPatch
    ):
        from airflow_provider_wooxy.exceptions import WooxyStateBusyError
        from tests.helpers.tasks import execute_in_thread
        from tests.operators.test_sync_lease import Pause, pause_mid_send

        state = f"{PREFIX}/state/leased.state"

        def sync(addresses: list[str], **kwargs: Any) -> WooxySyncEmailBlacklistOperator:
            return WooxySyncEmailBlacklistOperator(
                task_id="s", records=addresses, state_path=state, storage_conn_id=S3_CONN_ID, **kwargs
            )

        sync(emails(100)).execute({})
        pause = Pause()
        pause_mid_send(monkeypatch, pause)
        thread, outcome = execute_in_thread(sync(emails(400), max_concurrency=1))
        assert pause.reached.wait(30)
        before = wooxy_conn.stats()["total_requests"]
        with pytest.raises(WooxyStateBusyError, match="holds the lease on s3://"):
            sync(emails(20, start=9000)).execute({})
        assert wooxy_conn.stats()["total_requests"] == before
        pause.go.set()
        thread.join(60)
        assert outcome == []
        assert managed(state, wooxy_conn) == on_wooxy(wooxy_conn) == {f"{a}\thard" for a in emails(400)}

    def test_a_run_that_lost_its_lease_writes_no_snapshot(
        self, wooxy_conn: WooxySandbox, s3: S3, monkeypatch: pytest.MonkeyPatch
    ):
        import time

        from airflow_provider_wooxy.exceptions import WooxyStateBusyError
        from airflow_provider_wooxy.pipeline.sync.lease import Holder, lease_for
        from tests.helpers.tasks import execute_in_thread
        from tests.operators.test_sync_lease import Pause, pause_mid_send

        uri = f"{PREFIX}/state/fenced.state"
        location = ObjectStoragePath(uri, conn_id=S3_CONN_ID)
        op = lambda addresses, **kw: WooxySyncEmailBlacklistOperator(  # noqa: E731
            task_id="s", records=addresses, state_path=uri, storage_conn_id=S3_CONN_ID, **kw
        )
        op(emails(100)).execute({})
        snapshot = location.read_bytes()
        pause = Pause()
        pause_mid_send(monkeypatch, pause)
        thread, outcome = execute_in_thread(op(emails(300), max_concurrency=1))
        assert pause.reached.wait(30)
        lease_for(location, Holder.here("taker"), seconds=300, clock=lambda: time.time() + 3600).acquire()
        pause.go.set()
        thread.join(60)
        assert len(outcome) == 1 and isinstance(outcome[0], WooxyStateBusyError)
        assert location.read_bytes() == snapshot  # fenced: the commit wrote nothing
