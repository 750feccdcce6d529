"""The sync's changelog lines (pipeline/sync/audit.py): adds, re-adds and removes, as the plan spooled them."""

from __future__ import annotations

from pathlib import Path

from airflow_provider_wooxy.pipeline.changelog import Changelog, RunContext, Spool
from airflow_provider_wooxy.pipeline.sending import Refusal
from airflow_provider_wooxy.pipeline.sync.audit import Resent, log_accepted, log_refused, planned_adds
from airflow_provider_wooxy.pipeline.sync.plan import make_plan
from tests.helpers.sync import add, records, state_with
from tests.pipeline.test_changelog import ListSink


class TestLines:
    def test_planned_adds_mark_re_adds(self):
        rows = list(planned_adds([b"3\tx\n", b"7\ty\n"], resent=True)) + list(planned_adds([b"5\tz\n"], resent=False))
        assert rows == [(3, b"x"), (7, b"y"), (5, b"z")]
        assert [isinstance(row, Resent) for row, _ in rows] == [True, True, False]

    def test_a_plan_merges_adds_and_re_adds_in_input_order(self, tmp_path: Path):
        state = state_with(tmp_path / "s.state", ["a@example.com", "c@example.com"])
        addresses = ["a@example.com", "b@example.com", "c@example.com"]
        plan = make_plan(records(addresses), state, readd=lambda ident: True)
        try:
            adds = list(plan.adds())
        finally:
            plan.close()
        assert [(row, isinstance(row, Resent)) for row, _ in adds] == [(1, True), (2, False), (3, True)]

    def test_one_request_of_adds_and_re_adds_gives_a_line_of_each(self, tmp_path: Path):
        sink = ListSink()
        changelog = Changelog("email", RunContext(), [(sink, Spool(tmp_path / "spool"))])
        log_accepted(changelog, b"+", [(1, add("a@example.com")), (Resent(2), add("b@example.com"))])
        log_accepted(changelog, b"-", [(0, add("c@example.com"))])
        log_refused(changelog, b"+", Refusal(Resent(4), add("d@example.com"), ["refused"]))
        log_refused(changelog, b"-", Refusal(0, add("e@example.com"), ["refused"]))
        changelog.write()
        assert [(row[0], row[1], row[3]) for row in sink.rows] == [
            ("add", "a@example.com", "accepted"),
            ("re-add", "b@example.com", "accepted"),
            ("remove", "c@example.com", "accepted"),
            ("re-add", "d@example.com", "refused"),
            ("remove", "e@example.com", "refused"),
        ]


class TestWritingUnderTheLease:
    def test_a_lost_lease_leaves_the_spool_to_the_run_that_took_it(self, tmp_path: Path, caplog):
        import contextlib
        import logging
        from types import SimpleNamespace

        from airflow_provider_wooxy.pipeline.sync.audit import write_after_send_failure, write_changelog
        from airflow_provider_wooxy.pipeline.sync.lease import LeaseLost

        @contextlib.contextmanager
        def lost():
            raise LeaseLost("another run took the lease")
            yield

        sink = ListSink()
        changelog = Changelog("email", RunContext(), [(sink, Spool(tmp_path / "spool"))])
        changelog.accepted("add", [add("a@example.com")])
        log = logging.getLogger("tests.audit")
        write_after_send_failure(changelog, SimpleNamespace(fence=lost), log)
        assert "the run that took it over writes" in caplog.text
        assert sink.rows == [] and (tmp_path / "spool").exists()
        assert write_changelog(changelog, SimpleNamespace(fence=contextlib.nullcontext), log) == 1
