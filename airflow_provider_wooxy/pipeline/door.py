"""
What the engine needs of the Wooxy hook: the one write door and the two find methods, as a protocol.

The engine is written against this protocol, not against ``hooks/wooxy.py`` (the layers' contract in pyproject.toml:
``pipeline`` imports no ``hooks``); ``WooxyHook`` is the implementation the operators pass in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


class WooxyDoor(Protocol):
    """The hook's methods the engine calls (see ``WooxyHook`` for what each does)."""

    retries: int
    """Requests retried so far by this hook (for the summary)."""

    def send_records(self, method: str, records: Sequence[bytes | Mapping[str, Any]]) -> dict[str, Any]: ...

    def find_email_blacklist(
        self,
        reject_type: str,
        email: str | None = None,
        *,
        with_raw_log: bool = False,
        offset: int = 0,
        limit: int = ...,
    ) -> dict[str, Any]: ...

    def find_phone_blacklist(
        self, phone_number: str, reject_type: str | None = None, *, offset: int = 0, limit: int = ...
    ) -> dict[str, Any]: ...
