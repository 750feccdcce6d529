"""
The base of every Wooxy operator (push, sync, export, look-up): :class:`WooxyOperator`.

It also turns the operators' path arguments into the path objects the engine takes
(:meth:`WooxyOperator.location`): a ``Path`` for a local path, Airflow's ``ObjectStoragePath`` under
``storage_conn_id`` for a URI, so that every path an operator hands the engine may be a URI opened through an
Airflow connection (the engine itself opens no URI: ``pipeline/storage.py``).
"""

from __future__ import annotations

import time
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.providers.common.compat.sdk import BaseOperator, ObjectStoragePath

from airflow_provider_wooxy.api import MAX_CONCURRENT_REQUESTS
from airflow_provider_wooxy.hooks.wooxy import WooxyHook
from airflow_provider_wooxy.operators.arguments import check_max_concurrency
from airflow_provider_wooxy.operators.lineage import WooxyLineageMixin
from airflow_provider_wooxy.pipeline.storage import storage_path

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


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

    def location(self, path: Any) -> Any:
        """
        The path object the engine takes for the path argument ``path``: a ``Path`` for a local path, an
        ``ObjectStoragePath`` under ``storage_conn_id`` for a URI (``s3://``, ``gs://``, ``file://``...), a path
        object as it is.
        """
        if isinstance(path, str) and "://" in path:
            return ObjectStoragePath(path, conn_id=self.storage_conn_id)
        return storage_path(path)

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
