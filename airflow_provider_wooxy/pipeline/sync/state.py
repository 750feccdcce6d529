"""
The state of a sync: the entries the provider manages on one Wooxy list, kept so that it can tell later what it
added (and may remove) from what others put there (which it never touches).

Layout, next to each other:

* the **snapshot**, ``state_path``: a JSON header line, then one entry per line (``address<TAB>reject type`` for
  emails, an E.164 number for phones), grouped by partition (:mod:`.snapshot` says the format). It is only ever
  replaced whole (:mod:`.stores`: an atomic rename, or one PUT).
* the **journal**, beside it: before its first request a run writes its **intent** there (``?+`` and each add's
  JSON record, ``?-`` and each remove's), and while it sends, every request Wooxy accepts is appended at once (``+``
  and the add's JSON record, ``-`` and the remove's). Loading replays it over the snapshot of the same generation;
  a partial last line (the process died mid-write) is ignored, which at worst re-sends one idempotent request. A
  run that finishes writes a new snapshot (new generation) and deletes the journal; a journal of an older
  generation is stale and ignored.
* an intended request no later record confirms is **in doubt** (:attr:`SyncState.doubtful`; the run died first).
  An add in doubt counts as managed (removed once the input drops it), and an entry in doubt the input still holds
  is added again (the plan's ``readd``): no kill forgets an add or believes listed an entry it may have removed.

While a run holds a state, its entries are not in memory: loading puts the snapshot's lines, and the journal's
records, into partitions on disk (:mod:`.partitions`). :meth:`SyncState.partition` reads one back, the plan and the
first pass spread the input over the same partitions, and a commit writes the new snapshot from them, so a sync's
memory is flat in the state's size.

A file that is not a state, is damaged, or was written for another list or another connection's base URL raises
:class:`StateError`: it is never taken for an empty state (which would make every entry look new and, worse, make
the provider forget what it may remove).

Plain Python: no Airflow import.
"""

from __future__ import annotations

import contextlib
import datetime
import threading
import uuid
from typing import TYPE_CHECKING, Any

from airflow_provider_wooxy.pipeline.sync.journal import intent_chunks, read_record
from airflow_provider_wooxy.pipeline.sync.known import known_file, known_location, read_known
from airflow_provider_wooxy.pipeline.sync.partitions import PartitionFiles, partition_of, partitions_for
from airflow_provider_wooxy.pipeline.sync.snapshot import (
    DIGEST_MOD,
    FORMAT,
    NEVER_EMPTY,
    VERSION,
    BadLine,
    StateError,
    copy_groups,
    first_bad_line,
    item_digest,
    read_header,
    spread_body,
    written_body,
    written_checksum,
    written_groups,
)
from airflow_provider_wooxy.pipeline.sync.stores import store_for

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from contextlib import AbstractContextManager

    from airflow_provider_wooxy.pipeline.sync.entries import ListKind


