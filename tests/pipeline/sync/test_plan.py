"""Sync plans on their own (no Airflow, no HTTP): the diff, the plan id, the removal limit, the plan file."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

from airflow_provider_wooxy.pipeline import intake
from airflow_provider_wooxy.pipeline.sync.entries import EMAIL
from airflow_provider_wooxy.pipeline.sync.plan import (
    check_max_removals,
    make_plan,
    removal_limit,
    save_plan,
    write_plan,
)
from airflow_provider_wooxy.pipeline.sync.state import open_state
from tests.helpers.sync import URL, records, state_with


class TestMakePlan:
    def test_diff(self, tmp_path: Path):
        state = state_with(tmp_path / "s", ["a@x.co", "b@x.co", "c@x.co"])
        plan = make_plan(records(["b@x.co", "C@X.CO", "d@x.co"]), state)
        assert (plan.managed_before, plan.to_add, plan.to_remove, plan.unchanged) == (3, 1, 1, 2)
        assert [json.loads(p)["email"] for _, p in plan.adds()] == ["d@x.co"]
        assert [json.loads(p) for p in plan.remove_payloads()] == [{"email": "a@x.co", "rejectType": "hard"}]

    def test_held_addresses_keep_managed_entries(self, tmp_path: Path):
        state = state_with(tmp_path / "s", ["a@x.co", "b@x.co"])
        plan = make_plan(records(["a@x.co"]), state, held_addresses={"b@x.co"})
        assert (plan.to_remove, plan.kept_invalid) == (0, 1)

    def test_plan_id_is_the_same_for_the_same_plan_in_any_order(self, tmp_path: Path):
        state = state_with(tmp_path / "s", ["a@x.co", "b@x.co"])
        one = make_plan(records(["b@x.co", "c@x.co", "d@x.co"]), state).plan_id
        two = make_plan(records(["d@x.co", "c@x.co", "b@x.co"]), state).plan_id
        assert one == two

    @pytest.mark.parametrize(
        "other",
        [
            pytest.param(["b@x.co", "c@x.co", "e@x.co"], id="another-add"),
            pytest.param(["a@x.co", "b@x.co", "c@x.co", "d@x.co"], id="no-remove"),
            pytest.param(["b@x.co", "c@x.co"], id="one-add-less"),
        ],
    )
    def test_plan_id_changes_with_any_add_or_remove(self, tmp_path: Path, other):
        state = state_with(tmp_path / "s", ["a@x.co", "b@x.co"])
        assert (
            make_plan(records(["b@x.co", "c@x.co", "d@x.co"]), state).plan_id
            != make_plan(records(other), state).plan_id
        )

    def test_plan_id_changes_with_the_state(self, tmp_path: Path):
        desired = records(["a@x.co"])
        one = make_plan(desired, state_with(tmp_path / "1", ["a@x.co", "b@x.co"])).plan_id
        two = make_plan(desired, state_with(tmp_path / "2", ["a@x.co", "c@x.co"])).plan_id
        assert one != two

    def test_plan_id_survives_a_partial_apply(self, tmp_path: Path):
        path = tmp_path / "s"
        state = state_with(path, ["a@x.co", "b@x.co", "c@x.co"])
        desired = records(["a@x.co", "d@x.co", "e@x.co"])
        original = make_plan(desired, state)
        # An attempt added d and removed b, then died: the retry's plan is what is left, under the same id.
        state.record(b"+", [payload.encode() for _, _, payload in desired[1:2]])
        state.record(b"-", [EMAIL.remove_payload("b@x.co\thard")])
        state.close()
        retry = make_plan(desired, open_state(path, EMAIL, URL).load())
        assert (retry.to_add, retry.to_remove) == (1, 1)
        assert retry.plan_id == original.plan_id


class TestRemovalLimit:
    @pytest.mark.parametrize(
        ("max_removals", "managed", "limit"),
        [
            pytest.param(0.1, 100, 10, id="fraction"),
            pytest.param(0.1, 99, 9, id="fraction-rounds-down"),
            pytest.param(1.0, 7, 7, id="all"),
            pytest.param(5, 1000, 5, id="count"),
            pytest.param(0, 1000, 0, id="no-removals"),
            pytest.param(None, 1000, None, id="no-limit"),
        ],
    )
    def test_limit(self, max_removals, managed, limit):
        assert removal_limit(check_max_removals(max_removals), managed) == limit

    @pytest.mark.parametrize("value", [-1, 0.0, 1.01, True, "0.1"])
    def test_bad_values(self, value):
        with pytest.raises(ValueError, match="max_removals"):
            check_max_removals(value)


class TestWritePlan:
    @pytest.mark.parametrize("name", ["plan.jsonl", "plan.csv", "plan.jsonl.gz"])
    def test_counts_then_every_change(self, tmp_path: Path, name: str):
        state = state_with(tmp_path / "s", ["a@x.co", "b@x.co"])
        plan = make_plan(records(["b@x.co", "c@x.co"]), state)
        stream = io.BytesIO()
        write_plan(stream, name, plan, {"guard_would_stop": False})
        data = stream.getvalue()
        text = gzip.decompress(data).decode() if name.endswith(".gz") else data.decode()
        lines = text.splitlines()
        if ".jsonl" in name:
            assert json.loads(lines[0])["plan_id"] == plan.plan_id
            assert [json.loads(line) for line in lines[1:]] == [
                {"action": "add", "email": "c@x.co", "rejectType": "hard"},
                {"action": "remove", "email": "a@x.co", "rejectType": "hard"},
            ]
        else:
            assert lines[0] == "action,email,rejectType"
            assert f"plan_id,{plan.plan_id}," in lines
            assert lines[-2:] == ["add,c@x.co,hard", "remove,a@x.co,hard"]


class TestPlanDedupe:
    @pytest.mark.parametrize("limit", [pytest.param(None, id="in-memory"), pytest.param(3, id="spilled")])
    def test_duplicates_of_managed_and_new_entries_are_counted(self, tmp_path: Path, monkeypatch, limit):
        if limit is not None:
            monkeypatch.setattr(intake, "MEMORY_DIGESTS", limit)  # the adds' dedupe spills to disk
        state = state_with(tmp_path / "s", ["a@x.co", "b@x.co"])
        desired = ["a@x.co", "A@x.co", *(f"n{i}@x.co" for i in range(10)), "n3@x.co", "N3@X.CO", "b@x.co", "n9@x.co"]
        plan = make_plan(records(desired), state)
        assert (plan.unchanged, plan.to_add, plan.duplicates, plan.to_remove) == (2, 10, 4, 0)
        assert sorted(json.loads(p)["email"] for _, p in plan.adds()) == sorted(f"n{i}@x.co" for i in range(10))


class TestSavePlan:
    def test_the_plan_file_is_written_where_told_its_folder_made(self, tmp_path: Path):
        state = state_with(tmp_path / "s", ["a@x.co"])
        plan = make_plan(records(["b@x.co"]), state)
        location = tmp_path / "plans" / "today" / "plan.csv.gz"
        save_plan(location, "plan.csv.gz", plan, {"guard_would_stop": True})
        lines = gzip.decompress(location.read_bytes()).decode().splitlines()
        assert "guard_would_stop,True," in lines
        assert lines[-2:] == ["add,b@x.co,hard", "remove,a@x.co,hard"]
