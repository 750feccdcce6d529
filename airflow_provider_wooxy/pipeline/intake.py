"""
The validation pass: every input item ends as valid (first seen), invalid (a reject with its row and reason) or
duplicate; then the checks that make an input as a whole unusable (empty, no such field, too many invalid).

Plain Python: no Airflow import.
"""

from __future__ import annotations

import tempfile
import zlib
from typing import IO, TYPE_CHECKING

from airflow_provider_wooxy.pipeline.validation import RecordError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from airflow_provider_wooxy.pipeline.rejects import Rejects
    from airflow_provider_wooxy.pipeline.validation import Normalised


class UnusableInput(Exception):
    """The input as a whole cannot be used; nothing was sent. The message names the problem and the rows."""


class Tally:
    """Counts of the validation pass."""

    def __init__(self) -> None:
        self.received = 0
        self.valid = 0
        self.duplicates = 0
        self.missing_field = 0


MEMORY_DIGESTS = 1_000_000
"""Dedupe digests held in memory (about 80 MB) before the rest of the input is deduplicated on disk."""
PARTITIONS = 64


Valid = tuple[int, str, str]
"""A valid record: ``(row, key, JSON record)``."""


class FirstSeen:
    """
    Drops records whose key came earlier (first seen wins), counting them, with memory flat in the input.

    The first ``memory_digests`` distinct keys are held in memory and their records pass in input order; the
    records after them are spread over ``PARTITIONS`` temporary files by a stable hash of their key, and each
    file is then deduplicated on its own and passed on, file after file. The order is the same for the same
    input, so batch numbers (checkpoints) stay meaningful.

    :param memory_digests: overrides :data:`MEMORY_DIGESTS`.
    """

    def __init__(self, memory_digests: int | None = None) -> None:
        self.limit = memory_digests or MEMORY_DIGESTS
        self.duplicates = 0

    def __call__(self, records: Iterator[Valid]) -> Iterator[Valid]:
        # 128-bit digests as ints: two SipHash values of the key (Python's str hash, keyed afresh in every
        # process); a collision, which would drop a record as a duplicate, takes ~2**64 records.
        seen: set[int] = set()
        partitions: list[IO[bytes]] | None = None
        room = self.limit  # a local countdown: the in-memory loop is the hot path, kept free of the spill's checks
        try:
            for record in records:
                key = record[1]
                hashed = (hash(key) << 64) ^ hash(key + "\x01")
                if hashed in seen:
                    self.duplicates += 1
                    continue
                seen.add(hashed)
                yield record
                room -= 1
                if not room:
                    break
            else:
                return
            # Memory is full: the rest of the input is deduplicated on disk, partition by partition.
            partitions = [  # closed in the finally clause below
                tempfile.TemporaryFile(prefix="wooxy-dedupe-")  # noqa: SIM115
                for _ in range(PARTITIONS)
            ]
            for record in records:
                key = record[1]
                if (hash(key) << 64) ^ hash(key + "\x01") in seen:
                    self.duplicates += 1
                    continue
                encoded = key.encode()
                partitions[zlib.crc32(encoded) % PARTITIONS].write(
                    # The key last: an entry identity may hold a tab; JSON text never does.
                    b"%d\t%b\t%b\n" % (record[0], record[2].encode(), encoded)
                )
            for part in partitions or ():
                local: set[int] = set()
                part.seek(0)
                for line in part:
                    row_text, payload_bytes, key_bytes = line.rstrip(b"\n").split(b"\t", 2)
                    key = key_bytes.decode()
                    hashed = (hash(key) << 64) ^ hash(key + "\x01")
                    if hashed in local:
                        self.duplicates += 1
                        continue
                    local.add(hashed)
                    yield int(row_text), key, payload_bytes.decode()
                part.close()
        finally:
            for part in partitions or ():
                part.close()


def validated(
    items: Iterable[tuple[int, object]],
    builder: Callable[[object], Normalised],
    tally: Tally,
    rejects: Rejects,
    field: str,
    *,
    dedupe: bool = True,
    on_invalid: Callable[[object], None] | None = None,
    memory_digests: int | None = None,
) -> Iterator[Valid]:
    """
    Yield ``(row, key, JSON record)`` for each valid (and, with ``dedupe``, first-seen) record; count and reject
    the others. See :class:`FirstSeen` for how memory stays flat.

    :param dedupe: drop records whose key came earlier (a sync dedupes against its state itself).
    :param on_invalid: called with the address value of each invalid record (when there is one).
    :param memory_digests: overrides :data:`MEMORY_DIGESTS`.
    """
    first = FirstSeen(memory_digests)
    records = _checked(items, builder, tally, rejects, field, on_invalid)
    valid = 0
    try:
        for record in first(records) if dedupe else records:
            valid += 1
            yield record
    finally:
        tally.valid, tally.duplicates = valid, first.duplicates


def _checked(
    items: Iterable[tuple[int, object]],
    builder: Callable[[object], Normalised],
    tally: Tally,
    rejects: Rejects,
    field: str,
    on_invalid: Callable[[object], None] | None,
) -> Iterator[Valid]:
    missing_key = f"no {field!r} key"
    received = 0
    try:
        for row, item in items:
            received += 1
            if isinstance(item, RecordError):
                rejects.add(row, "", str(item))
                continue
            try:
                key, payload = builder(item)
            except RecordError as exc:
                reason = str(exc)
                if reason.startswith(missing_key):
                    tally.missing_field += 1
                value = item.get(field) if isinstance(item, dict) else item
                rejects.add(row, value, reason)
                if on_invalid is not None:
                    on_invalid(value)
                continue
            yield row, key, payload
    finally:
        tally.received = received


def check_input(
    tally: Tally,
    rejects: Rejects,
    *,
    field: str,
    source: str,
    allow_empty: bool,
    max_invalid: int | None,
    rejects_path: str | None,
    log: Callable[..., None],
    warn: Callable[..., None],
) -> None:
    """After the validation pass, before any request: raise :class:`UnusableInput` for an unusable input."""
    log(
        "Read %d records from %s: %d valid, %d invalid, %d duplicates.",
        tally.received,
        source,
        tally.valid,
        rejects.count,
        tally.duplicates,
    )
    if tally.received == 0:
        if allow_empty:
            warn("The input is empty (allow_empty=True).")
            return
        raise UnusableInput(f"the input ({source}) holds no records; set allow_empty=True if that can be normal.")
    if tally.missing_field and tally.missing_field == tally.received:
        raise UnusableInput(f"none of the {tally.received} records has the key {field!r}: {rejects.describe(1)}.")
    if rejects.count:
        warn("Invalid records (first %d): %s", min(rejects.count, 10), rejects.describe(10))
    if max_invalid is not None and rejects.count > max_invalid:
        where = f" All rejects are listed in {rejects_path}." if rejects_path else ""
        raise UnusableInput(
            f"{rejects.count} of {tally.received} records are invalid, more than max_invalid={max_invalid}; "
            f"nothing was sent.{where} First problems: {rejects.describe()}."
        )
