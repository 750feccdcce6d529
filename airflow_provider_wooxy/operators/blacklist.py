"""Operators that add records to, and remove them from, the Wooxy email and phone blacklists."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar

import pendulum

from airflow_provider_wooxy.api import EMAIL_LIST
from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.operators.changelog import changelog_for
from airflow_provider_wooxy.operators.records import (
    WooxyEmailInputOperator,
    WooxyInputOperator,
    WooxyPhoneInputOperator,
)
from airflow_provider_wooxy.pipeline.changelog import ADD, REMOVE
from airflow_provider_wooxy.pipeline.intake import UnusableInput
from airflow_provider_wooxy.pipeline.push import Push, PushSettings
from airflow_provider_wooxy.pipeline.rejects import Rejects
from airflow_provider_wooxy.pipeline.storage import check_file_location
from airflow_provider_wooxy.pipeline.validation import EmailRecords, Normalised, PhoneRecords

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from airflow.providers.common.compat.sdk import Context


class WooxyBlacklistBaseOperator(WooxyInputOperator):
    """
    Shared base of the Wooxy blacklist push operators: Airflow glue over the engine in
    :mod:`airflow_provider_wooxy.pipeline.push` (read -> validate -> spool -> send -> summarise).

    Every input record ends in exactly one of: sent, invalid (with its 1-based row and the reason) or duplicate.
    Nothing is sent until the whole input has been read and validated (into a temporary spool file), so an input
    with more than ``max_invalid`` invalid records fails the task before any request is made.

    Takes the input arguments of :class:`~airflow_provider_wooxy.operators.records.WooxyInputOperator`
    (``records`` or ``path``, ``file_format``, ``storage_conn_id``, ``field``, ``reject_type``, ``batch_size``,
    ``max_concurrency``, ``max_invalid``, ``rejects_path``, ``dry_run``, ``allow_empty``, ``wooxy_conn_id``,
    ``progress_interval``; documented there, shared with the sync operators), and:

    :param checkpoint_path: where to record accepted batches, so that a retry of a failed task skips them; object
        storage paths use ``storage_conn_id``. A changelog's spool is kept beside it, so that a retry writes the
        rows of a killed try. (templated)
    :param max_invalid: as in the input arguments; here ``None`` also streams: sending starts while the input is
        still being read, instead of after a validation pass (faster on large inputs; rejects are still reported,
        and no checkpoint).
    """

    template_fields: Sequence[str] = (*WooxyInputOperator.template_fields, "rejects_path", "checkpoint_path")
    ui_color = "#e8f4fd"

    is_add: ClassVar[bool] = False

    def __init__(self, *, checkpoint_path: str | None = None, **kwargs: Any) -> None:
        if kwargs.get("max_invalid", 0) is None and checkpoint_path:
            raise WooxyInputError(
                "checkpoint_path needs a validation pass to fingerprint the input: set max_invalid to a number."
            )
        super().__init__(**kwargs)
        if not self.is_add:
            self.batch_size = 1  # the remove methods take one record per request
        self.checkpoint_path = checkpoint_path
        self._push: Push | None = None  # while running, for on_kill

    # -- the data flow ---------------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        started = pendulum.now("UTC")
        clock = time.monotonic()
        field = self._rendered_field()
        builder = self.record_builder(field)
        if not self.is_dry_run:
            _ = self.hook.conn_params  # a missing or broken connection fails now, before the input is read
        check_file_location("checkpoint_path", self.checkpoint_path)  # before a long read, not after it
        checkpoint = self.location(self.checkpoint_path) if self.checkpoint_path else None
        changelog = changelog_for(self, context, checkpoint)  # its spool beside the checkpoint: a retry finds it
        rejects = Rejects()
        items = self._read_input(field, rejects)
        push = Push(self.hook, self._settings(checkpoint), self.log, changelog)
        self._push = push
        try:
            summary = push.run(items, builder, field, rejects)
        except UnusableInput as exc:
            raise WooxyInputError(str(exc)) from None
        finally:
            self._push = None
            self._write_rejects(rejects)
        return self._report_run(context, summary, started, clock)

    def _settings(self, checkpoint: Any) -> PushSettings:
        """The engine's settings, from the rendered arguments (``checkpoint``: the checkpoint's path object)."""
        return PushSettings(
            method=self.method,
            address_key=self.wooxy_list.key_field,
            batch_size=self.batch_size,
            max_concurrency=self.max_concurrency,
            max_invalid=self.max_invalid,
            checkpoint_path=self.checkpoint_path,
            checkpoint_location=checkpoint,
            dry_run=self.is_dry_run,
            allow_empty=self.allow_empty,
            rejects_path=self.rejects_path,
            source=self.input_source,
            progress_interval=self.progress_interval,
            action=ADD if self.is_add else REMOVE,
        )

    @property
    def method(self) -> str:
        """The API method this operator sends to: its list's add or remove."""
        return self.wooxy_list.add if self.is_add else self.wooxy_list.remove

    def on_kill(self) -> None:
        """Airflow is stopping the task: let the sending threads finish their current request and stop."""
        if self._push is not None:
            self._push.stop("the task was stopped (on_kill)")


