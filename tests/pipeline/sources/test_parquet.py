"""Parquet input (pipeline/sources/parquet.py): files written by pyarrow, typed columns, nulls, extras, damage."""

from __future__ import annotations

import decimal
import sys
from typing import TYPE_CHECKING

import pyarrow as pa
import pytest

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.sources import parquet
from airflow_provider_wooxy.pipeline.sources.file import iter_file_records
from airflow_provider_wooxy.pipeline.sources.parquet import cell_text, parquet_chunks
from airflow_provider_wooxy.pipeline.validation import RecordError
from tests.helpers.sources import uk_mobiles, write_parts

if TYPE_CHECKING:
    from pathlib import Path


def read(path: Path, field: str = "email") -> list[tuple[int, object]]:
    return [
        (row, str(item) if isinstance(item, RecordError) else item)
        for row, item in iter_file_records(str(path), field=field)
    ]


class TestCellText:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param(447911123456, "447911123456", id="int"),
            pytest.param(decimal.Decimal("447911123456"), "447911123456", id="decimal"),
            pytest.param(decimal.Decimal("447911123456.00"), "447911123456", id="decimal-scale"),
            pytest.param(447911123456.0, "447911123456", id="float"),
            pytest.param(4.5, 4.5, id="fraction-left-for-validation"),
            pytest.param("+447911123456", "+447911123456", id="text"),
            pytest.param(True, True, id="bool"),
        ],
    )
    def test_numbers_as_their_digits(self, value: object, expected: object):
        assert cell_text(value) == expected


class TestParquetChunks:
    def test_a_string_column_comes_as_it_is_a_batch_at_a_time(self, tmp_path: Path, monkeypatch):
        monkeypatch.setattr(parquet, "BATCH_ROWS", 4)
        [path] = write_parts(tmp_path, {"email": [f"u{i}@b.co" for i in range(10)], "id": list(range(10))}, parts=1)
        with path.open("rb") as stream:
            chunks = list(parquet_chunks(stream, str(path), "email"))
        assert [chunk.rows for chunk in chunks] == [range(1, 5), range(5, 9), range(9, 11)]
        assert [item for chunk in chunks for item in chunk.items] == [f"u{i}@b.co" for i in range(10)]

    def test_an_integer_column_comes_as_digits_and_a_null_as_a_reject(self, tmp_path: Path):
        numbers: list[int | None] = list(uk_mobiles(3))
        numbers[1] = None
        [path] = write_parts(tmp_path, {"phone": numbers}, parts=1)
        assert read(path, "phone") == [(1, "447911000000"), (2, "null in column 'phone'"), (3, "447911000002")]

    def test_a_decimal_column_with_reject_type_and_raw_log(self, tmp_path: Path):
        [path] = write_parts(
            tmp_path,
            {
                "phoneNumber": [decimal.Decimal(n) for n in uk_mobiles(2)],
                "rejectType": ["unsubscribe", None],
                "rawLog": [None, "log"],
            },
            parts=1,
            phoneNumber=pa.decimal128(15, 0),
        )
        assert read(path, "phoneNumber") == [
            (1, {"phoneNumber": "447911000000", "rejectType": "unsubscribe", "rawLog": None}),
            (2, {"phoneNumber": "447911000001", "rejectType": None, "rawLog": "log"}),
        ]

    def test_nulls_in_a_string_column(self, tmp_path: Path):
        [path] = write_parts(tmp_path, {"email": ["a@b.co", None]}, parts=1)
        assert read(path) == [(1, "a@b.co"), (2, "null in column 'email'")]

    def test_an_empty_file_has_no_rows(self, tmp_path: Path):
        [path] = write_parts(tmp_path, {"email": []}, parts=1, email=pa.string())
        assert read(path) == []

    def test_a_missing_column_lists_the_columns(self, tmp_path: Path):
        [path] = write_parts(tmp_path, {"mail": ["a@b.co"], "id": [1]}, parts=1)
        with pytest.raises(WooxyInputError, match=r"has no 'email' column \(columns found: 'mail', 'id'\); set field="):
            read(path)

    def test_not_parquet(self, tmp_path: Path):
        path = tmp_path / "part-0.parquet"
        path.write_bytes(b"not parquet at all")
        with pytest.raises(WooxyInputError, match=r"part-0\.parquet is not a readable Parquet file \("):
            read(path)

    def test_damage_after_the_footer_names_the_last_row_read(self, tmp_path: Path):
        [path] = write_parts(tmp_path, {"email": [f"user{i}@example.com" for i in range(200)]}, parts=1)
        data = path.read_bytes()
        path.write_bytes(data[:200] + bytes(200) + data[400:])
        with pytest.raises(WooxyInputError, match=r"part-00000\.parquet is not a readable Parquet file after row \d+"):
            read(path)

    def test_the_default_memory_pool_is_put_back(self, tmp_path: Path):
        [path] = write_parts(tmp_path, {"email": ["a@b.co"]}, parts=1)
        before = pa.default_memory_pool().backend_name
        assert read(path) == [(1, "a@b.co")]
        assert pa.default_memory_pool().backend_name == before

    def test_without_pyarrow_the_extra_is_named(self, tmp_path: Path, monkeypatch):
        [path] = write_parts(tmp_path, {"email": ["a@b.co"]}, parts=1)
        monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
        with pytest.raises(WooxyInputError, match=r"needs pyarrow: .*airflow-provider-wooxy\[parquet\]"):
            read(path)
