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

import contextlib
import csv
import gzip
import hashlib
import heapq
import io
import json
import math
import tempfile
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from types import MappingProxyType
from typing import IO, TYPE_CHECKING, Any, cast

from airflow_provider_wooxy.pipeline.atomic import output_file
from airflow_provider_wooxy.pipeline.intake import FirstSeen
from airflow_provider_wooxy.pipeline.sync.audit import planned_adds
from airflow_provider_wooxy.pipeline.sync.partitions import partition_indexes, spread_over, utf8_each
from airflow_provider_wooxy.pipeline.sync.snapshot import DIGEST_MOD, item_digest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from airflow_provider_wooxy.pipeline.sync.entries import ListKind
    from airflow_provider_wooxy.pipeline.sync.first_pass import FirstPass
    from airflow_provider_wooxy.pipeline.sync.state import SyncState


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
    """What a sync would do. The adds and the removals wait in temporary files; close the plan when done."""

    kind: ListKind
    managed_before: int = 0
    to_add: int = 0
    to_remove: int = 0
    unchanged: int = 0
    duplicates: int = 0
    """Records naming an entry an earlier record of the input named already."""
    kept_invalid: int = 0
    resent: int = 0
    """Managed entries the input still holds whose add is sent again (``readd``), spooled with the adds."""
    already_listed: int = 0
    """New entries of the input that Wooxy lists already (someone else's): never added, managed or removed."""
    listed: dict[str, str] = field(default_factory=dict)
    """identity -> state line of those entries: what the state keeps as known but not managed."""
    plan_id: str = ""
    snapshot_digest: int = 0
    add_digest: int = 0
    remove_digest: int = 0
    # Lives as long as the plan: removed by close().
    _scratch: tempfile.TemporaryDirectory[str] = field(
        default_factory=lambda: tempfile.TemporaryDirectory(prefix="wooxy-plan-")
    )

    @property
    def empty(self) -> bool:
        return self.to_add == 0 and self.resent == 0 and self.to_remove == 0

    def _file(self, name: str) -> Path:
        return Path(self._scratch.name) / name

    def adds(self) -> Iterator[tuple[int, bytes]]:
        """``(input row, JSON record)`` of every add, in input order (a merge of the partitions' adds); a re-add's
        row is a :class:`~.audit.Resent`."""
        with contextlib.ExitStack() as stack:
            paths = sorted(Path(self._scratch.name).glob("adds.*"))
            parts = [planned_adds(stack.enter_context(p.open("rb")), p.suffix == ".resent") for p in paths]
            yield from heapq.merge(*parts, key=itemgetter(0))

    def _removal_lines(self) -> Iterator[bytes]:
        path = self._file("removals")
        if path.exists():
            with path.open("rb") as lines:
                for line in lines:
                    yield line[:-1]

    def remove_payloads(self) -> Iterator[bytes]:
        remove_payload = self.kind.remove_payload
        for line in self._removal_lines():
            yield remove_payload(line.decode())

    def new_entries(self) -> Iterator[str]:
        """The state line of every add that is not a re-add: the entries new to the state."""
        line_of = self.kind.line_of_payload
        for path in sorted(Path(self._scratch.name).glob("adds.[0-9][0-9][0-9][0-9]")):
            with path.open("rb") as lines:
                for line in lines:
                    yield line_of(line[line.index(b"\t") + 1 : -1])

    def drop_listed(self, listed: set[str]) -> None:
        """Take the new entries whose identity is in ``listed`` (Wooxy lists them) out of the adds; new id."""
        if not listed:
            return
        identity, line_of = self.kind.identity, self.kind.line_of_payload
        for path in sorted(Path(self._scratch.name).glob("adds.[0-9][0-9][0-9][0-9]")):
            kept = path.with_name(path.name + ".kept")
            with path.open("rb") as lines, kept.open("wb") as out:
                for line in lines:
                    payload = line[line.index(b"\t") + 1 : -1]
                    entry = line_of(payload)
                    if identity(entry) in listed:
                        self.listed[identity(entry)] = entry
                        self.add_digest -= item_digest(payload)
                        self.to_add -= 1
                        self.already_listed += 1
                    else:
                        out.write(line)
            kept.replace(path)
        self.plan_id = plan_id(self.kind, self.snapshot_digest, self.add_digest, self.remove_digest)

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
            "already_listed": self.already_listed,
        }

    def close(self) -> None:
        self._scratch.cleanup()


