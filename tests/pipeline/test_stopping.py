"""The one way an engine part is stopped from another thread, and how the stop reaches what it runs."""

from __future__ import annotations

import threading

from airflow_provider_wooxy.pipeline.stopping import Stoppable


class Recorder:
    """A child that remembers every stop it was asked for."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    def stop(self, reason: str) -> None:
        self.reasons.append(reason)


class TestStoppable:
    def test_not_stopped_until_told(self):
        part = Stoppable()
        assert part.stopped is None
        part.stop("on_kill")
        assert part.stopped == "on_kill"

    def test_a_stop_reaches_every_child_adopted_so_far(self):
        part, first, second = Stoppable(), Recorder(), Recorder()
        assert part.adopt(first) is first  # handed back, to be used on the spot
        part.adopt(second)
        assert first.reasons == second.reasons == []  # adopting alone stops nothing
        part.stop("enough")
        assert first.reasons == second.reasons == ["enough"]

    def test_a_child_adopted_after_the_stop_is_stopped_at_once(self):
        part, late = Stoppable(), Recorder()
        part.stop("too late")
        part.adopt(late)
        assert late.reasons == ["too late"]

    def test_parts_do_not_share_children(self):
        one, other, child = Stoppable(), Stoppable(), Recorder()
        one.adopt(child)
        other.stop("not yours")
        assert child.reasons == [] and one.stopped is None

    def test_a_stop_passes_down_a_chain(self):
        top, middle, leaf = Stoppable(), Stoppable(), Recorder()
        top.adopt(middle)
        middle.adopt(leaf)
        top.stop("on_kill")
        assert (middle.stopped, leaf.reasons) == ("on_kill", ["on_kill"])

    def test_a_stop_racing_with_an_adoption_always_reaches_the_child(self):
        for _ in range(200):
            part, child = Stoppable(), Recorder()
            thread = threading.Thread(target=part.stop, args=("race",))
            thread.start()
            part.adopt(child)
            thread.join()
            assert child.reasons  # once or twice, never missed
