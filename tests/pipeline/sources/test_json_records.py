"""JSON arrays (ijson: what the hand-written parser did, and the edges where yajl differs) and JSON Lines
(pipeline/sources/json_records.py)."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys

import pytest

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.sources.file import iter_file_records
from airflow_provider_wooxy.pipeline.sources.json_records import (
    MAX_DEPTH,
    MaybeDuplicate,
    Nesting,
    iter_json_array,
    iter_json_lines,
)
from airflow_provider_wooxy.pipeline.validation import RecordError


def read(path) -> list[tuple[int, object]]:
    return list(iter_file_records(str(path), field="email"))


def as_text(pairs) -> list[tuple[int, object]]:
    return [(row, str(item) if isinstance(item, RecordError) else item) for row, item in pairs]


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

    @pytest.mark.parametrize(
        ("data", "kind"),
        [pytest.param(b'{"email": "a@b.co"}', "an object", id="object"), pytest.param(b"7", "'7'", id="number")],
    )
    def test_a_document_that_is_no_array(self, tmp_path, data, kind):
        path = tmp_path / "in.json"
        path.write_bytes(b"  \n" + data)
        with pytest.raises(WooxyInputError, match=f"in.json: expected a JSON array of records, .* starts with {kind}"):
            read(path)


class TestRepeatedKey:
    def test_an_array_holding_a_key_twice_is_ambiguous(self, tmp_path):
        path = tmp_path / "in.json"
        path.write_bytes(b'[{"email": "a@b.co"}, {"email": "c@d.co", "email": "e@f.co"}]')
        with pytest.raises(
            WooxyInputError, match=r"in\.json: row 2: the JSON object holds the key 'email' more than once"
        ):
            read(path)

    def test_the_cheap_count_asks_for_an_exact_read_after_the_last_element(self):
        text = '[{"email": "a@b.co"}, {"other": {"email": "x"}}]'
        pairs = iter_json_array(io.StringIO(text), "email")
        assert [next(pairs), next(pairs)] == [(1, {"email": "a@b.co"}), (2, {"other": {"email": "x"}})]
        with pytest.raises(MaybeDuplicate):
            next(pairs)
        # Read exactly, a nested key is no repeated key: the file is read as it is.
        exact = list(iter_json_array(io.StringIO(text), "email", exact=True))
        assert exact == [(1, {"email": "a@b.co"}), (2, {"other": {"email": "x"}})]

    def test_the_key_named_in_a_value_is_no_duplicate(self, tmp_path):
        path = tmp_path / "in.json"
        path.write_bytes(b'[{"email": "a@b.co", "note": "\\"email\\""}]')
        assert read(path) == [(1, {"email": "a@b.co", "note": '"email"'})]


class TestJsonLines:
    def test_one_record_a_line_with_rejects_for_empty_and_broken_lines(self):
        text = '{"email": "a@b.co"}\n\n"c@d.co"\n{"email": \n'
        assert as_text(iter_json_lines(io.StringIO(text), "email")) == [
            (1, {"email": "a@b.co"}),
            (2, "empty line"),
            (3, "c@d.co"),
            (4, "line is not valid JSON (Expecting value: line 2 column 1 (char 11))"),
        ]

    def test_a_key_twice_on_a_line_is_ambiguous(self):
        lines = iter_json_lines(io.StringIO('{"email": "a@b.co"}\n{"email": "a@b.co", "email": "c@d.co"}\n'), "email")
        assert next(lines) == (1, {"email": "a@b.co"})
        with pytest.raises(WooxyInputError, match="row 2: the JSON object holds the key 'email' more than once"):
            next(lines)

    def test_the_key_in_a_nested_object_is_no_duplicate(self):
        line = '{"email": "a@b.co", "meta": {"email": "x"}}\n'
        assert list(iter_json_lines(io.StringIO(line), "email")) == [(1, {"email": "a@b.co", "meta": {"email": "x"}})]

    def test_gzipped_ndjson_file(self, tmp_path):
        path = tmp_path / "in.ndjson.gz"
        path.write_bytes(gzip.compress(b'"a@b.co"\n{"email": "c@d.co"}\n'))
        assert read(path) == [(1, "a@b.co"), (2, {"email": "c@d.co"})]


NESTED = [
    pytest.param('[{"a": "[[[[{{{{"}, ["x", {"b": [1, 2]}]]', id="brackets-in-strings"),
    pytest.param('[{"a": "say \\"[[[[\\" and \\\\"}, [[["x"]]]]', id="escaped-quotes-and-backslashes"),
    pytest.param("[" * MAX_DEPTH + "]" * MAX_DEPTH, id="at-the-limit"),
    pytest.param("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), id="over-the-limit"),
    pytest.param('["' + "\\\\" * 5 + '", ' + '"\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]', id="backslash-runs"),
]


def true_depth(text: str) -> int:
    """The depth as json itself builds it."""

    def depth(value: object) -> int:
        if isinstance(value, list):
            return 1 + max(map(depth, value), default=0)
        if isinstance(value, dict):
            return 1 + max(map(depth, value.values()), default=0)
        return 0

    return depth(json.loads(text))


class TestNesting:
    @pytest.mark.parametrize("text", NESTED)
    def test_split_anywhere_it_finds_what_json_finds(self, text: str):
        within = true_depth(text) <= MAX_DEPTH
        for cut in range(len(text) + 1):
            for second in (cut, min(cut + 3, len(text))):
                nesting = Nesting()
                parts = [text[:cut], text[cut:second], text[second:]]
                passed = [nesting.feed(part) == len(part) for part in parts]
                assert all(passed) is within, (cut, second)

    def test_a_deep_array_is_refused_naming_its_element_after_the_ones_before(self, tmp_path):
        path = tmp_path / "in.json"
        path.write_text('[{"email": "a@b.co"}, "c@d.co", ' + "[" * 200_000 + "]" * 200_000 + "]")
        items = iter_file_records(str(path), field="email")
        with pytest.raises(
            WooxyInputError, match=f"in.json: element 3 of the JSON array nests deeper than {MAX_DEPTH}"
        ):
            list(items)

    def test_a_deep_line_is_a_reject_of_its_row(self):
        text = '{"email": "a@b.co"}\n' + "[" * 100_000 + "]" * 100_000 + '\n{"email": "c@d.co"}\n'
        assert as_text(iter_json_lines(io.StringIO(text), "email")) == [
            (1, {"email": "a@b.co"}),
            (2, f"the line nests deeper than {MAX_DEPTH} levels: records are flat objects"),
            (3, {"email": "c@d.co"}),
        ]

    @pytest.mark.parametrize("suffix", [pytest.param(".json", id="json"), pytest.param(".jsonl", id="jsonl")])
    def test_a_400_kb_nested_file_stays_under_600_mb(self, tmp_path, suffix: str):
        path = tmp_path / f"in{suffix}"
        path.write_text("[" * 200_000 + "]" * 200_000 + "\n")
        script = (
            "import sys\n"
            "from airflow_provider_wooxy.pipeline.sources.file import iter_file_records\n"
            "error = 'none'\n"
            "try:\n"
            "    for chunk in iter_file_records(sys.argv[1], field='email'): pass\n"
            "except Exception as exc:\n"
            "    error = type(exc).__name__\n"
            # VmHWM: this process's own peak (ru_maxrss survives exec, so it would hold pytest's).
            "peak = [line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM:')]\n"
            "print('RESULT', error, int(peak[0]) // 1024)\n"
        )
        done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True)
        _, error, peak = done.stdout.splitlines()[-1].split()
        assert error == ("WooxyInputError" if suffix == ".json" else "none")  # a line is a reject, not an error
        assert int(peak) < 600