def make_plan(
    records: Iterable[tuple[int, str, str]],
    state: SyncState,
    *,
    held_addresses: set[str] | None = None,
    readd: Callable[[str], bool] | None = None,
    first_pass: FirstPass | None = None,
) -> Plan:
    """
    Diff validated records ``(row, key, JSON record)`` against the state, dropping (and counting) duplicates: two
    records are the same entry when the list says so (phones: the same number, whatever the reject type).

    Memory stays flat in the state's size: the records are spread over the state's partitions on disk (by the
    entry's address: :func:`~.partitions.partition_indexes`), and each partition is then diffed on its own, one in
    memory at a time.

    :param held_addresses: addresses (in the list's comparison form) named by invalid input rows: managed
        entries with one of these addresses are kept, not removed. Filled while ``records`` is consumed.
    :param readd: called with the identity of each managed entry the input still holds: when it answers true,
        the input's record is added again (``resent``; a resync, or a repair of what Wooxy lost).
    :param first_pass: the rows of the input that named a managed entry as they stand, matched before validation
        (``records`` are then the validated other rows); closed here. Not with ``readd``, which needs every record.
    """
    assert first_pass is None or readd is None, "a re-add needs every record validated: no first pass with readd"
    plan = Plan(kind=state.kind)
    try:
        _spread(records, state.kind, state.partitions, plan)
        held = held_addresses or set()  # complete now that the records are read
        add_digest = remove_digest = 0
        if first_pass is not None:
            plan.unchanged, plan.duplicates = first_pass.unchanged, first_pass.duplicates
        with plan._file("removals").open("wb") as removals:
            for index in range(state.partitions):
                records_here = plan._file(f"input.{index}").exists()  # written only where records fall
                if first_pass is None:
                    entries = cast("dict[str, str | None]", state.partition(index))
                    plan.managed_before += len(entries)
                else:
                    entries, managed = first_pass.entries(index, records_here)
                    plan.managed_before += managed
                if records_here:
                    add_digest += _diff_partition(plan, index, entries, readd, state.listed)
                remove_digest += _removals(plan, entries, held, removals)
        state.managed = plan.managed_before
    except BaseException:
        plan.close()
        raise
    finally:
        if first_pass is not None:
            first_pass.close()
    plan.snapshot_digest = state.snapshot_digest
    plan.add_digest = state.journal_add_digest + add_digest
    plan.remove_digest = state.journal_remove_digest + remove_digest
    plan.plan_id = plan_id(state.kind, plan.snapshot_digest, plan.add_digest, plan.remove_digest)
    return plan


def _removals(plan: Plan, entries: dict[str, str | None], held: set[str], removals: IO[bytes]) -> int:
    """
    Write the managed entries of one partition the input did not name (their value is not None) to ``removals``,
    but keep those named by an invalid row (``held``); return the digest of their remove requests.
    """
    address_of, remove_payload = plan.kind.address_of, plan.kind.remove_payload
    digest = 0
    for ident, line in entries.items():
        if line is None:  # named by the input: unchanged
            continue
        if held and address_of(ident) in held:
            plan.kept_invalid += 1
            continue
        removals.write(line.encode() + b"\n")
        digest += item_digest(remove_payload(line))
        plan.to_remove += 1
    return digest


