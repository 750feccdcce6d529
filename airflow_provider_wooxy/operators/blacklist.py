"""Operators that add records to, and remove them from, the Wooxy email and phone blacklists."""

from __future__ import annotations

import time
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import pendulum
import phonenumbers
from airflow.sdk import BaseOperator

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.hooks.wooxy import (
    EMAIL_ADD,
    EMAIL_REMOVE,
    MAX_CONCURRENT_REQUESTS,
    MAX_RECORDS_PER_REQUEST,
    PHONE_ADD,
    PHONE_REMOVE,
    WooxyHook,
)
from airflow_provider_wooxy.operators.arguments import check_batch_size, check_max_concurrency, check_max_invalid
from airflow_provider_wooxy.operators.lineage import WooxyLineageMixin
from airflow_provider_wooxy.pipeline.intake import UnusableInput
from airflow_provider_wooxy.pipeline.push import Push, PushSettings
from airflow_provider_wooxy.pipeline.reading import iter_input
from airflow_provider_wooxy.pipeline.rejects import Rejects
from airflow_provider_wooxy.pipeline.validation import (
    EMAIL_REJECT_TYPES,
    PHONE_REJECT_TYPES,
    EmailRecords,
    Normalised,
    PhoneRecords,
    RecordError,
    check_raw_log,
    check_reject_type,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from airflow.sdk import Context


class WooxyBlacklistBaseOperator(WooxyLineageMixin, BaseOperator):
    """
    Shared base of the Wooxy blacklist push operators: Airflow glue over the engine in
    :mod:`airflow_provider_wooxy.pipeline.push` (read -> validate -> spool -> send -> summarise).

    Every input record ends in exactly one of: sent, invalid (with its 1-based row and the reason) or duplicate.
    Nothing is sent until the whole input has been read and validated (into a temporary spool file), so an input
    with more than ``max_invalid`` invalid records fails the task before any request is made.

    :param records: a list of addresses, or of objects with the API's keys; typically an XComArg. (templated)
    :param path: a local path or an object storage URI (``s3://``, ``gs://``, ``file://``...) of a CSV (with a
        header row), JSON array or JSON Lines file, optionally ``.gz``. Exactly one of ``records`` and ``path``.
        (templated)
    :param file_format: ``csv``, ``json`` or ``jsonl`` (``.gz`` suffix allowed) when the path's suffix does not
        say. (templated)
    :param storage_conn_id: the Airflow connection for object storage paths (input, rejects, checkpoint).
    :param field: the key or column holding the address, when it is not the API's name. (templated)
    :param reject_type: the reject type for records that carry none. (templated)
    :param max_concurrency: requests in flight at once, 1 to 10. ``pool_slots`` defaults to it, so a pool of 10
        slots caps all Wooxy tasks of an account at 10 requests in flight.
    :param max_invalid: how many records may be rejected (by validation, or by the API) before the task fails.
        ``None`` accepts any number and streams: sending starts while the input is still being read, instead of
        after a validation pass (faster on large inputs; rejects are still reported, and no checkpoint).
    :param rejects_path: where to write every rejected record with its row and reason: ``.csv`` or JSON Lines,
        local or object storage. (templated)
    :param checkpoint_path: where to record accepted batches, so that a retry of a failed task skips them.
        (templated)
    :param dry_run: read and validate, but send nothing.
    :param allow_empty: succeed on an empty input instead of failing.
    :param wooxy_conn_id: the Wooxy connection.
    :param progress_interval: seconds between progress log lines while sending.
    """

    template_fields: Sequence[str] = (
        "records",
        "path",
        "file_format",
        "field",
        "reject_type",
        "rejects_path",
        "checkpoint_path",
    )
    ui_color = "#e8f4fd"

    method: ClassVar[str]
    address_key: ClassVar[str]
    allowed_reject_types: ClassVar[tuple[str, ...]]
    is_add: ClassVar[bool] = False

    def __init__(
        self,
        *,
        records: Any = None,
        path: str | None = None,
        file_format: str | None = None,
        storage_conn_id: str | None = None,
        field: str | None = None,
        reject_type: str | None = None,
        batch_size: int = MAX_RECORDS_PER_REQUEST,
        max_concurrency: int = MAX_CONCURRENT_REQUESTS,
        max_invalid: int | None = 0,
        rejects_path: str | None = None,
        checkpoint_path: str | None = None,
        dry_run: bool = False,
        allow_empty: bool = False,
        wooxy_conn_id: str = WooxyHook.default_conn_name,
        progress_interval: float = 30.0,
        **kwargs: Any,
    ) -> None:
        check_max_concurrency(max_concurrency)
        check_batch_size(batch_size)
        check_max_invalid(max_invalid)
        if max_invalid is None and checkpoint_path:
            raise WooxyInputError(
                "checkpoint_path needs a validation pass to fingerprint the input: set max_invalid to a number."
            )
        kwargs.setdefault("pool_slots", max_concurrency)
        super().__init__(**kwargs)
        self.records = records
        self.path = path
        self.file_format = file_format
        self.storage_conn_id = storage_conn_id
        self.field = field
        self.reject_type = reject_type
        self.batch_size = batch_size if self.is_add else 1
        self.max_concurrency = max_concurrency
        self.max_invalid = max_invalid
        self.rejects_path = rejects_path
        self.checkpoint_path = checkpoint_path
        self.is_dry_run = dry_run
        self.allow_empty = allow_empty
        self.wooxy_conn_id = wooxy_conn_id
        self.progress_interval = progress_interval
        self._push: Push | None = None  # while running, for on_kill

    @cached_property
    def hook(self) -> WooxyHook:
        return WooxyHook(wooxy_conn_id=self.wooxy_conn_id)

    # -- per-list specifics ----------------------------------------------------------------------------------

    def record_builder(self, field: str) -> Callable[[object], Normalised]:
        """The validator/normaliser for this list and action, from the rendered arguments; ``field`` holds the
        address."""
        raise NotImplementedError

    def _rendered_reject_type(self) -> str | None:
        if self.reject_type in (None, ""):
            return None
        try:
            return check_reject_type(self.reject_type, self.allowed_reject_types, "reject_type")
        except RecordError as exc:
            raise WooxyInputError(f"{exc}.") from None

    # -- the data flow ---------------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        started = pendulum.now("UTC")
        clock = time.monotonic()
        field = self.field or self.address_key
        builder = self.record_builder(field)
        if not self.is_dry_run:
            _ = self.hook.conn_params  # a missing or broken connection fails now, before the input is read
        items = iter_input(
            records=self.records,
            path=self.path or None,
            file_format=self.file_format,
            conn_id=self.storage_conn_id,
            field=field,
        )
        push = Push(
            self.hook,
            PushSettings(
                method=self.method,
                address_key=self.address_key,
                is_add=self.is_add,
                batch_size=self.batch_size,
                max_concurrency=self.max_concurrency,
                max_invalid=self.max_invalid,
                checkpoint_path=self.checkpoint_path,
                storage_conn_id=self.storage_conn_id,
                dry_run=self.is_dry_run,
                allow_empty=self.allow_empty,
                rejects_path=self.rejects_path,
                source=self.path or "records",
                progress_interval=self.progress_interval,
            ),
            self.log,
        )
        rejects = Rejects()
        self._push = push
        try:
            summary = push.run(items, builder, field, rejects)
        except UnusableInput as exc:
            raise WooxyInputError(str(exc)) from None
        finally:
            self._push = None
            if self.rejects_path and rejects.count:
                rejects.export(self.rejects_path, self.storage_conn_id)
                self.log.info("Wrote %d rejected records to %s", rejects.count, self.rejects_path)
            rejects.close()
        summary.update(
            started_at=started.to_iso8601_string(),
            finished_at=pendulum.now("UTC").to_iso8601_string(),
            duration_seconds=round(time.monotonic() - clock, 3),
        )
        self.report_summary(context, summary)  # asset event extras and OpenLineage (operators/lineage.py)
        return summary

    def on_kill(self) -> None:
        """Airflow is stopping the task: let the sending threads finish their current request and stop."""
        if self._push is not None:
            self._push.stop("the task was stopped (on_kill)")


class WooxyAddEmailBlacklistOperator(WooxyBlacklistBaseOperator):
    """
    Add addresses to the Wooxy email blacklist, in batches of up to 100 with up to 10 requests in flight.

    :param reject_type: ``hard`` (default, as Wooxy's own importer), ``complaint`` or ``list-unsubscribe``, for
        records that carry no ``rejectType``. (templated)
    :param raw_log: reason text for records without a ``rawLog`` (at most 1024 UTF-8 bytes). (templated)
    :param batch_size: records per request, 1 to 100.

    See :class:`WooxyBlacklistBaseOperator` for the other arguments.
    """

    template_fields: Sequence[str] = (*WooxyBlacklistBaseOperator.template_fields, "raw_log")
    method = EMAIL_ADD
    address_key = "email"
    allowed_reject_types = EMAIL_REJECT_TYPES
    is_add = True

    def __init__(self, *, reject_type: str | None = "hard", raw_log: str | None = None, **kwargs: Any) -> None:
        super().__init__(reject_type=reject_type, **kwargs)
        self.raw_log = raw_log

    def record_builder(self, field: str) -> Callable[[object], Normalised]:
        raw_log = self.raw_log or None
        if raw_log is not None:
            try:
                check_raw_log(raw_log)
            except RecordError as exc:
                raise WooxyInputError(f"raw_log: {exc}.") from None
        return EmailRecords(field=field, reject_type=self._rendered_reject_type(), raw_log=raw_log)


class WooxyRemoveEmailBlacklistOperator(WooxyBlacklistBaseOperator):
    """
    Remove addresses from the Wooxy email blacklist, one request per address, up to 10 in flight.

    :param reject_type: remove only entries of this reject type; by default, entries of every type. (templated)

    See :class:`WooxyBlacklistBaseOperator` for the other arguments.
    """

    method = EMAIL_REMOVE
    address_key = "email"
    allowed_reject_types = EMAIL_REJECT_TYPES

    def record_builder(self, field: str) -> Callable[[object], Normalised]:
        return EmailRecords(
            field=field,
            reject_type=self._rendered_reject_type(),
            require_reject_type=False,
            with_raw_log=False,
        )


class _PhoneBlacklistOperator(WooxyBlacklistBaseOperator):
    """Shared by the phone operators: ``default_region`` and the phone blacklist's reject types."""

    template_fields: Sequence[str] = (*WooxyBlacklistBaseOperator.template_fields, "default_region")
    address_key = "phoneNumber"
    allowed_reject_types = PHONE_REJECT_TYPES

    def __init__(self, *, default_region: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.default_region = default_region

    def _rendered_region(self) -> str | None:
        region = (self.default_region or "").strip().upper() or None
        if region is not None and region not in phonenumbers.SUPPORTED_REGIONS:
            raise WooxyInputError(
                f"default_region {self.default_region!r} is not an ISO 3166 country code phonenumbers knows."
            )
        return region


class WooxyAddPhoneBlacklistOperator(_PhoneBlacklistOperator):
    """
    Add numbers to the Wooxy phone blacklist in E.164, in batches of up to 100 with up to 10 requests in flight.

    :param default_region: ISO country code (``GB``, ``US``...) used to read national-format numbers; without it
        numbers must be international (``+44...``). (templated)
    :param reject_type: ``import``, ``invalid``, ``unsubscribe`` or ``undeliverable`` for records that carry
        none; by default none is sent. (templated)
    :param batch_size: records per request, 1 to 100.

    See :class:`WooxyBlacklistBaseOperator` for the other arguments.
    """

    method = PHONE_ADD
    is_add = True

    def record_builder(self, field: str) -> Callable[[object], Normalised]:
        return PhoneRecords(
            field=field,
            reject_type=self._rendered_reject_type(),
            default_region=self._rendered_region(),
        )


class WooxyRemovePhoneBlacklistOperator(_PhoneBlacklistOperator):
    """
    Remove numbers from the Wooxy phone blacklist, one request per number, up to 10 in flight.

    :param default_region: ISO country code used to read national-format numbers. (templated)

    See :class:`WooxyBlacklistBaseOperator` for the other arguments.
    """

    method = PHONE_REMOVE

    def record_builder(self, field: str) -> Callable[[object], Normalised]:
        if self.reject_type:
            raise WooxyInputError("reject_type: the phone blacklist's remove method takes no reject type.")
        return PhoneRecords(field=field, default_region=self._rendered_region(), with_reject_type=False)
