"""The email blacklist export, over real HTTP against the sandbox: each test checks the file holds exactly the
entries."""

from __future__ import annotations

import csv
import gzip
import io
import json
from typing import TYPE_CHECKING

import fsspec
import pytest

from airflow_provider_wooxy.api import MAX_PAGE_SIZE
from airflow_provider_wooxy.exceptions import WooxyInputError, WooxyPagingError, WooxyTransientError
from airflow_provider_wooxy.operators.export import WooxyExportEmailBlacklistOperator
from tests.helpers.sandbox import TOKEN, connection_json
from tests.helpers.servers import LyingList

if TYPE_CHECKING:
    from airflow_provider_wooxy.sandbox import WooxySandbox


def seed(sandbox: WooxySandbox, counts: dict[str, int], **kwargs) -> set[tuple[str, str]]:
    """Put ``counts[type]`` entries of each reject type on the sandbox's list; returns ``{(email, type)}``."""
    entries = {(f"{kind}{i}@example.com", kind) for kind, n in counts.items() for i in range(n)}
    sandbox.add_emails(sorted(entries), **kwargs)
    return entries


def read_export(data: bytes, name: str) -> list[dict]:
    """The rows of an exported file (CSV or JSON Lines, optionally gzipped) as dicts."""
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    text = data.decode("utf-8")
    if name.removesuffix(".gz").endswith(".csv"):
        return list(csv.DictReader(io.StringIO(text)))
    return [json.loads(line) for line in text.splitlines()]


def exact(rows: list[dict]) -> set[tuple[str, str]]:
    """The ``(email, rejectType)`` pairs in the file, after checking none is there twice."""
    pairs = [(row["email"], row["rejectType"]) for row in rows]
    assert len(pairs) == len(set(pairs)), "an entry is in the file twice"
    return set(pairs)


def export(path, **kwargs) -> dict:
    return WooxyExportEmailBlacklistOperator(task_id="export", output_path=str(path), **kwargs).execute({})


