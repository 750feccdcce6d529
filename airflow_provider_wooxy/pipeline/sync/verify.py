"""
Drift: what a Wooxy list lost behind a sync's back (a remove in Wooxy's UI or by another tool, an entry Wooxy
expired, journal objects lost with a killed worker). The state still counts those entries as listed, so the plan
alone never sends them again; a drift check compares the list with the managed entries and names the missing ones,
which the plan then re-adds (``make_plan(readd=...)``).

* **Email**: the list of every reject type the state manages is paged with ``blacklist/find`` through the export
  engine (:class:`~airflow_provider_wooxy.pipeline.export.RejectTypePager`), no file written. An entry listed
  with an ``expireAt`` in the past counts as missing (``expired``). Entries listed but not managed are counted
  (``foreign_seen``) and never touched. Offset paging over a list that changes can miss an entry: it is then taken
  for missing and added again, which Wooxy ignores (adds are idempotent), so a changing list errs on the safe side.
* **Phone**: ``phone-blacklist/find`` looks one number up, so a random sample of the managed numbers is looked up
  (every number with ``sample=None``) and the drift of the whole list is estimated from it.

Memory: the email check holds the identities listed for the managed reject types (about 100 bytes each), the phone
check its sample. It reads the managed entries twice through a callable (``state.iter_lines``), never the state's
index itself.

Plain Python: no Airflow import.
"""

from __future__ import annotations

import datetime
import random
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_wooxy.pipeline.export import DEFAULT_PAGE_SIZE, RejectTypePager
from airflow_provider_wooxy.pipeline.stopping import Stoppable

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from airflow_provider_wooxy.pipeline.sync.entries import ListKind

DEFAULT_SAMPLE = 1_000
"""Managed phone numbers looked up by a phone drift check unless told otherwise."""


