"""
Which Airflow release is running (2.11 and 3.0 to 3.3 are supported), and the little that common-compat lacks.

Names that moved between releases (``BaseHook``, ``BaseOperator``, the Airflow exceptions, ``Asset``, which is
``Dataset`` on 2.x, ``ObjectStoragePath``, ``Context``, ``dag``, ``task``, ...) come from
``airflow.providers.common.compat.sdk`` (the ``apache-airflow-providers-common-compat`` provider, kept up to date by
Airflow's maintainers), as the official providers do. Ruff's banned-api rule (``TID251`` in ``pyproject.toml``)
refuses the moved names anywhere else. This module keeps only what common-compat does not cover:

* version flags (``AIRFLOW_V_3_0_PLUS``, ...) and :func:`airflow_at_least`;
* :func:`mask_secret` (``airflow.sdk.log`` on 3.x, ``airflow.utils.log.secrets_masker`` on 2.x);
* :func:`configured_executor`: the ``[core] executor`` setting (``airflow.sdk.configuration`` on 3.2+,
  ``airflow.configuration`` before);
* feature flags that say what the running release offers, so that code and tests can degrade with a clear message:
  :data:`HITL_AVAILABLE`: human-in-the-loop operators (approval before a sync), Airflow 3.1+;
  :func:`require_hitl` raises :class:`FeatureUnavailableError` naming the feature and the running version.
  :data:`FORM_FROM_PROVIDER_INFO`: the UI draws the connection form from the provider info's ``conn-fields`` /
  ``ui-field-behaviour`` (3.2+); older releases (2.11's Flask AppBuilder form included) ask the hook's
  ``get_connection_form_widgets`` / ``get_ui_field_behaviour``.

Tests skip what the running release lacks with ``@pytest.mark.requires_airflow("3.1", reason=...)``
(``tests/conftest.py``), which asks :func:`airflow_at_least`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow import __version__ as _airflow_version
from airflow.providers.common.compat.sdk import AirflowFailException
from packaging.version import Version

AIRFLOW_VERSION = Version(Version(_airflow_version).base_version)
"""The running Airflow release without pre-release or local parts, e.g. ``Version("2.11.0")``."""


def airflow_at_least(version: str) -> bool:
    """
    Whether the running Airflow is ``version`` or newer.

    :param version: a release, e.g. ``"3.1"`` or ``"3.2.2"``.
    """
    return AIRFLOW_VERSION >= Version(version)  # noqa: SIM300 (the running version reads best on the left)


AIRFLOW_V_3_0_PLUS = airflow_at_least("3.0")
AIRFLOW_V_3_1_PLUS = airflow_at_least("3.1")
AIRFLOW_V_3_2_PLUS = airflow_at_least("3.2")
AIRFLOW_V_3_3_PLUS = airflow_at_least("3.3")

HITL_AVAILABLE = AIRFLOW_V_3_1_PLUS
"""Human-in-the-loop operators (``airflow.providers.standard.operators.hitl``) arrived in Airflow 3.1."""

FORM_FROM_PROVIDER_INFO = AIRFLOW_V_3_2_PLUS
"""Since 3.2 the UI reads the connection form from the provider info, not from the hook."""

# The ``TYPE_CHECKING or`` branch is what mypy checks, against the newest Airflow of the test matrix.
if TYPE_CHECKING or AIRFLOW_V_3_0_PLUS:
    from airflow.sdk.log import mask_secret
else:  # 2.x: common-compat has no mask_secret
    from airflow.utils.log.secrets_masker import mask_secret


def configured_executor() -> str:
    """The ``[core] executor`` setting as written (a name, a class path, or a comma-separated list of them)."""
    if TYPE_CHECKING or AIRFLOW_V_3_2_PLUS:
        from airflow.sdk.configuration import conf
    else:  # the task SDK reads the configuration itself since 3.2
        from airflow.configuration import conf
    return str(conf.get("core", "executor", fallback="") or "")


class FeatureUnavailableError(AirflowFailException):
    """A provider feature needs a newer Airflow than the one running; retrying cannot help."""


def require_hitl(feature: str) -> None:
    """
    Fail with a clear message when human-in-the-loop operators are missing (Airflow 2.11 and 3.0).

    :param feature: what needs them, for the message, e.g. ``"Approval before a Wooxy sync"``.
    """
    if not HITL_AVAILABLE:
        raise FeatureUnavailableError(
            f"{feature} needs Airflow 3.1 or newer (human-in-the-loop operators); this is Airflow "
            f"{_airflow_version}. Upgrade Airflow, or leave the approval step out of this DAG."
        )


__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3_0_PLUS",
    "AIRFLOW_V_3_1_PLUS",
    "AIRFLOW_V_3_2_PLUS",
    "AIRFLOW_V_3_3_PLUS",
    "FORM_FROM_PROVIDER_INFO",
    "HITL_AVAILABLE",
    "FeatureUnavailableError",
    "airflow_at_least",
    "configured_executor",
    "mask_secret",
    "require_hitl",
]
