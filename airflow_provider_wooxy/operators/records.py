"""
The records that the push and sync operators send to a Wooxy list: where they come from (the input's arguments),
and what each list's records are (its reject types, ``raw_log``, ``default_region``, the record builder).
Their base, and that of every Wooxy operator, is ``WooxyOperator`` in ``operators/base.py``.

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

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_wooxy.api import EMAIL_LIST, MAX_RECORDS_PER_REQUEST, PHONE_LIST
from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.operators.arguments import check_batch_size, check_field, check_max_invalid, rendered_region
from airflow_provider_wooxy.operators.base import WooxyOperator
from airflow_provider_wooxy.pipeline.sources import iter_input
from airflow_provider_wooxy.pipeline.storage import TABLE_SUFFIXES, check_file_location
from airflow_provider_wooxy.pipeline.validation import (
    EmailRecords,
    Normalised,
    PhoneRecords,
    RecordError,
    check_raw_log,
    check_reject_type,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from airflow_provider_wooxy.pipeline.rejects import Rejects
    from airflow_provider_wooxy.pipeline.sources.chunks import Item


def sql_connector(sql_conn_id: str | None) -> Callable[[], Any]:
    """
    Opens a DB-API connection through the common.sql ``DbApiHook`` of ``sql_conn_id`` (the ``[sql]`` extra; the
    database's own provider is the user's: postgres, snowflake, google, amazon, databricks, sqlite...).
    """

    def connect() -> Any:
        if not sql_conn_id:
            raise WooxyInputError("sql= needs sql_conn_id=, the Airflow connection of the database to query.")
        try:
            from airflow.providers.common.sql.hooks.sql import DbApiHook
        except ImportError:
            raise WooxyInputError(
                "reading a SQL query needs apache-airflow-providers-common-sql: install the provider's sql extra "
                "(pip install 'airflow-provider-wooxy[sql]') and the provider of your database."
            ) from None
        hook = BaseHook.get_hook(sql_conn_id)
        if not isinstance(hook, DbApiHook):
            raise WooxyInputError(
                f"connection {sql_conn_id!r} gives a {type(hook).__name__}, not a SQL (common.sql DbApiHook) hook."
            )
        try:
            return hook.get_conn()
        except Exception as exc:  # each driver has its own error classes
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise WooxyInputError(f"cannot connect to the database of {sql_conn_id!r}: {reason}") from None

    return connect


class WooxyInputOperator(WooxyOperator):
    """
    Shared base of the operators that send an input to a Wooxy list: the input's arguments and how it is read.

    :param records: a list of addresses, or of objects with the API's keys; typically an XComArg. (templated)
    :param path: a local path or an object storage URI (``s3://``, ``gs://``, ``file://``...) of a CSV (with a
        header row), JSON array, JSON Lines (optionally ``.gz``) or Parquet file. Exactly one of ``records``,
        ``path`` and ``sql``. A glob (``s3://bucket/unload/*.parquet``) or a folder (trailing ``/``: every data
        file in it, skipping ``_SUCCESS``, hidden and empty files) reads the matching files in name order as one
        input; a reject then names its file and row (docs/sources.md). (templated)
    :param sql: a query whose result is the input, one row per record, streamed (a server-side cursor with
        psycopg). Exactly one of ``records``, ``path`` and ``sql``. (templated)
    :param sql_conn_id: the Airflow connection of any common.sql database (the ``[sql]`` extra) to run ``sql`` on.
    :param parameters: the query's parameters, in the driver's style. (templated)
    :param file_format: ``csv``, ``json``, ``jsonl`` (``.gz`` suffix allowed) or ``parquet`` when the path's
        suffix does not say; for a glob or folder it applies to every file. (templated)
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
    :param changelog_path: the audit trail: one row per entry and outcome (accepted, refused) of each run,
        appended to this file after the sends: ``.csv`` or ``.jsonl`` (optionally ``.gz``), or ``.parquet`` (the
        ``[parquet]`` extra); local or object storage. See docs/guides/audit.md. (templated)
    :param changelog_table: the same rows appended to this table (created when missing) through
        ``changelog_conn_id``. (templated)
    :param changelog_conn_id: the Airflow connection of a common.sql database (the ``[sql]`` extra) for
        ``changelog_table``.

    And those of :class:`WooxyOperator`: ``max_concurrency``, ``storage_conn_id`` (for object storage paths:
    input, rejects, and the family's own files), ``wooxy_conn_id``.
    """

    template_fields: Sequence[str] = (
        "records",
        "path",
        "sql",
        "parameters",
        "file_format",
        "field",
        "reject_type",
        "changelog_path",
        "changelog_table",
    )

    def __init__(
        self,
        *,
        records: Any = None,
        path: str | None = None,
        sql: str | None = None,
        sql_conn_id: str | None = None,
        parameters: Any = None,
        file_format: str | None = None,
        field: str | None = None,
        reject_type: str | None = None,
        batch_size: int = MAX_RECORDS_PER_REQUEST,
        max_invalid: int | None = 0,
        rejects_path: str | None = None,
        dry_run: bool = False,
        allow_empty: bool = False,
        progress_interval: float = 30.0,
        changelog_path: str | None = None,
        changelog_table: str | None = None,
        changelog_conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        check_batch_size(batch_size)
        check_max_invalid(max_invalid)
        super().__init__(**kwargs)
        self.records = records
        self.path = path
        self.sql = sql
        self.sql_conn_id = sql_conn_id
        self.parameters = parameters
        self.file_format = file_format
        self.field = field
        self.reject_type = reject_type
        self.batch_size = batch_size
        self.max_invalid = max_invalid
        self.rejects_path = rejects_path
        # BaseOperator has a dry_run() method (Airflow 2.11 and 3.x): the argument is kept under another name.
        self.is_dry_run = dry_run
        self.allow_empty = allow_empty
        self.progress_interval = progress_interval
        self.changelog_path = changelog_path
        self.changelog_table = changelog_table
        self.changelog_conn_id = changelog_conn_id

    # -- per-list specifics ----------------------------------------------------------------------------------

    def record_builder(self, field: str) -> Callable[[object], Normalised]:
        """The validator/normaliser for this list and action, from the rendered arguments; ``field`` holds the
        address."""
        raise NotImplementedError

    def _rendered_reject_type(self) -> str | None:
        if self.reject_type in (None, ""):
            return None
        try:
            return check_reject_type(self.reject_type, self.wooxy_list.reject_types, "reject_type")
        except RecordError as exc:
            raise WooxyInputError(f"{exc}.") from None

    def _rendered_region(self) -> str | None:
        """The region national-format numbers are read in: none but for the phone list."""
        return None

    # -- the input -------------------------------------------------------------------------------------------

    def _rendered_field(self) -> str:
        """The key or column holding the address: ``field``, or the API's name for it."""
        return check_field(self.field) or self.wooxy_list.key_field

    def _read_input(self, field: str, rejects: Rejects | None = None) -> Iterable[Item]:
        """
        The input's items, ``(row, record)``, from ``records``, ``path`` or ``sql``; for several files, ``rejects``
        learns which file each row came from.
        """
        check_file_location("rejects_path", self.rejects_path, suffixes=TABLE_SUFFIXES)
        items = iter_input(
            records=self.records,
            path=self.path or None,
            sql=self.sql or None,
            connect=sql_connector(self.sql_conn_id),
            parameters=self.parameters,
            file_format=self.file_format,
            open_path=self.location,
            field=field,
            allow_empty=self.allow_empty,
        )
        if rejects is not None:
            rejects.locate = getattr(items, "locate", None)
        return items

    @property
    def input_source(self) -> str:
        """The input as the log and messages name it: the path, ``the query`` or ``records``."""
        return self.path or ("the query" if self.sql else "records")

    def _write_rejects(self, rejects: Rejects) -> None:
        """Write the rejected records to ``rejects_path`` (when given and there are any), then free them."""
        if self.rejects_path and rejects.count:
            rejects.export(self.location(self.rejects_path))
            self.log.info("Wrote %d rejected records to %s", rejects.count, self.rejects_path)
        rejects.close()


class WooxyEmailInputOperator(WooxyInputOperator):
    """
    The email list's input: its reject types, and ``raw_log`` for added records.

    :param reject_type: ``hard`` (default, as Wooxy's own importer), ``complaint`` or ``list-unsubscribe``, for
        records that carry no ``rejectType``. (templated)
    :param raw_log: reason text for records without a ``rawLog`` (at most 1024 UTF-8 bytes). (templated)
    """

    wooxy_list = EMAIL_LIST

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

    wooxy_list = PHONE_LIST

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
