"""Injected faults: queued ones, a random share, an outage, and holding requests in flight."""

from __future__ import annotations

import collections
import random
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable


FAULT_KINDS = ("http500", "html502", "http429", "internal200", "drop_before", "drop_after", "slow")
"""Transient faults the sandbox can inject: see :class:`~airflow_provider_wooxy.sandbox.WooxySandbox`."""


class Faults:
    """
    Which transient fault, if any, the next API request gets.

    :param fault_rate: probability (0..1) that an API request gets a random transient fault.
    :param fault_kinds: the faults ``fault_rate`` draws from (a subset of :data:`FAULT_KINDS`).
    :param seed: seed for the fault draws, for repeatable runs.
    """

    def __init__(self, *, fault_rate: float = 0.0, fault_kinds: Iterable[str] = FAULT_KINDS, seed: int | None = None):
        self.fault_rate = fault_rate
        self.fault_kinds = checked_kinds(fault_kinds)
        self._random = random.Random(seed)
        self._faults_lock = threading.Lock()
        self._queued_faults: collections.deque[str] = collections.deque()
        self._outage: tuple[int, str] | None = None
        self.open = threading.Event()
        self.open.set()
        self.reset_faults()

    def reset_faults(self) -> None:
        """Forget queued faults, an outage and the fault counts."""
        with self._faults_lock:
            self.faults: collections.Counter[str] = collections.Counter()
            self._queued_faults.clear()
            self._outage = None

    def outage(self, after: int = 0, kind: str = "http500") -> None:
        """After ``after`` more API requests, answer every request with the fault ``kind`` until :meth:`recover`."""
        checked_kinds([kind])
        with self._faults_lock:
            self._outage = (after, kind)

    def recover(self) -> None:
        """End an :meth:`outage`."""
        with self._faults_lock:
            self._outage = None

    def pause(self) -> None:
        """Hold every API request that gets in (counted in flight) until :meth:`resume`: concurrency without timing."""
        self.open.clear()

    def resume(self) -> None:
        """Let the requests held by :meth:`pause` be answered."""
        self.open.set()

    def inject(self, *kinds: str) -> None:
        """Queue faults for the next API requests, in order (before any random ones)."""
        with self._faults_lock:
            self._queued_faults.extend(checked_kinds(kinds))

    def next_fault(self) -> str | None:
        """The fault the next API request gets (counted), or ``None``."""
        with self._faults_lock:
            kind: str | None = None
            if self._outage is not None:
                after, outage_kind = self._outage
                if after <= 0:
                    kind = outage_kind
                else:
                    self._outage = (after - 1, outage_kind)
            if kind is None and self._queued_faults:
                kind = self._queued_faults.popleft()
            if kind is None and self.fault_rate and self.fault_kinds and self._random.random() < self.fault_rate:
                kind = self._random.choice(self.fault_kinds)
            if kind is not None:
                self.faults[kind] += 1
            return kind


def checked_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    """``kinds`` as a tuple, or ValueError naming the unknown ones."""
    kinds = tuple(kinds)
    unknown = sorted(set(kinds) - set(FAULT_KINDS))
    if unknown:
        raise ValueError(f"unknown fault kinds {unknown}; known: {FAULT_KINDS}")
    return kinds
