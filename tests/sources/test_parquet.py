"""Parquet input (pipeline/sources/parquet.py) through the operators: multi-part files written by pyarrow, typed
columns, nulls, damage."""

from __future__ import annotations

import decimal
import sys
from typing import TYPE_CHECKING

import pyarrow as pa
import pytest

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.operators.blacklist import WooxyAddEmailBlacklistOperator, WooxyAddPhoneBlacklistOperator
from airflow_provider_wooxy.operators.sync import WooxySyncPhoneBlacklistOperator
from tests.helpers.sources import uk_mobiles, write_parts

if TYPE_CHECKING:
    from pathlib import Path

    from airflow_provider_wooxy.sandbox import WooxySandbox


class TestParquetInput:
    def test_multi_part_integer_phone_column(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        numbers = uk_mobiles(40)
        write_parts(tmp_path / "unload", {"phone": numbers, "name": [f"n{i}" for i in range(40)]}, parts=4)
        op = WooxyAddPhoneBlacklistOperator(
            task_id="add", path=f"{tmp_path}/unload/", field="phone", default_region="GB"
        )
        summary = op.execute({})
        assert (summary["received"], summary["sent"]) == (40, 40)
        assert wooxy_conn.phone_numbers() == {f"+{n}" for n in numbers}

    def test_decimal_phone_column_and_per_record_reject_type(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        numbers = [decimal.Decimal(n) for n in uk_mobiles(3)]
        write_parts(
            tmp_path / "unload",
            {"phoneNumber": numbers, "rejectType": ["unsubscribe", None, "invalid"]},
            parts=1,
            phoneNumber=pa.decimal128(15, 0),
        )
        op = WooxyAddPhoneBlacklistOperator(task_id="add", path=f"{tmp_path}/unload/*.parquet", default_region="GB")
        assert op.execute({})["sent"] == 3
        assert sorted(e["rejectType"] for e in wooxy_conn.phones.values()) == ["import", "invalid", "unsubscribe"]

    def test_string_column_with_nulls_rejected_by_file_and_row(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        addresses = [f"user{i}@example.com" for i in range(10)]
        addresses[2] = None
        addresses[8] = None
        write_parts(tmp_path / "unload", {"email": addresses}, parts=2)
        op = WooxyAddEmailBlacklistOperator(task_id="add", path=f"{tmp_path}/unload/", max_invalid=None)
        summary = op.execute({})
        assert (summary["sent"], summary["invalid"]) == (8, 2)
        where = [(r["file"].rsplit("/", 1)[-1], r["file_row"], r["reason"]) for r in summary["rejects_sample"]]
        assert where == [
            ("part-00000.parquet", 3, "null in column 'email'"),
            ("part-00001.parquet", 4, "null in column 'email'"),
        ]

    def test_unknown_column_lists_the_columns(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        [path] = write_parts(tmp_path, {"mail": ["a@example.com"], "id": [1]}, parts=1)
        with pytest.raises(WooxyInputError, match=r"no 'email' column \(columns found: 'mail', 'id'\); set field="):
            WooxyAddEmailBlacklistOperator(task_id="add", path=str(path)).execute({})

    @pytest.mark.parametrize(
        "damage",
        [
            pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
            pytest.param(lambda data: b"not parquet at all", id="not-parquet"),
            pytest.param(lambda data: data[:200] + bytes(200) + data[400:], id="zeroed-pages"),
        ],
    )
    def test_damaged_part_is_named_and_nothing_is_sent(self, wooxy_conn: WooxySandbox, tmp_path: Path, damage):
        numbers = uk_mobiles(200)
        paths = write_parts(tmp_path / "unload", {"phoneNumber": [f"+{n}" for n in numbers]}, parts=3)
        paths[1].write_bytes(damage(paths[1].read_bytes()))
        op = WooxyAddPhoneBlacklistOperator(task_id="add", path=f"{tmp_path}/unload/")
        with pytest.raises(WooxyInputError, match=r"part-00001\.parquet.* (is not a readable Parquet file|row)"):
            op.execute({})
        assert wooxy_conn.phone_numbers() == set()
        assert wooxy_conn.stats()["requests"] == {}

    def test_sync_from_parquet(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        write_parts(tmp_path / "unload", {"phoneNumber": uk_mobiles(25)}, parts=5)
        op = WooxySyncPhoneBlacklistOperator(
            task_id="sync", path=f"{tmp_path}/unload/", default_region="GB", state_path=str(tmp_path / "s.json")
        )
        assert op.execute({})["added"] == 25

    def test_explicit_format_for_nameless_parts(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        [path] = write_parts(tmp_path, {"email": ["a@example.com", "b@example.com"]}, parts=1)
        path.rename(tmp_path / "data_0_0_0")
        op = WooxyAddEmailBlacklistOperator(task_id="add", path=f"{tmp_path}/data_*", file_format="parquet")
        assert op.execute({})["sent"] == 2

    def test_without_pyarrow_the_extra_is_named(self, wooxy_conn: WooxySandbox, tmp_path: Path, monkeypatch):
        [path] = write_parts(tmp_path, {"email": ["a@example.com"]}, parts=1)
        monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
        with pytest.raises(WooxyInputError, match=r"needs pyarrow: .*airflow-provider-wooxy\[parquet\]"):
            WooxyAddEmailBlacklistOperator(task_id="add", path=str(path)).execute({})
