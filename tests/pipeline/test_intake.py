"""The validation pass on its own (no Airflow, no HTTP): counts, and the dedupe that spills to disk."""

from __future__ import annotations

import pytest

from airflow_provider_wooxy.pipeline import intake
from airflow_provider_wooxy.pipeline.intake import Tally, validated
from airflow_provider_wooxy.pipeline.rejects import Rejects
from airflow_provider_wooxy.pipeline.validation import EmailRecords


def run(addresses: list[str], **kwargs) -> tuple[list[tuple[int, str, str]], Tally, int]:
    tally, rejects = Tally(), Rejects()
    try:
        out = list(validated(enumerate(addresses, start=1), EmailRecords(), tally, rejects, "email", **kwargs))
        return out, tally, rejects.count
    finally:
        rejects.close()


# 300 distinct addresses, each twice or three times, and some invalid rows, interleaved.
INPUT = [f"user{i % 300}@Example.com" if i % 7 else f"USER{i % 300}@example.COM" for i in range(700)] + [
    "not-an-address",
    "also bad",
]


class TestValidated:
    @pytest.mark.parametrize("limit", [pytest.param(None, id="in-memory"), pytest.param(50, id="spilled")])
    def test_every_record_is_valid_invalid_or_duplicate(self, limit):
        out, tally, invalid = run(INPUT, memory_digests=limit)
        assert (tally.received, tally.valid, tally.duplicates, invalid) == (702, 300, 400, 2)
        assert len({key for _, key, _ in out}) == 300
        # First seen wins: each address comes with the row of its first occurrence.
        first = {}
        for row, address in enumerate(INPUT, start=1):
            first.setdefault(address.lower(), row)
        assert sorted(row for row, _, _ in out) == sorted(first[k.split("\x00")[0]] for _, k, _ in out)

    def test_spilled_order_is_input_order_first_then_stable(self):
        out, _, _ = run(INPUT, memory_digests=50)
        assert [row for row, _, _ in out[:50]] == list(range(1, 51))
        again, _, _ = run(INPUT, memory_digests=50)
        assert again == out  # the same order each time (checkpoints count batches in it)

    def test_spilling_keeps_memory_flat(self, monkeypatch):
        seen_sizes: list[int] = []
        real_set = set

        class Recording(real_set):  # type: ignore[misc]
            def add(self, value):
                super().add(value)
                seen_sizes.append(len(self))

        monkeypatch.setattr(intake, "set", Recording, raising=False)
        run([f"u{i}@example.com" for i in range(2000)], memory_digests=100)
        assert max(seen_sizes) <= 100  # never more digests in memory than the limit (partitions hold ~30 each)

    def test_without_dedupe_every_valid_record_is_yielded(self):
        out, tally, _ = run(INPUT, dedupe=False)
        assert (len(out), tally.valid, tally.duplicates) == (700, 700, 0)
