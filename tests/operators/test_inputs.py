"""The arguments every Wooxy operator shares (operators/inputs.py), checked on each operator that inherits them."""

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
from airflow_provider_wooxy.operators.export import WooxyExportEmailBlacklistOperator
from airflow_provider_wooxy.operators.inputs import WooxyInputOperator, rendered_region
from airflow_provider_wooxy.operators.lookup import WooxyCheckPhoneBlacklistOperator
from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator, WooxySyncPhoneBlacklistOperator

INPUT_FIELDS = {"records", "path", "file_format", "field", "reject_type", "rejects_path"}
PUSH_FIELDS = INPUT_FIELDS | {"checkpoint_path"}
SYNC_FIELDS = INPUT_FIELDS | {"state_path", "plan_path", "approved_plan_id"}

# Every operator, with the least it needs to be built.
EVERY_OPERATOR = [
    pytest.param(WooxyAddEmailBlacklistOperator, {"records": []}, id="email-add"),
    pytest.param(WooxyRemoveEmailBlacklistOperator, {"records": []}, id="email-remove"),
    pytest.param(WooxyAddPhoneBlacklistOperator, {"records": []}, id="phone-add"),
    pytest.param(WooxyRemovePhoneBlacklistOperator, {"records": []}, id="phone-remove"),
    pytest.param(WooxySyncEmailBlacklistOperator, {"records": [], "state_path": "s.json"}, id="email-sync"),
    pytest.param(WooxySyncPhoneBlacklistOperator, {"records": [], "state_path": "s.json"}, id="phone-sync"),
    pytest.param(WooxyExportEmailBlacklistOperator, {"path": "out.csv"}, id="email-export"),
    pytest.param(WooxyCheckPhoneBlacklistOperator, {"records": [], "path": "out.csv"}, id="phone-check"),
]


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


class TestSharedArguments:
    @pytest.mark.parametrize(("operator", "kwargs"), EVERY_OPERATOR)
    def test_pool_slots_default_to_max_concurrency(self, operator: type[Any], kwargs: dict[str, Any]):
        assert operator(task_id="t", max_concurrency=3, **kwargs).pool_slots == 3
        assert operator(task_id="t", max_concurrency=3, pool_slots=1, **kwargs).pool_slots == 1

    @pytest.mark.parametrize(("operator", "kwargs"), EVERY_OPERATOR)
    def test_max_concurrency_beyond_wooxy_limit_fails_at_parse_time(self, operator: type[Any], kwargs: dict[str, Any]):
        with pytest.raises(WooxyInputError, match="max_concurrency must be between 1 and 10"):
            operator(task_id="t", max_concurrency=11, **kwargs)

    @pytest.mark.parametrize(("operator", "kwargs"), EVERY_OPERATOR)
    def test_connections_are_kept(self, operator: type[Any], kwargs: dict[str, Any]):
        built = operator(task_id="t", wooxy_conn_id="other", storage_conn_id="s3", **kwargs)
        assert (built.wooxy_conn_id, built.storage_conn_id, built.hook.wooxy_conn_id) == ("other", "s3", "other")

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


class TestRenderedRegion:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param(None, None, id="none"),
            pytest.param(" ", None, id="blank"),
            pytest.param("gb", "GB", id="lower-case"),
            pytest.param(" US ", "US", id="spaces"),
        ],
    )
    def test_known_regions(self, value: str | None, expected: str | None):
        assert rendered_region(value) == expected

    def test_unknown_region_is_one_clear_error(self):
        with pytest.raises(WooxyInputError, match="default_region 'UK' is not an ISO 3166 country code"):
            rendered_region("UK")


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
        assert operator.kind.address_key == operator.address_key

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