class WooxyAddEmailBlacklistOperator(WooxyEmailInputOperator, WooxyBlacklistBaseOperator):
    """
    Add addresses to the Wooxy email blacklist, in batches of up to 100 with up to 10 requests in flight.

    :param reject_type: ``hard`` (default, as Wooxy's own importer), ``complaint`` or ``list-unsubscribe``, for
        records that carry no ``rejectType``. (templated)
    :param raw_log: reason text for records without a ``rawLog`` (at most 1024 UTF-8 bytes). (templated)
    :param batch_size: records per request, 1 to 100.

    See :class:`WooxyBlacklistBaseOperator` and :class:`~airflow_provider_wooxy.operators.records.WooxyInputOperator`
    for the other arguments.
    """

    template_fields: Sequence[str] = (*WooxyBlacklistBaseOperator.template_fields, "raw_log")
    is_add = True


class WooxyRemoveEmailBlacklistOperator(WooxyBlacklistBaseOperator):
    """
    Remove addresses from the Wooxy email blacklist, one request per address, up to 10 in flight.

    :param reject_type: remove only entries of this reject type; by default, entries of every type. (templated)

    See :class:`WooxyBlacklistBaseOperator` and :class:`~airflow_provider_wooxy.operators.records.WooxyInputOperator`
    for the other arguments.
    """

    wooxy_list = EMAIL_LIST

    def record_builder(self, field: str) -> Callable[[object], Normalised]:
        return EmailRecords(
            field=field,
            reject_type=self._rendered_reject_type(),
            require_reject_type=False,
            with_raw_log=False,
        )


class _PhoneBlacklistOperator(WooxyPhoneInputOperator, WooxyBlacklistBaseOperator):
    """Shared by the phone operators: ``default_region`` and the phone blacklist's reject types."""

    template_fields: Sequence[str] = (*WooxyBlacklistBaseOperator.template_fields, "default_region")


class WooxyAddPhoneBlacklistOperator(_PhoneBlacklistOperator):
    """
    Add numbers to the Wooxy phone blacklist in E.164, in batches of up to 100 with up to 10 requests in flight.

    :param default_region: ISO country code (``GB``, ``US``...) used to read national-format numbers; without it
        numbers must be international (``+44...``). (templated)
    :param reject_type: ``import``, ``invalid``, ``unsubscribe`` or ``undeliverable`` for records that carry
        none; by default none is sent. (templated)
    :param batch_size: records per request, 1 to 100.

    See :class:`WooxyBlacklistBaseOperator` and :class:`~airflow_provider_wooxy.operators.records.WooxyInputOperator`
    for the other arguments.
    """

    is_add = True


class WooxyRemovePhoneBlacklistOperator(_PhoneBlacklistOperator):
    """
    Remove numbers from the Wooxy phone blacklist, one request per number, up to 10 in flight.

    :param default_region: ISO country code used to read national-format numbers. (templated)

    See :class:`WooxyBlacklistBaseOperator` and :class:`~airflow_provider_wooxy.operators.records.WooxyInputOperator`
    for the other arguments.
    """

    def record_builder(self, field: str) -> Callable[[object], Normalised]:
        if self.reject_type:
            raise WooxyInputError("reject_type: the phone blacklist's remove method takes no reject type.")
        return PhoneRecords(field=field, default_region=self._rendered_region(), with_reject_type=False)
