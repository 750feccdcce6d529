"""
Records Wooxy refused while sending, the same way for a push and a sync: each one a reject (source ``api``) with
the API's words, a warning in the log, and a :class:`~airflow_provider_wooxy.exceptions.WooxyRejectedError` once
the run's rejects are more than ``max_invalid``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from airflow_provider_wooxy.exceptions import WooxyRejectedError
from airflow_provider_wooxy.masking import mask_in

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from airflow_provider_wooxy.pipeline.rejects import Rejects
    from airflow_provider_wooxy.pipeline.sending import Refusal

DETAILS = 5
"""Refusals an error message names one by one."""


class Refusals:
    """
    The records the API refused in one run, added to the run's rejects as they are recorded.

    :param rejects: the run's rejects (the invalid input rows are in it already).
    :param key_field: the key of a record that holds its address (the list's ``key_field``).
    """

    def __init__(self, rejects: Rejects, key_field: str) -> None:
        self.rejects = rejects
        self.key_field = key_field
        self.refused: list[tuple[Refusal, object]] = []
        """Each refusal with the address its record holds."""

    @property
    def count(self) -> int:
        return len(self.refused)

    def add(self, refusals: Iterable[Refusal], *, what: str = "refused by Wooxy", row: int | None = None) -> None:
        """
        Record refusals as rejects, with the reason ``{what}: {the API's errors}``.

        :param what: how the reason starts (a sync's removes say ``remove refused by Wooxy``).
        :param row: the row to give every one instead of its own (a sync's remove has no input row: 0).
        """
        key = self.key_field
        for refusal in refusals:
            value = json.loads(refusal.payload).get(key, "")
            reason = f"{what}: {'; '.join(refusal.errors)}"
            self.rejects.add(refusal.row if row is None else row, value, reason, source="api")
            self.refused.append((refusal, value))

    def first(self, limit: int = DETAILS) -> list[str]:
        """``row N: the API's errors`` for the first refusals, the address they quote masked."""
        return [
            f"row {refusal.row}: {mask_in('; '.join(refusal.errors), value)}" for refusal, value in self.refused[:limit]
        ]

    def latest(self, limit: int = DETAILS) -> list[str]:
        """``row N: reason`` of the newest rejects in the masked sample, as many as there are refusals (at most
        ``limit``)."""
        return [f"row {r['row']}: {r['reason']}" for r in self.rejects.sample[-min(self.count, limit) :]]

    def check(
        self, log: Any, *, max_invalid: int | None, operation: str, outcome: str, details: Callable[[], list[str]]
    ) -> None:
        """
        Say in the log which records were refused, and raise :class:`WooxyRejectedError` when the run's rejects
        (invalid and refused) are more than ``max_invalid``; nothing when nothing was refused.

        :param operation: what the error names (the API method, or the sync).
        :param outcome: what became of the rest, for the error's first line.
        :param details: the lines naming refusals one by one (:meth:`first` or :meth:`latest`).
        """
        if not self.refused:
            return
        log.warning("Records refused by Wooxy: %s", self.rejects.describe(10))
        if max_invalid is not None and self.rejects.count > max_invalid:
            raise WooxyRejectedError(
                operation,
                [
                    f"{self.count} records refused (max_invalid={max_invalid}, {self.rejects.count} rejects in all); "
                    + outcome,
                    *details(),
                ],
            )