def _spread(records: Iterable[tuple[int, str, str]], kind: ListKind, parts: int, plan: Plan) -> None:
    """Write each record into its partition: ``row<TAB>JSON record<TAB>identity`` (an identity may hold a tab)."""
    identity_of_key, address_of = kind.identity_of_key, kind.address_of
    with contextlib.ExitStack() as stack:
        files: dict[int, IO[str]] = {}  # opened for the partitions records fall in (none in an unchanged run)
        lines: list[str] = []
        addresses: list[str] = []

        def write() -> None:
            # Each line into its partition, the per-line work in C.
            indexes = partition_indexes(utf8_each(addresses), parts) if parts > 1 else None
            spread = [lines] if indexes is None else spread_over(parts, indexes, lines)
            for index, part in enumerate(spread):
                if part:
                    handle = files.get(index)
                    if handle is None:
                        handle = files[index] = stack.enter_context(
                            plan._file(f"input.{index}").open("w", encoding="utf-8", newline="")
                        )
                    handle.write("".join(part))
            lines.clear()
            addresses.clear()

        for row, key, payload in records:
            ident = identity_of_key(key)
            lines.append(f"{row}\t{payload}\t{ident}\n")
            addresses.append(address_of(ident))
            if len(lines) >= _CHUNK:
                write()
        write()


def _diff_partition(
    plan: Plan,
    index: int,
    entries: dict[str, str | None],
    readd: Callable[[str], bool] | None = None,
    known: Mapping[str, str] = MappingProxyType({}),
) -> int:
    """
    Diff one partition of the input against the same partition of the state: spool its adds, mark the managed
    entries it names (their value becomes None), count duplicates; return the digest of its adds. A managed entry
    the input names is added again when ``readd`` says so (spooled in input order beside the adds: ``resent``).
    """
    source = plan._file(f"input.{index}")
    resent_digest = 0

    def new_entries(resend: Callable[[bytes], object]) -> Iterator[tuple[int, str, str]]:
        nonlocal resent_digest
        unchanged = 0  # a local counter: this loop runs once per input record
        get = entries.get
        with source.open(encoding="utf-8", newline="\n") as lines:
            for line in lines:
                row, payload, ident = line[:-1].split("\t", 2)
                found = get(ident, _ABSENT)
                if found is None:
                    plan.duplicates += 1
                elif found is _ABSENT:
                    yield int(row), ident, payload
                else:
                    entries[ident] = None
                    unchanged += 1
                    if readd is not None and readd(ident):
                        data = payload.encode()
                        resend(b"%d\t%b\n" % (int(row), data))
                        resent_digest += item_digest(data)
                        plan.resent += 1
        plan.unchanged += unchanged

    # The adds are deduplicated like any input (flat memory).
    first = FirstSeen()
    digest = 0
    with (
        plan._file(f"adds.{index:04d}").open("wb") as adds,
        plan._file(f"adds.{index:04d}.resent").open("wb") as resent,
    ):
        write = adds.write
        for row, ident, payload in first(new_entries(resent.write)):
            if ident in known:  # listed by someone else, as an earlier run found: kept as known, never added
                plan.listed[ident] = known[ident]
                plan.already_listed += 1
                continue
            data = payload.encode()
            write(b"%d\t%b\n" % (row, data))
            digest += item_digest(data)
            plan.to_add += 1
    plan.duplicates += first.duplicates
    source.unlink()
    return digest + resent_digest


_ABSENT: Any = object()
_CHUNK = 20_000
"""Input records held between writes to the partitions."""


def plan_id(kind: ListKind, snapshot_digest: int, add_digest: int, remove_digest: int) -> str:
    """The digest of the starting state (snapshot, before its journal) and of every add and remove of the plan."""
    add_digest, remove_digest = add_digest % DIGEST_MOD, remove_digest % DIGEST_MOD
    text = f"wooxy-sync-plan/1\n{kind.name}\n{snapshot_digest:x}\n{add_digest:x}\n{remove_digest:x}\n"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def save_plan(location: Any, name: str, plan: Plan, extra: dict[str, Any]) -> None:
    """Write the plan (:func:`write_plan`) to ``location``, a path object, whole or not at all (``output_file``)."""
    with output_file(location) as stream:
        write_plan(stream, name, plan, extra)


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
