"""Records given directly: a ``records`` argument, typically an upstream task's XCom (a list of strings or objects)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.sources.columns import checked_keys

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_wooxy.pipeline.sources.chunks import Item


def iter_xcom_records(records: object, field: str) -> Iterator[Item]:
    """
    Items from a ``records`` argument: a list of strings or objects (typically an upstream task's XCom), each
    object's keys matched as columns are (columns.py).
    """
    if isinstance(records, (str | bytes, Mapping)) or not isinstance(records, Iterable):
        hint = " (a JSON string? decode it upstream, or pass a file via path=)" if isinstance(records, str) else ""
        raise WooxyInputError(f"records must be a list of addresses or of objects, got {type(records).__name__}{hint}.")
    yield from checked_keys(enumerate(records, start=1), field)
