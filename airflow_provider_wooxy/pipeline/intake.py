"""
The validation pass: every input item ends as valid (first seen), invalid (a reject with its row and reason) or
duplicate; then the checks that make an input as a whole unusable (empty, no such field, too many invalid).

Plain Python: no Airflow import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_wooxy.pipeline.validation import RecordError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

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


def validated(
    items: Iterator[tuple[int, object]],
    builder: Callable[[object], Normalised],
    tally: Tally,
    rejects: Rejects,
    field: str,
    *,
    identity: Callable[[str], str] | None = None,
    on_invalid: Callable[[object], None] | None = None,
) -> Iterator[tuple[int, str, str]]:
    """
    Yield ``(row, key, JSON record)`` for each valid, first-seen record; count and reject the others.

    :param identity: maps a validation key to what makes two records the same entry (by default the key).
    :param on_invalid: called with the address value of each invalid record (when there is one).
    """
    # 128-bit digests as ints: the only state that grows with the input. Two SipHash values of the key (Python's
    # str hash, keyed afresh in every process): a collision, which would drop a record as a duplicate, takes
    # ~2**64 records.
    seen: set[int] = set()
    missing_key = f"no {field!r} key"
    received = valid = duplicates = 0
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
            same = identity(key) if identity is not None else key
            hashed = (hash(same) << 64) ^ hash(same + "\x01")
            if hashed in seen:
                duplicates += 1
                continue
            seen.add(hashed)
            valid += 1
            yield row, key, payload
    finally:
        tally.received, tally.valid, tally.duplicates = received, valid, duplicates


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
