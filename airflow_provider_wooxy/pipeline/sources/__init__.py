"""
Every way into the engine, streamed: records handed over through XCom (xcom.py); a CSV, JSON array or JSON Lines
file, optionally gzipped (delimited.py, json_records.py), or a Parquet file (parquet.py), on local disk or any
object storage (file.py); many files as one input, a glob or a folder (files.py); a SQL query's result (sql.py).

Every reader yields ``(row, item)`` pairs, ``row`` being the record's 1-based position in the input (for CSV,
data rows after the header), and hands them over a chunk of rows at a time as well (chunks.py). A row that cannot
be read at all (a ragged CSV row, a broken JSON line) is yielded as a
:class:`~airflow_provider_wooxy.pipeline.validation.RecordError`, so that it is reported like any invalid record.
An input that is unusable as a whole raises :class:`~airflow_provider_wooxy.exceptions.WooxyInputError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.sources.file import iter_file_records
from airflow_provider_wooxy.pipeline.sources.files import FileItems, expand, is_many
from airflow_provider_wooxy.pipeline.sources.sql import iter_sql_records
from airflow_provider_wooxy.pipeline.sources.xcom import iter_xcom_records
from airflow_provider_wooxy.pipeline.storage import check_rendered, storage_path

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from airflow_provider_wooxy.pipeline.sources.chunks import Item


def iter_input(
    *,
    records: Any = None,
    path: str | None = None,
    sql: str | None = None,
    connect: Callable[[], Any] | None = None,
    parameters: Any = None,
    file_format: str | None = None,
    open_path: Callable[[str], Any] = storage_path,
    field: str,
    allow_empty: bool = False,
) -> Iterable[Item]:
    """
    The items of whichever input the operator was given: exactly one of ``records``, ``path`` (a file, a glob or
    a folder: files.py) and ``sql`` (run on the DB-API connection ``connect()`` opens: sql.py).

    ``open_path`` turns ``path``, and each file a glob or folder finds, into a path object to open: the operator's
    (Airflow's ``ObjectStoragePath`` under its storage connection for a URI); by default local paths only.
    """
    given = [name for name, value in (("records", records), ("path", path), ("sql", sql)) if value not in (None, "")]
    if len(given) != 1:
        raise WooxyInputError(
            "give exactly one of records= (a list, e.g. an XComArg), path= (a file, glob, folder or URI) and sql= "
            f"(a query), got {' and '.join(given) or 'none'}."
        )
    if records is not None:
        return iter_xcom_records(records, field)
    for argument, value, what in (("sql", sql, "a query"), ("file_format", file_format, "csv, json, jsonl or parquet")):
        if value is not None:
            check_rendered(argument, value, what)
    if sql:
        if connect is None:
            raise WooxyInputError("sql= needs sql_conn_id=, the connection to run the query on.")
        return iter_sql_records(connect(), sql, parameters=parameters, field=field)
    check_rendered("path", path, "a file, glob, folder or URI", path_object=True)
    path = str(path)
    if not is_many(path):
        return iter_file_records(path, file_format=file_format, open_path=open_path, field=field)
    paths = expand(path, open_path)
    if not paths and not allow_empty:
        raise WooxyInputError(
            f"no data file matches {path} (markers such as _SUCCESS, hidden and empty files are skipped); "
            "set allow_empty=True if that can be normal."
        )
    return FileItems(
        paths, lambda one: iter_file_records(one, file_format=file_format, open_path=open_path, field=field)
    )
