"""Operators that add records to, and remove them from, the Wooxy email and phone blacklists."""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
import time
from functools import cached_property
from typing import IO, TYPE_CHECKING, Any, ClassVar

import pendulum
import phonenumbers
from airflow.sdk import BaseOperator

from airflow_provider_wooxy.exceptions import WooxyError, WooxyInputError, WooxyRejectedError
from airflow_provider_wooxy.hooks.wooxy import (
    EMAIL_ADD,
    EMAIL_REMOVE,
    MAX_CONCURRENT_REQUESTS,
    MAX_RECORDS_PER_REQUEST,
    PHONE_ADD,
    PHONE_REMOVE,
    WooxyHook,
)
from airflow_provider_wooxy.operators.lineage import WooxyLineageMixin
from airflow_provider_wooxy.pipeline.checkpoint import Checkpoint
from airflow_provider_wooxy.pipeline.masking import mask_in
from airflow_provider_wooxy.pipeline.reading import iter_input
from airflow_provider_wooxy.pipeline.rejects import Rejects
from airflow_provider_wooxy.pipeline.sending import Batch, BatchSender, Record, encode_add, encode_single
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

    from airflow.sdk import Context


class _Tally:
    """Counts of the validation pass, and the fingerprint of what it let through."""

    def __init__(self, method: str, batch_size: int) -> None:
        self.received = 0
        self.valid = 0
        self.duplicates = 0
        self.missing_field = 0
        self.fingerprint = hashlib.blake2b(f"{method}\n{batch_size}\n".encode(), digest_size=16)


