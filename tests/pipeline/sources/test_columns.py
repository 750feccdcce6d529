"""One rule for the columns (or keys) read, held the same in every source: CSV, JSON, JSON Lines, Parquet, SQL, XCom."""

from __future__ import annotations

import csv
import json
import sqlite3
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.sources import iter_input
from airflow_provider_wooxy.pipeline.sources.columns import columns_read, fold

if TYPE_CHECKING:
    from pathlib import Path

ADDRESS = "user1@example.com"


def _csv(tmp_path: Path, names: list[str], values: list[str]) -> dict[str, Any]:
    path = tmp_path / "in.csv"
    with path.open("w", newline="") as out:
        csv.writer(out).writerows([names, values])
    return {"path": str(path)}


def _json(tmp_path: Path, names: list[str], values: list[str]) -> dict[str, Any]:
    path = tmp_path / "in.json"
    path.write_text("[" + _object(names, values) + "]")  # written by hand: a key may be given twice
    return {"path": str(path)}


def _jsonl(tmp_path: Path, names: list[str], values: list[str]) -> dict[str, Any]:
    path = tmp_path / "in.jsonl"
    path.write_text(_object(names, values) + "\n")
    return {"path": str(path)}


def _object(names: list[str], values: list[str]) -> str:
    return "{" + ", ".join(f"{json.dumps(n)}: {json.dumps(v)}" for n, v in zip(names, values, strict=True)) + "}"


def _parquet(tmp_path: Path, names: list[str], values: list[str]) -> dict[str, Any]:
    path = tmp_path / "in.parquet"
    arrays = [pa.array([value]) for value in values]
    pq.write_table(pa.Table.from_arrays(arrays, schema=pa.schema([(name, pa.string()) for name in names])), path)
    return {"path": str(path)}


def _sql(tmp_path: Path, names: list[str], values: list[str]) -> dict[str, Any]:
    database = tmp_path / "in.db"
    columns = ", ".join(f"'{value}' AS \"{name}\"" for name, value in zip(names, values, strict=True))
    return {"sql": f"SELECT {columns}", "connect": lambda: sqlite3.connect(database)}


def _xcom(tmp_path: Path, names: list[str], values: list[str]) -> dict[str, Any]:
    if len(set(names)) < len(names):
        pytest.skip("a dict cannot hold a key twice")
    return {"records": [dict(zip(names, values, strict=True))]}


SOURCES = [
    pytest.param(_csv, id="csv"),
    pytest.param(_json, id="json"),
    pytest.param(_jsonl, id="jsonl"),
    pytest.param(_parquet, id="parquet"),
    pytest.param(_sql, id="sql"),
    pytest.param(_xcom, id="xcom"),
]


def read(source: Any, tmp_path: Path, names: list[str], values: list[str]) -> list[tuple[int, object]]:
    return list(iter_input(field="email", **source(tmp_path, names, values)))


class TestEverySource:
    @pytest.mark.parametrize("source", SOURCES)
    @pytest.mark.parametrize(
        ("names", "fragment"),
        [
            pytest.param(["email", "RejectType"], "no 'rejectType' column but 'RejectType'", id="capitalised"),
            pytest.param(["email", "reject_type"], "no 'rejectType' column but 'reject_type'", id="snake-case"),
            pytest.param(["email", "REJECTTYPE"], "no 'rejectType' column but 'REJECTTYPE'", id="upper-case"),
            pytest.param(["email", "reject-type"], "no 'rejectType' column but 'reject-type'", id="kebab-case"),
            pytest.param(["EMAIL", "rejectType"], "no 'email' column but 'EMAIL'", id="address-upper-case"),
            pytest.param(["email", "raw_log"], "no 'rawLog' column but 'raw_log'", id="raw-log"),
        ],
    )
    def test_a_loose_match_is_refused_naming_the_column(self, source, names, fragment, tmp_path: Path):
        with pytest.raises(WooxyInputError) as info:
            read(source, tmp_path, names, [ADDRESS, "complaint"])
        message = str(info.value).replace(" key ", " column ")  # objects have keys, tables columns
        assert fragment in message
        assert "rename it to" in message
        assert ADDRESS not in message

    @pytest.mark.parametrize("source", SOURCES)
    @pytest.mark.parametrize(
        "names",
        [
            pytest.param(["email", "rejectType", "RejectType"], id="exact-and-loose-reject-type"),
            pytest.param(["email", "reject_type", "RejectType"], id="two-loose-reject-types"),
            pytest.param(["email", "Email", "rejectType"], id="exact-and-loose-address"),
            pytest.param(["email", "email", "rejectType"], id="same-name-twice"),
        ],
    )
    def test_two_matching_columns_are_ambiguous(self, source, names, tmp_path: Path):
        with pytest.raises(WooxyInputError, match="ambiguous"):
            read(source, tmp_path, names, [ADDRESS, "hard", "complaint"])

    @pytest.mark.parametrize("source", SOURCES)
    def test_exact_names_are_read(self, source, tmp_path: Path):
        names = ["id", "email", "rejectType", "rawLog"]
        [(row, item)] = read(source, tmp_path, names, ["7", ADDRESS, "complaint", "log"])
        assert row == 1
        assert isinstance(item, dict)
        read_columns = {key: item[key] for key in ("email", "rejectType", "rawLog")}
        assert read_columns == {"email": ADDRESS, "rejectType": "complaint", "rawLog": "log"}


class TestColumnsRead:
    def test_indexes_of_the_columns_read(self):
        assert columns_read(["x", "rawLog", "email"], "email", "here") == {"email": 2, "rawLog": 1}

    def test_no_field_is_left_to_the_caller(self):
        assert columns_read(["x", "y"], "email", "here") == {}

    def test_a_custom_field_is_matched_by_the_same_rule(self):
        with pytest.raises(WooxyInputError, match=r"no 'phone_number' column but 'PhoneNumber'.* field='PhoneNumber'"):
            columns_read(["PhoneNumber"], "phone_number", "the CSV header")

    @pytest.mark.parametrize(
        ("name", "folded"),
        [pytest.param("Reject_Type", "rejecttype", id="snake"), pytest.param("raw-log", "rawlog", id="kebab")],
    )
    def test_fold(self, name: str, folded: str):
        assert fold(name) == folded
