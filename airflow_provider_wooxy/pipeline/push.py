"""
The push operators' engine: read -> validate/dedupe -> spool -> send -> report, for adds and removes.

Every input record ends in exactly one of: sent, invalid (with its 1-based row and the reason) or duplicate.
Nothing is sent until the whole input has been read and validated (into a temporary spool file), so an input
with more than ``max_invalid`` invalid records fails before any request is made; ``max_invalid=None`` streams
instead (validation runs as the sending threads take their batches).
"""

from __future__ import annotations

import hashlib
import math
import tempfile
import time
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from airflow_provider_wooxy.exceptions import WooxyError, WooxyInputError
from airflow_provider_wooxy.pipeline.changelog import ADD, write_after_failure
from airflow_provider_wooxy.pipeline.checkpoint import Checkpoint
from airflow_provider_wooxy.pipeline.intake import Tally, check_input, validated
from airflow_provider_wooxy.pipeline.refusals import Refusals
from airflow_provider_wooxy.pipeline.sending import BatchSender, Record, batches
from airflow_provider_wooxy.pipeline.stopping import Stoppable

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from airflow_provider_wooxy.pipeline.changelog import Changelog
    from airflow_provider_wooxy.pipeline.door import WooxyDoor
    from airflow_provider_wooxy.pipeline.rejects import Rejects
    from airflow_provider_wooxy.pipeline.sending import SendReport
    from airflow_provider_wooxy.pipeline.validation import Normalised


@dataclass
class PushSettings:
    """What a push run needs from the operator's rendered arguments."""

    method: str
    address_key: str
    batch_size: int
    max_concurrency: int
    max_invalid: int | None
    checkpoint_path: str | None
    """The checkpoint file as the user wrote it: how messages name it; None: no checkpoint."""
    checkpoint_location: Any
    """The checkpoint file as a path object (the operator's, for an object storage URI); None: ``checkpoint_path``
    as a local path."""
    dry_run: bool
    allow_empty: bool
    rejects_path: str | None
    source: str
    progress_interval: float = 30.0
    action: str = ADD
    """The changelog's action for the records sent: ``add`` or ``remove``."""


