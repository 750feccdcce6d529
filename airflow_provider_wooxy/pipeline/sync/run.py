"""
A whole sync run, without Airflow: load the state, validate the input, plan the diff, check the input and the
guards (and the approval), apply the plan (:mod:`~airflow_provider_wooxy.pipeline.sync.apply`) and report. The
operator only renders arguments, provides the hook, the input, the state's and the plan file's locations, and turns
:class:`SyncRefused`, :class:`~airflow_provider_wooxy.pipeline.intake.UnusableInput` and
:class:`~airflow_provider_wooxy.pipeline.sync.state.StateError` into a failed task.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_wooxy.api import MAX_CONCURRENT_REQUESTS, MAX_RECORDS_PER_REQUEST
from airflow_provider_wooxy.exceptions import WooxyError
from airflow_provider_wooxy.pipeline.intake import Tally, UnusableInput, check_input, validated
from airflow_provider_wooxy.pipeline.refusals import Refusals
from airflow_provider_wooxy.pipeline.stopping import Stoppable
from airflow_provider_wooxy.pipeline.sync.apply import PlanApplier
from airflow_provider_wooxy.pipeline.sync.audit import write_changelog
from airflow_provider_wooxy.pipeline.sync.first_pass import FirstPass
from airflow_provider_wooxy.pipeline.sync.listed import ListedCheck, leave_listed
from airflow_provider_wooxy.pipeline.sync.plan import make_plan, removal_limit, save_plan
from airflow_provider_wooxy.pipeline.sync.verify import DEFAULT_SAMPLE, DriftCheck, DriftReport

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from airflow_provider_wooxy.pipeline.changelog import Changelog
    from airflow_provider_wooxy.pipeline.door import WooxyDoor
    from airflow_provider_wooxy.pipeline.rejects import Rejects
    from airflow_provider_wooxy.pipeline.sync.lease import Lease
    from airflow_provider_wooxy.pipeline.sync.plan import Plan
    from airflow_provider_wooxy.pipeline.sync.state import SyncState
    from airflow_provider_wooxy.pipeline.validation import Normalised


class SyncRefused(Exception):
    """A guard, or an approval of another plan, stops the run; nothing was sent. The message says what to do."""


@dataclass
class SyncSettings:
    """What a sync run needs from the operator's rendered arguments."""

    max_removals: int | float | None
    max_invalid: int | None
    approved_plan_id: str | None = None
    dry_run: bool = False
    batch_size: int = MAX_RECORDS_PER_REQUEST
    max_concurrency: int = MAX_CONCURRENT_REQUESTS
    plan_path: str | None = None
    """The plan file as the user wrote it: how messages name it, and its format (``.csv``, ``.gz``)."""
    plan_location: Any = None
    """Where a dry run, or a run stopped by a guard, writes its plan (a path object); None: nowhere."""
    field: str = "email"
    source: str = "records"
    """How messages name the input (its path, or ``records``)."""
    allow_empty: bool = False
    rejects_path: str | None = None
    default_region: str | None = None
    """Where a national phone number of an invalid row is read in, to keep its managed entry."""
    progress_interval: float = 30.0
    resync: bool = False
    """Add again every managed entry the input still holds."""
    verify: bool = False
    """Check the list against the state before planning (:mod:`.verify`) and add again what it lost."""
    verify_sample: int | None = DEFAULT_SAMPLE
    claim_existing: bool = False
    """Take ownership of new entries Wooxy lists already (no look-up): a first sync replacing another tool."""