def check_sample(value: object) -> int | None:
    """``verify_sample`` as given: a whole number >= 1, or None (every managed number)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"verify_sample must be a whole number >= 1 or None (every number), got {value!r}")
    return value


class VerifyStopped(Exception):
    """The drift check was stopped (Airflow's on_kill) before it finished; nothing was sent."""


@dataclass
class DriftReport:
    """What a drift check found: counts, and the identities of the managed entries missing on Wooxy."""

    paged: bool
    """The whole list was paged (email: foreign entries were seen), rather than a sample looked up (phone)."""
    managed: int = 0
    verified: int = 0
    """Managed entries checked: all of them for emails, the sample for phones."""
    missing: set[str] = field(default_factory=set)
    """Identities (the state's comparison form) of checked managed entries that Wooxy does not list."""
    expired: int = 0
    """Of :attr:`missing`, entries Wooxy still lists with an ``expireAt`` in the past."""
    foreign_seen: int = 0
    requests: int = 0
    seconds: float = 0.0
    sample: int | None = None
    """Phones: the sample size asked for (None: every number)."""

    @property
    def complete(self) -> bool:
        """Every managed entry was checked, so :attr:`missing` is all the drift there is."""
        return self.verified >= self.managed

    @property
    def estimated_missing(self) -> int:
        """The missing entries of the whole list, extrapolated from the sample (exact when complete)."""
        if self.complete or not self.verified:
            return len(self.missing)
        return round(len(self.missing) * self.managed / self.verified)

    def counts(self) -> dict[str, Any]:
        """The summary's keys (no address)."""
        out: dict[str, Any] = {
            "verified": self.verified,
            "missing_on_wooxy": len(self.missing),
            "expired_on_wooxy": self.expired,
            "verify_requests": self.requests,
            "verify_seconds": round(self.seconds, 3),
        }
        if self.paged:
            out["foreign_seen"] = self.foreign_seen
        else:
            out["verify_sample"] = self.verified
            out["estimated_missing"] = self.estimated_missing
        out["recommend_resync"] = bool(self.missing) and not self.complete
        return out

    def log(self, log: Any) -> None:
        """Say what the check found (counts only), and recommend a resync when a sample found entries missing."""
        log.info(
            "Verify: %d of %d managed entries checked against Wooxy in %d requests (%.1f s): %d missing (%d of "
            "them expired)%s.",
            self.verified,
            self.managed,
            self.requests,
            self.seconds,
            len(self.missing),
            self.expired,
            f", {self.foreign_seen} foreign entries seen (never touched)" if self.paged else "",
        )
        if self.missing and not self.complete:
            log.warning(
                "Verify: the sample of %d numbers found %d missing on Wooxy: about %d of the %d managed numbers "
                "are. This run re-adds the ones it found; run with resync=True to re-add every managed number.",
                self.verified,
                len(self.missing),
                self.estimated_missing,
                self.managed,
            )


class DriftCheck(Stoppable):
    """
    Compares a list on Wooxy with the entries a sync manages.

    :param kind: the list (:data:`~airflow_provider_wooxy.pipeline.sync.entries.EMAIL` or ``PHONE``).
    :param find: the hook's ``find_email_blacklist`` (email) or ``find_phone_blacklist`` (phone).
    :param max_concurrency: requests in flight.
    :param sample: phones: how many managed numbers to look up (None: every one).
    :param page_size: emails: rows asked for per page.
    :param rng: phones: the random source of the sample (a seeded one in tests).
    :param now: the time expiry is judged at (default: now, UTC).
    """

    def __init__(
        self,
        kind: ListKind,
        find: Callable[..., Mapping[str, Any]],
        *,
        max_concurrency: int = 10,
        sample: int | None = DEFAULT_SAMPLE,
        page_size: int = DEFAULT_PAGE_SIZE,
        rng: random.Random | None = None,
        now: datetime.datetime | None = None,
    ) -> None:
        self.kind = kind
        self.find: Any = find  # emails: the export engine's FindPage
        self.max_concurrency = max_concurrency
        self.sample = check_sample(sample)
        self.page_size = page_size
        self.rng = rng or random.Random()
        self.now = now or datetime.datetime.now(datetime.timezone.utc)

    def run(self, managed_lines: Callable[[], Iterator[str]]) -> DriftReport:
        """Check the managed entries, read (twice for emails) from ``managed_lines()``."""
        if self.stopped is not None:
            raise VerifyStopped(f"the drift check was stopped ({self.stopped}); nothing was sent")
        started = time.monotonic()
        report = self._emails(managed_lines) if self.kind.find_pages_the_list else self._phones(managed_lines)
        report.seconds = time.monotonic() - started
        return report

    # -- email: page the managed reject types ----------------------------------------------------------------

    def _emails(self, managed_lines: Callable[[], Iterator[str]]) -> DriftReport:
        report = DriftReport(paged=True)
        reject_types: set[str] = set()
        for line in managed_lines():
            report.managed += 1
            reject_types.add(line.rpartition("\t")[2])
        listed: set[str] = set()
        expired: set[str] = set()
        now = self.now

        def write(rows: list[dict[str, Any]]) -> None:
            for row in rows:
                ident = f"{row['email']}\t{row['rejectType']}".lower()
                (expired if _expired(row.get("expireAt"), now) else listed).add(ident)

        pager = self.adopt(
            RejectTypePager(self.find, write, max_concurrency=self.max_concurrency, page_size=self.page_size)
        )
        try:
            pages = pager.run(sorted(reject_types))
        except Exception as exc:
            if self.stopped is not None:
                raise VerifyStopped(f"the drift check was stopped ({self.stopped}); nothing was sent") from exc
            raise
        report.requests = pages.requests
        identity = self.kind.identity
        found = 0
        for line in managed_lines():
            ident = identity(line)
            if ident in listed:
                found += 1
            else:
                report.missing.add(ident)
                if ident in expired:
                    report.expired += 1
        report.verified = report.managed
        report.foreign_seen = len(listed) + len(expired) - found - report.expired
        return report

    # -- phone: look a sample up -----------------------------------------------------------------------------

    def _phones(self, managed_lines: Callable[[], Iterator[str]]) -> DriftReport:
        report = DriftReport(paged=False, sample=self.sample)
        if self.sample is None:
            chosen: Iterable[str] = managed_lines()
            report.managed = sum(1 for _ in managed_lines())
        else:
            chosen, report.managed = _reservoir(managed_lines(), self.sample, self.rng)
        lock = threading.Lock()

        def check(number: str) -> None:
            answer = self.find(number)
            rows = answer.get("data") or []
            with lock:
                report.requests += 1
                report.verified += 1
                if not any(isinstance(row, dict) and row.get("phoneNumber") == number for row in rows):
                    report.missing.add(number)

        with ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="wooxy-verify") as pool:
            in_flight: set[Future[None]] = set()
            try:
                for number in chosen:
                    if self.stopped is not None:
                        raise VerifyStopped(f"the drift check was stopped ({self.stopped}); nothing was sent")
                    if len(in_flight) >= self.max_concurrency:
                        done, in_flight = _first_done(in_flight)
                        for future in done:
                            future.result()
                    in_flight.add(pool.submit(check, number))
                for future in in_flight:
                    future.result()
            finally:
                for future in in_flight:
                    future.cancel()
        return report


def _first_done(futures: set[Future[None]]) -> tuple[set[Future[None]], set[Future[None]]]:
    done, pending = wait(futures, return_when=FIRST_COMPLETED)
    return set(done), set(pending)


def _reservoir(lines: Iterator[str], size: int, rng: random.Random) -> tuple[list[str], int]:
    """A uniform random sample of ``size`` lines (all of them if fewer) and the number of lines, in one pass."""
    sample: list[str] = []
    count = 0
    for count, line in enumerate(lines, start=1):
        if count <= size:
            sample.append(line)
        else:
            slot = rng.randrange(count)
            if slot < size:
                sample[slot] = line
    return sample, count


def _expired(value: object, now: datetime.datetime) -> bool:
    """Whether an ``expireAt`` lies in the past (an unreadable one is not taken for expired)."""
    if not isinstance(value, str) or not value:
        return False
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment <= now
