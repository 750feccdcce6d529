"""The files the read flows write (the export's list, the look-up's numbers): the format a path asks for, the writer."""

from __future__ import annotations

import csv
import gzip
import io
import json

import pytest

from airflow_provider_wooxy.pipeline import output
from airflow_provider_wooxy.pipeline.output import EntryWriter, ExportError, export_format


class TestEntryWriter:
    ROWS = [
        {"email": "a@example.com", "rejectType": "hard", "createdAt": "2026-01-01", "rawLog": 'said "no", twice'},
        {"email": "b@example.com", "rejectType": "hard", "createdAt": "2026-01-02", "expireAt": "2027-01-01"},
    ]

    @pytest.mark.parametrize("gzipped", [pytest.param(False, id="plain"), pytest.param(True, id="gzip")])
    def test_csv(self, gzipped):
        stream = io.BytesIO()
        writer = EntryWriter(stream, "csv", gzipped=gzipped, with_raw_log=True)
        writer.write(self.ROWS)
        writer.close()
        data = gzip.decompress(stream.getvalue()) if gzipped else stream.getvalue()
        rows = list(csv.DictReader(io.StringIO(data.decode())))
        assert rows[0] == {**self.ROWS[0], "expireAt": ""}
        assert rows[1] == {**self.ROWS[1], "rawLog": ""}
        assert not stream.closed  # the caller's stream: the caller closes it

    def test_jsonl_leaves_absent_keys_out(self):
        stream = io.BytesIO()
        writer = EntryWriter(stream, "jsonl")
        writer.write(self.ROWS)
        writer.close()
        assert [json.loads(line) for line in stream.getvalue().splitlines()] == self.ROWS

    def test_unknown_format(self):
        with pytest.raises(ExportError, match="not one of csv, jsonl"):
            EntryWriter(io.BytesIO(), "xlsx")


class TestExportFormat:
    @pytest.mark.parametrize(
        ("path", "expected"),
        [
            pytest.param("out.csv", ("csv", False), id="csv"),
            pytest.param("s3://b/k/out.CSV.GZ", ("csv", True), id="csv-gz-upper"),
            pytest.param("/tmp/out.jsonl", ("jsonl", False), id="jsonl"),
            pytest.param("out.ndjson.gz", ("jsonl", True), id="ndjson-gz"),
        ],
    )
    def test_suffixes(self, path, expected):
        assert export_format(path) == expected

    @pytest.mark.parametrize("path", [pytest.param("out.txt", id="txt"), pytest.param("out.gz", id="bare-gz")])
    def test_unknown(self, path):
        with pytest.raises(ExportError, match=r"use a \.csv or \.jsonl suffix"):
            export_format(path)


class TestEntryWriterColumnsAndBuffering:
    def test_other_columns_for_the_look_up(self):
        stream = io.BytesIO()
        writer = EntryWriter(stream, "csv", columns=("phoneNumber", "rejectType", "createdAt"))
        writer.write([{"phoneNumber": "+14155552671", "rejectType": "import", "email": "ignored@example.com"}])
        writer.close()
        assert stream.getvalue().decode() == "phoneNumber,rejectType,createdAt\n+14155552671,import,\n"

    def test_the_raw_log_column_only_when_asked_for(self):
        stream = io.BytesIO()
        EntryWriter(stream, "csv").close()
        assert stream.getvalue() == b"email,rejectType,createdAt,expireAt\n"

    def test_small_pages_wait_for_close(self):
        stream = io.BytesIO()
        writer = EntryWriter(stream, "jsonl")
        writer.write([{"email": "a@example.com"}])
        assert stream.getvalue() == b""  # gathered into one large write
        writer.close()
        assert stream.getvalue() == b'{"email":"a@example.com"}\n'

    def test_a_megabyte_is_written_at_once(self, monkeypatch):
        monkeypatch.setattr(output, "_WRITE_SIZE", 64)
        stream = io.BytesIO()
        writer = EntryWriter(stream, "jsonl")
        writer.write([{"email": f"user{i}@example.com"} for i in range(3)])  # more than 64 bytes
        assert stream.getvalue().count(b"\n") == 3

    def test_non_ascii_is_written_as_utf8(self):
        stream = io.BytesIO()
        writer = EntryWriter(stream, "jsonl")
        writer.write([{"email": "jörg@bücher.de"}])
        writer.close()
        assert json.loads(stream.getvalue().decode("utf-8")) == {"email": "jörg@bücher.de"}
        assert "ö".encode() in stream.getvalue()
