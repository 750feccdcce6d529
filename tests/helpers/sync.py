"""Sync states for tests: made through the state's own seams (begin, record, commit), and read back whole."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from airflow_provider_wooxy.pipeline.sync.entries import EMAIL, ListKind
from airflow_provider_wooxy.pipeline.sync.state import SyncState, open_state
from airflow_provider_wooxy.pipeline.validation import EmailRecords

if TYPE_CHECKING:
    from pathlib import Path

URL = "https://api.wooxy.com"
BUILD = EmailRecords()


def add(address: str, reject_type: str = "hard") -> bytes:
    """An email add's JSON record."""
    return json.dumps({"email": address, "rejectType": reject_type}).encode()


def records(addresses: list[str]) -> list[tuple[int, str, str]]:
    """Validated email records ``(row, key, JSON record)``, rows from 1."""
    return [(row, *BUILD(address)) for row, address in enumerate(addresses, start=1)]


def fresh(location: Any, kind: ListKind = EMAIL) -> SyncState:
    """The state at ``location``, loaded."""
    return open_state(location, kind, URL).load()


def committed(path: Any, addresses: list[str]) -> Any:
    """A finished sync's state at ``path`` managing ``addresses`` (reject type hard, as given)."""
    state = fresh(path)
    state.begin()
    state.record(b"+", [add(address) for address in addresses])
    state.commit(None)
    return path


def state_with(path: Path, addresses: list[str]) -> SyncState:
    """A loaded state managing ``addresses`` as validated (lower-cased, reject type hard)."""
    state = fresh(path)
    state.begin()
    state.record(b"+", [payload.encode() for _, _, payload in records(addresses)])
    state.commit(None)
    return fresh(path)


def managed(state: SyncState) -> dict[str, str]:
    """identity -> state line of every managed entry, read a partition at a time as the engine reads them."""
    entries: dict[str, str] = {}
    for index in range(state.partitions):
        entries.update(state.partition(index))
    return entries
