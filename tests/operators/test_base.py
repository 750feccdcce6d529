"""The base of every Wooxy operator (operators/base.py), checked on each operator that inherits it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import ObjectStoragePath
from upath import UPath

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.operators.blacklist import (
    WooxyAddEmailBlacklistOperator,
    WooxyAddPhoneBlacklistOperator,
    WooxyRemoveEmailBlacklistOperator,
    WooxyRemovePhoneBlacklistOperator,
)
from airflow_provider_wooxy.operators.export import WooxyExportEmailBlacklistOperator
from airflow_provider_wooxy.operators.lookup import WooxyCheckPhoneBlacklistOperator
from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator, WooxySyncPhoneBlacklistOperator

# Every operator, with the least it needs to be built.
EVERY_OPERATOR = [
    pytest.param(WooxyAddEmailBlacklistOperator, {"records": []}, id="email-add"),
    pytest.param(WooxyRemoveEmailBlacklistOperator, {"records": []}, id="email-remove"),
    pytest.param(WooxyAddPhoneBlacklistOperator, {"records": []}, id="phone-add"),
    pytest.param(WooxyRemovePhoneBlacklistOperator, {"records": []}, id="phone-remove"),
    pytest.param(WooxySyncEmailBlacklistOperator, {"records": [], "state_path": "s.json"}, id="email-sync"),
    pytest.param(WooxySyncPhoneBlacklistOperator, {"records": [], "state_path": "s.json"}, id="phone-sync"),
    pytest.param(WooxyExportEmailBlacklistOperator, {"output_path": "out.csv"}, id="email-export"),
    pytest.param(WooxyCheckPhoneBlacklistOperator, {"records": [], "output_path": "out.csv"}, id="phone-check"),
]


class TestWooxyOperator:
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

    def test_location_is_the_path_object_the_engine_takes(self):
        op = WooxyAddEmailBlacklistOperator(task_id="t", records=[], storage_conn_id="s3")
        assert op.location("out/a.csv") == Path("out/a.csv")
        uri = op.location("s3://bucket/a.csv")
        assert isinstance(uri, ObjectStoragePath)
        conn_id = getattr(uri, "conn_id", None) or uri.storage_options.get("conn_id")  # the attribute: 3.2+ only
        assert (conn_id, uri.name) == ("s3", "a.csv")
        given = UPath("memory://bucket/a.csv")
        assert op.location(given) is given
