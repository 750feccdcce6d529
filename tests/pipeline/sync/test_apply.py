"""Applying a sync plan over real HTTP against the sandbox: adds then removes, each accepted request in the state."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from airflow_provider_wooxy.exceptions import WooxyError
from airflow_provider_wooxy.hooks.wooxy import WooxyHook
from airflow_provider_wooxy.pipeline.sync.apply import PlanApplier
from airflow_provider_wooxy.pipeline.sync.entries import PHONE
from airflow_provider_wooxy.pipeline.sync.plan import make_plan
from airflow_provider_wooxy.pipeline.validation import PhoneRecords
from airflow_provider_wooxy.sandbox import WooxySandbox
from tests.helpers.sandbox import connection_json
from tests.helpers.sync import fresh, managed, records, state_with

LOG = logging.getLogger("tests.apply")


def emails(n: int, start: int = 0) -> list[str]:
    return [f"user{i}@example.com" for i in range(start, start + n)]


@pytest.fixture
def hook(sandbox: WooxySandbox, monkeypatch: pytest.MonkeyPatch) -> WooxyHook:
    monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url, max_attempts=1))
    return WooxyHook()


def applier(hook: WooxyHook, state, **options) -> PlanApplier:
    return PlanApplier(hook, state, batch_size=options.pop("batch_size", 100), max_concurrency=4, log=LOG, **options)


class TestPlanApplier:
    def test_adds_and_removes_are_sent_and_committed(self, hook: WooxyHook, sandbox: WooxySandbox, tmp_path: Path):
        path = tmp_path / "s.state"
        state = state_with(path, emails(5))
        sandbox.handle("blacklist/add", {"records": [{"email": a, "rejectType": "hard"} for a in emails(5)]})
        plan = make_plan(records(emails(6, start=2)), state)
        try:
            report = applier(hook, state, batch_size=2).run(plan)
        finally:
            plan.close()
        assert (report.added, report.removed, report.requests) == (3, 2, 2 + 2)  # 3 adds in 2 batches, 2 removes
        assert sandbox.email_addresses() == set(emails(6, start=2))
        committed = fresh(path)
        assert (committed.last_plan_id, committed.journal_ops) == (plan.plan_id, 0)
        assert sorted(committed.iter_lines()) == sorted(f"{a}\thard" for a in emails(6, start=2))

    def test_a_phone_remove_names_no_reject_type(self, hook: WooxyHook, sandbox: WooxySandbox, tmp_path: Path):
        path = tmp_path / "p.state"
        build = PhoneRecords(reject_type="unsubscribe")
        state = fresh(path, PHONE)
        numbers = [f"+4474000000{i:02d}" for i in range(3)]
        plan = make_plan([(row, *build(n)) for row, n in enumerate(numbers, start=1)], state)
        applier(hook, state).run(plan)
        plan.close()
        state = fresh(path, PHONE)
        plan = make_plan([(1, *build(numbers[0]))], state)
        report = applier(hook, state).run(plan)
        plan.close()
        assert (report.added, report.removed) == (0, 2)
        assert sandbox.phone_numbers() == {numbers[0]} and set(managed(fresh(path, PHONE)).values()) == {numbers[0]}

    def test_a_failure_keeps_what_was_accepted_in_the_journal(
        self, hook: WooxyHook, sandbox: WooxySandbox, tmp_path: Path
    ):
        path = tmp_path / "s.state"
        state = fresh(path)
        plan = make_plan(records(emails(5)), state)
        sandbox.outage(after=2)  # the first two adds are accepted, then every request fails
        with pytest.raises(WooxyError):
            applier(
                hook,
                state,
                batch_size=1,
            ).run(plan)
        plan.close()
        sandbox.recover()
        retry = fresh(path)
        listed = sandbox.email_addresses()  # which two went first is the thread pool's choice
        assert retry.journal_ops == len(listed) == 2 and listed < set(emails(5))
        # The intent made every planned add managed; those not seen accepted are in doubt (sent again if wanted).
        assert sorted(retry.iter_lines()) == sorted(f"{a}\thard" for a in emails(5))
        assert retry.doubtful == {f"{a}\thard" for a in set(emails(5)) - listed}

    def test_a_stopped_applier_sends_nothing_and_commits_nothing(
        self, hook: WooxyHook, sandbox: WooxySandbox, tmp_path: Path
    ):
        path = tmp_path / "s.state"
        state = fresh(path)
        plan = make_plan(records(emails(3)), state)
        stopped = applier(hook, state)
        stopped.stop("the task was stopped")
        with pytest.raises(Exception, match="stopped"):
            stopped.run(plan)
        plan.close()
        assert sandbox.stats()["total_requests"] == 0
        assert fresh(path).journal_ops == 0 and managed(fresh(path)) == {}
