"""Property-based tests of the read -> validate -> batch -> send path (hypothesis)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sys
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.operators.blacklist import WooxyAddEmailBlacklistOperator
from airflow_provider_wooxy.pipeline.sources import delimited, json_records
from airflow_provider_wooxy.pipeline.validation import RecordError, normalise_email
from airflow_provider_wooxy.sandbox import WooxySandbox
from tests.helpers.sandbox import TOKEN, assert_within_limit, connection_json

local = st.from_regex(r"[a-z0-9]{1,8}(\.[a-z0-9]{1,5})?", fullmatch=True)
domain = st.sampled_from(["example.com", "Example.COM", "mail.example.org", "bücher.de"])
good_email = st.builds(lambda lp, d, pad: f"{pad}{lp}@{d}{pad}", local, domain, st.sampled_from(["", " ", "\t"]))
junk = st.one_of(
    st.text(max_size=12),
    st.integers(),
    st.none(),
    st.just({"mail": "a@b.co"}),
    st.just(["a@b.co"]),
    st.just("x@@example.com"),
)
item = st.one_of(
    good_email,
    good_email.map(lambda e: {"email": e}),
    good_email.map(lambda e: {"email": e, "rejectType": "complaint"}),
    junk,
)


def expected_outcome(items: list) -> tuple[set[tuple[str, str]], int, int]:
    """Independent bookkeeping: the (address, type) pairs that must reach Wooxy, and the invalid/duplicate counts."""
    seen: dict[tuple[str, str], str] = {}
    invalid = duplicates = 0
    for it in items:
        value, reject_type = it, "hard"
        if isinstance(it, dict):
            value, reject_type = it.get("email"), it.get("rejectType", "hard")
        try:
            address = normalise_email(value)
        except RecordError:
            invalid += 1
            continue
        key = (address.lower(), reject_type)
        if key in seen:
            duplicates += 1
        else:
            seen[key] = address
    return {(address, t) for (_, t), address in seen.items()}, invalid, duplicates


@pytest.fixture(scope="module")
def shared_sandbox():
    with WooxySandbox(token=TOKEN) as sandbox:
        yield sandbox


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(item, max_size=250), batch_size=st.integers(1, 100), concurrency=st.integers(1, 10))
def test_every_record_ends_in_exactly_one_bucket(shared_sandbox, monkeypatch, items, batch_size, concurrency):
    shared_sandbox.reset()
    monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(shared_sandbox.url))
    op = WooxyAddEmailBlacklistOperator(
        task_id="p", records=items, batch_size=batch_size, max_concurrency=concurrency, max_invalid=len(items)
    )
    delivered, invalid, duplicates = expected_outcome(items)
    try:
        summary = op.execute({})
    except WooxyInputError as exc:
        # Only a whole-input problem may stop the run: empty input, or no record carrying the 'email' key.
        assert not delivered
        assert "holds no records" in str(exc) or "has the key 'email'" in str(exc)  # noqa: PT017
        assert shared_sandbox.stats()["total_requests"] == 0
        return
    assert summary["received"] == len(items)
    assert summary["received"] == summary["sent"] + summary["invalid"] + summary["duplicates"]
    assert (summary["invalid"], summary["duplicates"]) == (invalid, duplicates)
    got = {(row["email"], row["type"]) for types in shared_sandbox.emails.values() for row in types.values()}
    assert got == delivered
    stats = shared_sandbox.stats()
    assert stats["max_batch"] <= batch_size
    assert_within_limit(stats, limit=concurrency)  # attempted at once, refusals included
    assert summary["requests"] == -(-len(delivered) // batch_size)


json_value = st.recursive(
    # ijson's C parser (yajl) reads 64-bit integers and finite floats; Infinity and NaN are not JSON at all.
    st.none()
    | st.booleans()
    | st.integers(-(2**63) + 1, 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(json_value, max_size=30), indent=st.sampled_from([None, 0, 2]), chunk=st.integers(1, 64))
def test_streamed_json_array_matches_json_loads(values, indent, chunk):
    text = json.dumps(values, indent=indent)
    parsed = []
    # Tiny chunks cut values at every possible place. The reader may end by asking for an exact second read
    # ("email" as a value or a nested key looks like a repeated key to its cheap count); every value is out by then.
    with mock.patch.object(json_records, "_CHUNK", chunk), contextlib.suppress(json_records.MaybeDuplicate):
        for _, value in json_records.iter_json_array(io.StringIO(text), "email"):
            parsed.append(value)
    assert parsed == json.loads(text)


# Python 3.10's csv module can neither write nor read a NUL character (3.11 can): leave it out there.
CSV_TEXT = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00" if sys.version_info < (3, 11) else "")


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.text(alphabet=CSV_TEXT, max_size=20), max_size=30))
def test_csv_rows_round_trip_with_their_row_numbers(rows):
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["email", "other"])
    for value in rows:
        writer.writerow([value, "x"])
    buffer.seek(0)
    got = [pair for rows_, items in delimited.csv_chunks(buffer, "email") for pair in zip(rows_, items, strict=True)]
    assert [row for row, _ in got] == list(range(1, len(rows) + 1))
    assert [value for _, value in got] == rows


def _read_csv(text: str, field: str, *, plain: bool) -> tuple[list[tuple[int, object]], object]:
    """Every (row, item) a CSV text gives, and how it ended: the reader's way (plain) or the csv module's alone."""
    got: list[tuple[int, object]] = []
    stream = io.StringIO(text, newline="")
    try:
        if plain:
            chunks = delimited.csv_chunks(stream, field)
        else:
            header = [name.strip() for name in next(csv.reader(stream), [])]
            chunks = delimited.csv_row_chunks(csv.reader(stream, strict=True), header, field, 0) if header else iter(())
        for rows, items in chunks:
            got.extend(
                (row, str(item) if isinstance(item, RecordError) else item)
                for row, item in zip(rows, items, strict=True)
            )
    except delimited.CsvError as exc:
        return got, ("error", exc.row, exc.reason)
    except csv.Error as exc:
        return got, ("error", len(got), str(exc))
    return got, "end"


# Texts built from the characters a CSV reader treats specially, and a few ordinary ones.
CSV_SOUP = st.text(alphabet=st.sampled_from(["a", "b", "@", " ", ",", '"', "\r", "\n", "\x00", "é", "\u2028"]))


@settings(max_examples=500, deadline=None)
@given(body=CSV_SOUP, block=st.integers(1, 12), newline=st.sampled_from(["\n", "\r\n"]))
@example(body="\r\r\n", block=1, newline="\n")  # CRs at a block's end, the LF of the last one after it
@example(body="a\r\nb", block=2, newline="\r\n")
def test_one_column_csv_is_read_as_the_csv_module_reads_it(body, block, newline):
    # Tiny blocks cut the text at every place (inside a CR LF, a quoted value, a line); whatever a block holds,
    # the rows, their items and where a broken file stops are the csv module's.
    text = "email" + newline + body
    with mock.patch.object(delimited, "_BLOCK", block):
        assert _read_csv(text, "email", plain=True) == _read_csv(text, "email", plain=False)
