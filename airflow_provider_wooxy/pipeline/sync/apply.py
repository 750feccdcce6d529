"""
Applying a sync plan: adds first (suppressing again is always safe), then removes, each accepted request recorded
in the state's journal as Wooxy accepts it, so that a run stopped at any point leaves a state that says exactly
what is on Wooxy, and the retry does only what is left.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_wooxy.pipeline.changelog import write_after_failure
from airflow_provider_wooxy.pipeline.sending import BatchSender, Refusal, batches
from airflow_provider_wooxy.pipeline.stopping import Stoppable
from airflow_provider_wooxy.pipeline.sync.audit import log_accepted, log_refused

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_provider_wooxy.pipeline.changelog import Changelog
    from airflow_provider_wooxy.pipeline.door import WooxyDoor
    from airflow_provider_wooxy.pipeline.sending import Record
    from airflow_provider_wooxy.pipeline.sync.plan import Plan
    from airflow_provider_wooxy.pipeline.sync.state import SyncState


@dataclass
class ApplyReport:
    added: int = 0
    removed: int = 0
    requests: int = 0
    refused_adds: list[Refusal] = field(default_factory=list)
    refused_removes: list[Refusal] = field(default_factory=list)
    send_seconds: float = 0.0

    def progress(self) -> str:
        return (
            f"{self.added} adds and {self.removed} removes were accepted before this failure and are recorded in "
            "the state; a retry sends only what is left"
        )


class PlanApplier(Stoppable):
    """
    Sends a plan through one hook and records every accepted request in the state.

    :param hook: the Wooxy hook.
    :param state: the loaded state the plan was made against.
    :param batch_size: records per add request.
    :param max_concurrency: requests in flight.
    :param log: where progress lines go.
    :param progress_interval: seconds between progress lines.
    :param changelog: the run's audit trail: each accepted request and refused record gets its lines there first
        (:mod:`.audit`); written to its sinks by the caller, after the commit.
    """

    def __init__(
        self,
        hook: WooxyDoor,
        state: SyncState,
        *,
        batch_size: int,
        max_concurrency: int,
        log: Any,
        progress_interval: float = 30.0,
        changelog: Changelog | None = None,
    ) -> None:
        self.hook = hook
        self.state = state
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency
        self.log = log
        self.progress_interval = progress_interval
        self.changelog = changelog
        self.report = ApplyReport()
        self._sender: BatchSender | None = None

    def run(self, plan: Plan) -> ApplyReport:
        """Apply the plan; on any failure the journal keeps what was accepted and the error is raised."""
        add_method, remove_method = plan.kind.wooxy.add, plan.kind.wooxy.remove
        report = self.report
        started = time.monotonic()
        self.state.begin()
        if self.changelog is not None:
            self.changelog.with_plan(dataclasses.replace(self.changelog.context, plan_id=plan.plan_id))
            self.state.store.before_flush = self.changelog.flush  # object storage: the spool before the journal
        # Write-ahead: what this run may send is in the journal before any request (see the state's docstring).
        if self.stopped is None:  # a stopped run sends nothing: no intent
            self.state.record_intent((payload for _, payload in plan.adds()), plan.remove_payloads())
        try:
            if plan.to_add or plan.resent:
                sender = self._sender_for(add_method, b"+", plan.to_add + plan.resent)
                result = sender.run(batches(plan.adds(), self.batch_size))
                report.added, report.refused_adds = result.sent, result.refused
                report.requests += result.requests
            if plan.to_remove:
                sender = self._sender_for(remove_method, b"-", plan.to_remove)
                result = sender.run(batches(enumerate(plan.remove_payloads(), start=1), 1))
                report.removed, report.refused_removes = result.sent, result.refused
                report.requests += result.requests
        except BaseException:
            if self._sender is not None:
                report.requests += self._sender.report.requests
                if self._sender.method == add_method:
                    report.added = self._sender.report.sent
                else:
                    report.removed = self._sender.report.sent
            self.state.close()
            write_after_failure(self.changelog, self.log)  # after the journal: the spool holds at least as much
            raise
        finally:
            report.send_seconds = time.monotonic() - started
        self.state.commit(plan.plan_id)
        return report

    def _sender_for(self, method: str, sign: bytes, total: int) -> BatchSender:
        state = self.state

        changelog = self.changelog

        def accepted(records: Sequence[Record]) -> None:
            if changelog is not None:  # first: the spool holds at least what the journal does
                log_accepted(changelog, sign, records)
            state.record(sign, [payload for _, payload in records])

        sender = BatchSender(
            self.hook,
            method,
            max_concurrency=self.max_concurrency,
            on_accepted=accepted,
            on_refused=None if changelog is None else (lambda refusal: log_refused(changelog, sign, refusal)),
            log=self.log,
            progress_interval=self.progress_interval,
            total=total,
        )
        self._sender = self.adopt(sender)
        return sender
