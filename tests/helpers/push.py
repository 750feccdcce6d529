"""Running the push engine as the push operators do, without an operator: the input read, a hook, the summary."""

from __future__ import annotations

import logging
from typing import Any

from airflow_provider_wooxy.api import EMAIL_LIST, PHONE_LIST, list_of_method
from airflow_provider_wooxy.hooks.wooxy import WooxyHook
from airflow_provider_wooxy.pipeline.push import Push, PushSettings
from airflow_provider_wooxy.pipeline.rejects import Rejects
from airflow_provider_wooxy.pipeline.sources import iter_input
from airflow_provider_wooxy.pipeline.validation import EmailRecords, PhoneRecords

LOG = logging.getLogger("tests.push")

BUILDERS = {
    EMAIL_LIST.add: lambda: EmailRecords(),
    EMAIL_LIST.remove: lambda: EmailRecords(require_reject_type=False, with_raw_log=False),
    PHONE_LIST.add: lambda: PhoneRecords(),
    PHONE_LIST.remove: lambda: PhoneRecords(with_reject_type=False),
}
"""Each method's validator, as the push operators build it with their default arguments."""


def emails(n: int, start: int = 0) -> list[str]:
    return [f"user{i}@example.com" for i in range(start, start + n)]


def make_push(method: str = EMAIL_LIST.add, *, hook: WooxyHook | None = None, **settings: Any) -> Push:
    """A :class:`Push` with the operators' defaults (a remove sends one record per request) over ``hook``."""
    defaults: dict[str, Any] = {
        "batch_size": 100 if method == list_of_method(method).add else 1,
        "max_concurrency": 10,
        "max_invalid": 0,
        "checkpoint_path": None,
        "checkpoint_location": None,
        "dry_run": False,
        "allow_empty": False,
        "rejects_path": None,
        "source": "records",
    }
    key_field = list_of_method(method).key_field
    return Push(
        hook or WooxyHook(), PushSettings(method=method, address_key=key_field, **{**defaults, **settings}), LOG
    )


def push(
    records: Any = None,
    *,
    path: str | None = None,
    method: str = EMAIL_LIST.add,
    hook: WooxyHook | None = None,
    rejects_path: str | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """
    Push ``records`` (a list) or the file at ``path`` through ``Push.run`` and return its summary; the rejects go
    to ``rejects_path`` (when given) whatever happens, as the operators write them.
    """
    builder = BUILDERS[method]()
    rejects = Rejects()
    try:
        items = iter_input(
            records=records, path=path, field=builder.field, allow_empty=settings.get("allow_empty", False)
        )
        engine = make_push(method, hook=hook, rejects_path=rejects_path, source=path or "records", **settings)
        return engine.run(items, builder, builder.field, rejects)
    finally:
        if rejects_path and rejects.count:
            rejects.export(rejects_path)
        rejects.close()
