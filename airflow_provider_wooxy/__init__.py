"""Apache Airflow provider for the Wooxy email and phone blacklist (suppression list) API."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def get_provider_info() -> dict[str, Any]:
    """Provider metadata read by Airflow's ProvidersManager (the ``apache_airflow_provider`` entry point)."""
    return {
        "package-name": "airflow-provider-wooxy",
        "name": "Wooxy",
        "description": "Keep Wooxy email and phone blacklists (suppression lists) in sync from Airflow.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Wooxy",
                "external-doc-url": "https://wooxy.com",
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": "Wooxy", "python-modules": ["airflow_provider_wooxy.hooks.wooxy"]}],
        "operators": [
            {
                "integration-name": "Wooxy",
                "python-modules": [
                    "airflow_provider_wooxy.operators.blacklist",
                    "airflow_provider_wooxy.operators.sync",
                ],
            }
        ],
        "connection-types": [
            {
                "connection-type": "wooxy",
                "hook-class-name": "airflow_provider_wooxy.hooks.wooxy.WooxyHook",
                "hook-name": "Wooxy",
                "ui-field-behaviour": {
                    # The port stays visible: Airflow 3.3.2's Test button fails for a connection without one.
                    "hidden-fields": ["schema", "login", "extra"],
                    "relabeling": {"host": "API base URL", "password": "Access token"},
                    "placeholders": {
                        "host": "https://api.wooxy.com",
                        "port": "443",
                        "password": "Wooxy API key (sent as the Access-Token header)",
                    },
                },
                "conn-fields": {
                    "timeout": {
                        "label": "Request timeout (seconds)",
                        "description": "Seconds to wait for each API answer before it counts as a transient fault.",
                        "schema": {"type": ["number", "null"], "default": 30, "minimum": 1},
                    },
                    "max_attempts": {
                        "label": "Attempts per request",
                        "description": "Tries per request for transient faults (timeouts, 429, 5xx); 1: no retries.",
                        "schema": {"type": ["integer", "null"], "default": 5, "minimum": 1, "maximum": 20},
                    },
                    "backoff": {
                        "label": "Initial backoff (seconds)",
                        "description": "First retry wait; doubles on each retry, with jitter, up to the maximum.",
                        "schema": {"type": ["number", "null"], "default": 0.5, "minimum": 0},
                    },
                    "max_backoff": {
                        "label": "Maximum backoff (seconds)",
                        "description": "Longest wait between retries, Retry-After included.",
                        "schema": {"type": ["number", "null"], "default": 30, "minimum": 0},
                    },
                    "allow_insecure_http": {
                        "label": "Allow plain http:// to a non-loopback host",
                        "description": "Sends the access token unencrypted. Only for a trusted private proxy.",
                        "schema": {"type": ["boolean", "null"], "default": False},
                    },
                },
            }
        ],
    }
