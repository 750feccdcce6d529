"""The entries a sync knows someone else listed: the file beside the state, read leniently, written whole."""

from __future__ import annotations

import io
import json
from pathlib import Path

from airflow_provider_wooxy.pipeline.sync.entries import EMAIL, PHONE
from airflow_provider_wooxy.pipeline.sync.known import known_file, known_location, read_known

URL = "https://api.wooxy.com"


def write(state: Path, kind, entries: dict[str, str], url: str = URL) -> None:
    header, body = known_file(kind, url, entries)
    known_location(state).write_bytes(json.dumps(header).encode() + b"\n" + body.read())


def test_round_trip(tmp_path: Path):
    state = tmp_path / "s.state"
    assert read_known(state, EMAIL, URL) == ({}, None)
    write(state, EMAIL, {"a@x.co\thard": "A@x.co\thard"})
    assert read_known(state, EMAIL, URL) == ({"a@x.co\thard": "A@x.co\thard"}, None)
    assert known_location(state).name == "s.state.listed"


def test_another_lists_or_connections_file_is_ignored_and_said(tmp_path: Path):
    state = tmp_path / "s.state"
    write(state, PHONE, {"+447911000001": "+447911000001"})
    entries, problem = read_known(state, EMAIL, URL)
    assert entries == {} and problem is not None and "ignored" in problem
    write(state, EMAIL, {"a@x.co\thard": "a@x.co\thard"}, url="https://other.example")
    assert read_known(state, EMAIL, URL)[0] == {}


def test_lines_that_are_no_entry_are_skipped(tmp_path: Path):
    state = tmp_path / "s.state"
    write(state, EMAIL, {})
    with known_location(state).open("ab") as handle:
        handle.write(b"a@x.co\thard\ngarbage\n")
    assert read_known(state, EMAIL, URL)[0] == {"a@x.co\thard": "a@x.co\thard"}


def test_the_body_holds_one_line_per_entry():
    header, body = known_file(EMAIL, URL, {"a": "a@x.co\thard", "b": "b@x.co\thard"})
    assert header["entries"] == 2 and isinstance(body, io.BytesIO)
    assert body.read() == b"a@x.co\thard\nb@x.co\thard\n"
