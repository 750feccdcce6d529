"""
Checks of the operators' arguments that are not templated, shared by every Wooxy operator.

They run in ``__init__`` (at DAG parse time) because ``pool_slots`` is derived from ``max_concurrency``, and a wrong
value should fail the DAG file, not a run. Each raises :class:`WooxyInputError` with one clear message.
"""

from __future__ import annotations

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.hooks.wooxy import MAX_CONCURRENT_REQUESTS, MAX_RECORDS_PER_REQUEST


def check_max_concurrency(value: object) -> None:
    """Requests in flight: 1 to 10, Wooxy's limit per account."""
    if not isinstance(value, int) or not 1 <= value <= MAX_CONCURRENT_REQUESTS:
        raise WooxyInputError(
            f"max_concurrency must be between 1 and {MAX_CONCURRENT_REQUESTS} (Wooxy allows at most "
            f"{MAX_CONCURRENT_REQUESTS} requests in flight per account), got {value!r}."
        )


def check_batch_size(value: object) -> None:
    """Records per add request: 1 to 100, Wooxy's limit per request."""
    if not isinstance(value, int) or not 1 <= value <= MAX_RECORDS_PER_REQUEST:
        raise WooxyInputError(
            f"batch_size must be between 1 and {MAX_RECORDS_PER_REQUEST} (Wooxy takes at most "
            f"{MAX_RECORDS_PER_REQUEST} records per request), got {value!r}."
        )


def check_max_invalid(value: object) -> None:
    """How many rejected records a run tolerates: a whole number >= 0, or ``None`` for any number."""
    if value is not None and (not isinstance(value, int) or value < 0):
        raise WooxyInputError(f"max_invalid must be a whole number >= 0 or None, got {value!r}.")
