"""
The arguments the Wooxy operators share, in one place: above all the input side of the operators that send
records to a Wooxy list (push and sync), with the record builder for each list.

- :class:`WooxyOperator`, the base of every Wooxy operator (push, sync, export, look-up): the connection,
  ``max_concurrency`` (and ``pool_slots`` from it), ``storage_conn_id``, the hook, and the run's times in its
  summary;
- :class:`WooxyInputOperator`, the base of the push and sync operators: the input's arguments (``records`` or
  ``path``, ``field``, ``reject_type``, ``max_invalid``, ``rejects_path``, ``batch_size``, ``dry_run``...), their
  checks, reading the input and writing its rejects;
- :class:`WooxyEmailInputOperator` and :class:`WooxyPhoneInputOperator` add what one list needs: ``raw_log`` and
  the email reject types; ``default_region`` and the phone reject types.

A concrete operator inherits one list class and one family base (``operators/blacklist.py``,
``operators/sync.py``), list class first, and states its ``template_fields`` itself: the family's, plus
``raw_log`` or ``default_region``.
"""

from __future__ import annotations

import time
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import pendulum
import phonenumbers
from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.hooks.wooxy import MAX_CONCURRENT_REQUESTS, MAX_RECORDS_PER_REQUEST, WooxyHook
from airflow_provider_wooxy.operators.arguments import check_batch_size, check_max_concurrency, check_max_invalid
from airflow_provider_wooxy.operators.lineage import WooxyLineageMixin
from airflow_provider_wooxy.pipeline.reading import iter_input
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
    from collections.abc import Callable, Iterator, Sequence

    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_wooxy.pipeline.reading import Item
    from airflow_provider_wooxy.pipeline.rejects import Rejects


def rendered_region(default_region: str | None) -> str | None:
    """``default_region`` as ``phonenumbers`` reads it (upper case, ``None`` when empty), or one clear error."""
    region = (default_region or "").strip().upper() or None
    if region is not None and region not in phonenumbers.SUPPORTED_REGIONS:
        raise WooxyInputError(f"default_region {default_region!r} is not an ISO 3166 country code phonenumbers knows.")
    return region