class WooxyBlacklistBaseOperator(WooxyLineageMixin, BaseOperator):
    """
    Shared pipeline of the Wooxy blacklist operators: read -> validate -> batch -> send -> summarise.

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
        if not isinstance(max_concurrency, int) or not 1 <= max_concurrency <= MAX_CONCURRENT_REQUESTS:
            raise WooxyInputError(
                f"max_concurrency must be between 1 and {MAX_CONCURRENT_REQUESTS} (Wooxy allows at most "
                f"{MAX_CONCURRENT_REQUESTS} requests in flight per account), got {max_concurrency!r}."
            )
        if not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_RECORDS_PER_REQUEST:
            raise WooxyInputError(
                f"batch_size must be between 1 and {MAX_RECORDS_PER_REQUEST} (Wooxy takes at most "
                f"{MAX_RECORDS_PER_REQUEST} records per request), got {batch_size!r}."
            )
        if max_invalid is not None and (not isinstance(max_invalid, int) or max_invalid < 0):
            raise WooxyInputError(f"max_invalid must be a whole number >= 0 or None, got {max_invalid!r}.")
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
        self._sender: BatchSender | None = None  # while sending, for on_kill

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

    # -- the pipeline ----------------------------------------------------------------------------------------

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
        tally = _Tally(self.method, self.batch_size)
        rejects = Rejects()
        try:
            valid = self._validated(items, builder, tally, rejects, field)
            if self.max_invalid is None and not self.is_dry_run:
                # Streaming: validation runs as the sending threads take their batches.
                summary = self._send(tally, rejects, ((row, payload.encode()) for row, payload in valid))
                self._check_input(tally, rejects, field)
            else:
                with tempfile.TemporaryFile(prefix="wooxy-spool-") as spool:
                    write = spool.write
                    fingerprint = tally.fingerprint.update if self.checkpoint_path else None
                    for row, payload in valid:
                        line = b"%d\t%b\n" % (row, payload.encode())
                        write(line)
                        if fingerprint is not None:
                            fingerprint(line)
                    validation_seconds = time.monotonic() - clock
                    self._check_input(tally, rejects, field)
                    spool.seek(0)
                    summary = self._send(tally, rejects, _read_spool(spool))
                    summary["validation_seconds"] = round(validation_seconds, 3)
        finally:
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

    def _validated(
        self,
        items: Iterator[tuple[int, object]],
        builder: Callable[[object], Normalised],
        tally: _Tally,
        rejects: Rejects,
        field: str,
    ) -> Iterator[tuple[int, str]]:
        """Yield ``(row, JSON record)`` for each valid, first-seen record; count and reject the others."""
        # 128-bit digests as ints (44 bytes each): the only state that grows with the input. They are two SipHash
        # values of the key: Python's own str hash, keyed afresh in every process (hashlib's blake2b took
        # three times as long): a collision, which would drop a record as a duplicate, takes ~2**64 records.
        seen: set[int] = set()
        missing_key = f"no {field!r} key"
        received = valid = duplicates = 0  # locals on the hot path; the tally gets them when the input ends
        try:
            for row, item in items:
                received += 1
                if isinstance(item, RecordError):
                    rejects.add(row, "", str(item))
                    continue
                try:
                    key, payload = builder(item)
                except RecordError as exc:
                    reason = str(exc)
                    if reason.startswith(missing_key):
                        tally.missing_field += 1
                    rejects.add(row, item.get(field) if isinstance(item, dict) else item, reason)
                    continue
                hashed = (hash(key) << 64) ^ hash(key + "\x01")
                if hashed in seen:
                    duplicates += 1
                    continue
                seen.add(hashed)
                valid += 1
                yield row, payload
        finally:
            tally.received, tally.valid, tally.duplicates = received, valid, duplicates

    def _check_input(self, tally: _Tally, rejects: Rejects, field: str) -> None:
        """After the validation pass: fail (before sending, unless streaming) on an unusable input."""
        source = self.path or "records"
        self.log.info(
            "Read %d records from %s: %d valid, %d invalid, %d duplicates.",
            tally.received,
            source,
            tally.valid,
            rejects.count,
            tally.duplicates,
        )
        if tally.received == 0:
            if self.allow_empty:
                self.log.warning("The input is empty: nothing to send (allow_empty=True).")
                return
            raise WooxyInputError(f"the input ({source}) holds no records; set allow_empty=True if that can be normal.")
        if tally.missing_field and tally.missing_field == tally.received:
            raise WooxyInputError(f"none of the {tally.received} records has the key {field!r}: {rejects.describe(1)}.")
        if rejects.count:
            self.log.warning("Invalid records (first %d): %s", min(rejects.count, 10), rejects.describe(10))
        if self.max_invalid is not None and rejects.count > self.max_invalid:
            where = f" All rejects are listed in {self.rejects_path}." if self.rejects_path else ""
            raise WooxyInputError(
                f"{rejects.count} of {tally.received} records are invalid, more than max_invalid={self.max_invalid}; "
                f"nothing was sent.{where} First problems: {rejects.describe()}."
            )

    def _batches(self, records: Iterator[tuple[int, bytes]], skip: set[int]) -> Iterator[Batch]:
        size = self.batch_size
        number = 0
        batch: list[Record] = []
        for record in records:
            batch.append(record)
            if len(batch) == size:
                if number not in skip:
                    yield Batch(number, batch)
                number += 1
                batch = []
        if batch and number not in skip:
            yield Batch(number, batch)

    def _summary(self, tally: _Tally, rejects: Rejects, **sending: Any) -> dict[str, Any]:
        """The XCom summary: the validation counts, then what sending adds (nothing for a dry run)."""
        summary: dict[str, Any] = {
            "operation": self.method,
            "received": tally.received,
            "valid": tally.valid,
            "invalid": rejects.count,
            "duplicates": tally.duplicates,
            "sent": 0,
            "refused_by_api": 0,
            "resumed": 0,
            "requests": 0,
            "retries": 0,
            "dry_run": bool(self.is_dry_run),
            **sending,
        }
        summary["rejects_sample"] = rejects.sample
        return summary

    def _send(self, tally: _Tally, rejects: Rejects, records: Iterator[tuple[int, bytes]]) -> dict[str, Any]:
        if self.is_dry_run:
            self.log.info("Dry run: %d valid records would be sent; nothing was sent.", tally.valid)
            return self._summary(tally, rejects)

        streaming = self.max_invalid is None
        checkpoint = None
        skip: set[int] = set()
        if self.checkpoint_path:  # never when streaming: __init__ refuses that combination
            checkpoint = Checkpoint(self.checkpoint_path, tally.fingerprint.hexdigest(), conn_id=self.storage_conn_id)
            skip = checkpoint.load()
            if checkpoint.stale:
                self.log.info(
                    "Checkpoint %s belongs to other input: starting from the beginning.", self.checkpoint_path
                )
            elif skip:
                self.log.info(
                    "Resuming from checkpoint %s: %d batches were already accepted and are skipped.",
                    self.checkpoint_path,
                    len(skip),
                )
        resumed = self._records_in(skip, tally.valid)
        sender = BatchSender(
            self.hook,
            self.method,
            encode=encode_add if self.is_add else encode_single,
            max_concurrency=self.max_concurrency,
            on_batch_done=self._checkpoint_marker(checkpoint),
            log=self.log,
            progress_interval=self.progress_interval,
            total=None if streaming else tally.valid - resumed,
        )
        if streaming:
            self.log.info("Streaming: validating and sending together, %d requests in flight.", self.max_concurrency)
        else:
            self.log.info(
                "Sending %d records in requests of up to %d, %d in flight.",
                tally.valid - resumed,
                self.batch_size,
                self.max_concurrency,
            )
        clock = time.monotonic()
        self._sender = sender
        try:
            report = sender.run(self._batches(records, skip))
        except WooxyError as exc:
            if checkpoint is not None:
                checkpoint.save()
            of = "" if streaming else f" of {tally.valid}"
            progress = (
                f"{sender.report.sent + resumed}{of} valid records were accepted before this failure; re-sending is "
                "harmless (Wooxy ignores duplicates)"
                + (", and a retry skips them (checkpoint_path)." if checkpoint else ".")
            )
            self.log.error("%s", progress)
            exc.args = (f"{exc.args[0]}. {progress}",)
            raise
        invalid = rejects.count
        refused = [(r, json.loads(r.payload).get(self.address_key, "")) for r in report.refused]
        for refusal, value in refused:
            rejects.add(refusal.row, value, f"refused by Wooxy: {'; '.join(refusal.errors)}", source="api")
        summary = self._summary(
            tally,
            rejects,
            invalid=invalid,
            sent=report.sent + resumed,
            refused_by_api=len(report.refused),
            resumed=resumed,
            requests=report.requests,
            retries=self.hook.retries,
            send_seconds=round(time.monotonic() - clock, 3),
        )
        self.log.info(
            "Done: %d records accepted by Wooxy (%d from an earlier attempt), %d refused, %d requests, %d retries.",
            summary["sent"],
            resumed,
            len(report.refused),
            report.requests,
            summary["retries"],
        )
        if checkpoint is not None:
            checkpoint.complete()
        if report.refused:
            self.log.warning("Records refused by Wooxy: %s", rejects.describe(10))
            if self.max_invalid is not None and rejects.count > self.max_invalid:
                first = [
                    f"row {refusal.row}: {mask_in('; '.join(refusal.errors), value)}" for refusal, value in refused[:5]
                ]
                raise WooxyRejectedError(
                    self.method,
                    [
                        f"{len(report.refused)} records refused (max_invalid={self.max_invalid}, "
                        f"{rejects.count} rejects in all); the other {summary['sent']} were accepted",
                        *first,
                    ],
                )
        return summary

    def on_kill(self) -> None:
        """Airflow is stopping the task: let the sending threads finish their current request and stop."""
        if self._sender is not None:
            self._sender.stop("the task was stopped (on_kill)")

    @staticmethod
    def _checkpoint_marker(checkpoint: Checkpoint | None) -> Callable[[Batch], None] | None:
        if checkpoint is None:
            return None
        return lambda batch: checkpoint.mark(batch.number)

    def _records_in(self, batch_numbers: set[int], valid: int) -> int:
        last = math.ceil(valid / self.batch_size) - 1
        return sum(self.batch_size if n < last else valid - last * self.batch_size for n in batch_numbers if n <= last)


def _read_spool(spool: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for line in spool:
        row, _, payload = line.rstrip(b"\n").partition(b"\t")
        yield int(row), payload


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
