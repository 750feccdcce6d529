"""Test-only names that moved between Airflow 2.11 and 3.x and that common-compat's ``sdk`` does not give by name."""

from __future__ import annotations

from airflow_provider_wooxy.compat import AIRFLOW_V_3_0_PLUS

# attach registers a filesystem for ObjectStoragePath.
if AIRFLOW_V_3_0_PLUS:
    from airflow.sdk.execution_time.context import OutletEventAccessors
    from airflow.sdk.io import attach
else:  # 2.x: airflow.io.store, and the task's outlet events in airflow.utils.context
    from airflow.io.store import attach  # type: ignore[no-redef]
    from airflow.utils.context import OutletEventAccessors  # type: ignore[no-redef]

__all__ = ["OutletEventAccessors", "attach"]
