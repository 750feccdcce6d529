"""Reading JSON arrays with ijson: what the hand-written parser did, and the edges where yajl differs."""

from __future__ import annotations

import gzip

import pytest

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.reading import iter_file_records


def read(path) -> list[tuple[int, object]]:
    return list(iter_file_records(str(path), field="email"))


class TestJsonArray:
    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            pytest.param(b'["a@b.co", {"email": "c@d.co"}]', [(1, "a@b.co"), (2, {"email": "c@d.co"})], id="plain"),
            pytest.param(b'\xef\xbb\xbf  [ "a@b.co" ]', [(1, "a@b.co")], id="byte-order-mark"),
            pytest.param('["jörg@bücher.de"]'.encode(), [(1, "jörg@bücher.de")], id="utf8"),
            pytest.param(b"[1, 2.5, true, null]", [(1, 1), (2, 2.5), (3, True), (4, None)], id="scalars"),
            pytest.param(b"  \n ", [], id="blank"),
            pytest.param(b"[]", [], id="empty-array"),
        ],
    )
    def test_reads(self, tmp_path, data, expected):
        path = tmp_path / "in.json"
        path.write_bytes(data)
        assert read(path) == expected
        # Numbers as json.loads gives them; objects are dicts (a subclass that notes a repeated key).
        assert all(
            type(value) is type(want) or (type(want) is dict and isinstance(value, dict))
            for (_, value), (_, want) in zip(read(path), expected, strict=True)
        )

    def test_gzipped(self, tmp_path):
        path = tmp_path / "in.json.gz"
        path.write_bytes(gzip.compress(b'["a@b.co", "c@d.co"]'))
        assert read(path) == [(1, "a@b.co"), (2, "c@d.co")]

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            pytest.param(b'["a@b.co", 99999999999999999999]', "broken after element 1: parse error: integer", id="big"),
            pytest.param(b'["a@b.co"] trailing', "broken after element 1: parse error: trailing garbage", id="tail"),
            pytest.param(b'["a@b.co",]', "broken after element 1", id="trailing-comma"),
            pytest.param(b'["a@b.co", NaN]', "broken after element 1: lexical error", id="nan"),
            pytest.param(b'["a@b.co", "j\xf6rg@b.co"]', "is not UTF-8 text: byte 0xf6", id="not-utf8"),
            pytest.param(b'"a@b.co"', "the document starts with '\"'", id="a-string"),
        ],
    )
    def test_broken(self, tmp_path, data, message):
        path = tmp_path / "in.json"
        path.write_bytes(data)
        with pytest.raises(WooxyInputError, match=message.replace("(", r"\(")) as info:
            read(path)
        assert "\n" not in str(info.value)  # yajl's multi-line caret picture stays out of the task's error
