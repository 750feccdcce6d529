"""The export engine's paging and writing, in plain Python: servers that answer in ways the sandbox does not."""

from __future__ import annotations

import gzip
import json
import logging
import random
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_wooxy.api import EMAIL_FIND
from airflow_provider_wooxy.exceptions import WooxyPagingError, WooxyTransientError
from airflow_provider_wooxy.hooks.wooxy import WooxyHook
from airflow_provider_wooxy.pipeline.export import EmailExport, ExportSettings, RejectTypePager
from airflow_provider_wooxy.pipeline.output import ExportError
from airflow_provider_wooxy.pipeline.paging import REQUEST_MARGIN, total_tolerance
from tests.helpers.servers import LyingList


class ListServer:
    """
    A ``find`` over an in-memory list that serves pages the way a difficult API might.

    :param sizes: for each request in turn, how many rows to serve at most (cycled); a short page mid-list.
    :param stale_total: a ``totalCount`` reported whatever the list holds (a cached count).
    """

    def __init__(self, emails: list[str], sizes: list[int] | None = None, stale_total: int | None = None) -> None:
        self.emails = emails
        self.sizes = sizes or []
        self.stale_total = stale_total
        self.calls: list[tuple[int, int]] = []
        self._lock = threading.Lock()

    def __call__(
        self,
        reject_type: str,
        email: str | None = None,
        *,
        with_raw_log: bool = False,
        offset: int = 0,
        limit: int = 20,
    ) -> dict[str, Any]:
        with self._lock:
            served = self.sizes[len(self.calls) % len(self.sizes)] if self.sizes else limit
            self.calls.append((offset, limit))
            if len(self.calls) > 10_000:  # a looping exporter fails the test instead of hanging it
                raise RuntimeError("over 10,000 requests: the exporter is looping")
        rows = [{"email": e, "type": reject_type, "createdAt": "2026-01-01"} for e in self.emails]
        total = len(rows) if self.stale_total is None else self.stale_total
        return {"result": True, "data": rows[offset : offset + min(limit, served)], "totalCount": total}


def run(find: Any, **kwargs: Any) -> tuple[list[dict[str, Any]], Any]:
    written: list[dict[str, Any]] = []
    report = RejectTypePager(find, written.extend, **kwargs).run(["hard"])
    return written, report


EMAILS = [f"user{i}@example.com" for i in range(1000)]


