"""
A sync's plan: the validated desired content of a list against the state of what the provider manages there.

* ``to_add``: input entries the state does not hold; ``to_remove``: managed entries the input no longer holds;
  ``unchanged``: both. Entries on Wooxy that are not in the state (foreign entries) are not in the plan at all.
* A managed entry whose input row was invalid (tolerated by ``max_invalid``) is **kept**, not removed: a row that
  turned bad is a broken extract, not a decision to un-suppress someone. It is matched by its address as far as
  the bad row lets one be read (``kept_invalid`` counts them); a row too damaged to name an address cannot be
  matched, so its entry counts as a removal, which the removal guard then weighs.
* ``plan_id`` is a digest of the state the plan starts from and of its exact adds and removes: the same input
  against the same state gives the same id, and any change to either gives another one. When an earlier attempt
  stopped midway, the requests its journal recorded are counted as part of the plan, so the retry of an approved
  plan keeps its id while it does only what is left.

Plain Python: no Airflow import.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import math
import tempfile
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from airflow_provider_wooxy.pipeline.intake import FirstSeen
from airflow_provider_wooxy.pipeline.sync.state import DIGEST_MOD, item_digest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from airflow_provider_wooxy.pipeline.sync.entries import ListKind
    from airflow_provider_wooxy.pipeline.sync.state import SyncState


class RemovalGuardError(Exception):
    """A plan removes more than ``max_removals`` allows; nothing was sent."""


def check_max_removals(value: object) -> int | float | None:
    """``max_removals`` as given: an int >= 0 (a count), a float in (0, 1] (a fraction), or None (no limit)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(
            f"max_removals must be an int (a count), a float in (0, 1] (a fraction) or None, got {value!r}"
        )
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"max_removals must be >= 0, got {value!r}")
        return value
    if not 0 < value <= 1:
        raise ValueError(f"max_removals as a fraction must be in (0, 1], got {value!r}; use an int for a count")
    return value


def removal_limit(max_removals: int | float | None, managed: int) -> int | None:
    """How many removals a plan may hold: a count as given, or the fraction of the managed entries rounded down."""
    if max_removals is None:
        return None
    if isinstance(max_removals, int):
        return max_removals
    return math.floor(max_removals * managed + 1e-9)


@dataclass
class Plan:
    """What a sync would do. The adds wait in a temporary spool file; close the plan when done."""

    kind: ListKind
    managed_before: int
    removals: list[str]
    """State lines of the managed entries to remove."""
    to_add: int = 0
    unchanged: int = 0
    duplicates: int = 0
    """Records naming an entry an earlier record of the input named already."""
    kept_invalid: int = 0
    resent: int = 0
    """Managed entries the input still holds whose add is sent again (``readd``), spooled with the adds."""
    plan_id: str = ""
    # Lives as long as the plan: closed by close().
    _spool: IO[bytes] = field(default_factory=lambda: tempfile.TemporaryFile(prefix="wooxy-plan-"))  # noqa: SIM115

    @property
    def to_remove(self) -> int:
        return len(self.removals)

    @property
    def empty(self) -> bool:
        return self.to_add == 0 and self.resent == 0 and not self.removals

    def adds(self) -> Iterator[tuple[int, bytes]]:
        """``(input row, JSON record)`` of every add, in input order."""
        spool = self._spool
        spool.flush()
        spool.seek(0)
        for line in spool:
            row, _, payload = line.rstrip(b"\n").partition(b"\t")
            yield int(row), payload

    def remove_payloads(self) -> Iterator[bytes]:
        remove_payload = self.kind.remove_payload
        for line in self.removals:
            yield remove_payload(line)

    def counts(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "list": self.kind.name,
            "managed_before": self.managed_before,
            "to_add": self.to_add,
            "to_remove": self.to_remove,
            "unchanged": self.unchanged,
            "kept_invalid": self.kept_invalid,
            "resent": self.resent,
        }

    def close(self) -> None:
        self._spool.close()


