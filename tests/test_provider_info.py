from __future__ import annotations

import json
from importlib.metadata import entry_points
from pathlib import Path

import airflow
import jsonschema
import pytest

from airflow_provider_wooxy import get_provider_info

AIRFLOW_DIR = Path(airflow.__file__).parent


@pytest.fixture(scope="module")
def info() -> dict:
    return get_provider_info()


@pytest.fixture(scope="module")
def wooxy_type(info) -> dict:
    (conn_type,) = [c for c in info["connection-types"] if c["connection-type"] == "wooxy"]
    return conn_type


class TestProviderInfo:
    def test_entry_point_returns_it(self):
        (ep,) = [
            ep for ep in entry_points(group="apache_airflow_provider") if ep.value.startswith("airflow_provider_wooxy")
        ]
        assert ep.load()() == get_provider_info()
        assert ep.dist is not None
        assert get_provider_info()["package-name"] == ep.dist.name

    def test_accepted_by_airflows_provider_info_schema(self, info):
        schema = json.loads((AIRFLOW_DIR / "provider_info.schema.json").read_text())
        jsonschema.validate(info, schema)

    def test_connection_type_matches_provider_yaml_schema(self, wooxy_type):
        # provider_info.schema.json leaves conn-fields loose; provider.yaml's schema states their shape.
        schema = json.loads((AIRFLOW_DIR / "provider.yaml.schema.json").read_text())
        jsonschema.validate(wooxy_type, schema["properties"]["connection-types"]["items"])

    def test_form_fields(self, wooxy_type):
        behaviour = wooxy_type["ui-field-behaviour"]
        assert behaviour["relabeling"] == {"host": "API base URL", "password": "Access token"}
        assert behaviour["placeholders"]["host"] == "https://api.wooxy.com"
        assert {"login", "schema", "extra"} <= set(behaviour["hidden-fields"])
        assert "port" not in behaviour["hidden-fields"]  # see README: the 3.3.2 Test button needs a port
        fields = wooxy_type["conn-fields"]
        assert fields["timeout"]["schema"] == {"type": ["number", "null"], "default": 30, "minimum": 1}
        assert fields["max_attempts"]["schema"]["type"] == ["integer", "null"]
        assert fields["allow_insecure_http"]["schema"]["default"] is False

    def test_hook_attributes_match(self, wooxy_type):
        from airflow_provider_wooxy.hooks.wooxy import WooxyHook

        assert wooxy_type["hook-class-name"] == f"{WooxyHook.__module__}.{WooxyHook.__qualname__}"
        assert WooxyHook.conn_type == "wooxy"
        assert WooxyHook.conn_name_attr == "wooxy_conn_id"
        assert WooxyHook.default_conn_name == "wooxy_default"
        assert WooxyHook.hook_name == wooxy_type["hook-name"] == "Wooxy"

    def test_providers_manager_loads_it(self):
        from airflow.providers_manager import ProvidersManager

        manager = ProvidersManager()
        assert "airflow-provider-wooxy" in manager.providers
        assert manager.field_behaviours["wooxy"]["relabeling"]["password"] == "Access token"
        widgets = manager.connection_form_widgets
        assert "extra__wooxy__timeout" in widgets
