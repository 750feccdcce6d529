"""The input arguments of the push and sync operators (operators/records.py), checked on each operator."""

from __future__ import annotations

from typing import Any

import pendulum
import pytest
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.operators.blacklist import (
    WooxyAddEmailBlacklistOperator,
    WooxyAddPhoneBlacklistOperator,
    WooxyRemoveEmailBlacklistOperator,
    WooxyRemovePhoneBlacklistOperator,
)
from airflow_provider_wooxy.operators.records import WooxyInputOperator
from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator, WooxySyncPhoneBlacklistOperator
from tests.operators.test_base import EVERY_OPERATOR

INPUT_FIELDS = {"records", "path", "sql", "parameters", "file_format", "field", "reject_type", "rejects_path"} | {
    "changelog_path",
    "changelog_table",
}
PUSH_FIELDS = INPUT_FIELDS | {"checkpoint_path"}
SYNC_FIELDS = INPUT_FIELDS | {"state_path", "plan_path", "approved_plan_id", "lease_seconds"}


class TestTemplateFields:
    @pytest.mark.parametrize(
        ("operator", "expected"),
        [
            pytest.param(WooxyAddEmailBlacklistOperator, PUSH_FIELDS | {"raw_log"}, id="email-add"),
            pytest.param(WooxyRemoveEmailBlacklistOperator, PUSH_FIELDS, id="email-remove"),
            pytest.param(WooxyAddPhoneBlacklistOperator, PUSH_FIELDS | {"default_region"}, id="phone-add"),
            pytest.param(WooxyRemovePhoneBlacklistOperator, PUSH_FIELDS | {"default_region"}, id="phone-remove"),
            pytest.param(WooxySyncEmailBlacklistOperator, SYNC_FIELDS | {"raw_log"}, id="email-sync"),
            pytest.param(WooxySyncPhoneBlacklistOperator, SYNC_FIELDS | {"default_region"}, id="phone-sync"),
        ],
    )
    def test_family_and_list_fields_are_all_templated(self, operator: type[WooxyInputOperator], expected: set[str]):
        # A list class mixed in first must not hide its family's fields (state_path, checkpoint_path...).
        assert set(operator.template_fields) == expected
        assert len(operator.template_fields) == len(expected)

    def test_rendered_values_reach_the_shared_arguments(self, tmp_path):
        operator = WooxySyncPhoneBlacklistOperator(
            task_id="sync",
            path="{{ params.dir }}/in.csv",
            default_region="{{ params.region }}",
            state_path="{{ params.dir }}/state.json",
        )
        operator.render_template_fields({"params": {"dir": str(tmp_path), "region": "gb"}})
        assert operator.path == f"{tmp_path}/in.csv"
        assert operator.state_path == f"{tmp_path}/state.json"
        assert operator._rendered_region() == "GB"


class TestInputArguments:
    @pytest.mark.parametrize(("operator", "kwargs"), EVERY_OPERATOR[:6])
    def test_batch_size_and_max_invalid_are_checked(self, operator: type[Any], kwargs: dict[str, Any]):
        with pytest.raises(WooxyInputError, match="batch_size"):
            operator(task_id="t", batch_size=101, **kwargs)
        with pytest.raises(WooxyInputError, match="max_invalid"):
            operator(task_id="t", max_invalid=-1, **kwargs)

    @pytest.mark.parametrize(
        ("operator", "extra", "expected"),
        [
            pytest.param(WooxyAddEmailBlacklistOperator, {}, {"raw_log": "dag", "reject_type": "hard"}, id="email-add"),
            pytest.param(
                WooxySyncEmailBlacklistOperator,
                {"state_path": "s.json"},
                {"raw_log": "dag", "reject_type": "hard", "state_path": "s.json"},
                id="email-sync",
            ),
            pytest.param(WooxyAddPhoneBlacklistOperator, {}, {"default_region": "GB"}, id="phone-add"),
            pytest.param(
                WooxySyncPhoneBlacklistOperator, {"state_path": "s.json"}, {"default_region": "GB"}, id="phone-sync"
            ),
        ],
    )
    def test_dag_default_args_reach_every_class_in_the_chain(
        self, operator: type[Any], extra: dict[str, Any], expected: dict[str, Any]
    ):
        # Airflow applies default_args per __init__ it wraps: the list, family and input classes each get theirs.
        defaults = {"raw_log": "dag", "default_region": "GB", "max_concurrency": 4, "max_invalid": 2}
        with DAG("d", schedule=None, start_date=pendulum.datetime(2026, 1, 1), default_args=defaults):
            built = operator(task_id="t", records=[], **extra)
        assert {key: getattr(built, key) for key in expected} == expected
        assert (built.max_concurrency, built.pool_slots, built.max_invalid) == (4, 4, 2)


class TestListParts:
    @pytest.mark.parametrize(
        "operator",
        [
            pytest.param(WooxySyncEmailBlacklistOperator, id="email-sync"),
            pytest.param(WooxySyncPhoneBlacklistOperator, id="phone-sync"),
        ],
    )
    def test_sync_entries_and_input_name_the_same_list(self, operator: type[Any]):
        # The sync's entry kind (state, plan) and its input class (field, reject types) come from two places.
        assert operator.kind.wooxy is operator.wooxy_list

    @pytest.mark.parametrize(
        ("operator", "kwargs", "list_name"),
        [
            pytest.param(WooxyAddEmailBlacklistOperator, {}, "email", id="email-add"),
            pytest.param(WooxyAddPhoneBlacklistOperator, {}, "phone", id="phone-add"),
            pytest.param(WooxySyncEmailBlacklistOperator, {"state_path": "s.json"}, "email", id="email-sync"),
            pytest.param(WooxySyncPhoneBlacklistOperator, {"state_path": "s.json"}, "phone", id="phone-sync"),
        ],
    )
    def test_reject_types_are_the_lists_own(self, operator: type[Any], kwargs: dict[str, Any], list_name: str):
        other = "import" if list_name == "email" else "hard"
        built = operator(task_id="t", records=[], reject_type=other, **kwargs)
        with pytest.raises(WooxyInputError, match="reject_type"):
            built.record_builder(built._rendered_field())
