"""Operators that keep a Wooxy email or phone blacklist equal to a complete desired list, run after run."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import pendulum

from airflow_provider_wooxy.exceptions import WooxyInputError, WooxyStateBusyError
from airflow_provider_wooxy.operators.arguments import rendered_lease_seconds
from airflow_provider_wooxy.operators.changelog import changelog_for
from airflow_provider_wooxy.operators.executors import executor_of, runs_on_one_machine
from airflow_provider_wooxy.operators.records import (
    WooxyEmailInputOperator,
    WooxyInputOperator,
    WooxyPhoneInputOperator,
)
from airflow_provider_wooxy.pipeline.intake import UnusableInput
from airflow_provider_wooxy.pipeline.rejects import Rejects
from airflow_provider_wooxy.pipeline.storage import TABLE_SUFFIXES, check_file_location
from airflow_provider_wooxy.pipeline.sync.entries import EMAIL, PHONE, ListKind
from airflow_provider_wooxy.pipeline.sync.lease import (
    DEFAULT_LEASE_SECONDS,
    Holder,
    Lease,
    LeaseHeld,
    LeaseLost,
    LeaseUnsupported,
    lease_for,
)
from airflow_provider_wooxy.pipeline.sync.plan import check_max_removals
from airflow_provider_wooxy.pipeline.sync.run import SyncRefused, SyncRun, SyncSettings
from airflow_provider_wooxy.pipeline.sync.state import StateError, open_state
from airflow_provider_wooxy.pipeline.sync.verify import DEFAULT_SAMPLE, check_sample

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.providers.common.compat.sdk import Context


class WooxySyncBlacklistBaseOperator(WooxyInputOperator):
    """
    Make a Wooxy list hold exactly the input's entries, as far as the provider manages them: add what is new,
    remove what the provider added earlier and the input no longer holds, send nothing for an unchanged input.

    The input is the **complete** desired content of the list. What the provider manages is kept in a state file
    (``state_path``); entries on Wooxy that are not in it (added by Wooxy's bounce handling, its UI, other tools or
    other syncs) are never removed. Before any request, an empty input fails (unless ``allow_empty``), and a plan
    that removes more than ``max_removals`` fails with its plan written to ``plan_path``: approve it by passing its
    id as ``approved_plan_id``.

    Takes the push operators' input arguments, those of
    :class:`~airflow_provider_wooxy.operators.records.WooxyInputOperator` (``records`` or ``path``,
    ``file_format``, ``storage_conn_id``, ``field``, ``reject_type``, ``batch_size``, ``max_concurrency``,
    ``max_invalid``, ``rejects_path``, ``dry_run``, ``allow_empty``, ``wooxy_conn_id``, ``progress_interval``;
    documented there), and:

    :param state_path: where the managed entries are kept: a local path or an object storage URI (with
        ``storage_conn_id``, as the input, plan and rejects). (templated)
    :param max_removals: the most removals a run may make: an ``int`` count, a ``float`` in (0, 1] as a fraction
        of the managed entries, or ``None`` for no limit. A run beyond it fails before sending anything.
    :param plan_path: where a dry run, or a run stopped by a guard, writes its plan: ``.csv`` or JSON Lines,
        optionally ``.gz``. (templated)
    :param approved_plan_id: apply only if this run's plan has exactly this id (the removal guard is then lifted,
        since a person approved that plan); otherwise fail with nothing sent. (templated)
    :param max_invalid: as in the input arguments; a managed entry whose input row is invalid is kept, not removed.
    :param dry_run: read, validate and plan, send nothing, write nothing but the plan.
    :param allow_empty: accept an empty input (every managed entry then counts as a removal, still guarded).
    :param resync: add again every managed entry the input still holds (repairs any drift for one full send;
        ``resent`` in the summary).
    :param verify: before planning, check the list on Wooxy against the state and add again the managed entries it
        lost (removed outside the sync, expired): emails by paging the managed reject types, phones by looking up
        ``verify_sample`` numbers. A dry run only reports. See docs/drift.md.
    :param verify_sample: phones: how many managed numbers ``verify`` looks up, at random (``None``: every one).
    :param lease_seconds: how long the state's lease lives without renewal (default 300); the run renews it every
        third of that. A run that finds the lease held fails at once (Airflow retries it); a lease whose holder died
        is taken over once it expires. (templated)
    :param allow_local_state: accept a local ``state_path`` although tasks run on several workers (an executor
        other than the LocalExecutor): only for a file system every worker shares (NFS, EFS, a Kubernetes
        ReadWriteMany volume). By default such a run fails before any request: each worker would keep a state of
        its own, and a run on another worker would forget what the last one added.
    :param unsafe_no_lease: run without a lease, on a store where the provider cannot take one (``gs://``,
        ``abfs://`` ...): then make sure yourself that two runs of this sync never overlap.
    :param claim_existing: take ownership of new entries that Wooxy lists already (Wooxy's own, another tool's or
        another sync's), as if this sync had added them: it then removes them once the input drops them. By default
        (False) each new entry is looked up first, and those listed already are kept as known, never added or
        removed (``already_listed``). Only for a first sync that replaces another tool. See docs/sync.md.
    """

    template_fields: Sequence[str] = (
        *WooxyInputOperator.template_fields,
        "state_path",
        "plan_path",
        "approved_plan_id",
        "rejects_path",
        "lease_seconds",
    )
    ui_color = "#dff3e4"

    kind: ClassVar[ListKind]

    def __init__(
        self,
        *,
        state_path: str,
        max_removals: int | float | None = 0.1,
        plan_path: str | None = None,
        approved_plan_id: str | None = None,
        resync: bool = False,
        verify: bool = False,
        verify_sample: int | None = DEFAULT_SAMPLE,
        claim_existing: bool = False,
        lease_seconds: float | str = DEFAULT_LEASE_SECONDS,
        unsafe_no_lease: bool = False,
        allow_local_state: bool = False,
        **kwargs: Any,
    ) -> None:
        try:
            self.max_removals = check_max_removals(max_removals)
            self.verify_sample = check_sample(verify_sample)
        except ValueError as exc:
            raise WooxyInputError(f"{exc}.") from None
        super().__init__(**kwargs)
        self.state_path = state_path
        self.plan_path = plan_path
        self.approved_plan_id = approved_plan_id
        self.resync, self.verify, self.claim_existing = resync, verify, claim_existing
        self.lease_seconds, self.unsafe_no_lease = lease_seconds, unsafe_no_lease
        self.allow_local_state = allow_local_state
        self._run: SyncRun | None = None  # while running, for on_kill

    # -- the data flow ---------------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        started = pendulum.now("UTC")
        clock = time.monotonic()
        if not self.state_path:
            raise WooxyInputError("state_path is required: where this sync keeps the entries it manages.")
        check_file_location("state_path", self.state_path)
        check_file_location("plan_path", self.plan_path, suffixes=TABLE_SUFFIXES)
        field = self._rendered_field()
        builder = self.record_builder(field)
        base_url = self.hook.conn_params.base_url  # a broken connection fails now; the state is bound to it
        location = self._state_location()
        self._check_state_is_shared()
        state = open_state(location, self.kind, base_url, display=self.state_path)
        changelog = changelog_for(self, context, location)  # its spools beside the state (pipeline/sync/audit.py)
        lease = self._lease(location, context)
        self._run = SyncRun(self.hook, state, self._settings(field), log=self.log, lease=lease, changelog=changelog)
        rejects = Rejects()
        try:
            summary = self._run.run(self._read_input(field, rejects), builder, rejects)
        except (StateError, UnusableInput, SyncRefused) as exc:
            raise WooxyInputError(str(exc)) from None
        except (LeaseHeld, LeaseLost) as exc:
            raise WooxyStateBusyError(str(exc)) from None
        finally:
            self._run = None
            self._write_rejects(rejects)
        return self._report_run(context, summary, started, clock)

    def _settings(self, field: str) -> SyncSettings:
        """The engine's settings, from the rendered arguments (``field``: the rendered record field)."""
        return SyncSettings(
            max_removals=self.max_removals,
            approved_plan_id=self.approved_plan_id or None,
            dry_run=self.is_dry_run,
            max_invalid=self.max_invalid,
            batch_size=self.batch_size,
            max_concurrency=self.max_concurrency,
            plan_path=self.plan_path or None,
            plan_location=self.location(self.plan_path) if self.plan_path else None,
            field=field,
            source=self.input_source,
            allow_empty=self.allow_empty,
            rejects_path=self.rejects_path,
            default_region=self._rendered_region(),
            progress_interval=self.progress_interval,
            resync=self.resync,
            verify=self.verify,
            verify_sample=self.verify_sample,
            claim_existing=bool(self.claim_existing),
        )

    def _lease(self, location: Any, context: Context) -> Lease:
        """The lease on the state, held by this task instance (see :mod:`~.pipeline.sync.lease`)."""
        ti: Any = context.get("ti") or context.get("task_instance")
        holder = Holder.here(
            getattr(ti, "dag_id", None) or self.dag_id, getattr(ti, "run_id", None), getattr(ti, "try_number", None)
        )
        try:
            return lease_for(
                location,
                holder,
                seconds=rendered_lease_seconds(self.lease_seconds),
                display=self.state_path,
                unsafe_no_lease=bool(self.unsafe_no_lease),
            )
        except LeaseUnsupported as exc:
            raise WooxyInputError(str(exc)) from None

    def _state_location(self) -> Any:
        """A local ``Path`` for local paths and ``file://`` URIs (atomic rename, append-only journal)."""
        parts = urlsplit(self.state_path)
        if parts.scheme == "file":
            return Path(parts.path)
        return self.location(self.state_path)

    def _check_state_is_shared(self) -> None:
        """Refuse a state on this worker's disk when the task's executor runs tasks on several workers."""
        executor = executor_of(getattr(self, "executor", None))
        on_disk = urlsplit(self.state_path).scheme in ("", "file", "local")
        if not on_disk or self.allow_local_state or runs_on_one_machine(executor):
            return
        raise WooxyInputError(
            f"state_path {self.state_path!r} is on this worker's disk, but tasks run on the {executor}, which may run "
            "the next run of this sync on another worker, with a disk of its own: that run would not see this "
            "state and would forget what was added. Put the state on object storage (e.g. "
            "s3://bucket/wooxy/emails.state, with storage_conn_id), or, if this path is on a file system every "
            "worker shares (NFS, EFS), pass allow_local_state=True."
        )

    def on_kill(self) -> None:
        """Airflow is stopping the task: finish the requests in flight, record them, and stop."""
        if self._run is not None:
            self._run.stop("the task was stopped (on_kill)")


class WooxySyncEmailBlacklistOperator(WooxyEmailInputOperator, WooxySyncBlacklistBaseOperator):
    """
    Keep the Wooxy email blacklist equal to a complete list of addresses (as far as this sync manages it).

    Entries are (address, reject type): an address listed with ``hard`` by this sync and ``complaint`` by Wooxy
    is two entries, and a removal passes the reject type, so only that type is lifted.

    :param reject_type: ``hard`` (default), ``complaint`` or ``list-unsubscribe`` for records without a
        ``rejectType``. (templated)
    :param raw_log: reason text for added records without a ``rawLog``. (templated)

    See :class:`WooxySyncBlacklistBaseOperator` and
    :class:`~airflow_provider_wooxy.operators.records.WooxyInputOperator` for the other arguments.
    """

    template_fields: Sequence[str] = (*WooxySyncBlacklistBaseOperator.template_fields, "raw_log")
    kind = EMAIL


class WooxySyncPhoneBlacklistOperator(WooxyPhoneInputOperator, WooxySyncBlacklistBaseOperator):
    """
    Keep the Wooxy phone blacklist equal to a complete list of numbers (as far as this sync manages it).

    Entries are E.164 numbers, in the state and on the wire; the phone list's remove takes no reject type.

    :param default_region: ISO country code (``GB``, ``US``...) used to read national-format numbers. (templated)
    :param reject_type: ``import``, ``invalid``, ``unsubscribe`` or ``undeliverable`` for added records without
        one; by default none is sent. (templated)

    See :class:`WooxySyncBlacklistBaseOperator` and
    :class:`~airflow_provider_wooxy.operators.records.WooxyInputOperator` for the other arguments.
    """

    template_fields: Sequence[str] = (*WooxySyncBlacklistBaseOperator.template_fields, "default_region")
    kind = PHONE


__all__ = ["WooxySyncEmailBlacklistOperator", "WooxySyncPhoneBlacklistOperator"]
