"""Checkpoints on their own: the file's shape, what load() trusts, throttled writes, and what resume() logs."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import pytest

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.checkpoint import Checkpoint

if TYPE_CHECKING:
    from pathlib import Path

LOG = logging.getLogger("test.checkpoint")


def checkpoint(path: Path, fingerprint: str = "input-a", **kwargs) -> Checkpoint:
    return Checkpoint(str(path), fingerprint, **kwargs)


class TestFile:
    def test_marks_are_saved_as_ranges_and_read_back(self, tmp_path: Path):
        path = tmp_path / "state" / "checkpoint.json"
        first = checkpoint(path)
        for number in (0, 1, 2, 5, 7, 8):
            first.mark(number)  # the first mark writes at once (no earlier write); later ones wait for save()
        first.save()
        state = json.loads(path.read_text())
        assert (state["fingerprint"], state["done"]) == ("input-a", [[0, 2], [5, 5], [7, 8]])
        assert checkpoint(path).load() == {0, 1, 2, 5, 7, 8}

    def test_writes_are_throttled_while_sending(self, tmp_path: Path):
        path = tmp_path / "checkpoint.json"
        writer = checkpoint(path, min_interval=3600)
        writer.mark(0)
        writer.mark(1)
        assert json.loads(path.read_text())["done"] == [[0, 0]]  # the second mark waits for the interval
        writer.save()
        assert json.loads(path.read_text())["done"] == [[0, 1]]

    def test_save_without_a_change_writes_nothing(self, tmp_path: Path):
        path = tmp_path / "checkpoint.json"
        checkpoint(path).save()
        assert not path.exists()

    def test_complete_removes_it(self, tmp_path: Path):
        path = tmp_path / "checkpoint.json"
        done = checkpoint(path)
        done.mark(0)
        done.complete()
        assert not path.exists()
        done.complete()  # nothing left to remove: no error

    def test_a_folder_is_refused(self, tmp_path: Path):
        with pytest.raises(WooxyInputError, match=r"checkpoint_path .* is a folder"):
            checkpoint(tmp_path)


class TestLoad:
    def test_no_file_is_a_fresh_start(self, tmp_path: Path):
        fresh = checkpoint(tmp_path / "none.json")
        assert fresh.load() == set()
        assert not fresh.stale and not fresh.damaged

    def test_another_inputs_checkpoint_is_stale_and_ignored(self, tmp_path: Path):
        path = tmp_path / "checkpoint.json"
        path.write_text(json.dumps({"fingerprint": "input-b", "done": [[0, 9]]}))
        other = checkpoint(path)
        assert other.load() == set()
        assert other.stale and not other.damaged

    @pytest.mark.parametrize(
        "text",
        [
            pytest.param('{"fingerprint": "input-a", "done": [[0, ', id="cut-short"),
            pytest.param("[1, 2]", id="not-an-object"),
            pytest.param('{"done": [[0, 1]]}', id="no-fingerprint"),
            pytest.param('{"fingerprint": "input-a", "done": [["x", 1]]}', id="bad-range"),
            pytest.param(b"\xff\xfe", id="not-utf8"),
        ],
    )
    def test_anything_else_is_damaged_and_ignored(self, tmp_path: Path, text):
        path = tmp_path / "checkpoint.json"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        damaged = checkpoint(path)
        assert damaged.load() == set()
        assert damaged.damaged

    def test_load_hands_out_a_copy(self, tmp_path: Path):
        path = tmp_path / "checkpoint.json"
        path.write_text(json.dumps({"fingerprint": "input-a", "done": [[0, 1]]}))
        loaded = checkpoint(path)
        skip = loaded.load()
        loaded.mark(5)  # marks while sending must not change the batches being skipped
        assert skip == {0, 1}


class TestResume:
    def test_says_how_many_batches_are_skipped(self, tmp_path: Path, caplog):
        path = tmp_path / "checkpoint.json"
        path.write_text(json.dumps({"fingerprint": "input-a", "done": [[0, 3]]}))
        with caplog.at_level(logging.INFO):
            assert checkpoint(path).resume(LOG) == {0, 1, 2, 3}
        assert f"Resuming from checkpoint {path}: 4 batches were already accepted and are skipped." in caplog.text

    @pytest.mark.parametrize(
        ("text", "level", "words"),
        [
            pytest.param('{"fingerprint": "input-b", "done": []}', logging.INFO, "belongs to other input", id="stale"),
            pytest.param("{", logging.WARNING, "is damaged (not a checkpoint)", id="damaged"),
        ],
    )
    def test_says_why_it_starts_from_the_beginning(self, tmp_path: Path, caplog, text, level, words):
        path = tmp_path / "checkpoint.json"
        path.write_text(text)
        with caplog.at_level(logging.INFO):
            assert checkpoint(path).resume(LOG) == set()
        (record,) = caplog.records
        assert record.levelno == level
        assert words in record.getMessage() and "starting from the beginning" in record.getMessage()

    def test_no_checkpoint_says_nothing(self, tmp_path: Path, caplog):
        with caplog.at_level(logging.INFO):
            assert checkpoint(tmp_path / "none.json").resume(LOG) == set()
        assert caplog.records == []