class Push(Stoppable):
    """
    One push run. :meth:`run` returns the summary; :meth:`stop` (from another thread) stops sending after the
    requests in flight. Whole-input problems raise :class:`~airflow_provider_wooxy.pipeline.intake.UnusableInput`.

    :param hook: the Wooxy hook the requests go through (not used by a dry run).
    :param settings: the rendered arguments.
    :param log: the operator's logger.
    :param changelog: the audit trail (spooled beside the checkpoint, where a retry finds a killed try's rows);
        None: none.
    """

    def __init__(self, hook: WooxyDoor, settings: PushSettings, log: Any, changelog: Changelog | None = None) -> None:
        self.hook = hook
        self.settings = settings
        self.log = log
        self.changelog = changelog

    def run(
        self,
        items: Iterable[tuple[int, object]],
        builder: Callable[[object], Normalised],
        field: str,
        rejects: Rejects,
    ) -> dict[str, Any]:
        s = self.settings
        clock = time.monotonic()
        tally = Tally()
        fingerprint = hashlib.blake2b(f"{s.method}\n{s.batch_size}\n".encode(), digest_size=16)
        valid = validated(items, builder, tally, rejects, field)
        if s.max_invalid is None and not s.dry_run:
            # Streaming: validation runs as the sending threads take their batches.
            summary = self._send(
                tally, rejects, ((row, payload.encode()) for row, _, payload in valid), fingerprint.hexdigest()
            )
            self._check(tally, rejects, field)
            return summary
        with tempfile.TemporaryFile(prefix="wooxy-spool-") as spool:
            write = spool.write
            update = fingerprint.update if s.checkpoint_path else None
            for row, _, payload in valid:
                line = b"%d\t%b\n" % (row, payload.encode())
                write(line)
                if update is not None:
                    update(line)
            validation_seconds = time.monotonic() - clock
            self._check(tally, rejects, field)
            spool.seek(0)
            summary = self._send(tally, rejects, _read_spool(spool), fingerprint.hexdigest())
            summary["validation_seconds"] = round(validation_seconds, 3)
        return summary

    def _check(self, tally: Tally, rejects: Rejects, field: str) -> None:
        s = self.settings
        check_input(
            tally,
            rejects,
            field=field,
            source=s.source,
            allow_empty=s.allow_empty,
            max_invalid=s.max_invalid,
            rejects_path=s.rejects_path,
            log=self.log.info,
            warn=self.log.warning,
        )

    def _summary(self, tally: Tally, rejects: Rejects, **sending: Any) -> dict[str, Any]:
        """The XCom summary: the validation counts, then what sending adds (nothing for a dry run)."""
        summary: dict[str, Any] = {
            "operation": self.settings.method,
            "received": tally.received,
            "valid": tally.valid,
            "invalid": rejects.count,
            "duplicates": tally.duplicates,
            "sent": 0,
            "refused_by_api": 0,
            "resumed": 0,
            "requests": 0,
            "retries": 0,
            "dry_run": bool(self.settings.dry_run),
            **sending,
        }
        summary["rejects_sample"] = rejects.sample
        return summary

    def _send(self, tally: Tally, rejects: Rejects, records: Iterator[Record], fingerprint: str) -> dict[str, Any]:
        s = self.settings
        if s.dry_run:
            self.log.info("Dry run: %d valid records would be sent; nothing was sent.", tally.valid)
            return self._summary(tally, rejects)
        checkpoint, skip = self._resume(fingerprint)
        resumed = self._records_in(skip, tally.valid)
        sender = self.adopt(self._sender(tally.valid - resumed, checkpoint))
        clock = time.monotonic()
        try:
            report = sender.run(batches(records, s.batch_size, skip))
        except (WooxyError, WooxyInputError) as exc:  # an input error here: a streamed input broke midway
            if isinstance(exc, WooxyInputError) and not sender.report.requests:
                raise  # broken before the first request: the message is whole as it is
            progress = self._progress(sender, checkpoint, tally.valid, resumed)
            write_after_failure(self.changelog, self.log)
            if isinstance(exc, WooxyInputError):
                raise WooxyInputError(f"{str(exc).rstrip('.')}. {progress}") from None
            exc.add_context(f". {progress}")
            raise
        return self._finish(tally, rejects, report, resumed, time.monotonic() - clock, checkpoint)

    def _resume(self, fingerprint: str) -> tuple[Checkpoint | None, set[int]]:
        """The checkpoint (None without ``checkpoint_path``) and the batch numbers it says were accepted."""
        s = self.settings
        if not s.checkpoint_path:  # never set when streaming: the operator refuses that combination
            return None, set()
        checkpoint = Checkpoint(s.checkpoint_path, fingerprint, location=s.checkpoint_location)
        if self.changelog is not None:  # object storage: the spool's lines before the batches they record
            checkpoint.before_save = self.changelog.flush
        return checkpoint, checkpoint.resume(self.log)

    def _sender(self, to_send: int, checkpoint: Checkpoint | None) -> BatchSender:
        """The sender of the batches left (``to_send`` records, unknown when streaming), marking the checkpoint."""
        s = self.settings
        streaming = s.max_invalid is None
        if streaming:
            self.log.info("Streaming: validating and sending together, %d requests in flight.", s.max_concurrency)
        else:
            self.log.info(
                "Sending %d records in requests of up to %d, %d in flight.", to_send, s.batch_size, s.max_concurrency
            )
        changelog, action = self.changelog, s.action
        return BatchSender(
            self.hook,
            s.method,
            max_concurrency=s.max_concurrency,
            on_batch_done=None if checkpoint is None else (lambda batch: checkpoint.mark(batch.number)),
            on_accepted=None
            if changelog is None
            else (lambda records: changelog.accepted(action, [p for _, p in records])),
            on_refused=None if changelog is None else (lambda r: changelog.refused(action, r.payload, r.errors)),
            log=self.log,
            progress_interval=s.progress_interval,
            total=None if streaming else to_send,
        )

    def _progress(self, sender: BatchSender, checkpoint: Checkpoint | None, valid: int, resumed: int) -> str:
        """After a failure: save the checkpoint, and say (in the log too) how far sending got."""
        if checkpoint is not None:
            checkpoint.save()
        of = "" if self.settings.max_invalid is None else f" of {valid}"
        progress = (
            f"{sender.report.sent + resumed}{of} valid records were accepted before this failure; re-sending is "
            "harmless (Wooxy ignores duplicates)"
            + (", and a retry skips them (checkpoint_path)." if checkpoint else ".")
        )
        self.log.error("%s", progress)
        return progress

    def _finish(
        self,
        tally: Tally,
        rejects: Rejects,
        report: SendReport,
        resumed: int,
        seconds: float,
        checkpoint: Checkpoint | None,
    ) -> dict[str, Any]:
        """The summary of a run that sent everything: refused records become rejects, then ``max_invalid``."""
        s = self.settings
        invalid = rejects.count
        refusals = Refusals(rejects, s.address_key)
        refusals.add(report.refused)
        summary = self._summary(
            tally,
            rejects,
            invalid=invalid,
            sent=report.sent + resumed,
            refused_by_api=refusals.count,
            resumed=resumed,
            requests=report.requests,
            retries=self.hook.retries,
            send_seconds=round(seconds, 3),
        )
        self.log.info(
            "Done: %d records accepted by Wooxy (%d from an earlier attempt), %d refused, %d requests, %d retries.",
            summary["sent"],
            resumed,
            refusals.count,
            report.requests,
            summary["retries"],
        )
        if self.changelog is not None:  # after the sends; the checkpoint is kept until it is written
            if checkpoint is not None:
                checkpoint.save()
            summary["changelog_rows"] = self.changelog.write()
            self.log.info("Changelog: %d rows written.", summary["changelog_rows"])
        if checkpoint is not None:
            checkpoint.complete()
        refusals.check(
            self.log,
            max_invalid=s.max_invalid,
            operation=s.method,
            outcome=f"the other {summary['sent']} were accepted",
            details=refusals.first,
        )
        return summary

    def _records_in(self, batch_numbers: set[int], valid: int) -> int:
        size = self.settings.batch_size
        last = math.ceil(valid / size) - 1
        return sum(size if n < last else valid - last * size for n in batch_numbers if n <= last)


def _read_spool(spool: IO[bytes]) -> Iterator[Record]:
    for line in spool:
        row, _, payload = line.rstrip(b"\n").partition(b"\t")
        yield int(row), payload