class SyncRun(Stoppable):
    """
    One sync run: :meth:`run` returns the summary; :meth:`stop` (from another thread) stops sending after the
    requests in flight.

    :param hook: the Wooxy hook (not used by a dry run or an empty plan).
    :param state: the state, not loaded yet (see :func:`~airflow_provider_wooxy.pipeline.sync.state.open_state`).
    :param settings: the rendered arguments.
    :param log: the operator's logger.
    :param changelog: the audit trail, its spools beside the state (:mod:`.audit`); None: none.
    """

    def __init__(
        self,
        hook: WooxyDoor,
        state: SyncState,
        settings: SyncSettings,
        *,
        log: Any,
        lease: Lease | None = None,
        changelog: Changelog | None = None,
    ) -> None:
        self.hook = hook
        self.state = state
        self.lease = lease
        self.changelog = changelog
        self.settings = settings
        self.log = log
        self._repaired = 0
        self.lookup_requests = 0

    def run(
        self, items: Iterable[tuple[int, object]], builder: Callable[[object], Normalised], rejects: Rejects
    ) -> dict[str, Any]:
        """
        The whole run over the input ``items`` (``(row, item)``), validated by ``builder``; returns the summary.
        Raises :class:`~airflow_provider_wooxy.pipeline.sync.state.StateError` (unusable state),
        :class:`~airflow_provider_wooxy.pipeline.intake.UnusableInput` or :class:`SyncRefused` before anything
        is sent, and :class:`~.lease.LeaseHeld` before the state is read when another run holds its lease (a dry
        run, which writes no state, takes none).
        """
        if self.lease is None or self.settings.dry_run:
            return self._run(items, builder, rejects)
        self.state.fence = self.lease.fenced
        with self.lease.held(stop=self.stop, log=self.log):
            return self._run(items, builder, rejects)

    def _run(
        self, items: Iterable[tuple[int, object]], builder: Callable[[object], Normalised], rejects: Rejects
    ) -> dict[str, Any]:
        s, state = self.settings, self.state
        clock = time.monotonic()
        try:
            self._load()
            tally = Tally()
            # Addresses named by invalid rows: their managed entries are kept, not removed.
            held: set[str] = set()
            loose_address, region = state.kind.loose_address, s.default_region

            def hold(value: object) -> None:
                address = loose_address(value, region)
                if address is not None:
                    held.add(address)

            drift = self._verify() if s.verify else None
            readd = self._readd(drift)
            first_pass = self._first_pass(builder) if readd is None else None  # a re-add needs every record validated
            if first_pass is not None:
                items = first_pass.rest(items)  # the rows that name no managed entry as they stand
            records = validated(items, builder, tally, rejects, s.field, dedupe=False, on_invalid=hold)
            # The plan dedupes the records and diffs them against the state.
            plan = make_plan(records, state, held_addresses=held, readd=readd, first_pass=first_pass)
            try:
                if first_pass is not None:
                    tally.received += first_pass.rows
                    tally.valid += first_pass.rows
                tally.valid -= plan.duplicates
                tally.duplicates += plan.duplicates
                validation_seconds = time.monotonic() - clock
                self._check(tally, rejects)
                self._find_listed(plan)  # after the input's checks: an unusable input costs no look-up
                summary = self.decide(plan, tally, rejects)
            finally:
                plan.close()
        finally:
            state.release()  # the partitions on disk
        summary["validation_seconds"] = round(validation_seconds, 3)
        summary["lookup_requests"] = self.lookup_requests
        if drift is not None:
            summary.update(drift.counts(), repaired=0 if s.dry_run else self._repaired)
        return summary

    def _verify(self) -> DriftReport:
        s, kind = self.settings, self.state.kind
        check = self.adopt(
            DriftCheck(kind, kind.find_in(self.hook), max_concurrency=s.max_concurrency, sample=s.verify_sample)
        )
        state = self.state
        # The known entries too: one the input wants that left Wooxy is then added, and managed from then on.
        drift = check.run(lambda: itertools.chain(state.iter_lines(), state.listed.values()))
        state.forget_listed(drift.missing)
        drift.log(self.log)
        return drift

    def _load(self) -> None:
        """Load the state, and say what an earlier run left."""
        state = self.state
        state.load()
        self.log.info(
            "State %s: %d managed entries%s.",
            state.display,
            state.snapshot_entries,
            f", {state.journal_ops} requests recorded by an unfinished run" if state.journal_ops else "",
        )
        if state.listed_problem:
            self.log.warning("%s; its entries are looked up again.", state.listed_problem)
        if state.doubtful:
            self.log.warning(
                "An earlier run of this sync stopped before it knew the outcome of %d requests: their entries "
                "are managed, added again if the input holds them and removed if it does not.",
                len(state.doubtful),
            )

    def _find_listed(self, plan: Plan) -> None:
        """Take the new entries Wooxy lists already out of the plan: someone else's, never claimed by this sync."""
        s, kind = self.settings, self.state.kind
        claims = s.claim_existing or not plan.to_add
        check = None if claims else ListedCheck(kind, kind.find_in(self.hook), max_concurrency=s.max_concurrency)
        self.lookup_requests = leave_listed(plan, self.state, None if check is None else self.adopt(check), self.log)

    def _first_pass(self, builder: Callable[[object], Normalised]) -> FirstPass | None:
        """The first pass, matching rows to managed entries as they stand, when anything can match."""
        # The builder's reject type for records that give none (EmailRecords; the phone list needs none).
        return FirstPass.for_run(self.state, getattr(builder, "reject_type", None))

    def _readd(self, drift: DriftReport | None) -> Callable[[str], bool] | None:
        """
        The plan's re-add predicate: every managed entry the input holds (resync), the missing ones, and those an
        interrupted run left in doubt (:attr:`~.state.SyncState.doubtful`).
        """
        resync, missing = self.settings.resync, drift.missing if drift is not None else set()
        doubtful = self.state.doubtful
        if not resync and not missing and not doubtful:
            return None

        def readd(ident: str) -> bool:
            if ident in missing:
                self._repaired += 1
                return True
            return resync or ident in doubtful

        return readd

    def _check(self, tally: Tally, rejects: Rejects) -> None:
        s = self.settings
        check_input(
            tally,
            rejects,
            field=s.field,
            source=s.source,
            allow_empty=s.allow_empty,
            max_invalid=s.max_invalid,
            rejects_path=s.rejects_path,
            log=self.log.info,
            warn=self.log.warning,
        )
        if tally.valid == 0 and tally.received and not s.allow_empty:
            raise UnusableInput(
                f"none of the {tally.received} input records is valid: that would remove every managed "
                "entry; set allow_empty=True if an empty list is really meant."
            )

    def decide(self, plan: Plan, tally: Tally, rejects: Rejects) -> dict[str, Any]:
        """Guard, approve and apply a plan made against :attr:`state`; returns the summary."""
        s, state = self.settings, self.state
        limit = removal_limit(s.max_removals, plan.managed_before)
        over_limit = limit is not None and plan.to_remove > limit
        self.log.info(
            "Plan %s: %d managed, %d to add, %d to add again, %d to remove, %d unchanged, %d kept because their "
            "input row is invalid (removal limit %s).",
            plan.plan_id,
            plan.managed_before,
            plan.to_add,
            plan.resent,
            plan.to_remove,
            plan.unchanged,
            plan.kept_invalid,
            "none" if limit is None else limit,
        )
        guard = {"max_removals_allowed": limit, "guard_would_stop": over_limit}
        summary = summarise(plan, tally, rejects, s.dry_run, **guard)
        approved = s.approved_plan_id or None
        if s.dry_run:
            self._write_plan(plan, guard)
            self.log.info(
                "Dry run: nothing was sent.%s", " A real run would stop at the removal guard." if over_limit else ""
            )
            return summary
        if approved is not None and approved != plan.plan_id:
            if plan.empty and state.last_plan_id == approved:
                self.log.info("Plan %s was applied already and nothing is left to do.", approved)
                return summary
            self._write_plan(plan, guard)
            raise SyncRefused(
                f"this run's plan {plan.plan_id} ({plan.to_add} adds, {plan.to_remove} removes) is not the "
                f"approved plan {approved}: the input or the state changed since the approval. Nothing was sent."
                + self._plan_where()
            )
        if over_limit and approved is None:
            self._write_plan(plan, guard)
            raise SyncRefused(
                f"the plan removes {plan.to_remove} of {plan.managed_before} managed entries, more than "
                f"max_removals={s.max_removals!r} allows ({limit}); nothing was sent.{self._plan_where()} "
                f"To apply it anyway, review it and run again with approved_plan_id={plan.plan_id!r}, or raise "
                "max_removals."
            )
        if approved is not None:
            self.log.info("Plan %s is the approved plan: applying it (the removal guard is lifted).", approved)
        if plan.empty:
            self.log.info("The input matches the state: nothing to send.")
            if state.changed:
                state.commit(plan.plan_id)  # fold an earlier attempt's journal, keep newly known entries
            self._write_changelog(summary)  # what an earlier, killed try left
            return summary
        return self._apply(plan, rejects, summary)

    def _apply(self, plan: Plan, rejects: Rejects, summary: dict[str, Any]) -> dict[str, Any]:
        s, state = self.settings, self.state
        applier = PlanApplier(
            self.hook,
            state,
            batch_size=s.batch_size,
            max_concurrency=s.max_concurrency,
            log=self.log,
            progress_interval=s.progress_interval,
            changelog=self.changelog,
        )
        self.adopt(applier)
        try:
            report = applier.run(plan)
        except WooxyError as exc:
            progress = applier.report.progress()
            self.log.error("%s.", progress)
            exc.add_context(f". {progress}.")
            raise
        invalid = rejects.count
        refusals = Refusals(rejects, plan.kind.address_key)
        refusals.add(report.refused_adds)
        refusals.add(report.refused_removes, what="remove refused by Wooxy", row=0)  # a remove has no input row
        summary.update(
            invalid=invalid,
            added=report.added,
            removed=report.removed,
            refused_by_api=refusals.count,
            requests=report.requests,
            retries=self.hook.retries,
            managed_after=state.managed,
            send_seconds=round(report.send_seconds, 3),
            rejects_sample=rejects.sample,
        )
        self.log.info(
            "Done: %d added, %d removed, %d refused by Wooxy, %d requests, %d retries; %d managed entries now.",
            report.added,
            report.removed,
            refusals.count,
            report.requests,
            summary["retries"],
            summary["managed_after"],
        )
        self._write_changelog(summary)  # after the sends and the commit: Wooxy's state matters more than the log
        refusals.check(
            self.log,
            max_invalid=s.max_invalid,
            operation=plan.kind.name + " sync",
            outcome="the rest of the plan was applied and the state records it",
            details=refusals.latest,
        )
        return summary

    def _write_changelog(self, summary: dict[str, Any]) -> None:
        """Append the spooled rows (this try's, and any a killed try left) to the changelog's sinks."""
        if self.changelog is not None:
            summary["changelog_rows"] = write_changelog(self.changelog, self.state, self.log)  # under the lease

    def _plan_where(self) -> str:
        path = self.settings.plan_path
        return f" The plan is in {path}." if path else " Set plan_path to see every change."

    def _write_plan(self, plan: Plan, guard: dict[str, Any]) -> None:
        """Write the plan file, with the guard's figures, when the settings name one."""
        s = self.settings
        if s.plan_location is None:
            return
        save_plan(s.plan_location, s.plan_path or str(s.plan_location), plan, guard)
        self.log.info("Wrote the plan (%d adds, %d removes) to %s", plan.to_add, plan.to_remove, s.plan_path)


def summarise(plan: Plan, tally: Tally, rejects: Rejects, dry_run: bool, **extra: Any) -> dict[str, Any]:
    """The XCom summary: counts only, no addresses (the rejects sample is masked)."""
    return {
        "operation": f"{plan.kind.name} sync",
        "received": tally.received,
        "valid": tally.valid,
        "invalid": rejects.count,
        "duplicates": tally.duplicates,
        "managed_before": plan.managed_before,
        "to_add": plan.to_add,
        "to_remove": plan.to_remove,
        "unchanged": plan.unchanged,
        "kept_invalid": plan.kept_invalid,
        "resent": plan.resent,
        "already_listed": plan.already_listed,
        "added": 0,
        "removed": 0,
        "refused_by_api": 0,
        "managed_after": plan.managed_before,
        "requests": 0,
        "retries": 0,
        "dry_run": bool(dry_run),
        "plan_id": plan.plan_id,
        **extra,
        "rejects_sample": rejects.sample,
    }