class TestRejectTypePager:
    @pytest.mark.parametrize("max_concurrency", [pytest.param(1, id="sequential"), pytest.param(10, id="ten")])
    def test_short_pages_mid_list_are_completed(self, max_concurrency):
        """A page served shorter than the first one is asked again from where it stopped."""
        server = ListServer(EMAILS, sizes=[100, 100, 13, 100, 57, 1, 100])
        written, report = run(server, max_concurrency=max_concurrency)
        assert [row["email"] for row in written] == EMAILS  # all, once, in the API's order
        assert report.types["hard"].duplicates == 0
        assert len(server.calls) > 10  # the short pages cost extra requests

    def test_a_stale_total_is_an_error_not_a_loop(self):
        """The count says 5000 but only 1000 rows exist: the first empty page below the count ends the export."""
        server = ListServer(EMAILS, stale_total=5000)
        with pytest.raises(WooxyPagingError, match=r"an empty page at offset \d+ while the same answer's totalCount"):
            run(server, max_concurrency=4)
        assert len(server.calls) <= 1000 // 100 + 2 * 4  # the pages before, and those in flight or ahead

    def test_stop(self):
        server = ListServer(EMAILS)
        exporter = RejectTypePager(server, lambda rows: exporter.stop("enough"), max_concurrency=2)
        with pytest.raises(ExportError, match="stopped: enough"):
            exporter.run(["hard"])
        assert len(server.calls) < 10

    def test_answer_without_rows_is_an_error(self):
        with pytest.raises(ExportError, match="without a list of rows and a totalCount") as info:
            run(lambda *a, **k: {"result": True})
        assert str(info.value).startswith(f"{EMAIL_FIND} for hard at offset 0")  # the method's path from api.py

    def test_later_pages_follow_the_page_size_served(self):
        """The API serves 37 rows where 100 were asked for: the next pages start at multiples of 37, none skipped."""
        server = ListServer(EMAILS[:200], sizes=[37])
        written, _ = run(server, max_concurrency=1)
        assert [row["email"] for row in written] == EMAILS[:200]
        assert [offset for offset, _ in server.calls] == [0, 37, 74, 111, 148, 185]
        assert [limit for _, limit in server.calls] == [100, 37, 37, 37, 37, 37]

    def test_dedupe_window(self):
        """Overlaps within the window are removed; the window bounds memory, not correctness of the rest."""
        server = ListServer(["a@x.io", "b@x.io", "a@x.io", "c@x.io", "d@x.io", "b@x.io"])
        written, report = run(server, dedupe_window=2, page_size=1)
        # "a" is still remembered at row 3 and dropped; "b" (row 6) was forgotten once "c" and "d" came after it
        assert [row["email"] for row in written] == ["a@x.io", "b@x.io", "c@x.io", "d@x.io", "b@x.io"]
        assert report.types["hard"].duplicates == 1

    @settings(max_examples=40, deadline=None)
    @given(
        size=st.integers(0, 700),
        page_size=st.integers(1, 120),
        sizes=st.lists(st.integers(1, 120), min_size=1, max_size=8),
        max_concurrency=st.integers(1, 10),
    )
    def test_any_serving_gives_every_entry_once_or_a_bounded_error(self, size, page_size, sizes, max_concurrency):
        """Short pages cost requests: past twice the pages the count allows (plus a margin), the export stops."""
        emails = [f"u{i}@example.com" for i in range(size)]
        server = ListServer(emails, sizes=sizes)
        step = min(page_size, sizes[0])
        bound = 2 * -(-(size + total_tolerance(size)) // step) + REQUEST_MARGIN + max_concurrency
        try:
            written, report = run(server, page_size=page_size, max_concurrency=max_concurrency)
        except WooxyPagingError as exc:
            message = str(exc)
            assert len(server.calls) <= bound
        else:
            message = ""
        if message:
            assert "requests where a totalCount of" in message
            return
        assert [row["email"] for row in written] == emails
        assert report.types["hard"].exported == size

    @pytest.mark.parametrize(
        "kwargs", [pytest.param({"max_concurrency": 0}, id="concurrency"), pytest.param({"page_size": 0}, id="page")]
    )
    def test_bad_arguments(self, kwargs):
        with pytest.raises(ExportError):
            RejectTypePager(ListServer([]), print, **kwargs)


def one_row_pages(reject_type: str, email: str | None = None, *, with_raw_log=False, offset=0, limit=20):
    """A server that serves 100 rows at first, then one row per request, whatever was asked (of 1000)."""
    served = limit if offset == 0 else 1
    rows = [{"email": f"u{i}@example.com", "type": reject_type} for i in range(offset, min(offset + served, 1000))]
    return {"result": True, "data": rows, "totalCount": 1000}


class TestAServerThatLies:
    """Over real HTTP through the hook, against a hostile server: each lie ends the export within bounded requests."""

    @pytest.mark.parametrize(
        ("server", "error", "message", "most"),
        [
            pytest.param(
                LyingList(100_000, ignore_offset=True),
                WooxyPagingError,
                "the page at offset 100 repeats the one before it: the server ignores offset",
                1 + 2 * 10,
                id="ignored-offset",
            ),
            pytest.param(
                LyingList(1_000, total=10**9),
                WooxyPagingError,
                r"an empty page at offset \d+ while the same answer's totalCount is 1000000000",
                1 + 9 + 2 * 10,
                id="a-count-of-a-billion",
            ),
            pytest.param(
                LyingList(100_000, grow=1_000),
                WooxyTransientError,
                r"totalCount moved from 101000 to 11\d{4} while the list was read, more than the 10100 entries",
                1 + 11 + 2 * 10,
                id="a-count-that-runs-away",
            ),
        ],
    )
    def test_ends_with_a_clear_error(self, hostile, server, error, message, most):
        lies = hostile(server, max_attempts=1)
        with pytest.raises(error, match=message) as info:
            run(WooxyHook().find_email_blacklist, max_concurrency=10)
        assert str(info.value).startswith("Wooxy blacklist/find failed: reject type hard: ")
        assert len(lies.requests) <= most

    def test_more_requests_than_the_count_allows(self):
        calls = []

        def find(*args, **kwargs):
            calls.append(kwargs["offset"])
            return one_row_pages(*args, **kwargs)

        with pytest.raises(
            WooxyPagingError,
            match=r"\d+ requests where a totalCount of 1000 allows at most 50: the server serves pages far shorter",
        ):
            run(find, max_concurrency=3)
        assert len(calls) <= 51 + 3


def test_random_sizes_seeded():
    """One larger, repeatable run: 10 in flight, pages served between 1 and 100 rows."""
    rng = random.Random(7)
    emails = [f"u{i}@example.com" for i in range(5000)]
    server = ListServer(emails, sizes=[rng.randint(1, 100) for _ in range(97)])
    written, _ = run(server)
    assert [row["email"] for row in written] == emails


class TestEmailExport:
    """The whole export flow in plain Python: page every reject type -> write the file -> counts."""

    def test_writes_every_type_and_reports_counts(self, tmp_path):
        out = tmp_path / "sub" / "list.jsonl.gz"
        settings = ExportSettings(reject_types=["hard", "complaint"], page_size=70, max_concurrency=3)
        summary = EmailExport(ListServer(EMAILS[:200]), settings, logging.getLogger("test")).run(out, "jsonl", True)
        rows = [json.loads(line) for line in gzip.decompress(out.read_bytes()).splitlines()]
        assert len(rows) == 400 and {row["rejectType"] for row in rows} == {"hard", "complaint"}
        assert summary["exported"] == 400 and summary["by_reject_type"] == {"hard": 200, "complaint": 200}
        assert "@" not in json.dumps(summary)

    def test_a_stopped_export_leaves_no_partial_file(self, tmp_path):
        out = tmp_path / "list.csv"
        export = EmailExport(ListServer(EMAILS), ExportSettings(reject_types=["hard"]), logging.getLogger("test"))
        export.stop("the task was stopped")
        with pytest.raises(ExportError, match="the task was stopped"):
            export.run(out, "csv")
        assert not out.exists()
