"""
The journal's lines: what a sync records beside its state while it sends (:mod:`.state` says when).

* ``+`` and an add's JSON record, ``-`` and a remove's: a request Wooxy accepted;
* ``?+`` and ``?-`` and the same records: a request the run **intends** to send, written before its first request
  (write-ahead), so that a run killed while sending leaves its possible effects on record.

Plain Python: no Airflow import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from airflow_provider_wooxy.pipeline.sync.entries import ListKind

INTENT = b"?"
"""The first byte of a line that records an intended request, not an accepted one."""
INTENT_CHUNK = 10_000
"""Intent lines handed to the store at once."""


@dataclass(frozen=True)
class JournalRecord:
    """One journal line, read."""

    intended: bool
    """A request the run meant to send (``?``), not one Wooxy accepted."""
    added: bool
    """An add (``+``), else a remove (``-``)."""
    entry: str
    """The entry's state line."""
    payload: bytes
    """The request's JSON record."""


def read_record(line: bytes, kind: ListKind) -> JournalRecord | None:
    """The record of a journal line (without its newline); None when the line is not one."""
    intended = line[:1] == INTENT
    if intended:
        line = line[1:]
    sign, payload = line[:1], line[1:]
    if sign not in (b"+", b"-"):
        return None
    try:
        entry = kind.line_of_payload(payload)
    except (ValueError, KeyError, TypeError):
        return None
    return JournalRecord(intended, sign == b"+", entry, payload)


def intent_chunks(adds: Iterable[bytes], removes: Iterable[bytes]) -> Iterator[list[bytes]]:
    """The intent lines of a run's adds and removes (their JSON records), ``INTENT_CHUNK`` at a time."""
    for sign, payloads in ((b"+", adds), (b"-", removes)):
        chunk: list[bytes] = []
        for payload in payloads:
            chunk.append(INTENT + sign + payload + b"\n")
            if len(chunk) >= INTENT_CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
