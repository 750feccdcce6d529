"""CSV input (pipeline/sources/delimited.py): the one-column fast path, the csv module's rows, the header checks."""

from __future__ import annotations

import csv
import io
from unittest import mock

import pytest

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.sources import delimited
from airflow_provider_wooxy.pipeline.sources.chunks import CHUNK_ROWS, TextChunk
from airflow_provider_wooxy.pipeline.sources.delimited import CsvError, check_header, csv_chunks, csv_row_chunks
from airflow_provider_wooxy.pipeline.validation import RecordError


def pairs(text: str, field: str = "email") -> list[tuple[int, object]]:
    """Every (row, item) of a CSV text, a reject as its reason."""
    return [
        (row, str(item) if isinstance(item, RecordError) else item)
        for chunk in csv_chunks(io.StringIO(text, newline=""), field)
        for row, item in zip(chunk.rows, chunk.items, strict=True)
    ]


class TestOneColumn:
    def test_lines_come_as_text_chunks(self):
        chunks = list(csv_chunks(io.StringIO("email\r\na@b.co\r\nc@d.co\r\n", newline=""), "email"))
        assert [type(chunk) for chunk in chunks] == [TextChunk]
        assert (list(chunks[0].rows), chunks[0].items) == ([1, 2], ["a@b.co", "c@d.co"])

    def test_an_empty_line_is_an_empty_row_and_a_last_line_needs_no_newline(self):
        assert pairs("email\na@b.co\n\nc@d.co") == [(1, "a@b.co"), (2, "empty CSV row"), (3, "c@d.co")]

    def test_a_quoted_value_hands_over_to_the_csv_module_without_losing_a_row(self):
        text = "email\n" + "".join(f"u{i}@b.co\n" for i in range(10)) + '"x,y@b.co"\nlast@b.co\n'
        with mock.patch.object(delimited, "_BLOCK", 16):
            got = pairs(text)
        assert got == [(i + 1, f"u{i}@b.co") for i in range(10)] + [(11, "x,y@b.co"), (12, "last@b.co")]

    def test_a_header_only_file_has_no_rows(self):
        assert pairs("email\n") == []
        assert pairs("") == []


class TestLongLines:
    def test_a_line_longer_than_the_field_limit_is_refused_naming_its_row(self):
        text = "email\na@b.co\n" + "x" * (delimited.FIELD_LIMIT + 1) + "\nc@d.co\n"
        with pytest.raises(CsvError) as info:
            pairs(text)
        assert info.value.row == 1  # the last good row: the long one is row 2
        assert f"a field is longer than {delimited.FIELD_LIMIT} characters" in info.value.reason

    @pytest.mark.parametrize(
        "line",
        [
            pytest.param('"{}"', id="quoted"),
            pytest.param("{},hard", id="with-a-comma"),
        ],
    )
    def test_a_field_the_csv_module_finds_too_long_gets_the_same_words(self, line: str):
        text = "email,rejectType\n" + line.format("x" * (delimited.FIELD_LIMIT + 1)) + "\n"
        with pytest.raises(CsvError, match=f"a field is longer than {delimited.FIELD_LIMIT} characters"):
            pairs(text.replace(",rejectType", "") if line.startswith('"') else text)

    def test_a_long_line_under_the_limit_is_read_whole_across_blocks(self):
        long = "y" * 1000 + "@example.com"
        with mock.patch.object(delimited, "_BLOCK", 7):
            assert pairs(f"email\na@b.co\n{long}\nc@d.co") == [(1, "a@b.co"), (2, long), (3, "c@d.co")]


class TestRows:
    def test_reject_type_and_raw_log_come_with_the_address(self):
        text = "id,email,rejectType,rawLog\n1,a@b.co,complaint,log 1\n"
        assert pairs(text) == [(1, {"email": "a@b.co", "rejectType": "complaint", "rawLog": "log 1"})]

    def test_other_columns_are_left_out(self):
        assert pairs(" name , email \nAnn,a@b.co\n") == [(1, "a@b.co")]  # the header's names are stripped

    @pytest.mark.parametrize(
        ("row", "reason"),
        [
            pytest.param("a@b.co,x,y", "CSV row has 3 fields but the header has 2", id="long"),
            pytest.param("a@b.co", "CSV row has 1 fields but the header has 2", id="short"),
            pytest.param("  ", "empty CSV row", id="blank"),
            pytest.param("", "empty CSV row", id="empty"),
        ],
    )
    def test_a_ragged_row_is_a_reject_of_its_row(self, row: str, reason: str):
        assert pairs(f"email,name\nc@d.co,C\n{row}\ne@f.co,E\n") == [(1, "c@d.co"), (2, reason), (3, "e@f.co")]

    def test_rows_come_a_chunk_at_a_time(self):
        text = "email,n\n" + "a@b.co,1\n" * (CHUNK_ROWS + 1)
        chunks = list(csv_chunks(io.StringIO(text, newline=""), "email"))
        assert [chunk.rows for chunk in chunks] == [range(1, CHUNK_ROWS + 1), range(CHUNK_ROWS + 1, CHUNK_ROWS + 2)]

    def test_rows_are_numbered_after_the_given_row(self):
        reader = csv.reader(io.StringIO("a@b.co,1\n"))
        [chunk] = csv_row_chunks(reader, ["email", "n"], "email", 41)
        assert (chunk.rows, chunk.items) == (range(42, 43), ["a@b.co"])

    def test_text_the_csv_module_refuses_stops_at_its_row_after_the_rows_before(self):
        chunks = csv_chunks(io.StringIO('email,n\na@b.co,1\n"c@d.co"x,2\n', newline=""), "email")
        assert next(chunks).items == ["a@b.co"]
        with pytest.raises(CsvError) as info:
            next(chunks)
        assert info.value.row == 1  # the last row read: the error is in the next one
        assert "',' expected after '\"'" in info.value.reason


class TestHeader:
    @pytest.mark.parametrize(
        ("header", "message"),
        [
            pytest.param(
                ["mail", "id"], r"CSV header has no 'email' column \(columns found: 'mail', 'id'\)", id="no-column"
            ),
            pytest.param(['["a@b.co"]'], "looks like JSON, not CSV: set file_format='json'", id="json"),
            pytest.param(
                ["a@example.com", "x"], r"the CSV has no header row: .*\(column 1: a\*+@e\*+\.com\)", id="data"
            ),
            pytest.param(
                ["email", "rejectType", "email"],
                r"names the column 'email' 2 times \(columns 1, 3\): which one to read is ambiguous",
                id="twice",
            ),
            pytest.param(
                ["email", "rawLog", "rawLog"], r"names the column 'rawLog' 2 times \(columns 2, 3\)", id="extra-twice"
            ),
        ],
    )
    def test_a_header_that_cannot_be_read(self, header: list[str], message: str):
        with pytest.raises(WooxyInputError, match=message):
            check_header(header, "email")

    def test_a_first_row_of_data_is_never_quoted(self):
        with pytest.raises(WooxyInputError) as info:
            check_header(["jane.doe@example.com", "+447911123456"], "email")
        assert "jane.doe@example.com" not in str(info.value)
        assert "+447911123456" not in str(info.value)

    def test_a_usable_header(self):
        check_header(["id", "email", "rejectType"], "email")  # no error

    def test_a_broken_header_row(self):
        with pytest.raises(CsvError) as info:
            list(csv_chunks(io.StringIO('"email"x\n', newline=""), "email"))
        assert info.value.row == 0
