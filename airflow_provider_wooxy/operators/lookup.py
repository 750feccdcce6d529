"""Operator that checks which of a set of phone numbers are on the Wooxy phone blacklist."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pendulum

from airflow_provider_wooxy.api import PHONE_LIST
from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.operators.arguments import check_field, output_path_argument, rendered_region
from airflow_provider_wooxy.operators.base import WooxyOperator
from airflow_provider_wooxy.operators.lineage import LineageDataset, file_dataset, sql_datasets, wooxy_dataset
from airflow_provider_wooxy.operators.records import sql_connector
from airflow_provider_wooxy.pipeline.lookup import check_numbers
from airflow_provider_wooxy.pipeline.output import ExportError, export_format
from airflow_provider_wooxy.pipeline.rejects import Rejects
from airflow_provider_wooxy.pipeline.sources import iter_input
from airflow_provider_wooxy.pipeline.storage import check_file_location
from airflow_provider_wooxy.pipeline.validation import PhoneRecords

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_wooxy.pipeline.sources.chunks import Item


class WooxyCheckPhoneBlacklistOperator(WooxyOperator):
    """
    Check which of the given phone numbers are on the Wooxy phone blacklist, and with which reject type.

    The phone blacklist cannot be listed (its find method needs a number): this is its read side. Numbers come
    from XCom or a file, as for the other operators, are normalised to E.164 (``default_region`` for national
    formats) and looked up one request each, up to ``max_concurrency`` in flight. The listed ones are written to
    ``output_path`` (``phoneNumber``, ``rejectType``, ``createdAt``); invalid numbers are skipped and reported
    (masked). The task returns counts, never numbers. Airflow glue over ``pipeline/lookup.py``
    (``check_numbers``).

    :param records: a list of numbers, or of objects holding one in ``field``; typically an XComArg. (templated)
    :param input_path: a file of numbers (CSV with a header row, JSON, JSON Lines, optionally ``.gz``; local or
        object storage; or Parquet, a glob or a folder: docs/sources.md). Exactly one of ``records``, ``input_path``
        and ``sql``. (templated)
    :param sql: a query whose result holds the numbers, streamed. (templated)
    :param sql_conn_id: the Airflow connection of any common.sql database to run ``sql`` on.
    :param parameters: the query's parameters, in the driver's style. (templated)
    :param output_path: where to write the listed numbers: ``.csv`` or ``.jsonl``, optionally ``.gz``. (templated)
    :param path: deprecated name of ``output_path``.
    :param field: the key or column holding the number. (templated)
    :param default_region: ISO country code used to read national-format numbers. (templated)
    :param max_concurrency: look-ups in flight, 1 to 10. ``pool_slots`` defaults to it.
    :param storage_conn_id: the Airflow connection for object storage paths.
    :param wooxy_conn_id: the Wooxy connection.
    """

    template_fields: Sequence[str] = (
        "records",
        "input_path",
        "sql",
        "parameters",
        "output_path",
        "field",
        "default_region",
    )
    ui_color = "#e8fdf0"
    wooxy_list = PHONE_LIST

    def __init__(
        self,
        *,
        output_path: str | None = None,
        records: Any = None,
        input_path: str | None = None,
        sql: str | None = None,
        sql_conn_id: str | None = None,
        parameters: Any = None,
        field: str = "phoneNumber",
        default_region: str | None = None,
        path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.output_path = output_path_argument(output_path, path)
        self.records = records
        self.input_path = input_path
        self.sql = sql
        self.sql_conn_id = sql_conn_id
        self.parameters = parameters
        self.field = field
        self.default_region = default_region

    def execute(self, context: Context) -> dict[str, Any]:
        started = pendulum.now("UTC")
        clock = time.monotonic()
        check_file_location("output_path", self.output_path)
        numbers = PhoneRecords(field=self._field(), default_region=rendered_region(self.default_region))
        fmt, gzipped = self._output_format()
        _ = self.hook.conn_params  # a missing or broken connection fails now, before anything is read
        rejects = Rejects()
        try:
            summary = check_numbers(
                self.hook.find_phone_blacklist,
                self._read_input(rejects),
                numbers,
                self.location(self.output_path),
                fmt=fmt,
                gzipped=gzipped,
                rejects=rejects,
                max_concurrency=self.max_concurrency,
            )
            if rejects.count:
                self.log.warning("%d invalid numbers skipped: %s", rejects.count, rejects.describe(10))
        finally:
            rejects.close()
        summary["retries"] = self.hook.retries
        self.log.info(
            "Checked %d numbers: %d listed, %d not listed, %d invalid; listed ones written to %s.",
            *(summary[key] for key in ("checked", "listed", "not_listed", "invalid")),
            self.output_path,
        )
        return self._report_run(context, summary, started, clock)

    def _field(self) -> str:
        return check_field(self.field) or self.wooxy_list.key_field

    def _output_format(self) -> tuple[str, bool]:
        """``(format, gzipped)`` of ``output_path``, from its suffix."""
        try:
            return export_format(self.output_path)
        except ExportError as exc:
            raise WooxyInputError(str(exc)) from None

    def _read_input(self, rejects: Rejects) -> Iterable[Item]:
        """The numbers to look up, ``(row, record)``, from ``records``, ``input_path`` or ``sql``."""
        items = iter_input(
            records=self.records,
            path=self.input_path or None,
            sql=self.sql or None,
            connect=sql_connector(self.sql_conn_id),
            parameters=self.parameters,
            open_path=self.location,
            field=self.field,
        )
        rejects.locate = getattr(items, "locate", None)
        return items

    def openlineage_datasets(self) -> tuple[list[LineageDataset], list[LineageDataset]]:
        """The Wooxy phone list in (with the input file, if any), the file of listed numbers out."""
        listed = (self.wooxy_summary or {}).get("listed")
        inputs = [wooxy_dataset(self.hook, self.wooxy_list.name)]
        inputs += [file_dataset(self.input_path)] if self.input_path else []
        if self.sql and self.sql_conn_id:
            inputs += sql_datasets(self.sql, self.sql_conn_id)
        return inputs, [file_dataset(self.output_path, listed)]
