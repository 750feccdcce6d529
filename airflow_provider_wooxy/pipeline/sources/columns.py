"""
The one rule for finding the columns (or an object's keys) a source reads, the same in every source: the address
column ``field``, and ``rejectType`` / ``rawLog`` when present.

- A column named exactly as wanted is read.
- A column whose name matches only when case and ``_`` / ``-`` are ignored (``RejectType``, ``reject_type``,
  ``EMAIL``) is refused before anything is sent, naming it and what to rename it to: reading it silently could
  send the wrong reject type, and ignoring it silently sends the default one.
- Two columns that both match (exactly or so) are refused as ambiguous.

Raises :class:`~airflow_provider_wooxy.exceptions.WooxyInputError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_wooxy.exceptions import WooxyInputError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from airflow_provider_wooxy.pipeline.sources.chunks import Item

EXTRA = ("rejectType", "rawLog")
"""The columns read beside the address when present."""


def fold(name: str) -> str:
    """A name with case and ``_`` / ``-`` ignored: ``Reject_Type`` -> ``rejecttype``."""
    return name.lower().replace("_", "").replace("-", "")


def columns_read(names: Sequence[str], field: str, where: str, what: str = "column") -> dict[str, int]:
    """
    The index in ``names`` of each column read: ``field`` (missing from the result when there is none) and each
    of :data:`EXTRA` present. ``where`` starts the messages (``the CSV header``), ``what`` names a column or a key.
    """
    found: dict[str, int] = {}
    folded = [fold(name) for name in names]
    for wanted in (field, *EXTRA):
        if wanted in found:
            continue
        hits = [i for i, name in enumerate(folded) if name == fold(wanted)]
        if len(hits) > 1:
            raise _ambiguous([names[i] for i in hits], hits, wanted, where, what)
        if hits and names[hits[0]] != wanted:
            hint = f" or set field={names[hits[0]]!r}" if wanted == field else ""
            raise WooxyInputError(
                f"{where} has no {wanted!r} {what} but {names[hits[0]]!r}, which matches it only when case and "
                f"'_' / '-' are ignored: rename it to {wanted!r}{hint}."
            )
        if hits:
            found[wanted] = hits[0]
    return found


def _ambiguous(matching: list[str], hits: list[int], wanted: str, where: str, what: str) -> WooxyInputError:
    places = f" ({what}s {', '.join(str(i + 1) for i in hits)})" if what == "column" else ""
    if len(set(matching)) == 1:
        named = f"names the {what} {wanted!r} {len(hits)} times{places}"
    else:
        named = f"has {len(hits)} {what}s that match {wanted!r} ({', '.join(map(repr, matching))}){places}"
    return WooxyInputError(f"{where} {named}: which one to read is ambiguous; rename or drop the extra {what}s.")


def checked_keys(items: Iterable[Item], field: str) -> Iterator[Item]:
    """``items`` as they are, each object's keys held to :func:`columns_read` (the row names the object)."""
    wanted = {fold(name) for name in (field, *EXTRA)}
    fine: set[tuple[str, ...]] = set()  # key sets seen to pass: records mostly share one
    for row, item in items:
        if isinstance(item, dict):
            keys = tuple(item)
            if keys not in fine:
                if any(fold(key) in wanted for key in keys if isinstance(key, str)):
                    columns_read([str(key) for key in keys], field, f"row {row}: the object", "key")
                if len(fine) < 1024:
                    fine.add(keys)
        yield row, item
