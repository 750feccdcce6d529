"""
The push and sync operators' audit trail: ``changelog_path`` (a file, local or object storage) and
``changelog_table`` + ``changelog_conn_id`` (a table through the connection's common.sql ``DbApiHook``), turned
into the engine's :class:`~airflow_provider_wooxy.pipeline.changelog.Changelog` with the task instance's context.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.changelog import Changelog, RunContext, spool_for
from airflow_provider_wooxy.pipeline.changelog_files import FileSink
from airflow_provider_wooxy.pipeline.changelog_table import TableSink, check_table_name
from airflow_provider_wooxy.pipeline.storage import check_rendered

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider_wooxy.pipeline.changelog import Sink


def sql_hook(conn_id: str | None, argument: str) -> Any:
    """The common.sql ``DbApiHook`` of ``conn_id`` (the ``[sql]`` extra), for ``argument``'s table."""
    if not conn_id:
        raise WooxyInputError(f"{argument} needs changelog_conn_id=, the Airflow connection of its database.")
    try:
        from airflow.providers.common.sql.hooks.sql import DbApiHook
    except ImportError:
        raise WooxyInputError(
            f"{argument} needs apache-airflow-providers-common-sql: install the provider's sql extra "
            "(pip install 'airflow-provider-wooxy[sql]') and the provider of your database."
        ) from None
    hook = BaseHook.get_hook(conn_id)
    if not isinstance(hook, DbApiHook):
        raise WooxyInputError(
            f"connection {conn_id!r} gives a {type(hook).__name__}, not a SQL (common.sql DbApiHook) hook."
        )
    return hook


def changelog_sinks(op: Any) -> dict[str, Sink]:
    """The sinks the rendered arguments of ``op`` name (checked before anything is read or sent): by name."""
    sinks: dict[str, Sink] = {}
    if op.changelog_path:
        check_rendered("changelog_path", op.changelog_path, "a path or URI", path_object=True)
        sinks["path"] = FileSink(op.location(op.changelog_path), str(op.changelog_path))
    if op.changelog_table:
        check_rendered("changelog_table", op.changelog_table, "a table name")
        check_table_name(op.changelog_table)
        sinks["table"] = TableSink(sql_hook(op.changelog_conn_id, "changelog_table"), op.changelog_table)
    elif op.changelog_conn_id:
        raise WooxyInputError("changelog_conn_id is set but changelog_table is not: name the table to append to.")
    return sinks


def run_context(op: Any, context: Mapping[str, Any]) -> RunContext:
    """Who writes the rows: the task instance of ``context`` (``execute({})`` outside a run: the task alone)."""
    ti: Any = context.get("ti") or context.get("task_instance")
    return RunContext(
        dag_id=getattr(ti, "dag_id", None) or op.dag_id,
        task_id=getattr(ti, "task_id", None) or op.task_id,
        run_id=getattr(ti, "run_id", None),
        try_number=getattr(ti, "try_number", None),
    )


def changelog_for(op: Any, context: Mapping[str, Any], beside: Any) -> Changelog | None:
    """
    The run's changelog, its spools beside ``beside`` (the state, the checkpoint) or in temporary files (None);
    None without a changelog argument, and for a dry run, which writes none.
    """
    sinks = changelog_sinks(op)
    if not sinks or op.is_dry_run:
        return None
    spools = [(sink, spool_for(beside, name)) for name, sink in sinks.items()]
    return Changelog(op.wooxy_list.key_field, run_context(op, context), spools)
