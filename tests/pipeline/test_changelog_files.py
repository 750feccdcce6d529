"""Changelog files (pipeline/changelog_files.py): each format, appended whole or not at all, local or object storage."""

from __future__ import annotations

import builtins
import gzip
import json
from pathlib import Path

import pytest
from upath import UPath

from airflow_provider_wooxy.exceptions import WooxyChangelogError, WooxyInputError
from airflow_provider_wooxy.pipeline.changelog import Changelog, RunContext, Spool
from airflow_provider_wooxy.pipeline.changelog_files import FileSink, changelog_format
from tests.operators.test_changelog import COLUMNS, read_rows

NAMES = ["log.csv", "log.jsonl", "log.csv.gz", "log.jsonl.gz", "log.parquet"]


def write(location, name: str, addresses: list[str], run: str = "r1") -> int:
    spool = Spool(Path(str(location)).parent / f".{name}.{run}.spool")
    changelog = Changelog("email", RunContext("d", "t", run, 1), [(FileSink(location, name), spool)])
    changelog.accepted("add", [json.dumps({"email": a, "rejectType": "hard"}).encode() for a in addresses])
    return changelog.write()


class TestFormats:
    @pytest.mark.parametrize(
        ("path", "expected"),
        [
            pytest.param("a/log.csv", ("csv", False), id="csv"),
            pytest.param("s3://b/log.CSV.gz", ("csv", True), id="csv-gz"),
            pytest.param("log.ndjson", ("jsonl", False), id="ndjson"),
            pytest.param("log.jsonl.gz", ("jsonl", True), id="jsonl-gz"),
            pytest.param("log.parquet", ("parquet", False), id="parquet"),
        ],
    )
    def test_the_suffix_says(self, path: str, expected: tuple[str, bool]):
        assert changelog_format(path) == expected

    @pytest.mark.parametrize("path", ["log.txt", "log.parquet.gz", "log.json", "logs/"])
    def test_other_suffixes_are_refused(self, path: str):
        with pytest.raises(WooxyInputError, match="unknown suffix"):
            changelog_format(path)


class TestAppend:
    @pytest.mark.parametrize("name", NAMES)
    def test_a_second_run_appends(self, tmp_path: Path, name: str):
        path = tmp_path / name
        assert write(path, name, ["a@example.com", "b@example.com"]) == 2
        assert write(path, name, ["c@example.com"], run="r2") == 1
        rows = read_rows(path)
        assert [(r["email"], r["run_id"]) for r in rows] == [
            ("a@example.com", "r1"),
            ("b@example.com", "r1"),
            ("c@example.com", "r2"),
        ]
        assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file or spool left

    def test_an_empty_file_is_a_new_one(self, tmp_path: Path):
        path = tmp_path / "log.csv"
        path.touch()  # e.g. made ahead by a deployment
        write(path, path.name, ["a@example.com"])
        assert path.read_text().splitlines()[0] == ",".join(COLUMNS)

    def test_a_gzipped_file_gets_a_member_per_run(self, tmp_path: Path):
        path = tmp_path / "log.csv.gz"
        write(path, path.name, ["a@example.com"])
        write(path, path.name, ["b@example.com"], run="r2")
        lines = gzip.decompress(path.read_bytes()).decode().splitlines()
        assert lines[0] == ",".join(COLUMNS) and len(lines) == 3  # one header, whatever the runs

    @pytest.mark.parametrize("name", ["log.csv", "log.parquet"])
    def test_a_file_with_other_columns_is_left_as_it_was(self, tmp_path: Path, name: str):
        path = tmp_path / name
        if name.endswith(".csv"):
            path.write_text("id,name\n1,x\n")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table({"id": [1]}), path)
        before = path.read_bytes()
        with pytest.raises(WooxyChangelogError, match="has other columns"):
            write(path, name, ["a@example.com"])
        assert path.read_bytes() == before

    def test_object_storage(self, tmp_path: Path):
        location = UPath(f"memory://{tmp_path.name}/audit/log.jsonl")
        write(location, "log.jsonl", ["a@example.com"])
        write(location, "log.jsonl", ["b@example.com"], run="r2")
        rows = [json.loads(line) for line in location.read_text().splitlines()]
        assert [r["email"] for r in rows] == ["a@example.com", "b@example.com"]

    def test_parquet_without_pyarrow_says_which_extra(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
        real_import = builtins.__import__

        def no_pyarrow(name: str, *args, **kwargs):
            if name.startswith("pyarrow"):
                raise ImportError(name)
            return real_import(name, *args, **kwargs)

        monkeypatch.setattr(builtins, "__import__", no_pyarrow)
        with pytest.raises(WooxyChangelogError, match=r"needs pyarrow: install the provider's parquet extra"):
            write(tmp_path / "log.parquet", "log.parquet", ["a@example.com"])
        assert not (tmp_path / "log.parquet").exists()
