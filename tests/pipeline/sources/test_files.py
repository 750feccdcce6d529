"""Many files as one input (pipeline/sources/files.py): which files a glob or folder names, and their rows as one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.sources.chunks import Chunk, Items
from airflow_provider_wooxy.pipeline.sources.files import FileItems, expand, is_data_file, is_many
from airflow_provider_wooxy.pipeline.storage import storage_path
from tests.helpers.sources import spark_export

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


def _pairs(count: int, fail_after: int | None = None) -> Iterator[tuple[int, object]]:
    for row in range(1, count + 1):
        if row == fail_after:
            raise WooxyInputError(f"broken at row {row}")
        yield row, f"value {row}"


class TestExpand:
    @pytest.mark.parametrize(
        ("path", "expected"),
        [
            pytest.param("data/bounces.csv", False, id="one-file"),
            pytest.param("data/", True, id="folder"),
            pytest.param("s3://bucket/unload/*.parquet", True, id="glob"),
            pytest.param("data/part-[0-9].csv", True, id="range"),
        ],
    )
    def test_is_many(self, path: str, expected: bool):
        assert is_many(path) is expected

    @pytest.mark.parametrize(
        ("name", "size", "expected"),
        [
            pytest.param("part-0.csv", 10, True, id="part"),
            pytest.param("_SUCCESS", 0, False, id="success"),
            pytest.param(".part-0.csv.crc", 8, False, id="hidden"),
            pytest.param("part-1.csv", 0, False, id="empty"),
            pytest.param("unload_$folder$", 0, False, id="folder-marker"),
        ],
    )
    def test_is_data_file(self, name: str, size: int, expected: bool):
        assert is_data_file(name, size) is expected

    def test_folder_lists_data_files_in_name_order(self, tmp_path: Path):
        folder = spark_export(tmp_path / "export")
        found = expand(f"{folder}/", storage_path)
        assert [p.rsplit("/", 1)[-1] for p in found] == ["part-00000.csv", "part-00001.jsonl.gz", "part-00002.json"]

    def test_glob_across_folders(self, tmp_path: Path):
        for day in ("2026-01-02", "2026-01-01"):
            spark_export(tmp_path / day)
        found = expand(f"{tmp_path}/*/part-*.csv", storage_path)
        assert found == [f"{tmp_path}/2026-01-01/part-00000.csv", f"{tmp_path}/2026-01-02/part-00000.csv"]

    def test_one_file_is_itself(self, tmp_path: Path):
        assert expand(f"{tmp_path}/bounces.csv", storage_path) == [f"{tmp_path}/bounces.csv"]

    def test_a_glob_under_a_missing_folder_matches_nothing(self, tmp_path: Path):
        assert expand(f"{tmp_path}/nowhere/*.csv", storage_path) == []

    def test_a_missing_folder_is_an_error(self, tmp_path: Path):
        with pytest.raises(WooxyInputError, match=r"input folder not found: .*/nowhere/$"):
            expand(f"{tmp_path}/nowhere/", storage_path)

    def test_a_file_named_as_a_folder_is_no_folder(self, tmp_path: Path):
        (tmp_path / "data.csv").write_text("email\na@b.co\n")
        with pytest.raises(WooxyInputError, match="input folder not found"):
            expand(f"{tmp_path}/data.csv/", storage_path)

    def test_a_relative_glob_is_matched_from_the_working_folder(self, tmp_path: Path, monkeypatch):
        spark_export(tmp_path)
        monkeypatch.chdir(tmp_path)
        assert expand("part-*.json", storage_path) == ["part-00002.json"]


class TestFileItems:
    def test_rows_run_on_across_files_and_are_located_back(self):
        files = {"a.csv": ["x", "y"], "b.csv": ["z"], "c.csv": ["u", "v"]}
        items = FileItems(
            list(files),
            lambda path: Items(lambda: iter([Chunk(range(1, len(files[path]) + 1), list(files[path]))])),
        )
        chunks = list(items.chunks())
        assert [list(c.rows) for c in chunks] == [[1, 2], [3], [4, 5]]
        assert [items.locate(row) for row in (1, 3, 5)] == [("a.csv", 1), ("b.csv", 1), ("c.csv", 2)]

    def test_locate_maps_stream_rows_to_files(self):
        files = {"a": [(1, "x"), (2, "y")], "b": [], "c": [(1, "z")]}
        items = FileItems(list(files), lambda path: iter(files[path]))
        assert [row for row, _ in items] == [1, 2, 3]
        assert [items.locate(row) for row in (1, 2, 3)] == [("a", 1), ("a", 2), ("c", 1)]

    def test_rows_that_are_not_a_range_are_renumbered_too(self):
        files = {"a": [Chunk([1, 2], ["x", "y"])], "b": [Chunk([1, 3], ["z", "u"])]}
        items = FileItems(list(files), lambda path: Items(lambda: iter(files[path])))
        assert list(items) == [(1, "x"), (2, "y"), (3, "z"), (5, "u")]

    def test_a_files_failure_names_it(self):
        items = FileItems(["good.csv", "bad.csv"], lambda path: _pairs(3, fail_after=2 if path == "bad.csv" else None))
        with pytest.raises(WooxyInputError, match=r"bad\.csv: broken at row 2"):
            list(items)

    def test_a_failure_naming_its_file_already_is_not_named_twice(self):
        def read(path: str) -> Iterator[tuple[int, object]]:
            raise WooxyInputError(f"{path} is not a readable gzip file")
            yield  # a generator

        with pytest.raises(WooxyInputError, match=r"^bad\.csv\.gz is not a readable gzip file$"):
            list(FileItems(["bad.csv.gz"], read))
