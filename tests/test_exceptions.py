"""The provider's exceptions survive pickling (Airflow may move an exception between processes) whole."""

from __future__ import annotations

import pickle

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_wooxy.exceptions import (
    WooxyAuthError,
    WooxyCertificateError,
    WooxyError,
    WooxyRejectedError,
    WooxyTransientError,
)
from airflow_provider_wooxy.operators.blacklist import WooxyAddEmailBlacklistOperator
from tests.helpers.sandbox import connection_json


def round_trip(exc: BaseException) -> BaseException:
    return pickle.loads(pickle.dumps(exc))


class TestWooxyError:
    @pytest.mark.parametrize(
        "exc",
        [
            pytest.param(WooxyError("blacklist/add", ["Bad Request"]), id="base"),
            pytest.param(WooxyTransientError("blacklist/add", ["Internal server error"], 503, 2.5), id="transient"),
            pytest.param(WooxyAuthError("blacklist/find", ["user 1 not enabled"], 403), id="auth"),
            pytest.param(WooxyRejectedError("blacklist/add", ["Invalid RFC2822 email x"], 400), id="rejected"),
            pytest.param(WooxyCertificateError("blacklist/add", ["certificate verify failed"]), id="certificate"),
        ],
    )
    def test_round_trip_keeps_type_message_and_fields(self, exc):
        exc.add_context(". 300 of 1000 valid records were accepted before this failure")
        copy = round_trip(exc)
        assert type(copy) is type(exc)
        assert str(copy) == str(exc)
        assert "300 of 1000" in str(copy)
        assert (copy.method, copy.errors, copy.http_status) == (exc.method, exc.errors, exc.http_status)
        assert getattr(copy, "retry_after", None) == getattr(exc, "retry_after", None)

    def test_retry_after_survives(self):
        copy = round_trip(WooxyTransientError("phone-blacklist/add", ["Too many requests"], 429, 7.0))
        assert copy.retry_after == 7.0

    def test_add_context_extends_the_message_only(self):
        exc = WooxyRejectedError("blacklist/add", ["Bad Request"], 400)
        exc.add_context(" (gave up after 3 attempts)")
        assert str(exc) == "Wooxy blacklist/add failed (HTTP 400): Bad Request (gave up after 3 attempts)"
        assert exc.errors == ["Bad Request"]

    def test_the_hooks_gave_up_text_survives(self, sandbox, monkeypatch):
        from airflow_provider_wooxy.hooks.wooxy import WooxyHook

        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url, max_attempts=2))
        sandbox.outage()
        with pytest.raises(WooxyTransientError) as info:
            WooxyHook().remove_email_blacklist("a@example.com")
        copy = round_trip(info.value)
        assert str(copy) == str(info.value)
        assert "(gave up after 2 attempts)" in str(copy)

    def test_the_operators_progress_text_survives(self, sandbox, monkeypatch):
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url, max_attempts=1))
        sandbox.outage(after=2)
        op = WooxyAddEmailBlacklistOperator(
            task_id="add", records=[f"u{i}@example.com" for i in range(500)], max_concurrency=1
        )
        with pytest.raises(WooxyTransientError) as info:
            op.execute({})
        copy = round_trip(info.value)
        assert "200 of 500 valid records were accepted before this failure" in str(copy)
        assert str(copy) == str(info.value)

    def test_permanent_errors_stay_fail_exceptions_after_pickling(self):
        assert isinstance(round_trip(WooxyAuthError("blacklist/find", ["x"], 401)), AirflowFailException)
