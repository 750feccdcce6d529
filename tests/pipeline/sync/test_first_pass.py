"""
The sync's first pass (pipeline/sync/first_pass.py): rows naming a managed entry as they stand are matched before
validation. Whatever the input, and for a state of entries valid under today's rules, a run with the first pass
must end exactly as one without it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_wooxy.pipeline.intake import UnusableInput
from airflow_provider_wooxy.pipeline.rejects import Rejects
from airflow_provider_wooxy.pipeline.sources.chunks import Chunk
from airflow_provider_wooxy.pipeline.sync import first_pass as first_pass_module
from airflow_provider_wooxy.pipeline.sync import partitions as partitions_module
from airflow_provider_wooxy.pipeline.sync.entries import EMAIL, PHONE, ListKind
from airflow_provider_wooxy.pipeline.sync.first_pass import FirstPass
from airflow_provider_wooxy.pipeline.sync.run import SyncRun, SyncSettings
from airflow_provider_wooxy.pipeline.sync.state import open_state
from airflow_provider_wooxy.pipeline.validation import EmailRecords, PhoneRecords, RecordError

LOG = logging.getLogger("tests.first_pass")
URL = "https://api.wooxy.com"

# A small universe, so that inputs and states overlap: managed, new, case and white-space variants, invalid
# texts, texts holding a newline or a tab, a non-ASCII letter that lower-cases into ASCII (the Kelvin sign).
ADDRESSES = [f"user{i}@example.com" for i in range(12)]
EMAIL_TEXTS = st.sampled_from(
    [
        *ADDRESSES,
        "USER1@EXAMPLE.COM",
        "User2@Example.com",
        " user3@example.com",
        "user4@example.com\n",
        "user5@example.com\thard",
        "\u212aate@example.com",
        "kate@example.com",
        "not an address",
        "",
        "a@b",
    ]
)
EMAIL_ITEMS = st.one_of(
    EMAIL_TEXTS,
    st.builds(
        lambda a, t: {"email": a, "rejectType": t}, st.sampled_from(ADDRESSES), st.sampled_from(["hard", "soft"])
    ),
    st.just(RecordError("empty CSV row")),
    st.sampled_from([None, 7, 4.5]),
)
NUMBERS = [f"+4474000000{i:02d}" for i in range(12)]
PHONE_ITEMS = st.one_of(
    st.sampled_from([*NUMBERS, "07400 000001", " +447400000002", "+44 7400 000003", "+1", "12", "", "+447400000004\n"]),
    st.builds(lambda n: {"phoneNumber": n, "rejectType": "unsubscribe"}, st.sampled_from(NUMBERS)),
    st.just(RecordError("empty CSV row")),
    st.sampled_from([None, 447400000005]),
)


def _state(path: Path, kind: ListKind, lines: list[str], journal: list[str]) -> None:
    """A state whose snapshot holds ``lines``, and whose journal (an unfinished run) adds ``journal``."""
    state = open_state(path, kind, URL).load()
    state.begin()
    state.record(b"+", [_payload(kind, line) for line in lines])
    state.commit(None)
    if journal:
        state = open_state(path, kind, URL).load()
        state.record(b"+", [_payload(kind, line) for line in journal])
        state.close()
        state.release()


def _payload(kind: ListKind, line: str) -> bytes:
    if kind is EMAIL:
        address, _, reject_type = line.partition("\t")
        return json.dumps({"email": address, "rejectType": reject_type}).encode()
    return json.dumps({"phoneNumber": line}).encode()


class _Chunked:
    """An input handed over in chunks of ``size`` rows, as a file reader does."""

    def __init__(self, items: list[object], size: int) -> None:
        self.items, self.size = items, size

    def __iter__(self) -> Any:
        return iter(enumerate(self.items, start=1))

    def chunks(self) -> Any:
        for start in range(0, len(self.items), self.size):
            part = self.items[start : start + self.size]
            yield Chunk(range(start + 1, start + 1 + len(part)), part)


class _Recording(SyncRun):
    """A run that keeps each plan's adds (with their rows) and removals, as the plan is decided on."""

    def __init__(self, *args: Any, plans: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plans = plans

    def decide(self, plan: Any, tally: Any, rejects: Any) -> dict[str, Any]:
        self.plans.append((sorted(plan.adds()), sorted(plan.remove_payloads())))
        return super().decide(plan, tally, rejects)


def _run(path: Path, kind: ListKind, items: list[object], size: int, *, first_pass: bool, **options: Any) -> Any:
    written: list[Any] = []
    engine = _Recording(
        None,  # type: ignore[arg-type]  (a dry run sends nothing)
        open_state(path, kind, URL),
        SyncSettings(
            max_removals=None,
            max_invalid=None,
            dry_run=True,
            claim_existing=True,  # no look-up of new entries: nothing goes over the wire
            max_concurrency=4,
            plan_path="plan.jsonl",
            field="email" if kind is EMAIL else "phoneNumber",
            default_region="GB",
            **options,
        ),
        log=LOG,
        plans=written,
    )
    builder = EmailRecords() if kind is EMAIL else PhoneRecords(default_region="GB")
    original = FirstPass.for_run
    try:
        if not first_pass:
            FirstPass.for_run = classmethod(lambda cls, state, reject_type: None)  # type: ignore[method-assign,assignment]
        rejects = Rejects()
        try:
            summary = engine.run(_Chunked(items, size), builder, rejects)
        except UnusableInput as exc:  # an empty input, or no valid record: the same message either way
            return "unusable", str(exc)
    finally:
        FirstPass.for_run = original  # type: ignore[method-assign]
    summary.pop("validation_seconds")
    rejects.close()
    return summary, written


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    kind=st.sampled_from([EMAIL, PHONE]),
    size=st.integers(1, 7),
    partition_size=st.sampled_from([1, 3, 1000]),
    spool=st.sampled_from([0, 1 << 20]),
    spread=st.sampled_from([1, 5, 32_768]),
)
def test_the_first_pass_changes_nothing_but_the_work(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    data: st.DataObject,
    kind: ListKind,
    size: int,
    partition_size: int,
    spool: int,
    spread: int,
):
    # Many partitions or one, scratch in memory or on disk, chunks of a row or several, spread one or several at
    # a time: the summary (counts, plan id, rejects with their rows and reasons) and the plan's every add and
    # removal are the same.
    monkeypatch.setattr(partitions_module, "PARTITION_SIZE", partition_size)
    monkeypatch.setattr(first_pass_module, "SPOOL_BYTES", spool)
    monkeypatch.setattr(first_pass_module, "SPREAD_ROWS", spread)
    monkeypatch.setattr(partitions_module, "SPOOL_BYTES", spool)
    if kind is EMAIL:
        universe = [
            f"{a}\t{t}" for a in [*ADDRESSES, "kate@example.com", "User2@example.com"] for t in ("hard", "soft")
        ]
        items = data.draw(st.lists(EMAIL_ITEMS, max_size=25))
    else:
        universe = NUMBERS
        items = data.draw(st.lists(PHONE_ITEMS, max_size=25))
    managed = data.draw(st.lists(st.sampled_from(universe), unique_by=lambda line: line.lower(), max_size=12))
    journal = [line for line in universe if line.lower() not in {m.lower() for m in managed}][
        : data.draw(st.integers(0, 2))
    ]
    path = tmp_path_factory.mktemp("first-pass") / "s.state"
    _state(path, kind, managed, journal)
    resync = data.draw(st.booleans()) if managed else False
    with_pass = _run(path, kind, items, size, first_pass=True, resync=resync)
    without = _run(path, kind, items, size, first_pass=False, resync=resync)
    assert with_pass == without


