"""
The lease on a sync state, on local disk, fsspec's memory store and a real S3 API server (moto): taken, held,
renewed, taken over after expiry by exactly one run, fenced, given back. Time is a test clock: nothing sleeps for
an expiry.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from upath import UPath

from airflow_provider_wooxy.pipeline.sync.lease import (
    Holder,
    Lease,
    LeaseHeld,
    LeaseLost,
    LeaseUnsupported,
    lease_for,
    lease_location,
)
from tests.sources.services import BUCKET, S3, s3, s3_server  # noqa: F401 (fixtures)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["local", "memory", "s3"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "local":
        return tmp_path / "s.state"
    if request.param == "memory":
        return UPath(f"memory://lease-{uuid.uuid4().hex}/s.state")
    server: S3 = request.getfixturevalue("s3")
    return UPath(
        f"s3://{BUCKET}/leases/{uuid.uuid4().hex}/s.state",
        key="testing",
        secret="testing",
        client_kwargs={"endpoint_url": server.endpoint, "region_name": "us-east-1"},
    )


def lease(state: Any, clock: Clock, run: str = "a", seconds: float = 300) -> Lease:
    return lease_for(state, Holder("dag", run, 1, "host-" + run, 7), seconds=seconds, clock=clock, display="s.state")


class TestLease:
    def test_the_first_run_takes_it_and_a_second_fails_naming_the_holder(self, state: Any):
        clock = Clock()
        first = lease(state, clock, "a")
        first.acquire()
        assert (first.fence, first.taken_from) == (1, None)
        with pytest.raises(LeaseHeld) as held:
            lease(state, clock, "b").acquire()
        message = str(held.value)
        for part in ("dag dag", "run a", "try 1", "host host-a", "since 2027-01-15T08:00:00+00:00", "max_active_runs"):
            assert part in message

    def test_a_renewed_lease_stays_held(self, state: Any):
        clock = Clock()
        first = lease(state, clock)
        first.acquire()
        clock.now += 250
        first.renew()
        clock.now += 250  # 500 s after the start, 250 after the renewal
        with pytest.raises(LeaseHeld):
            lease(state, clock, "b").acquire()

    def test_an_expired_lease_is_taken_over_and_the_old_holder_has_lost_it(self, state: Any):
        clock = Clock()
        dead = lease(state, clock, "a")
        dead.acquire()
        clock.now += 301
        taker = lease(state, clock, "b")
        taker.acquire()
        assert taker.fence == 2 and taker.taken_from is not None and taker.taken_from["holder"]["run_id"] == "a"
        with pytest.raises(LeaseLost, match="lease_seconds=300"):
            dead.renew()
        with pytest.raises(LeaseLost), dead.fenced():
            pytest.fail("a fenced block of a run that lost its lease must not run")
        dead.release()  # never gives back what is not its own
        with pytest.raises(LeaseHeld):
            lease(state, clock, "c").acquire()

    def test_a_released_lease_is_free_at_once(self, state: Any):
        clock = Clock()
        first = lease(state, clock, "a")
        first.acquire()
        first.release()
        second = lease(state, clock, "b")
        second.acquire()
        assert (second.fence, second.taken_from) == (2, None)  # given back, not taken over

    def test_two_takeovers_at_once_make_one_holder(self, state: Any):
        clock = Clock()
        lease(state, clock, "dead").acquire()
        clock.now += 1000
        barrier = threading.Barrier(4)
        outcomes: list[str] = []

        def take(run: str) -> None:
            barrier.wait()
            try:
                lease(state, clock, run).acquire()
                outcomes.append("holds")
            except LeaseHeld:
                outcomes.append("held")

        threads = [threading.Thread(target=take, args=(f"r{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["held", "held", "held", "holds"]

    def test_fenced_renews_and_runs_the_block(self, state: Any):
        clock = Clock()
        holder = lease(state, clock)
        holder.acquire()
        clock.now += 200
        ran = []
        with holder.fenced():
            ran.append(True)
        clock.now += 250  # 450 s after the start, 250 after the fenced renewal
        assert ran
        with pytest.raises(LeaseHeld):
            lease(state, clock, "b").acquire()

    def test_kept_renews_in_the_background_and_reports_a_loss_once(self, state: Any):
        clock = Clock()
        holder = lease(state, clock, seconds=0.3)  # renewed every 0.1 s
        holder.acquire()
        renewed, told = threading.Event(), threading.Event()
        lost: list[LeaseLost] = []
        original = holder.renew

        def renew() -> None:
            original()
            renewed.set()

        def on_lost(loss: LeaseLost) -> None:
            lost.append(loss)
            told.set()

        holder.renew = renew  # type: ignore[method-assign]
        with holder.kept(on_lost=on_lost):
            assert renewed.wait(5)
            later = Clock()
            later.now = clock.now + 1000  # another run, to which the lease has expired long ago, takes it
            lease(state, later, "b", seconds=300).acquire()
            assert told.wait(5)  # the holder's next renewal finds it taken
            threading.Event().wait(0.3)  # a few more renewal periods: no second report
        assert len(lost) == 1 and isinstance(lost[0], LeaseLost)


def test_the_lease_lives_beside_the_state(tmp_path: Path):
    clock = Clock()
    lease(tmp_path / "s.state", clock).acquire()
    assert lease_location(tmp_path / "s.state").exists()


def test_a_damaged_record_counts_as_expired(tmp_path: Path):
    lease_location(tmp_path / "s.state").write_bytes(b"{not json")
    taker = lease(tmp_path / "s.state", Clock())
    taker.acquire()
    assert taker.fence == 1


def test_a_store_without_the_primitives_is_refused_unless_opted_out():
    class Elsewhere:
        protocol = "gs"
        name = "s.state"

        @property
        def parent(self) -> Elsewhere:
            return self

        def __truediv__(self, other: str) -> Elsewhere:
            return self

    with pytest.raises(LeaseUnsupported, match=r"gs://.*unsafe_no_lease=True"):
        lease_for(Elsewhere(), Holder(), seconds=300, display="gs://b/s.state")
    unguarded = lease_for(Elsewhere(), Holder(), seconds=300, unsafe_no_lease=True)
    unguarded.acquire()
    with unguarded.fenced():
        pass
    assert unguarded.fence == 0


def test_held_says_whose_expired_lease_it_took_and_gives_it_back(tmp_path: Path):
    clock = Clock()
    lease(tmp_path / "s.state", clock, "dead").acquire()
    clock.now += 301
    lines: list[str] = []

    class Log:
        def warning(self, text: str, *args: object) -> None:
            lines.append(text % args)

    taker = lease(tmp_path / "s.state", clock, "b")
    with taker.held(stop=lambda why: None, log=Log()):
        assert taker.fence == 2
    assert len(lines) == 1 and "Took over the expired lease on s.state from dag dag, run dead" in lines[0]
    lease(tmp_path / "s.state", clock, "c").acquire()  # given back: free at once


def test_a_store_that_stops_answering_loses_the_lease_before_it_expires(tmp_path: Path):
    """Renewals that fail for another reason than a takeover: the run is told before its lease can expire."""
    clock = Clock()
    holder = lease(tmp_path / "s.state", clock, seconds=0.06)
    holder.acquire()
    assert holder.backend is not None

    def unreachable(data: bytes, version: str) -> str:
        clock.now += 0.02  # time passes while the store does not answer
        raise OSError("the store does not answer")

    holder.backend.replace = unreachable  # type: ignore[method-assign]
    lost: list[LeaseLost] = []
    told = threading.Event()
    with holder.kept(on_lost=lambda loss: (lost.append(loss), told.set())):
        assert told.wait(5)  # once a third of the lease's life is left: before it can expire
    assert len(lost) == 1 and "did not answer" in str(lost[0])
