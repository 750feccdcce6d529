"""
One run per sync state, over real HTTP against the sandbox: a second run fails before any request and names the
holder, at every moment of the first; a dead holder's lease is taken over once it expires; a run that lost its
lease writes no state.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wooxy.exceptions import WooxyInputError, WooxyStateBusyError
from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator
from airflow_provider_wooxy.pipeline.sync import run as run_module
from airflow_provider_wooxy.pipeline.sync.entries import EMAIL
from airflow_provider_wooxy.pipeline.sync.lease import Holder, lease_for, lease_location
from airflow_provider_wooxy.pipeline.sync.state import SyncState, open_state
from airflow_provider_wooxy.sandbox import WooxySandbox
from tests.helpers.tasks import execute_in_thread
from tests.operators.test_sync import emails, requests_made


def operator(state: Path, records: list[str], **kwargs: Any) -> WooxySyncEmailBlacklistOperator:
    return WooxySyncEmailBlacklistOperator(
        task_id="sync", records=records, state_path=str(state), max_removals=None, **kwargs
    )


def on_wooxy_as_lines(sandbox: WooxySandbox) -> set[str]:
    return {f"{a}\thard" for a in sandbox.email_addresses()}


class Pause:
    """Holds the first run at one moment until released; says when it got there."""

    def __init__(self) -> None:
        self.reached, self.go = threading.Event(), threading.Event()

    def __call__(self) -> None:
        if not self.reached.is_set():
            self.reached.set()
            assert self.go.wait(30)


def pause_before_the_plan(monkeypatch: pytest.MonkeyPatch, pause: Pause) -> None:
    original = run_module.make_plan

    def make_plan(*args: Any, **kwargs: Any) -> Any:
        pause()
        return original(*args, **kwargs)

    monkeypatch.setattr(run_module, "make_plan", make_plan)


def pause_mid_send(monkeypatch: pytest.MonkeyPatch, pause: Pause) -> None:
    original = SyncState.record

    def record(self: SyncState, sign: bytes, payloads: Any) -> None:
        original(self, sign, payloads)
        pause()  # one batch is accepted and recorded, the rest not sent yet

    monkeypatch.setattr(SyncState, "record", record)


def pause_after_the_snapshot(monkeypatch: pytest.MonkeyPatch, pause: Pause) -> None:
    original = SyncState._write_snapshot

    def write_snapshot(self: SyncState, groups: Any) -> None:
        original(self, groups)
        if self.exists:  # the commit's snapshot (not a first run's empty one): the journal is not deleted yet
            pause()

    monkeypatch.setattr(SyncState, "_write_snapshot", write_snapshot)


class TestTwoRunsAtOnce:
    @pytest.mark.parametrize(
        "moment",
        [
            pytest.param(pause_before_the_plan, id="before-the-plan"),
            pytest.param(pause_mid_send, id="mid-send"),
            pytest.param(pause_after_the_snapshot, id="between-snapshot-and-journal-clean-up"),
        ],
    )
    def test_a_second_run_fails_at_once_naming_the_holder(
        self, wooxy_conn: WooxySandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moment: Any
    ):
        state = tmp_path / "emails.state"
        operator(state, emails(300)).execute({})
        first_input = emails(500, start=100)  # 300 adds (3 requests, batch 100), 100 removes
        pause = Pause()
        moment(monkeypatch, pause)
        thread, outcome = execute_in_thread(operator(state, first_input, max_concurrency=1))
        assert pause.reached.wait(30)
        before = requests_made(wooxy_conn)
        with pytest.raises(WooxyStateBusyError) as busy:
            operator(state, emails(20, start=5000)).execute({})
        assert requests_made(wooxy_conn) == before  # nothing sent by the second run
        assert "holds the lease on" in str(busy.value) and "since" in str(busy.value)
        pause.go.set()
        thread.join(60)
        assert outcome == []
        managed = set(open_state(state, EMAIL, wooxy_conn.url).load().iter_lines())
        assert managed == on_wooxy_as_lines(wooxy_conn) == {f"{a}\thard" for a in first_input}

    def test_a_dry_run_takes_no_lease(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        state = tmp_path / "emails.state"
        operator(state, emails(10)).execute({})
        lease_for(state, Holder.here("other"), seconds=300).acquire()
        summary = operator(state, emails(12), dry_run=True).execute({})
        assert (summary["to_add"], summary["added"]) == (2, 0)


class TestTakeover:
    def test_a_dead_holders_lease_is_taken_over_once_it_expires(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        state = tmp_path / "emails.state"
        operator(state, emails(10)).execute({})
        lease_for(state, Holder("nightly", "scheduled__1", 3, "worker-9", 4242), seconds=1).acquire()  # then dies
        with pytest.raises(WooxyStateBusyError, match="dag nightly, run scheduled__1, try 3, host worker-9"):
            operator(state, emails(12)).execute({})
        time.sleep(1.1)
        summary = operator(state, emails(12)).execute({})
        assert summary["added"] == 2

    def test_a_run_that_lost_its_lease_writes_no_state(
        self, wooxy_conn: WooxySandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ):
        state = tmp_path / "emails.state"
        operator(state, emails(100)).execute({})
        snapshot_before = state.read_bytes()
        pause = Pause()
        pause_mid_send(monkeypatch, pause)
        thread, outcome = execute_in_thread(operator(state, emails(400), max_concurrency=1, lease_seconds=60))
        assert pause.reached.wait(30)
        # Its lease is taken over behind its back (as if it had stalled past lease_seconds).
        taker = lease_for(state, Holder.here("taker"), seconds=300, clock=lambda: time.time() + 3600)
        taker.acquire()
        pause.go.set()
        thread.join(60)
        assert len(outcome) == 1 and isinstance(outcome[0], WooxyStateBusyError)
        assert "lost its lease" in str(outcome[0])
        assert state.read_bytes() == snapshot_before  # its commit was fenced: no snapshot written
        # What it sent is in the journal: the next holder's run sees it and converges.
        taker.release()
        operator(state, emails(400)).execute({})
        assert set(open_state(state, EMAIL, wooxy_conn.url).load().iter_lines()) == on_wooxy_as_lines(wooxy_conn)


def test_the_lease_arguments(wooxy_conn: WooxySandbox, tmp_path: Path):
    state = tmp_path / "emails.state"
    with pytest.raises(WooxyInputError, match="lease_seconds must be a number of seconds > 0"):
        operator(state, emails(3), lease_seconds="soon").execute({})
    operator(state, emails(3), lease_seconds="120").execute({})  # rendered from a template: text
    assert not lease_location(state).exists() or b'"released": true' in lease_location(state).read_bytes()