def make_plan(
    records: Iterable[tuple[int, str, str]],
    state: SyncState,
    *,
    held_addresses: set[str] | None = None,
    memory_digests: int | None = None,
    readd: Callable[[str], bool] | None = None,
) -> Plan:
    """
    Diff validated records ``(row, key, JSON record)`` against the state, dropping (and counting) duplicates: two
    records are the same entry when the list says so (phones: the same number, whatever the reject type).

    :param held_addresses: addresses (in the list's comparison form) named by invalid input rows: managed
        entries with one of these addresses are kept, not removed. Filled while ``records`` is consumed.
    :param readd: called with the identity of each managed entry the input still holds: when it answers true,
        the input's record is added again (``resent``; a resync, or a repair of what Wooxy lost).
    """
    kind = state.kind
    entries = state.entries
    identity_of_key = kind.identity_of_key
    # Managed entries the input has not named yet: a copy of the state's index (the strings are shared). What is
    # left at the end is what the input no longer holds.
    absent = dict(entries)
    plan = Plan(kind=kind, managed_before=len(entries), removals=[])
    duplicates = 0
    write = plan._spool.write
    add_digest = 0

    def new_entries() -> Iterator[tuple[int, str, str]]:
        nonlocal duplicates, add_digest
        for row, key, payload in records:
            ident = identity_of_key(key)
            if ident in entries:
                if absent.pop(ident, None) is None:
                    duplicates += 1
                elif readd is not None and readd(ident):
                    data = payload.encode()
                    write(b"%d\t%b\n" % (row, data))
                    add_digest += item_digest(data)
                    plan.resent += 1
                continue
            yield row, ident, payload

    # The adds are deduplicated like any input (flat memory); the managed entries need no set of their own.
    first = FirstSeen(memory_digests)
    to_add = 0
    for row, _, payload in first(new_entries()):
        data = payload.encode()
        write(b"%d\t%b\n" % (row, data))
        add_digest += item_digest(data)
        to_add += 1
    duplicates += first.duplicates
    held = held_addresses or set()
    address_of = kind.address_of
    remove_digest = 0
    for ident, line in absent.items():
        if held and address_of(ident) in held:
            plan.kept_invalid += 1
            continue
        plan.removals.append(line)
        remove_digest += item_digest(kind.remove_payload(line))
    plan.to_add = to_add
    plan.unchanged = len(entries) - len(absent)
    plan.duplicates = duplicates
    absent.clear()
    plan.plan_id = plan_id(
        state,
        (state.journal_add_digest + add_digest) % DIGEST_MOD,
        (state.journal_remove_digest + remove_digest) % DIGEST_MOD,
    )
    return plan


def plan_id(state: SyncState, add_digest: int, remove_digest: int) -> str:
    """The digest of the starting state (snapshot, before its journal) and of every add and remove of the plan."""
    text = f"wooxy-sync-plan/1\n{state.kind.name}\n{state.snapshot_digest:x}\n{add_digest:x}\n{remove_digest:x}\n"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def write_plan(stream: IO[bytes], name: str, plan: Plan, extra: dict[str, Any]) -> None:
    """
    Write the plan: counts first, then every add and every remove. CSV when ``name`` ends in ``.csv`` (the
    counts as ``name,value`` rows before the entries), JSON Lines otherwise; ``.gz`` compresses.
    """
    lower = name.lower()
    raw: IO[bytes] = gzip.GzipFile(fileobj=stream, mode="wb") if lower.endswith(".gz") else stream  # type: ignore[assignment]
    text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    counts = {**plan.counts(), **extra}
    key = plan.kind.address_key
    if lower.removesuffix(".gz").endswith(".csv"):
        writer = csv.writer(text)
        writer.writerow(["action", key, "rejectType"])
        for name_, value in counts.items():
            writer.writerow([name_, "" if value is None else value, ""])
        for _, payload in plan.adds():
            record = json.loads(payload)
            writer.writerow(["add", record[key], record.get("rejectType", "")])
        for payload in plan.remove_payloads():
            record = json.loads(payload)
            writer.writerow(["remove", record[key], record.get("rejectType", "")])
    else:
        text.write(json.dumps(counts) + "\n")
        for _, payload in plan.adds():
            text.write('{"action":"add",' + payload.decode()[1:] + "\n")
        for payload in plan.remove_payloads():
            text.write('{"action":"remove",' + payload.decode()[1:] + "\n")
    text.flush()
    text.detach()
    if raw is not stream:
        raw.close()
