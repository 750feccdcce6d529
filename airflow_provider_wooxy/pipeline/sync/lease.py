"""
One run per sync state at a time: a **lease** on the state, a small JSON record beside it (``<state>.lease``).

A run takes the lease before it reads the state and gives it back after its commit. The record names the holder
(dag, run, try, host, process) and when it expires; the holder renews it while it runs (every third of
``seconds``). A second run finds it held and fails at once, before any request (:class:`LeaseHeld`); a lease past
its expiry, whose holder died, is taken over by the next run, which says whose it took (:attr:`Lease.taken_from`).

Every change of the record is a compare-and-swap on its version, with the store's own atomic primitive, so two runs
can never both believe they hold it: a run whose renewal finds the record changed has lost it (:class:`LeaseLost`)
and stops; its commit is fenced (:meth:`Lease.fenced`) and fails with nothing written.

* local disk: every change under an exclusive OS lock (``flock``) on ``<state>.lease.lock``; the record is written
  to a temporary file and renamed. The commit runs under the same lock, so a takeover cannot interleave with it.
* S3 (``s3://``, through s3fs): a create-only PUT (``If-None-Match: *``) takes a free lease, and a PUT with
  ``If-Match: <ETag>`` changes a held one (S3 has had both since 2024; MinIO, moto in server mode and other S3 APIs
  implement them). The commit is fenced by a renewal just before it: no other run can take the lease over for
  ``seconds`` after it. This assumes the workers' clocks agree to within a small part of ``seconds`` (NTP).
* ``memory://`` (fsspec's in-process store, for tests): a lock in this process.
* any other store (``gs://``, ``abfs://`` ...) is refused (:class:`LeaseUnsupported`), unless the run opts out of the
  lease explicitly; their conditional writes are not tested here.

Plain Python: no Airflow import.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_wooxy.pipeline.sync.lease_stores import Backend, Conflict, LocalBackend, MemoryBackend, S3Backend

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

SUFFIX = ".lease"
DEFAULT_LEASE_SECONDS = 300.0
"""How long a lease lives without renewal, by default (the operators' ``lease_seconds``)."""
_ACQUIRE_ATTEMPTS = 5
"""Compare-and-swap attempts of one acquisition before it counts as contended (another run is taking it)."""


class LeaseHeld(Exception):
    """Another run holds the state's lease: nothing was read or sent. Retrying later is right."""


class LeaseLost(Exception):
    """This run's lease was taken over (it could not renew it in time): it stops, and writes no state."""


class LeaseUnsupported(Exception):
    """The state's store offers no atomic create and compare-and-swap this provider has tested."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lease, as messages name it."""

    dag_id: str | None = None
    run_id: str | None = None
    try_number: int | None = None
    host: str = ""
    pid: int = 0

    @classmethod
    def here(cls, dag_id: str | None = None, run_id: str | None = None, try_number: int | None = None) -> Holder:
        """This process, for the task instance named."""
        return cls(dag_id, run_id, try_number, socket.gethostname(), os.getpid())

    def describe(self) -> str:
        return (
            f"dag {self.dag_id or '?'}, run {self.run_id or '?'}, try {self.try_number or '?'}, host {self.host} "
            f"(pid {self.pid})"
        )


# -- the lease ----------------------------------------------------------------------------------------------


def _iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat(timespec="seconds")


class Lease:
    """
    The lease on one state. Use :func:`lease_for`.

    :param backend: the store's primitives.
    :param holder: who takes it.
    :param seconds: how long it lives without renewal.
    :param clock: the time (epoch seconds); a test's own.
    :param display: how messages name the state.
    """

    def __init__(
        self,
        backend: Backend | None,
        holder: Holder,
        *,
        seconds: float,
        clock: Callable[[], float] = time.time,
        display: str = "",
    ) -> None:
        self.backend = backend
        self.holder = holder
        self.seconds = seconds
        self.clock = clock
        self.display = display
        self.fence = 0
        """Increases by one at every acquisition of this state's lease (0: none held, or no lease at all)."""
        self.taken_from: dict[str, Any] | None = None
        """After :meth:`acquire`: the record of the expired lease this run took over, else None."""
        self._record: dict[str, Any] = {}
        self._version: str | None = None
        self._lock = threading.Lock()

    # -- taking and giving back ------------------------------------------------------------------------------

    def acquire(self) -> None:
        """Take the lease, or take over an expired one; :class:`LeaseHeld` when a live run holds it."""
        backend = self.backend
        if backend is None:
            return
        for _ in range(_ACQUIRE_ATTEMPTS):
            try:
                data, version = backend.read()
                current = _parse(data)
                now = self.clock()
                if data is None:
                    self._version = backend.create(self._encode(fence=1, now=now))
                elif current.get("released") or float(current.get("expires_at", 0)) <= now:
                    assert version is not None
                    self._version = backend.replace(self._encode(int(current.get("fence", 0)) + 1, now), version)
                    self.taken_from = None if current.get("released") else current
                else:
                    raise LeaseHeld(self._held_message(current))
            except Conflict:
                continue  # another run changed it meanwhile: look again
            self.fence = self._record["fence"]
            return
        raise LeaseHeld(f"another run is taking the lease on {self.display} at this moment; nothing was read or sent.")

    def release(self) -> None:
        """Give the lease back (only if this run still holds it); never raises for one already lost."""
        if self.backend is None or self._version is None:
            return
        with self._lock, contextlib.suppress(Conflict):
            now = self.clock()
            record = {**self._record, "released": True, "expires_at": 0, "released_at": _iso(now)}
            self.backend.replace(json.dumps(record).encode(), self._version)
        self._version = None

    # -- while holding -------------------------------------------------------------------------------------------

    def renew(self) -> None:
        """Extend the lease to ``seconds`` from now; :class:`LeaseLost` when another run took it over."""
        if self.backend is None:
            return
        with self._lock:
            self._renew_locked()

    def _renew_locked(self) -> None:
        assert self.backend is not None
        if self._version is None:
            raise LeaseLost(f"this run does not hold the lease on {self.display}.")
        now = self.clock()
        record = {**self._record, "renewed_at": _iso(now), "expires_at": now + self.seconds, "expires": ""}
        record["expires"] = _iso(record["expires_at"])
        record["version"] = uuid.uuid4().hex
        try:
            self._version = self.backend.replace(json.dumps(record).encode(), self._version)
        except Conflict:
            self._version = None
            raise LeaseLost(self._lost_message()) from None
        self._record = record

    @contextlib.contextmanager
    def fenced(self) -> Iterator[None]:
        """Around a commit: no other run holds the lease while the block runs, else :class:`LeaseLost`, unrun."""
        if self.backend is None:
            yield
            return
        if not self.backend.locks_out_takeovers:
            # S3: renewed just before; the renewing thread goes on renewing while the block runs.
            self.renew()
            yield
            return
        # This lease's own lock first, then the store's: the renewing thread takes them in the same order.
        with self._lock, self.backend.exclusive():
            self._renew_locked()  # under the OS lock: no takeover can come before the block ends
            yield

    @contextlib.contextmanager
    def held(self, stop: Callable[[str], None], log: Any) -> Iterator[None]:
        """
        The whole of a run: take the lease (saying whose expired one it took), keep it renewed, give it back. If it
        is lost meanwhile, ``stop`` is called with why, and what the stopped block raises becomes :class:`LeaseLost`.
        """
        lost: list[LeaseLost] = []

        def on_lost(loss: LeaseLost) -> None:
            lost.append(loss)
            stop(str(loss))

        self.acquire()
        if self.taken_from is not None:
            log.warning(
                "Took over the expired lease on %s from %s (it expired at %s without renewal: that run died or "
                "stalled; what it sent is in the journal, or in doubt).",
                self.display,
                describe(self.taken_from),
                self.taken_from.get("expires", "?"),
            )
        try:
            with self.kept(on_lost):
                try:
                    yield
                except Exception as exc:
                    if lost:  # what stopped the run (a look-up, a send, the commit): say why
                        raise lost[0] from exc
                    raise
        finally:
            try:
                self.release()
            except Exception as exc:  # never hides what the run raised: the lease then expires on its own
                log.warning("Could not give back the lease on %s (%s): it expires on its own.", self.display, exc)

    @contextlib.contextmanager
    def kept(self, on_lost: Callable[[LeaseLost], None]) -> Iterator[None]:
        """Renew every third of ``seconds`` while the block runs; ``on_lost`` is called once if it is lost."""
        if self.backend is None:
            yield
            return
        done = threading.Event()

        def keep() -> None:
            while not done.wait(self.seconds / 3):
                try:
                    self.renew()
                except LeaseLost as lost:
                    on_lost(lost)
                    return
                except Exception as exc:  # a store hiccup: the next renewal tries again, unless time is up
                    if self.clock() >= float(self._record.get("expires_at", 0)) - self.seconds / 3:
                        on_lost(LeaseLost(f"{self._lost_message()} The store did not answer: {exc}"))
                        return

        thread = threading.Thread(target=keep, name="wooxy-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    # -- the record ----------------------------------------------------------------------------------------------

    def _encode(self, fence: int, now: float) -> bytes:
        self._record = {
            "holder": asdict(self.holder),
            "token": uuid.uuid4().hex,
            "version": uuid.uuid4().hex,
            "fence": fence,
            "acquired_at": _iso(now),
            "renewed_at": _iso(now),
            "expires_at": now + self.seconds,
            "expires": _iso(now + self.seconds),
        }
        return json.dumps(self._record).encode()

    def _held_message(self, record: dict[str, Any]) -> str:
        return (
            f"another run of this sync holds the lease on {self.display}: {describe(record)}, since "
            f"{record.get('acquired_at', '?')}, until {record.get('expires', '?')} unless it renews it. Two runs of "
            "one sync never act at once: nothing was read or sent. Airflow retries this task; set max_active_runs=1 "
            "on the DAG so that runs queue instead."
        )

    def _lost_message(self) -> str:
        return (
            f"this run lost its lease on {self.display} (it could not renew it within lease_seconds="
            f"{self.seconds:g}, and another run took it over): it stops, and writes nothing more to the state."
        )


def describe(record: dict[str, Any]) -> str:
    """The holder a lease record names."""
    holder = record.get("holder")
    if not isinstance(holder, dict):
        return "an unknown holder"
    with contextlib.suppress(TypeError):
        return Holder(**holder).describe()
    return "an unknown holder"


def _parse(data: bytes | None) -> dict[str, Any]:
    """A record; a damaged one reads as expired (its holder cannot be named, and it renews nothing)."""
    if data is None:
        return {}
    try:
        record = json.loads(data)
    except ValueError:
        return {"expires_at": 0}
    return record if isinstance(record, dict) else {"expires_at": 0}


def lease_location(state_location: Any) -> Any:
    """Where the lease of the state at ``state_location`` is kept."""
    return state_location.parent / f"{state_location.name}{SUFFIX}"


def lease_for(
    state_location: Any,
    holder: Holder,
    *,
    seconds: float,
    display: str = "",
    unsafe_no_lease: bool = False,
    clock: Callable[[], float] = time.time,
) -> Lease:
    """
    The lease of the state at ``state_location`` (a :class:`pathlib.Path`, or an object storage path object).
    ``unsafe_no_lease`` gives a lease that guards nothing; :class:`LeaseUnsupported` for a store without the
    primitives, unless it is set.
    """
    display = display or str(state_location)
    location = lease_location(state_location)
    backend: Backend | None
    protocol = _protocol(state_location)
    if unsafe_no_lease:
        backend = None
    elif protocol == "file":
        backend = LocalBackend(location)
    elif protocol in ("s3", "s3a"):
        backend = S3Backend(location)
    elif protocol == "memory":
        backend = MemoryBackend(location)
    else:
        raise LeaseUnsupported(
            f"{display} is on {protocol}://, where this provider cannot take a lease yet (it needs an atomic create "
            "and a compare-and-swap it has tested: local disk and S3). Move the state to local disk or S3, or set "
            "unsafe_no_lease=True and make sure yourself that two runs of this sync never overlap "
            "(max_active_runs=1, no manual runs or backfills meanwhile)."
        )
    return Lease(backend, holder, seconds=seconds, clock=clock, display=display)


def _protocol(location: Any) -> str:
    if isinstance(location, Path) and not hasattr(location, "fs"):
        return "file"
    protocol = getattr(location, "protocol", None) or getattr(getattr(location, "fs", None), "protocol", "")
    if isinstance(protocol, tuple | list):
        protocol = protocol[0] if protocol else ""
    return str(protocol)
