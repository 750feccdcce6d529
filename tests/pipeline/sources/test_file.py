"""One file (pipeline/sources/file.py): its format from its name, opened and read, and its problems named."""

from __future__ import annotations

import gzip
from typing import TYPE_CHECKING

import pytest

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.sources.chunks import TextChunk
from airflow_provider_wooxy.pipeline.sources.file import detect_format, iter_file_records

if TYPE_CHECKING:
    from pathlib import Path


def read(path: Path, **kwargs: object) -> list[tuple[int, object]]:
    return list(iter_file_records(str(path), field="email", **kwargs))  # type: ignore[arg-type]


class TestDetectFormat:
    @pytest.mark.parametrize(
        ("path", "file_format", "expected"),
        [
            pytest.param("data/bounces.csv", None, ("csv", False), id="csv"),
            pytest.param("s3://bucket/BOUNCES.CSV.GZ", None, ("csv", True), id="gzipped-upper-case"),
            pytest.param("bounces.json", None, ("json", False), id="json"),
            pytest.param("bounces.ndjson.gz", None, ("jsonl", True), id="ndjson"),
            pytest.param("part-0.parquet", None, ("parquet", False), id="parquet"),
            pytest.param("data_0_0_0", "jsonl", ("jsonl", False), id="format-given"),
            pytest.param("data_0_0_0", ".CSV.gz", ("csv", True), id="format-gzipped"),
            pytest.param("data_0_0_0", "ndjson", ("jsonl", False), id="format-by-suffix"),
            pytest.param("bounces.txt.gz", "csv", ("csv", True), id="gzipped-name-format-given"),
            pytest.param("bounces.csv", "json", ("json", False), id="format-wins"),
        ],
    )
    def test_format(self, path: str, file_format: str | None, expected: tuple[str, bool]):
        assert detect_format(path, file_format) == expected

    def test_an_unknown_format(self):
        with pytest.raises(WooxyInputError, match="file_format 'xlsx' is not one of csv, json, jsonl, parquet"):
            detect_format("a.xlsx", "xlsx")

    def test_a_name_without_a_known_suffix(self):
        with pytest.raises(WooxyInputError, match=r"cannot tell the format of 'exports/data\.txt' from its name"):
            detect_format("exports/data.txt", None)


class TestReading:
    def test_a_gzipped_csv(self, tmp_path: Path):
        path = tmp_path / "in.csv.gz"
        path.write_bytes(gzip.compress(b"\xef\xbb\xbfemail\na@b.co\n"))  # the byte-order mark is dropped
        assert read(path) == [(1, "a@b.co")]

    def test_chunks_are_the_readers_own(self, tmp_path: Path):
        path = tmp_path / "in.csv"
        path.write_text("email\na@b.co\nc@d.co\n")
        assert [type(chunk) for chunk in iter_file_records(str(path), field="email").chunks()] == [TextChunk]

    def test_the_format_given_wins_over_the_name(self, tmp_path: Path):
        path = tmp_path / "in.csv"
        path.write_text('{"email": "a@b.co"}\n')
        assert read(path, file_format="jsonl") == [(1, {"email": "a@b.co"})]


class TestProblemsNameTheFile:
    def test_a_missing_file(self, tmp_path: Path):
        with pytest.raises(WooxyInputError, match=r"input file not found: .*nowhere\.csv"):
            read(tmp_path / "nowhere.csv")

    def test_a_folder(self, tmp_path: Path):
        (tmp_path / "in.csv").mkdir()
        with pytest.raises(WooxyInputError, match=r"input path is a directory, not a file: .*in\.csv"):
            read(tmp_path / "in.csv")

    def test_a_broken_gzip_stream(self, tmp_path: Path):
        path = tmp_path / "in.jsonl.gz"
        path.write_bytes(gzip.compress(b'"a@b.co"\n' * 1000)[:-20])
        with pytest.raises(WooxyInputError, match=r"in\.jsonl\.gz is not a readable gzip file \("):
            read(path)

    def test_text_the_csv_module_refuses(self, tmp_path: Path):
        path = tmp_path / "in.csv"
        path.write_text('email,n\na@b.co,1\n"c@d.co"x,2\n')
        with pytest.raises(WooxyInputError, match=r"in\.csv is not valid CSV near row 2: ',' expected after"):
            read(path)

    def test_a_readers_whole_file_problem(self, tmp_path: Path):
        path = tmp_path / "in.csv"
        path.write_text("mail\na@b.co\n")
        with pytest.raises(WooxyInputError, match=r"in\.csv: CSV header has no 'email' column"):
            read(path)

    @pytest.mark.parametrize(
        ("name", "data", "where"),
        [
            pytest.param("in.csv", b"email\na@b.co\nj\xf6rg@b.co\n", "in data row 2", id="csv-row"),
            pytest.param("in.csv", b"em\xe4il\na@b.co\n", "in the header row", id="csv-header"),
            pytest.param("in.jsonl", b'"a@b.co"\n"c@d.co"\n"j\xf6rg@b.co"\n', "in row 3", id="jsonl"),
            pytest.param("in.json", b'[\n"a@b.co",\n"j\xf6rg@b.co"]', "on line 3", id="json"),
        ],
    )
    def test_a_byte_that_is_not_utf8_is_placed(self, tmp_path: Path, name: str, data: bytes, where: str):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(WooxyInputError, match=f"{name} is not UTF-8 text: byte 0x[ef][46] {where} cannot be"):
            read(path)


class TestWideEncodings:
    @pytest.mark.parametrize(
        ("encoding", "name"),
        [
            pytest.param("utf-16-le", "UTF-16", id="utf-16-le-no-bom"),
            pytest.param("utf-16-be", "UTF-16", id="utf-16-be-no-bom"),
            pytest.param("utf-16", "UTF-16", id="utf-16-bom"),
            pytest.param("utf-32-le", "UTF-32", id="utf-32-le-no-bom"),
            pytest.param("utf-32", "UTF-32", id="utf-32-bom"),
        ],
    )
    @pytest.mark.parametrize("suffix", [pytest.param(".csv", id="csv"), pytest.param(".jsonl", id="jsonl")])
    def test_named_with_what_to_do(self, tmp_path, encoding: str, name: str, suffix: str):
        path = tmp_path / f"in{suffix}"
        text = "email\na@b.co\n" if suffix == ".csv" else '{"email": "a@b.co"}\n'
        path.write_bytes(text.encode(encoding))
        with pytest.raises(
            WooxyInputError, match=f"in{suffix}: the file is {name} text, not UTF-8: re-export it as UTF-8"
        ):
            list(iter_file_records(str(path), field="email"))

    def test_a_gzipped_one_too(self, tmp_path):
        path = tmp_path / "in.csv.gz"
        path.write_bytes(gzip.compress("email\na@b.co\n".encode("utf-16-le")))
        with pytest.raises(WooxyInputError, match="UTF-16 text, not UTF-8"):
            list(iter_file_records(str(path), field="email"))
