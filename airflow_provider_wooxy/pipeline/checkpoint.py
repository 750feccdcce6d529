"""Progress checkpoints, so that a retry of a failed task skips the batches Wooxy already accepted."""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any

from airflow_provider_wooxy.pipeline.storage import check_file_location, storage_path

if TYPE_CHECKING:
    from collections.abc import Callable


def _to_ranges(numbers: set[int]) -> list[list[int]]:
    ranges: list[list[int]] = []
    for n in sorted(numbers):
        if ranges and ranges[-1][1] == n - 1:
            ranges[-1][1] = n
        else:
            ranges.append([n, n])
    return ranges


class Checkpoint:
    """
    The set of accepted batch numbers for one input, kept in a small JSON file (local or object storage).

    The file is keyed by the input's fingerprint (its normalised records, the API method and the batch size):
    a checkpoint written for different input is ignored, never reused.

    :param path: where the checkpoint lives (a local path or an object storage URI), as messages name it.
    :param fingerprint: identifies the input the batch numbers refer to.
    :param location: the path object of ``path`` (the operator's, for an object storage URI); by default the
        local path ``path``.
    :param min_interval: seconds between writes while sending (a final write always happens in :meth:`save`).
    """

    def __init__(self, path: str, fingerprint: str, *, location: Any = None, min_interval: float = 5.0):
        check_file_location("checkpoint_path", path)
        self.path = path
        self.location = storage_path(path if location is None else location)
        self.fingerprint = fingerprint
        self.min_interval = min_interval
        self.done: set[int] = set()
        self.stale = False
        self.damaged = False
        self._lock = threading.Lock()
        self._last_write = 0.0
        self._dirty = False
        self.before_save: Callable[[], None] | None = None
        """Called before each write: what the batches' records need first (a changelog's spool on object storage)."""

    def load(self) -> set[int]:
        """
        Read the accepted batch numbers; empty when there is no checkpoint, when it belongs to other input
        (``stale``) or when it is not a checkpoint this provider wrote (``damaged``: not JSON, not its shape).
        """
        if not self.location.exists():
            return set()
        try:
            state: Any = json.loads(self.location.read_text())
            if not isinstance(state, dict) or not isinstance(state.get("fingerprint"), str):
                raise ValueError("not a checkpoint")
            if state["fingerprint"] != self.fingerprint:
                self.stale = True
                return set()
            done = {n for first, last in state.get("done", []) for n in range(int(first), int(last) + 1)}
        except (ValueError, TypeError):  # UnicodeDecodeError is a ValueError
            self.damaged = True
            return set()
        self.done = done
        return set(self.done)

    def resume(self, log: Any) -> set[int]:
        """:meth:`load`, saying in ``log`` what it found: batches a retry skips, or why it starts from the beginning."""
        skip = self.load()
        if self.damaged:
            log.warning("Checkpoint %s is damaged (not a checkpoint): starting from the beginning.", self.path)
        elif self.stale:
            log.info("Checkpoint %s belongs to other input: starting from the beginning.", self.path)
        elif skip:
            log.info(
                "Resuming from checkpoint %s: %d batches were already accepted and are skipped.", self.path, len(skip)
            )
        return skip

    def mark(self, batch_number: int) -> None:
        """Record an accepted batch; writes the file at most every ``min_interval`` seconds."""
        with self._lock:
            self.done.add(batch_number)
            self._dirty = True
            if time.monotonic() - self._last_write < self.min_interval:
                return
        self.save()

    def save(self) -> None:
        with self._lock:  # held while writing, so an older snapshot can never overwrite a newer one
            if not self._dirty:
                return
            if self.before_save is not None:
                self.before_save()
            state = {
                "fingerprint": self.fingerprint,
                "done": _to_ranges(self.done),
                "updated_at": time.time(),
            }
            self.location.parent.mkdir(parents=True, exist_ok=True)
            self.location.write_text(json.dumps(state))
            self._dirty = False
            self._last_write = time.monotonic()

    def complete(self) -> None:
        """Remove the checkpoint once the whole input was delivered."""
        if self.location.exists():
            self.location.unlink()