class SyncState:
    """
    The managed entries of one list, loaded from the snapshot and its journal, and kept up to date as requests
    are accepted. Use :func:`open_state`.

    :param location: the snapshot's location (a :class:`pathlib.Path`, or another path object: object storage).
    :param kind: the list (:data:`~airflow_provider_wooxy.pipeline.sync.entries.EMAIL` or ``PHONE``).
    :param base_url: the Wooxy connection's base URL; a state written for another one is refused.
    :param display: how to name the state in messages (the ``state_path`` as the user wrote it).
    :param flush_interval: seconds between journal writes on object storage (local journals flush every request).
    """

    def __init__(
        self,
        location: Any,
        kind: ListKind,
        base_url: str,
        *,
        display: str | None = None,
        flush_interval: float = 5.0,
    ) -> None:
        self.location = location
        self.kind = kind
        self.base_url = base_url
        self.display = display or str(location)
        self.store = store_for(location, flush_interval)
        self.exists = False
        self.snapshot_entries = 0
        """Entries in the snapshot, before its journal."""
        self.managed = 0
        """Managed entries now: exact once a plan was made (:meth:`partition`) or a snapshot written."""
        self.generation: str | None = None
        self.last_plan_id: str | None = None
        self.snapshot_digest = 0
        self.lines_distinct = False
        """Whether the snapshot's lines are known to be distinct entries: its checksum holds (this provider wrote it
        from its entries). Else a partition's are checked for an entry twice when :meth:`partition` reads it."""
        self.journal_add_digest = 0
        self.journal_remove_digest = 0
        self.journal_ops = 0
        self.listed: dict[str, str] = {}
        """identity -> state line of the entries known to be listed by someone else (:mod:`.known`)."""
        self.listed_problem: str | None = None
        self._listed_next: dict[str, str] | None = None
        self._listed_dirty = False
        self.doubtful: set[str] = set()
        """Identities of intended requests no record confirms (see the module's docstring); empty after a commit."""
        self.fence: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext
        """Wraps every write of the snapshot: the run's lease (:meth:`~.lease.Lease.fenced`) makes it fail, with
        nothing written, once another run holds the state."""
        self._lock = threading.Lock()
        self._files = PartitionFiles()

    @property
    def partitions(self) -> int:
        """How many partitions the entries are spread over on disk (:func:`~.partitions.partitions_for`)."""
        return self._files.count

    def iter_lines(self) -> Iterator[str]:
        """Every managed entry's state line, a partition at a time."""
        for index in range(self.partitions):
            yield from self.partition(index).values()

    # -- loading ---------------------------------------------------------------------------------------------

    def load(self) -> SyncState:
        """Read the snapshot and replay its journal; a missing snapshot is a first run (no managed entries)."""
        if not self.location.exists():
            if self.store.journal_parts():
                raise StateError(
                    f"{self.display} is missing but its journal is there: the state was deleted or moved "
                    "halfway. Restore it, or remove the journal too to start over (the provider then manages "
                    "nothing and removes nothing it added before)."
                )
            return self
        self.exists = True
        self.listed, self.listed_problem = read_known(self.location, self.kind, self.base_url)
        with self.location.open("rb") as handle:
            header = self._read_header(handle.readline())
            self._files = PartitionFiles(partitions_for(header["entries"]))
            # Digested and checksummed when written; a snapshot without both (an older release's, or edited by hand)
            # is digested and checked line by line here.
            checksum = written_checksum(header)
            written = header.get("digest") if checksum is not None else None
            groups = written_groups(header, self.partitions) if isinstance(written, str) else None
            copied = None if groups is None else copy_groups(handle, groups, self._files.write_snapshot)
        if copied is not None:
            count, body = copied  # the digest is the header's
        else:  # no groups, or not as the header says: the lines are spread one by one
            count, digest, body = self._spread_snapshot(
                compute=not isinstance(written, str), check_lines=checksum is None
            )
        if isinstance(written, str):
            try:
                digest = int(written, 16)
            except ValueError:
                raise StateError(f"{self.display} has a damaged header (its digest). {NEVER_EMPTY}") from None
        if count != header["entries"]:
            raise StateError(
                f"{self.display} is corrupt: its header says {header['entries']} entries but it holds {count}. "
                f"{NEVER_EMPTY}"
            )
        if checksum is not None and body != checksum:
            self._corrupt_body()
        self.lines_distinct = checksum is not None
        self.snapshot_digest = digest % DIGEST_MOD
        self.snapshot_entries = self.managed = count
        self._replay()
        self._files.close_ops()
        return self

    def _spread_snapshot(self, *, compute: bool, check_lines: bool) -> tuple[int, int, str]:
        """The snapshot's lines spread one by one (:func:`~.snapshot.spread_body`), read again from the start."""
        self._files.drop_snapshot()  # what a copy that failed left
        with self.location.open("rb") as handle:  # from the start (an object storage stream may not seek)
            handle.readline()
            try:
                return spread_body(
                    handle,
                    self.kind,
                    self.partitions,
                    self._files.write_snapshot_chunks,
                    compute=compute,
                    check_lines=check_lines,
                )
            except BadLine as bad:
                raise self._bad_line(bad.number) from None

    def _bad_line(self, number: int) -> StateError:
        return StateError(f"{self.display} is corrupt: line {number} is not {self.kind.entry_described}. {NEVER_EMPTY}")

    def _corrupt_body(self) -> None:
        """The snapshot's entries differ from what was written: say which line, when one is not an entry."""
        with self.location.open("rb") as handle:
            handle.readline()
            number = first_bad_line(handle, self.kind)
        if number is not None:
            raise self._bad_line(number)
        raise StateError(
            f"{self.display} is corrupt: its entries are not those it was written with (its header's checksum "
            f"differs). {NEVER_EMPTY}"
        )

    def _read_header(self, first: bytes) -> dict[str, Any]:
        header = read_header(first, self.kind, self.base_url, self.display)
        self.generation = header["generation"]
        self.last_plan_id = header.get("last_plan_id")
        return header

    # -- the journal -----------------------------------------------------------------------------------------

    def _replay(self) -> None:
        for part in self.store.journal_parts(self.generation):
            with part.open("rb") as handle:
                found = self.store.journal_lines(part, iter(handle.readline, b""), self.generation)
                if found is None:
                    continue
                lines, first = found
                for number, raw in enumerate(lines, start=first):
                    if raw.endswith(b"\n"):  # the last line, without one, was cut by a kill mid-write
                        self._apply_journal_line(raw[:-1], part, number)

    def _apply_journal_line(self, line: bytes, part: Any, number: int) -> None:
        record = read_record(line, self.kind)
        if record is None:
            raise StateError(
                f"the journal {part} of {self.display} is corrupt at line {number}: restore it, or delete it and "
                "run again (requests it recorded are re-sent or forgotten)."
            )
        sign = b"+" if record.added else b"-"
        ident = self.kind.identity(record.entry)
        if record.intended:  # possibly sent: an add counts as managed; either is in doubt until a record confirms it
            self.doubtful.add(ident)
            if record.added:
                self._spilled(sign, record.entry)
            return
        self.journal_ops += 1
        self.doubtful.discard(ident)
        self._spilled(sign, record.entry)
        digest = item_digest(record.payload)
        if record.added:
            self.journal_add_digest = (self.journal_add_digest + digest) % DIGEST_MOD
        else:
            self.journal_remove_digest = (self.journal_remove_digest + digest) % DIGEST_MOD

    def _spilled(self, sign: bytes, line: str) -> None:
        """Add one journal record (``+`` or ``-`` and the state line) to its partition."""
        kind = self.kind
        self._files.write_op(partition_of(kind.address_of(kind.identity(line)), self.partitions), sign, line)

    # -- the entries, a partition at a time ------------------------------------------------------------------

    def partition(self, index: int) -> dict[str, str]:
        """
        identity -> state line of the managed entries whose address is in partition ``index`` (of
        :attr:`partitions`, :func:`~.partitions.partition_of`): the snapshot's, with the journal and the requests
        recorded since loading replayed.
        """
        entries: dict[str, str] = {}
        text = self._files.snapshot_text(index)
        if text:
            lines = text.split("\n")
            lines.pop()  # after the last newline
            # The identities of a whole partition at once (str methods run in C): the common, unchanged case.
            idents = self.kind.identity(text).split("\n")
            idents.pop()
            entries = dict(zip(idents, lines, strict=True))
            if len(entries) != len(lines):
                raise StateError(
                    f"{self.display} is corrupt: it holds an entry twice (its header counts "
                    f"{self.snapshot_entries} entries, fewer are distinct). {NEVER_EMPTY}"
                )
        if self._files.has_ops(index):
            identity = self.kind.identity
            for added, line in self._files.ops(index):
                if added:
                    entries[identity(line)] = line
                else:
                    entries.pop(identity(line), None)
        return entries

    def partition_text(self, index: int) -> str:
        """
        The state lines of partition ``index``, each ending in a newline: the snapshot's part as it is when no
        journal record falls in it (a sync's first pass reads it so, without a dict), else :meth:`partition`'s.
        """
        if self._files.has_ops(index):
            return "".join(line + "\n" for line in self.partition(index).values())
        return self._files.snapshot_text(index)

    def release(self) -> None:
        """Remove the partitions from disk (the state cannot be read after this)."""
        with self._lock:
            self._files.close_ops()
        self._files.release()

    # -- while sending ---------------------------------------------------------------------------------------

    def begin(self) -> None:
        """Before the first request: make sure a snapshot exists for the journal to refer to."""
        if not self.exists:
            with self.fence():
                self._write_snapshot(())
            self.exists = True

    def record_intent(self, adds: Iterable[bytes], removes: Iterable[bytes]) -> None:
        """
        Before the first request: put the run's intended adds and removes (their payloads) into the journal, and
        make sure they reached it (object storage flushes now), so that a kill during sending cannot hide them.
        """
        with self._lock:
            for chunk in intent_chunks(adds, removes):
                self.store.append(chunk, self.generation)
                self.store.flush()  # a chunk at a time: object storage holds no more than one in memory

    def record(self, sign: bytes, payloads: Iterable[bytes]) -> None:
        """Record requests Wooxy accepted (``b"+"`` adds, ``b"-"`` removes); thread-safe."""
        lines = [sign + payload + b"\n" for payload in payloads]
        line_of = self.kind.line_of_payload
        with self._lock:
            self.store.append(lines, self.generation)
            for line in lines:
                self._spilled(sign, line_of(line[1:-1]))

    def close(self) -> None:
        """After a failure (or before a commit): put what is pending into the journal."""
        with self._lock:
            self.store.close_journal()

    def forget_listed(self, identities: set[str]) -> None:
        """Forget known entries that left Wooxy (a drift check found them missing): the input may add them now."""
        kept = {ident: line for ident, line in self.listed.items() if ident not in identities}
        self._listed_dirty = len(kept) != len(self.listed)
        self.listed = kept

    def keep_listed(self, entries: dict[str, str]) -> None:
        """What the next commit keeps as the entries known to be listed by someone else (:mod:`.known`)."""
        self._listed_next = entries if entries != self.listed or self._listed_dirty else None

    @property
    def changed(self) -> bool:
        """Whether a commit would change anything though nothing was sent: a journal to fold, known entries."""
        return bool(self.journal_ops or self.doubtful or self._listed_next is not None)

    def commit(self, plan_id: str | None) -> None:
        """After a complete run: a new snapshot with every entry as it is now, and the journal deleted."""
        self.close()
        with self.fence():
            if self._listed_next is not None:  # before the snapshot: a kill between the two loses nothing managed
                self.store.put(known_location(self.location), *known_file(self.kind, self.base_url, self._listed_next))
                self.listed, self._listed_next = self._listed_next, None
            old = self.store.journal_parts(self.generation)
            self.last_plan_id = plan_id
            self._write_snapshot(self.partition(index).values() for index in range(self.partitions))
            for part in old:
                with contextlib.suppress(FileNotFoundError):
                    part.unlink()
        self.journal_ops = 0
        self.journal_add_digest = self.journal_remove_digest = 0
        self.doubtful.clear()

    def _write_snapshot(self, groups: Iterable[Iterable[str]]) -> None:
        """
        Replace the snapshot with the entry lines of ``groups``: one per partition (a commit), or none (an empty
        state). The header (with the count) comes first: the entries are written to a scratch file, then copied.
        """
        with written_body(groups, self.kind, self._files.folder) as body:
            self.generation = uuid.uuid4().hex
            header = {
                "format": FORMAT,
                "version": VERSION,
                "list": self.kind.name,
                "base_url": self.base_url,
                "generation": self.generation,
                "entries": body.count,
                "last_plan_id": self.last_plan_id,
                "updated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                **body.header_fields(),
            }
            self.store.put_snapshot(header, body.file)
        self.snapshot_digest = body.digest
        self.snapshot_entries = self.managed = body.count


def open_state(location: Any, kind: ListKind, base_url: str, **kwargs: Any) -> SyncState:
    """
    The state at ``location``, not loaded yet, stored as the location calls for (:func:`~.stores.store_for`: a
    local file for a :class:`pathlib.Path`, object storage for any other path object). Takes :class:`SyncState`'s
    keyword arguments.
    """
    return SyncState(location, kind, base_url, **kwargs)
