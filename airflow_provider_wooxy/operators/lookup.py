"""Operator that checks which of a set of phone numbers are on the Wooxy phone blacklist."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pendulum

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.hooks.wooxy import PHONE_FIND
from airflow_provider_wooxy.operators.inputs import WooxyOperator, rendered_region
from airflow_provider_wooxy.operators.lineage import LineageDataset, file_dataset, wooxy_dataset
from airflow_provider_wooxy.pipeline.export import EntryWriter, ExportError, export_format
from airflow_provider_wooxy.pipeline.lookup import look_up
from airflow_provider_wooxy.pipeline.reading import iter_input, storage_path
from airflow_provider_wooxy.pipeline.rejects import Rejects
from airflow_provider_wooxy.pipeline.validation import RecordError, normalise_phone

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from airflow.providers.common.compat.sdk import Context


class WooxyCheckPhoneBlacklistOperator(WooxyOperator):
    """
    Check which of the given phone numbers are on the Wooxy phone blacklist, and with which reject type.

    The phone blacklist cannot be listed (its find method needs a number): this is its read side. Numbers come
    from XCom or a file, as for the other operators, are normalised to E.164 (``default_region`` for national
    formats) and looked up one request each, up to ``max_concurrency`` in flight. The listed ones are written to
    ``path`` (``phoneNumber``, ``rejectType``, ``createdAt``); invalid numbers are skipped and reported (masked).
    The task returns counts, never numbers.

    :param records: a list of numbers, or of objects holding one in ``field``; typically an XComArg. (templated)
    :param input_path: a file of numbers (CSV with a header row, JSON, JSON Lines, optionally ``.gz``; local or
        object storage). Exactly one of ``records`` and ``input_path``. (templated)
    :param path: where to write the listed numbers: ``.csv`` or ``.jsonl``, optionally ``.gz``. (templated)
    :param field: the key or column holding the number. (templated)
    :param default_region: ISO country code used to read national-format numbers. (templated)
    :param max_concurrency: look-ups in flight, 1 to 10. ``pool_slots`` defaults to it.
    :param storage_conn_id: the Airflow connection for object storage paths.
    :param wooxy_conn_id: the Wooxy connection.
    """

    template_fields: Sequence[str] = ("records", "input_path", "path", "field", "default_region")
    ui_color = "#e8fdf0"
    method = PHONE_FIND

    def __init__(
        self,
        *,
        path: str,
        records: Any = None,
        input_path: str | None = None,
        field: str = "phoneNumber",
        default_region: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.records = records
        self.input_path = input_path
        self.field = field
        self.default_region = default_region

    def execute(self, context: Context) -> dict[str, Any]:
        started = pendulum.now("UTC")
        clock = time.monotonic()
        region = rendered_region(self.default_region)
        try:
            fmt, gzipped = export_format(self.path)
        except ExportError as exc:
            raise WooxyInputError(str(exc)) from None
        _ = self.hook.conn_params  # a missing or broken connection fails now, before anything is read
        items = iter_input(
            records=self.records,
            path=self.input_path or None,
            conn_id=self.storage_conn_id,
            field=self.field,
        )
        rejects = Rejects()
        counts = {"checked": 0, "listed": 0, "not_listed": 0, "duplicates": 0}
        by_reject_type: dict[str, int] = {}
        location = storage_path(self.path, self.storage_conn_id)
        location.parent.mkdir(parents=True, exist_ok=True)
        try:
            with location.open("wb") as stream:
                writer = EntryWriter(stream, fmt, gzipped=gzipped, columns=["phoneNumber", "rejectType", "createdAt"])
                for _, number, entries in look_up(
                    self.hook.find_phone_blacklist,
                    self._numbers(items, region, rejects, counts),
                    max_concurrency=self.max_concurrency,
                ):
                    counts["checked"] += 1
                    if not entries:
                        counts["not_listed"] += 1
                        continue
                    counts["listed"] += 1
                    rows = [
                        {"phoneNumber": number, "rejectType": e.get("rejectType"), "createdAt": e.get("createdAt")}
                        for e in entries
                    ]
                    for row in rows:
                        by_reject_type[str(row["rejectType"])] = by_reject_type.get(str(row["rejectType"]), 0) + 1
                    writer.write(rows)
                writer.close()
        except BaseException:
            if location.exists():
                location.unlink()
            rejects.close()
            raise
        if rejects.count:
            self.log.warning("%d invalid numbers skipped: %s", rejects.count, rejects.describe(10))
        summary: dict[str, Any] = {
            "operation": "phone-blacklist/check",
            **counts,
            "invalid": rejects.count,
            "by_reject_type": by_reject_type,
            "retries": self.hook.retries,
        }
        rejects.close()
        self.log.info(
            "Checked %d numbers: %d listed, %d not listed, %d invalid; listed ones written to %s.",
            counts["checked"],
            counts["listed"],
            counts["not_listed"],
            rejects.count,
            self.path,
        )
        return self._report_run(context, summary, started, clock)

    def _numbers(
        self, items: Iterator[tuple[int, object]], region: str | None, rejects: Rejects, counts: dict[str, int]
    ) -> Iterator[tuple[int, str]]:
        """``(row, E.164 number)`` for each valid, first-seen number; the others are counted."""
        seen: set[str] = set()
        for row, item in items:
            try:
                if isinstance(item, RecordError):
                    raise item
                value = item.get(self.field) if isinstance(item, dict) else item
                if value is None:
                    raise RecordError(f"no {self.field!r} key")
                number = normalise_phone(value, region)
            except RecordError as exc:
                value = item.get(self.field) if isinstance(item, dict) else item
                rejects.add(row, value if not isinstance(item, RecordError) else "", str(exc))
                continue
            if number in seen:
                counts["duplicates"] += 1
                continue
            seen.add(number)
            yield row, number

    def openlineage_datasets(self) -> tuple[list[LineageDataset], list[LineageDataset]]:
        """The Wooxy phone list in (with the input file, if any), the file of listed numbers out."""
        listed = (self.wooxy_summary or {}).get("listed")
        inputs = [wooxy_dataset(self.hook, "phone")] + ([file_dataset(self.input_path)] if self.input_path else [])
        return inputs, [file_dataset(self.path, listed)]