class WooxyOperator(WooxyLineageMixin, BaseOperator):
    """
    Base of every Wooxy operator: its connection, its concurrency and its summary's times.

    :param max_concurrency: requests in flight at once, 1 to 10. ``pool_slots`` defaults to it, so a pool of 10
        slots caps all Wooxy tasks of an account at 10 requests in flight.
    :param storage_conn_id: the Airflow connection for object storage paths.
    :param wooxy_conn_id: the Wooxy connection.
    """

    def __init__(
        self,
        *,
        max_concurrency: int = MAX_CONCURRENT_REQUESTS,
        storage_conn_id: str | None = None,
        wooxy_conn_id: str = WooxyHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        check_max_concurrency(max_concurrency)
        kwargs.setdefault("pool_slots", max_concurrency)
        super().__init__(**kwargs)
        self.max_concurrency = max_concurrency
        self.storage_conn_id = storage_conn_id
        self.wooxy_conn_id = wooxy_conn_id

    @cached_property
    def hook(self) -> WooxyHook:
        return WooxyHook(wooxy_conn_id=self.wooxy_conn_id)

    def _report_run(
        self, context: Context, summary: dict[str, Any], started: pendulum.DateTime, clock: float
    ) -> dict[str, Any]:
        """
        Add the run's times to ``summary`` (``started`` from ``pendulum.now``, ``clock`` from
        ``time.monotonic`` at the start), report it (asset event extras and OpenLineage, operators/lineage.py)
        and return it: the task's XCom.
        """
        summary.update(
            started_at=started.to_iso8601_string(),
            finished_at=pendulum.now("UTC").to_iso8601_string(),
            duration_seconds=round(time.monotonic() - clock, 3),
        )
        self.report_summary(context, summary)
        return summary


class WooxyInputOperator(WooxyOperator):
    """
    Shared base of the operators that send an input to a Wooxy list: the input's arguments and how it is read.

    :param records: a list of addresses, or of objects with the API's keys; typically an XComArg. (templated)
    :param path: a local path or an object storage URI (``s3://``, ``gs://``, ``file://``...) of a CSV (with a
        header row), JSON array or JSON Lines file, optionally ``.gz``. Exactly one of ``records`` and ``path``.
        (templated)
    :param file_format: ``csv``, ``json`` or ``jsonl`` (``.gz`` suffix allowed) when the path's suffix does not
        say. (templated)
    :param field: the key or column holding the address, when it is not the API's name. (templated)
    :param reject_type: the reject type for records that carry none. (templated)
    :param batch_size: records per add request, 1 to 100.
    :param max_invalid: how many records may be rejected (by validation, or by the API) before the task fails;
        ``None`` accepts any number.
    :param rejects_path: where to write every rejected record with its row and reason: ``.csv`` or JSON Lines,
        local or object storage. (templated)
    :param dry_run: read and validate, but send nothing.
    :param allow_empty: succeed on an empty input instead of failing.
    :param progress_interval: seconds between progress log lines while sending.

    And those of :class:`WooxyOperator`: ``max_concurrency``, ``storage_conn_id`` (for object storage paths:
    input, rejects, and the family's own files), ``wooxy_conn_id``.
    """

    template_fields: Sequence[str] = ("records", "path", "file_format", "field", "reject_type")

    address_key: ClassVar[str]
    allowed_reject_types: ClassVar[tuple[str, ...]]

    def __init__(
        self,
        *,
        records: Any = None,
        path: str | None = None,
        file_format: str | None = None,
        field: str | None = None,
        reject_type: str | None = None,
        batch_size: int = MAX_RECORDS_PER_REQUEST,
        max_invalid: int | None = 0,
        rejects_path: str | None = None,
        dry_run: bool = False,
        allow_empty: bool = False,
        progress_interval: float = 30.0,
        **kwargs: Any,
    ) -> None:
        check_batch_size(batch_size)
        check_max_invalid(max_invalid)
        super().__init__(**kwargs)
        self.records = records
        self.path = path
        self.file_format = file_format
        self.field = field
        self.reject_type = reject_type
        self.batch_size = batch_size
        self.max_invalid = max_invalid
        self.rejects_path = rejects_path
        self.is_dry_run = dry_run
        self.allow_empty = allow_empty
        self.progress_interval = progress_interval

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

    def _rendered_region(self) -> str | None:
        """The region national-format numbers are read in: none but for the phone list."""
        return None

    # -- the input -------------------------------------------------------------------------------------------

    def _rendered_field(self) -> str:
        """The key or column holding the address: ``field``, or the API's name for it."""
        return self.field or self.address_key

    def _read_input(self, field: str) -> Iterator[Item]:
        """The input's items, ``(row, record)``, from ``records`` or ``path``."""
        return iter_input(
            records=self.records,
            path=self.path or None,
            file_format=self.file_format,
            conn_id=self.storage_conn_id,
            field=field,
        )

    def _write_rejects(self, rejects: Rejects) -> None:
        """Write the rejected records to ``rejects_path`` (when given and there are any), then free them."""
        if self.rejects_path and rejects.count:
            rejects.export(self.rejects_path, self.storage_conn_id)
            self.log.info("Wrote %d rejected records to %s", rejects.count, self.rejects_path)
        rejects.close()


class WooxyEmailInputOperator(WooxyInputOperator):
    """
    The email list's input: its reject types, and ``raw_log`` for added records.

    :param reject_type: ``hard`` (default, as Wooxy's own importer), ``complaint`` or ``list-unsubscribe``, for
        records that carry no ``rejectType``. (templated)
    :param raw_log: reason text for records without a ``rawLog`` (at most 1024 UTF-8 bytes). (templated)
    """

    address_key = "email"
    allowed_reject_types = EMAIL_REJECT_TYPES

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


class WooxyPhoneInputOperator(WooxyInputOperator):
    """
    The phone list's input: its reject types, and ``default_region`` to read national-format numbers.

    :param default_region: ISO country code (``GB``, ``US``...) used to read national-format numbers; without it
        numbers must be international (``+44...``). (templated)
    """

    address_key = "phoneNumber"
    allowed_reject_types = PHONE_REJECT_TYPES

    def __init__(self, *, default_region: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.default_region = default_region

    def _rendered_region(self) -> str | None:
        return rendered_region(self.default_region)

    def record_builder(self, field: str) -> Callable[[object], Normalised]:
        return PhoneRecords(
            field=field,
            reject_type=self._rendered_reject_type(),
            default_region=self._rendered_region(),
        )
