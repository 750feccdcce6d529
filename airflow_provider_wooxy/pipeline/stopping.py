"""Stopping a running flow from another thread (Airflow's ``on_kill``): one way for every engine part."""

from __future__ import annotations

from typing import Protocol, TypeVar


class CanStop(Protocol):
    def stop(self, reason: str) -> None: ...


Child = TypeVar("Child", bound=CanStop)


class Stoppable:
    """
    A part of a flow that another thread may stop: :meth:`stop` records the reason (:attr:`stopped`) and passes it
    on to every child the part runs (:meth:`adopt`), also to a child adopted after the stop.

    The part itself looks at :attr:`stopped` where it can stop (between pages, before a request).
    """

    stopped: str | None = None
    """Why the part was stopped, or None while it was not."""
    _children: tuple[CanStop, ...] = ()

    def stop(self, reason: str) -> None:
        """Stop after the requests in flight; the children (senders, pagers, checks) stop the same way."""
        self.stopped = reason
        for child in self._children:
            child.stop(reason)

    def adopt(self, child: Child) -> Child:
        """Run ``child`` under this part: stopped with it, at once if this part was stopped already."""
        # Adopted before the check, as stop() sets the reason before it reads the children: a stop that races
        # with an adoption reaches the child either way.
        self._children = (*self._children, child)
        if self.stopped is not None:
            child.stop(self.stopped)
        return child