class TestWooxyExportEmailBlacklistOperator:
    @pytest.mark.parametrize(
        "name",
        [
            pytest.param("list.csv", id="csv"),
            pytest.param("list.jsonl", id="jsonl"),
            pytest.param("list.csv.gz", id="csv-gzip"),
            pytest.param("list.jsonl.gz", id="jsonl-gzip"),
        ],
    )
    def test_several_reject_types(self, wooxy_conn: WooxySandbox, tmp_path, name):
        entries = seed(wooxy_conn, {"hard": 250, "complaint": 130, "list-unsubscribe": 7})
        summary = export(tmp_path / name)
        assert exact(read_export((tmp_path / name).read_bytes(), name)) == entries
        assert summary["exported"] == 387
        assert summary["by_reject_type"] == {"hard": 250, "complaint": 130, "list-unsubscribe": 7}
        assert summary["duplicates"] == 0
        assert summary["changed_while_exporting"] == []
        assert "@" not in json.dumps(summary)  # counts, never addresses

    def test_only_the_reject_types_asked_for(self, wooxy_conn: WooxySandbox, tmp_path):
        entries = seed(wooxy_conn, {"hard": 30, "complaint": 20, "list-unsubscribe": 10})
        summary = export(tmp_path / "out.csv", reject_types=["complaint"])
        assert exact(read_export((tmp_path / "out.csv").read_bytes(), "out.csv")) == {
            e for e in entries if e[1] == "complaint"
        }
        assert summary["by_reject_type"] == {"complaint": 20}
        assert wooxy_conn.stats()["requests"] == {"blacklist/find": 1}

    @pytest.mark.parametrize(
        ("with_raw_log", "name"),
        [
            pytest.param(True, "out.csv", id="raw-log-csv"),
            pytest.param(True, "out.jsonl", id="raw-log-jsonl"),
            pytest.param(False, "out.jsonl", id="no-raw-log"),
        ],
    )
    def test_columns(self, wooxy_conn: WooxySandbox, tmp_path, with_raw_log, name):
        wooxy_conn.add_emails([("a@example.com", "hard")], raw_log="550 5.1.1 user unknown")
        wooxy_conn.add_emails([("b@example.com", "hard")], expire_at="2027-01-01T00:00:00Z")
        export(tmp_path / name, reject_types="hard", with_raw_log=with_raw_log)
        rows = {row["email"]: row for row in read_export((tmp_path / name).read_bytes(), name)}
        assert rows["b@example.com"]["expireAt"] == "2027-01-01T00:00:00Z"
        assert rows["a@example.com"]["createdAt"]
        if name.endswith(".csv"):
            assert list(rows["a@example.com"]) == ["email", "rejectType", "createdAt", "expireAt", "rawLog"]
            assert rows["a@example.com"]["expireAt"] == ""
        else:
            assert "expireAt" not in rows["a@example.com"]
        if with_raw_log:
            assert rows["a@example.com"]["rawLog"] == "550 5.1.1 user unknown"
        else:
            assert "rawLog" not in rows["a@example.com"]

    def test_capped_page_size_pages_by_rows_received(self, wooxy_conn: WooxySandbox, tmp_path):
        wooxy_conn.max_find_limit = 37  # the API serves at most 37 rows whatever the client asks
        entries = seed(wooxy_conn, {"hard": 1000, "complaint": 74})
        summary = export(tmp_path / "out.jsonl", page_size=100)
        assert exact(read_export((tmp_path / "out.jsonl").read_bytes(), "out.jsonl")) == entries
        # ceil(1000 / 37) + 74 / 37 + one empty page: no page asked twice, none skipped
        assert summary["requests"] == 28 + 2 + 1
        assert wooxy_conn.stats()["requests"] == {"blacklist/find": 31}

    def test_concurrency_bounded(self, wooxy_conn: WooxySandbox, tmp_path):
        wooxy_conn.latency = 0.01
        entries = seed(wooxy_conn, {"hard": 2000})
        operator = WooxyExportEmailBlacklistOperator(
            task_id="export", output_path=str(tmp_path / "o.csv"), max_concurrency=3
        )
        assert operator.pool_slots == 3
        operator.execute({})
        assert exact(read_export((tmp_path / "o.csv").read_bytes(), "o.csv")) == entries
        assert wooxy_conn.stats()["max_in_flight"] == 3

    def test_list_growing_at_its_head_while_paged(self, wooxy_conn: WooxySandbox, tmp_path):
        """Entries added ahead of the pages still to come shift them: the overlaps are removed, none is lost."""
        entries = seed(wooxy_conn, {"hard": 1000})
        finds = []

        def add_at_head(sandbox: WooxySandbox, body: dict) -> None:
            finds.append(body["offset"])
            if 2 <= len(finds) <= 5:
                sandbox.add_emails([(f"new{len(finds)}-{i}@example.com", "hard") for i in range(3)], first=True)

        wooxy_conn.on_find = add_at_head
        summary = export(tmp_path / "out.csv", reject_types="hard", max_concurrency=1)
        assert exact(read_export((tmp_path / "out.csv").read_bytes(), "out.csv")) == entries
        assert summary["duplicates"] == 12  # each of the 4 changes shifted the next page by 3
        assert summary["changed_while_exporting"] == ["hard"]
        assert max(finds) >= 1000  # the export followed totalCount past the list's first end

    def test_list_shrinking_while_paged(self, wooxy_conn: WooxySandbox, tmp_path, logs):
        """Entries removed behind the pages still to come shift them back: an entry is missed, and it is said."""
        entries = seed(wooxy_conn, {"hard": 1000})
        ordered = [f"hard{i}@example.com" for i in sorted(range(1000), key=lambda i: f"hard{i}@example.com")]
        finds = []

        def remove_read_ones(sandbox: WooxySandbox, body: dict) -> None:
            finds.append(body["offset"])
            if 2 <= len(finds) <= 4:  # two of the entries already read, each time
                sandbox.remove_emails(ordered[(len(finds) - 2) * 2 : (len(finds) - 1) * 2])

        wooxy_conn.on_find = remove_read_ones
        summary = export(tmp_path / "out.csv", reject_types="hard", max_concurrency=1)
        found = exact(read_export((tmp_path / "out.csv").read_bytes(), "out.csv"))
        assert found <= entries
        assert len(entries - found) == 6  # 2 missed at each of the 3 shifts (the removed ones were read before)
        assert summary["changed_while_exporting"] == ["hard"]
        assert "an entry may be missing" in logs()

    def test_list_changing_under_concurrent_pages(self, wooxy_conn: WooxySandbox, tmp_path):
        """With pages in flight together, a change can cause both: the file never holds an entry twice."""
        wooxy_conn.latency = 0.005
        entries = seed(wooxy_conn, {"hard": 3000})
        added: set[tuple[str, str]] = set()
        calls = [0]

        def churn(sandbox: WooxySandbox, body: dict) -> None:
            calls[0] += 1
            if calls[0] % 3 == 0:
                new = [(f"churn{calls[0]}-{i}@example.com", "hard") for i in range(5)]
                added.update(new)
                sandbox.add_emails(new, first=True)

        wooxy_conn.on_find = churn
        summary = export(tmp_path / "out.csv", reject_types="hard")
        found = exact(read_export((tmp_path / "out.csv").read_bytes(), "out.csv"))
        assert found <= entries | added
        assert summary["duplicates"] > 0
        assert summary["changed_while_exporting"] == ["hard"]

    def test_list_emptied_while_paged_stops(self, wooxy_conn: WooxySandbox, tmp_path):
        """Pages that come back empty end the export: a shrinking list cannot make it loop."""
        entries = seed(wooxy_conn, {"hard": 500})

        def empty_it(sandbox: WooxySandbox, body: dict) -> None:
            if body["offset"] > 0:
                sandbox.remove_emails(sandbox.email_addresses())

        wooxy_conn.on_find = empty_it
        summary = export(tmp_path / "out.csv", reject_types="hard", max_concurrency=1)
        found = exact(read_export((tmp_path / "out.csv").read_bytes(), "out.csv"))
        assert len(found) == 100 and found <= entries
        assert summary["requests"] == 2

    def test_transient_faults(self, wooxy_conn: WooxySandbox, monkeypatch, tmp_path):
        # 10 attempts: a page failing 10 times in a row at 20% is a one-in-ten-million event.
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(wooxy_conn.url, max_attempts=10))
        wooxy_conn.fault_rate = 0.2
        wooxy_conn.fault_kinds = ("http500", "html502", "http429", "internal200", "drop_before", "drop_after")
        wooxy_conn.max_find_limit = 50
        entries = seed(wooxy_conn, {"hard": 2000, "complaint": 300, "list-unsubscribe": 150})
        summary = export(tmp_path / "out.jsonl.gz")
        assert exact(read_export((tmp_path / "out.jsonl.gz").read_bytes(), "out.jsonl.gz")) == entries
        assert summary["retries"] > 0 and sum(wooxy_conn.stats()["faults"].values()) == summary["retries"]
        assert summary["duplicates"] == 0

    @pytest.mark.parametrize(
        "scheme", [pytest.param("file", id="file-uri"), pytest.param("memory", id="fsspec-memory")]
    )
    def test_object_storage(self, wooxy_conn: WooxySandbox, memory_storage, tmp_path, scheme):
        entries = seed(wooxy_conn, {"hard": 120, "complaint": 3})
        base = f"file://{tmp_path}" if scheme == "file" else memory_storage
        uri = f"{base}/exports/2026/list.csv.gz"
        export(uri)
        with fsspec.open(uri, "rb") as handle:
            data = handle.read()
        assert exact(read_export(data, uri)) == entries

    def test_failure_leaves_no_partial_file(self, wooxy_conn: WooxySandbox, monkeypatch, tmp_path):
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(wooxy_conn.url, max_attempts=2))
        seed(wooxy_conn, {"hard": 1000})
        wooxy_conn.outage(after=3)
        with pytest.raises(WooxyTransientError):
            export(tmp_path / "out.csv", max_concurrency=2)
        assert not (tmp_path / "out.csv").exists()

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            pytest.param({"reject_types": ["bounce"]}, "reject_types must name some of", id="unknown-type"),
            pytest.param({"reject_types": []}, "reject_types must name some of", id="no-type"),
            pytest.param({"path_name": "out.xlsx"}, "cannot tell the export format", id="unknown-suffix"),
        ],
    )
    def test_unusable_arguments_fail_before_any_request(self, wooxy_conn: WooxySandbox, tmp_path, kwargs, message):
        path = tmp_path / kwargs.pop("path_name", "out.csv")
        with pytest.raises(WooxyInputError, match=message):
            export(path, **kwargs)
        assert wooxy_conn.stats()["total_requests"] == 0
        assert not path.exists()

    @pytest.mark.parametrize(
        "kwargs",
        [
            pytest.param({"max_concurrency": 11}, id="concurrency-over-10"),
            pytest.param({"max_concurrency": 0}, id="concurrency-0"),
            pytest.param({"page_size": 0}, id="page-size-0"),
            pytest.param({"page_size": MAX_PAGE_SIZE + 1}, id="page-size-over-the-answer-cap"),
            pytest.param({"page_size": True}, id="page-size-bool"),
        ],
    )
    def test_bad_constructor_arguments(self, kwargs):
        with pytest.raises(WooxyInputError):
            WooxyExportEmailBlacklistOperator(task_id="export", output_path="out.csv", **kwargs)

    def test_the_largest_page_size(self):
        with pytest.raises(WooxyInputError, match="from 1 to 1500, got 1501: a larger page could exceed the 16 MiB"):
            WooxyExportEmailBlacklistOperator(task_id="export", output_path="out.csv", page_size=1501)
        assert WooxyExportEmailBlacklistOperator(task_id="e", output_path="o.csv", page_size=1500).page_size == 1500

    @pytest.mark.parametrize(
        ("server", "message"),
        [
            pytest.param(LyingList(100_000, ignore_offset=True), "repeats the one before it", id="ignored-offset"),
            pytest.param(LyingList(300, total=10**9), r"an empty page at offset \d+ while", id="lying-count"),
        ],
    )
    def test_a_server_that_lies_fails_the_task_and_leaves_no_file(self, hostile, tmp_path, server, message):
        lies = hostile(server, max_attempts=1)
        with pytest.raises(WooxyPagingError, match=message):
            export(tmp_path / "out.csv", reject_types=["hard"])
        assert not (tmp_path / "out.csv").exists()
        assert len(lies.requests) <= 1 + 3 + 2 * 10

    def test_empty_list(self, wooxy_conn: WooxySandbox, tmp_path):
        summary = export(tmp_path / "out.csv")
        assert (tmp_path / "out.csv").read_text() == "email,rejectType,createdAt,expireAt\n"
        assert summary["exported"] == 0
        assert summary["requests"] == 3

    def test_token_stays_out_of_logs_and_summary(self, wooxy_conn: WooxySandbox, tmp_path, logs):
        seed(wooxy_conn, {"hard": 10})
        summary = export(tmp_path / "out.csv")
        text = logs()
        assert TOKEN not in text and TOKEN not in json.dumps(summary)
        assert "hard0@example.com" not in text  # addresses go to the file only
