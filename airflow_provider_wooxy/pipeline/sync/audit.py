"""
A sync's audit trail (:mod:`~airflow_provider_wooxy.pipeline.changelog`): which changelog rows each accepted
request or refused record makes, and where the spools live.

The spools are kept **beside the state** (``<state>.changelog-path``, ``<state>.changelog-table``), not in its
journal: an older release reads a journal line it does not know as damage, and a state must stay readable by the
release that wrote it before. Each accepted request reaches the spool *before* the journal (and, on object storage,
the spool's part is written before each journal part), so the spool holds at least what the journal says Wooxy
accepted. A killed try's lines stay there, with that try's number; the next run that gets past its sends (the
retry, usually) writes them with its own, after its commit. A run of the same sync holds the state's lease
meanwhile, so no two runs write one spool.

Plain Python: no Airflow import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_wooxy.pipeline.changelog import ADD, READD, REMOVE, write_after_failure
from airflow_provider_wooxy.pipeline.sync.lease import LeaseLost

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from airflow_provider_wooxy.pipeline.changelog import Changelog
    from airflow_provider_wooxy.pipeline.sending import Record, Refusal
    from airflow_provider_wooxy.pipeline.sync.state import SyncState


class Resent(int):
    """The input row of a re-add (resync, verify, an add in doubt): a row to the sender, ``re-add`` to the changelog."""


def planned_adds(lines: Iterable[bytes], resent: bool) -> Iterator[tuple[int, bytes]]:
    """``(row, JSON record)`` of a plan's spooled adds (``row<TAB>record`` lines); a re-add's row is :class:`Resent`."""
    as_row = Resent if resent else int
    for line in lines:
        row, _, payload = line.rstrip(b"\n").partition(b"\t")
        yield as_row(row), payload


def log_accepted(changelog: Changelog, sign: bytes, records: Sequence[Record]) -> None:
    """The changelog lines of one accepted request: ``remove``, or its ``add`` and its ``re-add`` records."""
    if sign == b"-":
        changelog.accepted(REMOVE, [payload for _, payload in records])
        return
    adds = [payload for row, payload in records if not isinstance(row, Resent)]
    if adds:
        changelog.accepted(ADD, adds)
    if len(adds) < len(records):
        changelog.accepted(READD, [payload for row, payload in records if isinstance(row, Resent)])


def log_refused(changelog: Changelog, sign: bytes, refusal: Refusal) -> None:
    """The changelog line of one record Wooxy refused."""
    action = REMOVE if sign == b"-" else READD if isinstance(refusal.row, Resent) else ADD
    changelog.refused(action, refusal.payload, refusal.errors)


def write_changelog(changelog: Changelog, state: SyncState, log: Any) -> int:
    """Write the spools (:meth:`~.changelog.Changelog.write`) while no other run can take the state's lease."""
    with state.fence():
        rows = changelog.write()
    log.info("Changelog: %d rows written.", rows)
    return rows


def write_after_send_failure(changelog: Changelog | None, state: SyncState, log: Any) -> None:
    """
    After a failure while sending: write what was spooled (:func:`~.changelog.write_after_failure`), unless the
    lease is lost, when the run that took it over writes the spool.
    """
    try:
        with state.fence():
            write_after_failure(changelog, log)
    except LeaseLost:
        log.warning("The lease on the state is lost: the run that took it over writes the changelog's rows.")
