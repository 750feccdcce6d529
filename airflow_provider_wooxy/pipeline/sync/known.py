"""
The entries a sync knows Wooxy lists for someone else: new entries of its input that were on the list already when
it would have added them (:mod:`.listed`). The sync keeps them beside its state, known but not managed, so that
later runs neither look them up again nor ever remove them. A file ``<state>.listed``: a JSON header line, then
one state line per entry. It is rewritten whole when a run commits; a run whose input drops such an entry forgets
it (nothing is sent).

Plain Python: no Airflow import.
"""

from __future__ import annotations

import io
import json
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_wooxy.pipeline.sync.entries import ListKind

FORMAT = "wooxy-sync-listed"
SUFFIX = ".listed"


def known_location(state_location: Any) -> Any:
    """Where the known entries of the state at ``state_location`` are kept."""
    return state_location.parent / f"{state_location.name}{SUFFIX}"


def read_known(state_location: Any, kind: ListKind, base_url: str) -> tuple[dict[str, str], str | None]:
    """
    identity -> state line of the known entries, and a problem (None when the file is fine or missing). A damaged
    or foreign file is read as none known (each such entry is looked up again): it is a record, not a promise.
    """
    location = known_location(state_location)
    if not location.exists():
        return {}, None
    with location.open("rb") as handle:
        try:
            header = json.loads(handle.readline())
        except ValueError:
            header = None
        expected = {"format": FORMAT, "list": kind.name, "base_url": base_url}
        if not isinstance(header, dict) or any(header.get(key) != value for key, value in expected.items()):
            return {}, f"{location} is not this sync's list of known entries: it is ignored"
        text = handle.read().decode("utf-8", "replace")
    lines = [line for line in text.split("\n") if kind.shape.fullmatch(line)]
    return {kind.identity(line): line for line in lines}, None


def known_file(kind: ListKind, base_url: str, entries: dict[str, str]) -> tuple[dict[str, Any], IO[bytes]]:
    """The header and the body of the known entries' file."""
    body = "".join(line + "\n" for line in entries.values()).encode("utf-8", "surrogatepass")
    return {"format": FORMAT, "list": kind.name, "base_url": base_url, "entries": len(entries)}, io.BytesIO(body)
