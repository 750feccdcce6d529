from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import airflow
import jsonschema
import pytest

from airflow_provider_wooxy import get_provider_info
from airflow_provider_wooxy.compat import AIRFLOW_V_3_0_PLUS

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


@pytest.mark.requires_airflow("3.0", reason="Airflow 2's Flask AppBuilder form: TestFabConnectionForm")
class TestConnectionFormOnThisAirflow:
    """What the UI receives for the form (GET /ui/connections/hook_meta) on the running Airflow: 3.0 / 3.1 build it
    from the hook's get_connection_form_widgets / get_ui_field_behaviour, 3.2+ from the provider info."""

    @pytest.fixture(scope="class")
    def meta(self) -> dict:
        # A fresh process, as an API server is: on 3.1 hooks loaded earlier by this test process (without the UI's
        # wtforms stand-ins) would hide the extra fields.
        script = (
            "import json\n"
            "from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService\n"
            "(m,) = [m for m in HookMetaService.hook_meta_data() if m.connection_type == 'wooxy']\n"
            "print('HOOK_META ' + m.model_dump_json())\n"
        )
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
        (line,) = [line for line in done.stdout.splitlines() if line.startswith("HOOK_META ")] or [done.stderr[-3000:]]
        return json.loads(line.removeprefix("HOOK_META "))

    def test_standard_fields(self, meta):
        fields = meta["standard_fields"]
        assert fields["host"] == {"hidden": False, "title": "API base URL", "placeholder": "https://api.wooxy.com"}
        assert fields["password"]["title"] == "Access token"
        assert fields["port"]["hidden"] is False
        assert fields["port"]["placeholder"] == "443"
        assert fields["login"]["hidden"] is True
        assert fields["url_schema"]["hidden"] is True

    @pytest.mark.parametrize(
        ("name", "title", "kinds"),
        [
            pytest.param("timeout", "Request timeout (seconds)", {"number", "string"}, id="timeout"),
            pytest.param("max_attempts", "Attempts per request", {"integer"}, id="max_attempts"),
            pytest.param("backoff", "Initial backoff (seconds)", {"number", "string"}, id="backoff"),
            pytest.param("max_backoff", "Maximum backoff (seconds)", {"number", "string"}, id="max_backoff"),
            pytest.param("allow_insecure_http", "Allow plain http:// to a non-loopback host", {"boolean"}, id="http"),
        ],
    )
    def test_extra_fields(self, meta, name, title, kinds):
        # 3.0 / 3.1 accept only text, integer and boolean fields: a number arrives there as text.
        field = meta["extra_fields"][name]
        assert field["schema"]["title"] == title
        (kind,) = set(field["schema"]["type"]) - {"null"}
        assert kind in kinds
        assert field["description"]

    def test_source_matches_the_release(self, meta):
        from airflow_provider_wooxy.compat import FORM_FROM_PROVIDER_INFO

        # conn-fields keep the number type; the hook's widgets (3.0 / 3.1) can only say text.
        assert ("number" in meta["extra_fields"]["timeout"]["schema"]["type"]) is FORM_FROM_PROVIDER_INFO


@pytest.mark.skipif(AIRFLOW_V_3_0_PLUS, reason="Airflow 2's Flask AppBuilder form only")
class TestFabConnectionForm:
    """What Airflow 2's connection form (Flask AppBuilder, airflow.www) is built from: the providers manager's widgets
    and field behaviours, read in a fresh process as the webserver does."""

    @pytest.fixture(scope="class")
    def form(self) -> dict:
        script = (
            "import json\n"
            "from airflow.providers_manager import ProvidersManager\n"
            "from airflow.www.forms import create_connection_form_class\n"
            "manager = ProvidersManager()\n"
            "form = create_connection_form_class()\n"
            "widgets = {name: {'label': w.field.args[0], 'on_form': hasattr(form, name)}\n"
            "           for name, w in manager.connection_form_widgets.items() if name.startswith('extra__wooxy__')}\n"
            "print('FORM ' + json.dumps({'hook_name': manager.hooks['wooxy'].hook_name,\n"
            "      'behaviour': manager.field_behaviours['wooxy'], 'widgets': widgets}))\n"
        )
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
        (line,) = [line for line in done.stdout.splitlines() if line.startswith("FORM ")] or [done.stderr[-3000:]]
        return json.loads(line.removeprefix("FORM "))

    def test_connection_type_and_standard_fields(self, form):
        assert form["hook_name"] == "Wooxy"
        assert form["behaviour"]["relabeling"] == {"host": "API base URL", "password": "Access token"}
        assert "login" in form["behaviour"]["hidden_fields"] and "port" not in form["behaviour"]["hidden_fields"]

    @pytest.mark.parametrize(
        ("name", "label"),
        [
            pytest.param("timeout", "Request timeout (seconds)", id="timeout"),
            pytest.param("max_attempts", "Attempts per request", id="max_attempts"),
            pytest.param("allow_insecure_http", "Allow plain http:// to a non-loopback host", id="http"),
        ],
    )
    def test_extra_fields_are_on_the_form(self, form, name, label):
        assert form["widgets"][f"extra__wooxy__{name}"] == {"label": label, "on_form": True}


class TestHookFormForOlderAirflow:
    """The hook's form methods translate the provider info (Airflow 3.0 / 3.1 ask them, 3.2+ does not)."""

    def test_ui_field_behaviour(self, wooxy_type):
        from airflow_provider_wooxy.hooks.wooxy import WooxyHook

        behaviour = WooxyHook.get_ui_field_behaviour()
        assert behaviour["hidden_fields"] == wooxy_type["ui-field-behaviour"]["hidden-fields"]
        assert behaviour["relabeling"] == wooxy_type["ui-field-behaviour"]["relabeling"]
        assert behaviour["placeholders"] == wooxy_type["ui-field-behaviour"]["placeholders"]

    def test_widgets_cover_every_conn_field(self, wooxy_type):
        from wtforms import BooleanField, IntegerField, StringField

        from airflow_provider_wooxy.hooks.wooxy import WooxyHook

        widgets = WooxyHook.get_connection_form_widgets()
        assert set(widgets) == set(wooxy_type["conn-fields"])
        assert widgets["max_attempts"].field_class is IntegerField
        assert widgets["allow_insecure_http"].field_class is BooleanField
        assert widgets["timeout"].field_class is StringField
        assert widgets["timeout"].kwargs["default"] == "30"
        assert widgets["timeout"].args[0] == "Request timeout (seconds)"
