"""Many files as one input (pipeline/sources/files.py) through the operators: globs and folders, local and on object
storage, over real HTTP."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from airflow.providers.common.compat.sdk import ObjectStoragePath

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.operators.blacklist import WooxyAddEmailBlacklistOperator, WooxyAddPhoneBlacklistOperator
from airflow_provider_wooxy.operators.lookup import WooxyCheckPhoneBlacklistOperator
from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator
from tests.helpers.sources import emails, spark_export

if TYPE_CHECKING:
    from pathlib import Path

    from airflow_provider_wooxy.sandbox import WooxySandbox


class TestManyFilesAsOneInput:
    def test_folder_in_name_order_with_format_per_file(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        folder = spark_export(tmp_path / "export")
        summary = WooxyAddEmailBlacklistOperator(task_id="add", path=f"{folder}/").execute({})
        assert (summary["received"], summary["sent"]) == (9, 9)
        assert wooxy_conn.email_addresses() == set(emails(9))

    def test_one_file_format_for_every_file(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        for i in range(3):
            (tmp_path / f"data_0_{i}_0").write_text("".join(json.dumps({"email": e}) + "\n" for e in emails(2, 2 * i)))
        op = WooxyAddEmailBlacklistOperator(task_id="add", path=f"{tmp_path}/data_*", file_format="jsonl")
        assert op.execute({})["sent"] == 6

    def test_every_reject_names_its_file_and_row(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        (tmp_path / "part-0.csv").write_text("email\na@example.com\nnot-an-address\n")
        (tmp_path / "part-1.csv").write_text("email\nb@example.com\nc@example.com\nalso bad\n")
        rejects = tmp_path / "rejects.csv"
        op = WooxyAddEmailBlacklistOperator(
            task_id="add", path=f"{tmp_path}/part-*.csv", max_invalid=None, rejects_path=str(rejects)
        )
        summary = op.execute({})
        assert summary["sent"] == 3
        where = [(r["file"].rsplit("/", 1)[-1], r["file_row"], r["row"]) for r in summary["rejects_sample"]]
        assert where == [("part-0.csv", 2, 2), ("part-1.csv", 3, 5)]
        lines = rejects.read_text().splitlines()
        assert lines[0] == "row,value,reason,source,file,file_row"
        assert lines[2].endswith(f"{tmp_path}/part-1.csv,3")

    def test_default_mode_names_file_and_row_and_sends_nothing(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        (tmp_path / "part-0.csv").write_text("email\na@example.com\n")
        (tmp_path / "part-1.csv").write_text("email\nb@example.com\nbroken\n")
        with pytest.raises(
            WooxyInputError, match=r"part-1\.csv row 2: .*nothing was sent|nothing was sent.*part-1\.csv row 2"
        ):
            WooxyAddEmailBlacklistOperator(task_id="add", path=f"{tmp_path}/").execute({})
        assert wooxy_conn.email_addresses() == set()

    def test_a_bad_file_is_named(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        (tmp_path / "part-0.csv").write_text("email\na@example.com\n")
        (tmp_path / "part-1.csv").write_text("mail\nb@example.com\n")
        with pytest.raises(WooxyInputError, match=r"part-1\.csv: CSV header has no 'email' column"):
            WooxyAddEmailBlacklistOperator(task_id="add", path=f"{tmp_path}/").execute({})
        assert wooxy_conn.email_addresses() == set()

    @pytest.mark.parametrize("pattern", [pytest.param("*.csv", id="glob"), pytest.param("empty/", id="folder")])
    def test_no_match_fails_clearly(self, wooxy_conn: WooxySandbox, tmp_path: Path, pattern: str):
        (tmp_path / "empty").mkdir()
        (tmp_path / "empty" / "_SUCCESS").write_text("")
        with pytest.raises(WooxyInputError, match=r"no data file matches .*allow_empty"):
            WooxyAddEmailBlacklistOperator(task_id="add", path=f"{tmp_path}/{pattern}").execute({})

    def test_no_match_with_allow_empty(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        op = WooxyAddEmailBlacklistOperator(task_id="add", path=f"{tmp_path}/*.csv", allow_empty=True)
        assert op.execute({})["received"] == 0

    def test_missing_folder(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        with pytest.raises(WooxyInputError, match="input folder not found"):
            WooxyAddEmailBlacklistOperator(task_id="add", path=f"{tmp_path}/nowhere/").execute({})

    def test_object_storage_glob(self, wooxy_conn: WooxySandbox, memory_storage: str):
        for i in range(3):
            part = ObjectStoragePath(f"{memory_storage}/unload/part-{i:05d}.csv")
            part.parent.mkdir(parents=True, exist_ok=True)
            part.write_text("phoneNumber\n" + "".join(f"+4479111{i:03d}{j:02d}\n" for j in range(5)))
        ObjectStoragePath(f"{memory_storage}/unload/_SUCCESS").write_text("")
        op = WooxyAddPhoneBlacklistOperator(task_id="add", path=f"{memory_storage}/unload/")
        assert op.execute({})["sent"] == 15

    def test_sync_reads_a_folder(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        folder = spark_export(tmp_path / "export")
        op = WooxySyncEmailBlacklistOperator(task_id="sync", path=f"{folder}/", state_path=str(tmp_path / "state.json"))
        assert op.execute({})["added"] == 9

    def test_lookup_reads_a_glob(self, wooxy_conn: WooxySandbox, tmp_path: Path):
        wooxy_conn.phones["+447911123456"] = {
            "phoneNumber": "+447911123456",
            "rejectType": "unsubscribe",
            "createdAt": "2026-01-01T00:00:00Z",
        }
        for i, number in enumerate(["+447911123456", "+447911123457"]):
            (tmp_path / f"numbers-{i}.csv").write_text(f"phoneNumber\n{number}\n")
        op = WooxyCheckPhoneBlacklistOperator(
            task_id="check", input_path=f"{tmp_path}/numbers-*.csv", path=str(tmp_path / "listed.csv")
        )
        assert op.execute({})["listed"] == 1