class TestUnchangedRun:
    def test_an_unchanged_input_names_every_entry_without_validation(self, tmp_path: Path, monkeypatch):
        monkeypatch.setattr(partitions_module, "PARTITION_SIZE", 10)
        path = tmp_path / "s.state"
        _state(path, EMAIL, [f"{a}\thard" for a in ADDRESSES], [])
        calls: list[object] = []

        class Counting(EmailRecords):
            def __call__(self, item: object) -> Any:
                calls.append(item)
                return super().__call__(item)

        engine = SyncRun(
            None,  # type: ignore[arg-type]
            open_state(path, EMAIL, URL),
            SyncSettings(max_removals=0, max_invalid=0, max_concurrency=4, claim_existing=True),
            log=LOG,
        )
        texts = [*ADDRESSES, "USER0@EXAMPLE.COM", " user1@example.com"]
        summary = engine.run(_Chunked(texts, 5), Counting(), Rejects())
        assert calls == [" user1@example.com"]  # validated: it names no entry as it stands
        assert (summary["unchanged"], summary["duplicates"], summary["valid"], summary["received"]) == (12, 2, 12, 14)
        assert summary["to_add"] == summary["to_remove"] == 0

    @pytest.mark.parametrize(
        ("text", "outcome"),
        [
            # The Kelvin sign lower-cases into "k", but the text is invalid: its entry is kept, not unchanged.
            pytest.param("\u212aate@example.com", (1, 1, 0), id="kelvin-sign"),
            # A tab: no input text is an entry's whole line; invalid, and too damaged to name the entry.
            pytest.param("kate@example.com\thard", (1, 0, 1), id="a-whole-state-line"),
            pytest.param(" kate@example.com", (2, 0, 0), id="white-space"),  # validated (trimmed), then unchanged
        ],
    )
    def test_a_text_that_only_looks_like_an_entry_is_validated(self, tmp_path: Path, text: str, outcome):
        path = tmp_path / "s.state"
        _state(path, EMAIL, ["kate@example.com\thard", "user1@example.com\thard"], [])
        items = [text, "user1@example.com"]
        summary, plans = _run(path, EMAIL, items, 2, first_pass=True)
        assert (summary, plans) == _run(path, EMAIL, items, 2, first_pass=False)
        assert (summary["unchanged"], summary["kept_invalid"], summary["to_remove"]) == outcome

    @pytest.mark.parametrize("spread", [3, 32_768], ids=["spread-per-chunk", "chunks-joined"])
    def test_rows_left_for_validation_keep_their_numbers(self, tmp_path: Path, monkeypatch, spread: int):
        # A file's chunks (ranges of rows) over many partitions: each unmatched row's number travels as an offset
        # from its chunk's first row, and comes back in the plan's adds and the rejects as it was.
        monkeypatch.setattr(partitions_module, "PARTITION_SIZE", 2)
        monkeypatch.setattr(first_pass_module, "SPREAD_ROWS", spread)
        path = tmp_path / "s.state"
        _state(path, EMAIL, [f"{a}\thard" for a in ADDRESSES], [])
        items: list[object] = [*ADDRESSES[:6], "new1@example.com", *ADDRESSES[6:], "not an address", "new2@x.co"]
        (summary, plans), (_, unpassed) = (_run(path, EMAIL, items, 4, first_pass=flag) for flag in (True, False))
        assert summary["unchanged"] == 12
        adds, _ = plans[0]
        assert [row for row, _ in adds] == [7, 15]  # the rows of new1 and new2 in the input, counted from 1
        assert plans == unpassed
