"""The way in (pipeline/sources/__init__.py: iter_input): exactly one input, and which reader reads it."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import fsspec
import pytest
from upath import UPath

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.sources import iter_input
from airflow_provider_wooxy.pipeline.sources.files import FileItems
from tests.helpers.sources import emails, spark_export

if TYPE_CHECKING:
    from pathlib import Path


class TestIterInput:
    @pytest.mark.parametrize(
        ("kwargs", "given"),
        [
            pytest.param({}, "none", id="none"),
            pytest.param({"records": [], "path": "a.csv"}, "records and path", id="two"),
            pytest.param(
                {"records": ["a"], "path": "a.csv", "sql": "SELECT 1"}, "records and path and sql", id="three"
            ),
            pytest.param({"path": "", "sql": ""}, "none", id="empty-strings"),
        ],
    )
    def test_exactly_one_input(self, kwargs: dict, given: str):
        with pytest.raises(WooxyInputError, match=f"give exactly one of records=.* got {given}\\.$"):
            iter_input(field="email", **kwargs)

    def test_records(self):
        assert list(iter_input(records=["a@b.co"], field="email")) == [(1, "a@b.co")]

    def test_one_file(self, tmp_path: Path):
        (tmp_path / "in.csv").write_text("email\na@b.co\n")
        assert list(iter_input(path=str(tmp_path / "in.csv"), field="email")) == [(1, "a@b.co")]

    def test_a_folder_read_as_one_input(self, tmp_path: Path):
        folder = spark_export(tmp_path / "export")
        items = iter_input(path=f"{folder}/", field="email")
        assert isinstance(items, FileItems)
        assert [(row, item if isinstance(item, str) else item["email"]) for row, item in items] == list(
            enumerate(emails(9), start=1)
        )

    def test_a_glob_matching_nothing(self, tmp_path: Path):
        with pytest.raises(WooxyInputError, match=r"no data file matches .*\*\.csv .*set allow_empty=True"):
            iter_input(path=f"{tmp_path}/*.csv", field="email")
        assert list(iter_input(path=f"{tmp_path}/*.csv", field="email", allow_empty=True)) == []

    def test_object_storage_through_the_callers_path_maker(self):
        """A URI is opened by ``open_path`` (the operator's), for each file a folder or a glob finds too."""
        fs = fsspec.filesystem("memory")
        fs.pipe_file("/wooxy-iter-input/in/a.csv", b"email\na@b.co\n")
        fs.pipe_file("/wooxy-iter-input/in/_SUCCESS", b"")
        opened: list[str] = []

        def open_path(uri: str) -> UPath:
            opened.append(uri)
            return UPath(uri)

        try:
            for path in (
                "memory://wooxy-iter-input/in/a.csv",
                "memory://wooxy-iter-input/in/",
                "memory://wooxy-iter-input/*/*.csv",
            ):
                assert list(iter_input(path=path, open_path=open_path, field="email")) == [(1, "a@b.co")]
            assert opened.count("memory://wooxy-iter-input/in/a.csv") == 3
            with pytest.raises(WooxyInputError, match=r"pass a path object \(e.g. upath.UPath\)"):
                list(iter_input(path="memory://wooxy-iter-input/in/a.csv", field="email"))
        finally:
            fs.rm("/wooxy-iter-input", recursive=True)

    def test_a_query(self, tmp_path: Path):
        database = tmp_path / "w.db"
        with sqlite3.connect(database) as connection:
            connection.execute("CREATE TABLE u (email TEXT)")
            connection.execute("INSERT INTO u VALUES ('a@b.co')")
        connection.close()
        items = iter_input(sql="SELECT email FROM u", connect=lambda: sqlite3.connect(database), field="email")
        assert list(items) == [(1, "a@b.co")]

    def test_a_query_needs_a_connection(self):
        with pytest.raises(WooxyInputError, match="sql= needs sql_conn_id="):
            iter_input(sql="SELECT 1", field="email")
