"""pipeline/door.py: the hook the operators pass in is what the engine's protocol describes."""

from __future__ import annotations

import inspect

import pytest

from airflow_provider_wooxy.hooks.wooxy import WooxyHook
from airflow_provider_wooxy.pipeline.door import WooxyDoor

DOOR_METHODS = [
    name for name, value in vars(WooxyDoor).items() if inspect.isfunction(value) and not name.startswith("_")
]


def test_the_door_names_the_methods_the_engine_calls():
    assert sorted(DOOR_METHODS) == ["find_email_blacklist", "find_phone_blacklist", "send_records"]


@pytest.mark.parametrize("name", DOOR_METHODS)
def test_the_hook_has_each_method_with_the_protocols_parameters(name: str):
    door = inspect.signature(getattr(WooxyDoor, name))
    hook = inspect.signature(getattr(WooxyHook, name))
    assert list(hook.parameters) == list(door.parameters)
    for parameter in door.parameters.values():
        assert hook.parameters[parameter.name].kind == parameter.kind, parameter.name


def test_the_hook_counts_its_retries():
    assert WooxyHook(wooxy_conn_id="unused").retries == 0
