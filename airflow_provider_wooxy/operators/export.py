"""Operator that exports the Wooxy email blacklist to a file."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pendulum

from airflow_provider_wooxy.api import EMAIL_LIST, EMAIL_REJECT_TYPES, MAX_ANSWER_BYTES, MAX_PAGE_SIZE
from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.operators.arguments import output_path_argument
from airflow_provider_wooxy.operators.base import WooxyOperator
from airflow_provider_wooxy.operators.lineage import LineageDataset, file_dataset, wooxy_dataset
from airflow_provider_wooxy.pipeline.export import DEFAULT_PAGE_SIZE, EmailExport, ExportSettings
from airflow_provider_wooxy.pipeline.output import ExportError, export_format
from airflow_provider_wooxy.pipeline.storage import check_file_location

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.providers.common.compat.sdk import Context


class WooxyExportEmailBlacklistOperator(WooxyOperator):
    """
    Export the Wooxy email blacklist to a CSV or JSON Lines file, one row per entry, up to 10 pages in flight.

    Rows: ``email``, ``rejectType``, ``createdAt``, ``expireAt`` (when Wooxy gives one) and ``rawLog`` (with
    ``with_raw_log=True``). The file is streamed as pages arrive: memory stays flat in the list's size. The task
    returns counts per reject type, never addresses. The file appears whole or not at all: it is
    written under a temporary name beside ``output_path`` and moved into place at the end (a failed or killed
    export leaves no partial file).

    The list is read with offset paging: an entry added or removed while the export runs can make another entry
    be seen twice (removed from the file: ``duplicates`` in the summary) or missed (the reject type is then named
    in ``changed_while_exporting``; export again once the list is quiet for an exact copy).

    :param output_path: where to write: a local path or an object storage URI (``s3://``, ``gs://``,
        ``file://``...), ``.csv`` or ``.jsonl``, optionally ``.gz``. (templated)
    :param path: deprecated name of ``output_path``.
    :param reject_types: the reject types to export, in this order; default all three. (templated)
    :param with_raw_log: also export each entry's ``rawLog``.
    :param page_size: rows asked for per request, 1 to 1,500 (the API may serve fewer: paging follows what it
        serves); a larger page could exceed the 16 MiB an answer may hold.
    :param max_concurrency: pages in flight at once, 1 to 10. ``pool_slots`` defaults to it.
    :param storage_conn_id: the Airflow connection for an object storage ``path``.
    :param wooxy_conn_id: the Wooxy connection.
    :param progress_interval: seconds between progress log lines.
    """

    template_fields: Sequence[str] = ("output_path", "reject_types")
    ui_color = "#e8fdf0"
    wooxy_list = EMAIL_LIST

    def __init__(
        self,
        *,
        output_path: str | None = None,
        reject_types: Sequence[str] | str = EMAIL_REJECT_TYPES,
        with_raw_log: bool = False,
        page_size: int = DEFAULT_PAGE_SIZE,
        progress_interval: float = 30.0,
        path: str | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise WooxyInputError(
                f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE}, got {page_size!r}: a larger page "
                f"could exceed the {MAX_ANSWER_BYTES // (1024 * 1024)} MiB an answer may hold."
            )
        super().__init__(**kwargs)
        self.output_path = output_path_argument(output_path, path)
        self.reject_types = reject_types
        self.with_raw_log = with_raw_log
        self.page_size = page_size
        self.progress_interval = progress_interval
        self._export: EmailExport | None = None

    def _rendered_reject_types(self) -> list[str]:
        chosen = [self.reject_types] if isinstance(self.reject_types, str) else list(self.reject_types or ())
        unknown = [t for t in chosen if t not in EMAIL_REJECT_TYPES]
        if not chosen or unknown:
            raise WooxyInputError(
                f"reject_types must name some of {', '.join(EMAIL_REJECT_TYPES)}, got {self.reject_types!r}."
            )
        return list(dict.fromkeys(chosen))

    def execute(self, context: Context) -> dict[str, Any]:
        started = pendulum.now("UTC")
        clock = time.monotonic()
        check_file_location("output_path", self.output_path)
        settings = ExportSettings(
            reject_types=self._rendered_reject_types(),
            with_raw_log=self.with_raw_log,
            page_size=self.page_size,
            max_concurrency=self.max_concurrency,
            progress_interval=self.progress_interval,
        )
        try:
            fmt, gzipped = export_format(self.output_path)
        except ExportError as exc:
            raise WooxyInputError(str(exc)) from None
        _ = self.hook.conn_params  # a missing or broken connection fails now, before the file is created
        self.log.info(
            "Exporting the email blacklist (%s) to %s: pages of %d, %d in flight.",
            ", ".join(settings.reject_types),
            self.output_path,
            self.page_size,
            self.max_concurrency,
        )
        self._export = EmailExport(self.hook.find_email_blacklist, settings, self.log)
        try:
            summary = self._export.run(self.location(self.output_path), fmt, gzipped)
        finally:
            self._export = None
        summary["retries"] = self.hook.retries
        self.log.info(
            "Exported %d entries (%s) to %s in %d requests; %d overlaps removed, %d retries.",
            summary["exported"],
            ", ".join(f"{name} {count}" for name, count in summary["by_reject_type"].items()),
            self.output_path,
            summary["requests"],
            summary["duplicates"],
            summary["retries"],
        )
        return self._report_run(context, summary, started, clock)

    def on_kill(self) -> None:
        """Airflow is stopping the task: stop paging after the requests in flight."""
        if self._export is not None:
            self._export.stop("the task was stopped (on_kill)")

    def openlineage_datasets(self) -> tuple[list[LineageDataset], list[LineageDataset]]:
        """The Wooxy email list in, the file out (with the rows written)."""
        exported = (self.wooxy_summary or {}).get("exported")
        return [wooxy_dataset(self.hook, self.wooxy_list.name)], [file_dataset(self.output_path, exported)]
