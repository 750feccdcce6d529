"""
What every Wooxy operator tells Airflow about the data it moved: asset event extras and OpenLineage facets.

An operator inherits :class:`WooxyLineageMixin` and calls :meth:`~WooxyLineageMixin.report_summary` with its
summary at the end of ``execute``. Then:

- each ``Asset`` in its ``outlets`` gets the summary's counts in its asset event's ``extra`` (numbers only, never
  an address), so a DAG scheduled on that asset can read them from the triggering event;
- with the OpenLineage provider installed (the ``[openlineage]`` extra), ``get_openlineage_facets_on_complete``
  reports the input (a file, or the upstream tasks whose XCom was read) and the output (the Wooxy list, in the
  namespace ``wooxy://<connection host>``, named ``blacklist/email`` or ``blacklist/phone``), with row counts,
  and the changelog file or table (``changelog_path``, ``changelog_table``) when there is one.
  The provider is imported only there, so it stays optional.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from airflow.providers.common.compat.sdk import Asset

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow.providers.common.compat.sdk import Context
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_wooxy.api import WooxyList
    from airflow_provider_wooxy.hooks.wooxy import WooxyHook

_EXTRA_STRINGS = ("operation", "started_at", "finished_at")
"""Summary strings safe in an asset event: names and times. Every other string is left out: it could hold an
address (a sample of rejects) or a path with personal data in it."""


def asset_extra(summary: Mapping[str, Any]) -> dict[str, Any]:
    """
    The part of a summary that goes into an asset event's ``extra``: counts, flags and times, never addresses.

    Kept: numbers and booleans, mappings of names to numbers (counts per reject type), and the strings named in
    :data:`_EXTRA_STRINGS`. Lists (samples of rejects) and other strings are left out.
    """
    extra: dict[str, Any] = {}
    for key, value in summary.items():
        if isinstance(value, bool | int | float) or (key in _EXTRA_STRINGS and isinstance(value, str)):
            extra[key] = value
        elif isinstance(value, dict) and all(isinstance(v, int | float) for v in value.values()):
            extra[key] = {str(k): v for k, v in value.items()}
    return extra


@dataclass(frozen=True)
class LineageDataset:
    """An OpenLineage dataset, plain: ``namespace``, ``name`` and, when known, how many rows were written."""

    namespace: str
    name: str
    rows: int | None = None


def file_dataset(path: str, rows: int | None = None) -> LineageDataset:
    """
    A file as OpenLineage names it: ``s3://bucket`` + ``key`` for object storage, ``file`` + the path for a local
    file.
    """
    if "://" in path:
        parts = urlsplit(path)
        if parts.scheme == "file":
            return LineageDataset("file", parts.path, rows)
        return LineageDataset(f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/"), rows)
    from pathlib import Path

    return LineageDataset("file", str(Path(path).absolute()), rows)


def sql_datasets(sql: str, conn_id: str) -> list[LineageDataset]:
    """
    A query's input as OpenLineage names it: the tables it reads, in the connection's namespace, as the
    OpenLineage SQL parser sees them (``postgres://host:port`` + ``database.schema.table``); where the hook gives no
    database info or the parser cannot tell, the connection itself (``<conn_type>://<host or conn_id>``).
    """
    from airflow.providers.common.compat.sdk import BaseHook

    hook = BaseHook.get_hook(conn_id)
    connection = hook.get_connection(conn_id)
    try:
        from airflow.providers.openlineage.sqlparser import SQLParser

        info = hook.get_openlineage_database_info(connection)
        if info is not None:
            lineage = SQLParser(
                dialect=hook.get_openlineage_database_dialect(connection),
                default_schema=hook.get_openlineage_default_schema(),
            ).generate_openlineage_metadata_from_sql(sql=sql, hook=hook, database_info=info, use_connection=False)
            if lineage.inputs:
                return [LineageDataset(d.namespace, d.name) for d in lineage.inputs]
    except Exception:  # lineage must never fail the task: fall back to the connection
        pass
    host = connection.host or conn_id
    return [LineageDataset(f"{connection.conn_type}://{host}", connection.schema or "query")]


def changelog_datasets(op: Any, rows: int | None = None) -> list[LineageDataset]:
    """
    The operator's changelog (``changelog_path``, ``changelog_table``) as output datasets: the file as
    :func:`file_dataset` names it, the table in its connection's namespace (``<conn_type>://host[:port]``, named
    ``<schema>.<table>``).
    """
    datasets = []
    path = getattr(op, "changelog_path", None)
    if isinstance(path, str) and path:
        datasets.append(file_dataset(path, rows))
    table, conn_id = getattr(op, "changelog_table", None), getattr(op, "changelog_conn_id", None)
    if isinstance(table, str) and table and conn_id:
        from airflow.providers.common.compat.sdk import BaseHook

        connection = BaseHook.get_connection(conn_id)
        where = f"{connection.host or conn_id}{f':{connection.port}' if connection.port else ''}"
        name = f"{connection.schema}.{table}" if connection.schema and table.count(".") < 2 else table
        datasets.append(LineageDataset(f"{connection.conn_type}://{where}", name, rows))
    return datasets


def wooxy_dataset(hook: WooxyHook, list_name: str, rows: int | None = None) -> LineageDataset:
    """A Wooxy blacklist: namespace ``wooxy://<host[:port]>`` from the connection, name ``blacklist/<list>``."""
    netloc = urlsplit(hook.conn_params.base_url).netloc
    return LineageDataset(f"wooxy://{netloc}", f"blacklist/{list_name}", rows)


class WooxyLineageMixin:
    """
    Gives an operator asset event extras and OpenLineage facets from its summary.

    Mix it in before ``BaseOperator`` and call :meth:`report_summary` with the summary at the end of ``execute``.
    The defaults suit operators that write to a Wooxy list (add, remove, sync): the input is ``path`` or the
    upstream tasks, the output is the operator's ``wooxy_list``. An operator that reads from Wooxy overrides
    :meth:`openlineage_datasets`.
    """

    wooxy_summary: dict[str, Any] | None = None
    """The summary of the last ``execute``, for OpenLineage (called after ``execute``, in the same process)."""

    wooxy_list: ClassVar[WooxyList]
    """The Wooxy list the operator works on."""

    # Provided by BaseOperator and the Wooxy operators; declared for the type checker.
    outlets: Any
    dag_id: str
    upstream_task_ids: set[str]

    def report_summary(self, context: Context | Mapping[str, Any], summary: dict[str, Any]) -> None:
        """Keep ``summary`` for OpenLineage and attach its counts to the event of every ``Asset`` outlet."""
        self.wooxy_summary = summary
        assets = [outlet for outlet in (getattr(self, "outlets", None) or []) if isinstance(outlet, Asset)]
        events = context.get("outlet_events") if assets else None
        if events is None:  # no outlets, or called outside a task run (a unit test's execute({}))
            return
        extra = asset_extra(summary)
        for asset in assets:
            events[asset].extra.update(extra)

    def openlineage_datasets(self) -> tuple[list[LineageDataset], list[LineageDataset]]:
        """``(inputs, outputs)``; by default an input file or the upstream tasks' XCom, and the Wooxy list."""
        summary = self.wooxy_summary or {}
        path = getattr(self, "path", None)
        sql, sql_conn_id = getattr(self, "sql", None), getattr(self, "sql_conn_id", None)
        if sql and sql_conn_id:
            inputs = sql_datasets(sql, sql_conn_id)
        elif path:
            inputs = [file_dataset(path)]
        else:
            inputs = [
                LineageDataset(_openlineage_namespace(), f"{self.dag_id}.{task_id}.xcom")
                for task_id in sorted(self.upstream_task_ids)
            ]
        sent = summary.get("sent")
        hook: WooxyHook = self.hook  # type: ignore[attr-defined]  # every Wooxy operator has one
        rows = summary.get("changelog_rows")
        changelog = changelog_datasets(self, rows if isinstance(rows, int) else None)
        return inputs, [wooxy_dataset(hook, self.wooxy_list.name, sent if isinstance(sent, int) else None), *changelog]

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """OpenLineage's hook: the datasets of :meth:`openlineage_datasets`, with output row counts."""
        # Imported here: the OpenLineage provider is an optional extra, and calls this only when installed.
        from airflow.providers.common.compat.openlineage.facet import (
            Dataset,
            OutputDataset,
            OutputStatisticsOutputDatasetFacet,
        )
        from airflow.providers.openlineage.extractors import OperatorLineage

        inputs, outputs = self.openlineage_datasets()
        return OperatorLineage(
            inputs=[Dataset(namespace=d.namespace, name=d.name) for d in inputs],
            outputs=[
                OutputDataset(
                    namespace=d.namespace,
                    name=d.name,
                    outputFacets={"outputStatistics": OutputStatisticsOutputDatasetFacet(rowCount=d.rows)}
                    if d.rows is not None
                    else {},
                )
                for d in outputs
            ],
        )


def _openlineage_namespace() -> str:
    """The OpenLineage namespace Airflow's jobs are reported in (``[openlineage] namespace``, default ``default``)."""
    try:
        from airflow.providers.openlineage.conf import namespace
    except ImportError:
        return "default"
    return str(namespace())
