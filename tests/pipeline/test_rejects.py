"""Rejected records on their own: the masked sample, the description for messages, the full file."""

from __future__ import annotations

import csv
import gzip
import io
import json
from typing import TYPE_CHECKING

import pytest

from airflow_provider_wooxy.pipeline.rejects import SAMPLE_SIZE, Rejects

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def rejects() -> Iterator[Rejects]:
    collected = Rejects()
    yield collected
    collected.close()


class TestSample:
    def test_values_and_reasons_are_masked_in_memory(self, rejects: Rejects):
        rejects.add(3, "john.doe@example.com", "john.doe@example.com has no MX record")
        rejects.add(4, "+14155552671", "number +14155552671 is too short")
        assert rejects.sample == [
            {"row": 3, "value": "j***@e***.com", "reason": "j***@e***.com has no MX record", "source": "validation"},
            {"row": 4, "value": "+1********71", "reason": "number +1********71 is too short", "source": "validation"},
        ]

    def test_the_sample_is_capped_but_every_reject_counts(self, rejects: Rejects):
        for row in range(SAMPLE_SIZE + 5):
            rejects.add(row, f"bad{row}", "invalid")
        assert rejects.count == SAMPLE_SIZE + 5
        assert len(rejects.sample) == SAMPLE_SIZE

    def test_a_value_that_is_not_text(self, rejects: Rejects):
        rejects.add(1, 14155552671, "must be a string", source="api")
        assert rejects.sample[0]["value"] == "14*******71" and rejects.sample[0]["source"] == "api"

    def test_rows_of_several_files_name_their_file(self, rejects: Rejects):
        rejects.locate = lambda row: ("b.csv", row - 10)
        rejects.add(12, "bad", "invalid")
        assert rejects.sample[0] | {} == {
            "row": 12,
            "value": "***",
            "reason": "invalid",
            "source": "validation",
            "file": "b.csv",
            "file_row": 2,
        }
        assert rejects.describe() == "b.csv row 2: invalid (value ***)"


class TestDescribe:
    def test_names_the_first_and_counts_the_rest(self, rejects: Rejects):
        for row in range(1, 8):
            rejects.add(row, f"user{row}@example.com", "refused")
        text = rejects.describe(2)
        assert text == "row 1: refused (value u***@e***.com); row 2: refused (value u***@e***.com); and 5 more"

    def test_nothing_rejected(self, rejects: Rejects):
        assert rejects.describe() == ""


class TestExport:
    def fill(self, rejects: Rejects) -> None:
        rejects.add(2, "ann@example.com", "refused by Wooxy: ann@example.com", source="api")
        rejects.add(5, "bad", "not an address")

    @pytest.mark.parametrize("name", [pytest.param("r.jsonl", id="jsonl"), pytest.param("r.json.gz", id="gz")])
    def test_json_lines_hold_the_values_whole(self, rejects: Rejects, tmp_path: Path, name):
        self.fill(rejects)
        path = tmp_path / "out" / name
        rejects.export(str(path))
        data = path.read_bytes()
        lines = (gzip.decompress(data) if name.endswith(".gz") else data).decode().splitlines()
        assert [json.loads(line) for line in lines] == [
            {"row": 2, "value": "ann@example.com", "reason": "refused by Wooxy: ann@example.com", "source": "api"},
            {"row": 5, "value": "bad", "reason": "not an address", "source": "validation"},
        ]

    def test_csv_with_the_file_columns_when_located(self, rejects: Rejects, tmp_path: Path):
        rejects.locate = lambda row: ("in.csv", row)
        self.fill(rejects)
        path = tmp_path / "rejects.CSV.gz"
        rejects.export(str(path))
        rows = list(csv.DictReader(io.StringIO(gzip.decompress(path.read_bytes()).decode())))
        assert list(rows[0]) == ["row", "value", "reason", "source", "file", "file_row"]
        assert [(r["row"], r["value"], r["file"]) for r in rows] == [
            ("2", "ann@example.com", "in.csv"),
            ("5", "bad", "in.csv"),
        ]

    def test_an_export_can_be_written_twice(self, rejects: Rejects, tmp_path: Path):
        self.fill(rejects)
        rejects.export(str(tmp_path / "a.jsonl"))
        rejects.export(str(tmp_path / "b.jsonl"))
        assert (tmp_path / "a.jsonl").read_text() == (tmp_path / "b.jsonl").read_text() != ""

    @pytest.mark.parametrize("name", [pytest.param("r.csv", id="csv"), pytest.param("r.jsonl", id="jsonl")])
    def test_a_value_with_no_utf8_form_is_written_escaped(self, rejects: Rejects, tmp_path: Path, name):
        rejects.add(3, "a\ud800@example.com", "reason quoting \udc80")
        rejects.export(str(tmp_path / name))
        text = (tmp_path / name).read_text(encoding="utf-8")  # strict: the file is UTF-8
        row = next(csv.DictReader(io.StringIO(text))) if name.endswith(".csv") else json.loads(text)
        assert row["value"].encode("utf-8", "surrogatepass") in (b"a\\ud800@example.com", b"a\xed\xa0\x80@example.com")
        assert rejects.sample[0]["value"] == "a***@e***.com"
