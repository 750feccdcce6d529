"""Test-only names that moved between Airflow 2.11 and 3.x and that common-compat's ``sdk`` does not give by name."""

from __future__ import annotations

from airflow.providers.common.compat.sdk import io as _airflow_io

from airflow_provider_wooxy.compat import AIRFLOW_V_3_0_PLUS

attach = _airflow_io.attach
"""Registers a filesystem for ``ObjectStoragePath`` (``airflow.sdk.io`` on 3.x, ``airflow.io`` on 2.x)."""

if AIRFLOW_V_3_0_PLUS:
    from airflow.sdk.execution_time.context import OutletEventAccessors
else:  # 2.x keeps the task's outlet events in airflow.utils.context
    from airflow.utils.context import OutletEventAccessors  # type: ignore[no-redef]

__all__ = ["OutletEventAccessors", "attach"]
