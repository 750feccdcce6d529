from __future__ import annotations

import json
import os
import re
import socket
import ssl
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_wooxy.exceptions import (
    WooxyAuthError,
    WooxyCertificateError,
    WooxyConfigurationError,
    WooxyInputError,
    WooxyPermanentError,
    WooxyRejectedError,
    WooxyTransientError,
)
from airflow_provider_wooxy.hooks.wooxy import WooxyHook
from airflow_provider_wooxy.sandbox import AUTH_FAILURES, WooxySandbox
from tests.helpers.sandbox import TOKEN, connection_json


def set_conn(monkeypatch: pytest.MonkeyPatch, value: str, conn_id: str = "wooxy_default") -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", value)


class TestApiMethods:
    def test_email_add_find_remove(self, wooxy_conn: WooxySandbox):
        hook = WooxyHook()
        records = [
            {"email": "a@example.com", "rejectType": "hard", "rawLog": "bounced"},
            {"email": "b@example.com", "rejectType": "complaint"},
        ]
        assert hook.add_email_blacklist(records) == {"result": True}
        found = hook.find_email_blacklist("hard", "a@example.com", with_raw_log=True)
        assert found["totalCount"] == 1
        assert found["data"][0]["rawLog"] == "bounced"
        assert hook.find_email_blacklist("complaint")["data"][0]["email"] == "b@example.com"
        hook.remove_email_blacklist("a@example.com", reject_type="hard")
        assert hook.find_email_blacklist("hard")["totalCount"] == 0
        assert wooxy_conn.email_addresses() == {"b@example.com"}

    def test_phone_add_find_remove(self, wooxy_conn: WooxySandbox):
        hook = WooxyHook()
        hook.add_phone_blacklist([{"phoneNumber": "+14155552671", "rejectType": "unsubscribe"}])
        found = hook.find_phone_blacklist("+14155552671")
        assert found["data"][0]["rejectType"] == "unsubscribe"
        hook.remove_phone_blacklist("+14155552671")
        assert hook.find_phone_blacklist("+14155552671")["totalCount"] == 0

    @pytest.mark.parametrize("method", ["add_email_blacklist", "add_phone_blacklist"])
    def test_more_than_100_records_refused_before_sending(self, wooxy_conn: WooxySandbox, method):
        records = [
            {"email": f"u{i}@example.com", "phoneNumber": "+14155552671", "rejectType": "hard"} for i in range(101)
        ]
        with pytest.raises(WooxyInputError, match="at most 100 records per request, got 101"):
            getattr(WooxyHook(), method)(records)
        assert wooxy_conn.stats()["total_requests"] == 0

    def test_test_connection_true(self, wooxy_conn):
        ok, message = WooxyHook().test_connection()
        assert ok, message
        assert wooxy_conn.url in message

    def test_test_connection_false_hides_token(self, sandbox, monkeypatch):
        wrong = "wrong-token-5d1e8b7a"
        set_conn(monkeypatch, connection_json(sandbox.url, token=wrong))
        ok, message = WooxyHook().test_connection()
        assert not ok
        assert "no matches found for access token ***" in message
        assert wrong not in message


class TestFailures:
    @pytest.mark.parametrize("kind", ["http500", "html502", "http429", "internal200", "drop_before", "drop_after"])
    def test_transient_fault_is_retried(self, wooxy_conn: WooxySandbox, kind):
        wooxy_conn.inject(kind, kind)
        hook = WooxyHook()
        assert hook.add_email_blacklist([{"email": "a@example.com", "rejectType": "hard"}]) == {"result": True}
        assert hook.retries == 2
        assert wooxy_conn.stats()["faults"] == {kind: 2}
        assert wooxy_conn.email_addresses() == {"a@example.com"}

    def test_timeout_is_retried(self, sandbox: WooxySandbox, monkeypatch):
        sandbox.slow_seconds = 10.0  # far beyond the timeout: the held answer can only time out
        set_conn(monkeypatch, connection_json(sandbox.url, timeout=0.5))
        sandbox.inject("slow")
        hook = WooxyHook()
        hook.add_phone_blacklist([{"phoneNumber": "+14155552671"}])
        stats = sandbox.stats()
        assert stats["faults"] == {"slow": 1}
        # A stalled machine can time out a fault-free request too: count the retries against what the sandbox
        # received, not against the one injected fault.
        assert hook.retries == stats["total_requests"] - 1 >= 1
        assert sandbox.phone_numbers() == {"+14155552671"}

    def test_retry_after_as_http_date(self, wooxy_conn: WooxySandbox, monkeypatch):
        set_conn(monkeypatch, connection_json(wooxy_conn.url, max_backoff=60))
        wooxy_conn.retry_after = formatdate(time.time() + 8, usegmt=True)
        wooxy_conn.inject("http429")
        waits: list[float] = []
        hook = WooxyHook(sleep=waits.append)
        hook.remove_email_blacklist("a@example.com")
        assert len(waits) == 1
        assert 6 <= waits[0] <= 8  # the date has whole seconds; the backoff alone would be under 0.02 s

    @pytest.mark.parametrize("value", [pytest.param("soon", id="garbage"), pytest.param("", id="empty")])
    def test_unreadable_retry_after_falls_back_to_backoff(self, wooxy_conn: WooxySandbox, value):
        wooxy_conn.retry_after = value
        wooxy_conn.inject("http429")
        waits: list[float] = []
        hook = WooxyHook(sleep=waits.append)
        hook.remove_email_blacklist("a@example.com")
        assert len(waits) == 1 and waits[0] <= 0.05

    def test_retry_after_is_honoured(self, wooxy_conn: WooxySandbox, monkeypatch):
        set_conn(monkeypatch, connection_json(wooxy_conn.url, max_backoff=60))
        wooxy_conn.retry_after = "7"
        wooxy_conn.inject("http429")
        waits: list[float] = []
        hook = WooxyHook(sleep=waits.append)  # record the wait instead of sleeping it
        hook.remove_email_blacklist("a@example.com")
        assert len(waits) == 1
        assert waits[0] >= 7

    def test_retry_after_is_capped_by_max_backoff(self, wooxy_conn: WooxySandbox):
        wooxy_conn.retry_after = "3600"
        wooxy_conn.inject("http429")
        waits: list[float] = []
        hook = WooxyHook(sleep=waits.append)
        hook.remove_email_blacklist("a@example.com")
        assert waits and waits[0] <= 0.05

    def test_backoff_grows_exponentially(self, sandbox: WooxySandbox, monkeypatch):
        set_conn(monkeypatch, connection_json(sandbox.url, backoff=1, max_backoff=100, max_attempts=5))
        sandbox.inject("http500", "http500", "http500", "http500")
        waits: list[float] = []
        hook = WooxyHook(sleep=waits.append)
        hook.remove_email_blacklist("a@example.com")
        assert len(waits) == 4
        for attempt, wait in enumerate(waits):
            assert 2**attempt / 2 <= wait <= 2**attempt  # jittered within [half, full] of the exponential step

    @pytest.mark.parametrize(
        ("pick", "expected"),
        [
            pytest.param(lambda low, high: low, [0.5, 1, 2, 4], id="lowest-jitter"),
            pytest.param(lambda low, high: high, [1, 2, 4, 8], id="highest-jitter"),
        ],
    )
    def test_jitter_bounds_exactly(self, sandbox: WooxySandbox, monkeypatch, pick, expected):
        import random

        set_conn(monkeypatch, connection_json(sandbox.url, backoff=1, max_backoff=100, max_attempts=5))
        monkeypatch.setattr(random, "uniform", pick)  # the jitter's ends, without chance
        sandbox.inject("http500", "http500", "http500", "http500")
        waits: list[float] = []
        hook = WooxyHook(sleep=waits.append)
        hook.remove_email_blacklist("a@example.com")
        assert waits == expected

    @pytest.mark.parametrize(
        ("status", "page"),
        [
            pytest.param(500, b'{"result": false, "errors": ["Service unavailable"]}', id="json-500"),
            pytest.param(502, b'{"result": false, "errors": ["Service unavailable"]}', id="json-502"),
            pytest.param(503, b'{"result": false, "errors": ["Service unavailable"]}', id="json-503"),
            pytest.param(429, b"<html>Slow down</html>", id="html-429"),
            pytest.param(503, b"<html>Maintenance</html>", id="html-503"),
        ],
    )
    def test_server_error_status_is_transient_whatever_the_text(self, monkeypatch, status, page):
        import threading
        from http.server import BaseHTTPRequestHandler, HTTPServer

        answers = [status, 200]

        class Unavailable(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                code = answers.pop(0)
                body = page if code != 200 else b'{"result": true}'
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = HTTPServer(("127.0.0.1", 0), Unavailable)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            set_conn(monkeypatch, connection_json(f"http://127.0.0.1:{server.server_address[1]}"))
            hook = WooxyHook()
            assert hook.remove_email_blacklist("a@example.com") == {"result": True}
            assert hook.retries == 1
        finally:
            server.shutdown()

    def test_exhausted_retries_raise_retryable_error(self, wooxy_conn: WooxySandbox, monkeypatch):
        set_conn(monkeypatch, connection_json(wooxy_conn.url, max_attempts=3))
        wooxy_conn.inject("http500", "http500", "http500", "http500")
        with pytest.raises(WooxyTransientError) as info:
            WooxyHook().remove_phone_blacklist("+14155552671")
        exc = info.value
        assert not isinstance(exc, AirflowFailException)  # Airflow may retry the task
        assert exc.http_status == 500
        assert "Internal server error" in exc.errors
        assert "phone-blacklist/remove" in str(exc)
        assert "gave up after 3 attempts" in str(exc)
        assert wooxy_conn.stats()["total_requests"] == 3

    def test_auth_error_is_not_retried(self, sandbox: WooxySandbox, monkeypatch):
        wrong = "wrong-token-5d1e8b7a"
        set_conn(monkeypatch, connection_json(sandbox.url, token=wrong))
        with pytest.raises(WooxyAuthError) as info:
            WooxyHook().add_email_blacklist([{"email": "a@example.com", "rejectType": "hard"}])
        assert isinstance(info.value, AirflowFailException)
        assert sandbox.stats()["total_requests"] == 1
        assert wrong not in str(info.value) and wrong not in repr(info.value.errors)

    def test_missing_token_header_is_auth_error(self, sandbox: WooxySandbox):
        response = requests.post(f"{sandbox.url}/v3/blacklist/find", json={"rejectType": "hard"}, timeout=5)
        assert response.status_code == 401
        assert response.json() == {"result": False, "errors": ["Invalid authorization token!"]}

    def test_validation_error_is_permanent_with_api_errors(self, wooxy_conn: WooxySandbox):
        with pytest.raises(WooxyRejectedError) as info:
            WooxyHook().add_email_blacklist([{"email": "a@example.com", "rejectType": "soft"}])
        exc = info.value
        assert isinstance(exc, WooxyPermanentError)
        assert exc.errors == ["Allowed rejectType is hard, complaint, list-unsubscribe, but soft given"]
        assert exc.http_status == 400
        assert "blacklist/add" in str(exc)
        assert wooxy_conn.stats()["total_requests"] == 1

    def test_non_json_success_is_a_failure(self, raw_answer, monkeypatch):
        # A 200 HTML page (a captive proxy, a wrong base URL) must never count as success.
        url = raw_answer(200, b"<html>Welcome</html>")
        set_conn(monkeypatch, connection_json(url))
        with pytest.raises(WooxyConfigurationError, match="not a Wooxy JSON answer") as info:
            WooxyHook().remove_email_blacklist("a@example.com")
        assert not isinstance(info.value, WooxyRejectedError)  # never a refusal of the records: never bisected
        assert f"{url.removeprefix('http://')} does not answer as Wooxy does" in str(info.value)

    def test_token_never_logged(self, sandbox: WooxySandbox, monkeypatch, logs):
        set_conn(monkeypatch, connection_json(sandbox.url, max_attempts=2))
        sandbox.inject("http500", "drop_before", "html502")
        messages = []
        if True:
            hook = WooxyHook()
            for call in (
                lambda: hook.remove_email_blacklist("a@example.com"),
                lambda: hook.add_email_blacklist([{"email": "x", "rejectType": "hard"}]),
                hook.test_connection,
            ):
                try:
                    call()
                except Exception as exc:
                    messages.append(f"{exc!s} {exc!r}")
            set_conn(monkeypatch, connection_json(sandbox.url, token=TOKEN + "-wrong"))
            messages.append(WooxyHook().test_connection()[1])
        logged = logs()
        everything = logged + " ".join(messages)
        assert "retrying" in logged  # the failure paths really ran and logged
        assert len(messages) >= 3
        assert TOKEN not in everything


class TestTransport:
    def test_session_is_shared_pooled_and_verifies_tls(self, wooxy_conn):
        hook = WooxyHook()
        session = hook.session
        assert session is hook.session
        assert session.verify is True or os.path.isfile(session.verify)  # a CA bundle from the env still verifies
        adapter = session.get_adapter("https://api.wooxy.com")
        assert adapter._pool_maxsize >= 10  # type: ignore[attr-defined]
        assert "Access-Token" in session.headers
        assert TOKEN not in repr(hook) and TOKEN not in repr(hook.conn_params)

    def test_https_pool_verifies_certificates(self, monkeypatch):
        set_conn(
            monkeypatch, json.dumps({"conn_type": "wooxy", "host": "https://api.wooxy.com", "password": "t0ken-abc"})
        )
        pool = WooxyHook()._route.pool
        assert pool.scheme == "https"
        assert pool.cert_reqs == "CERT_REQUIRED"
        assert pool.ca_certs  # a CA bundle: certifi's, or the environment's

    def test_connections_are_reused(self, wooxy_conn: WooxySandbox):
        hook = WooxyHook()
        for _ in range(20):
            hook.remove_email_blacklist("a@example.com")
        assert hook._route.pool.num_connections == 1  # one TCP connection for 20 sequential requests

    def test_proxy_settings_go_through_the_session(self, wooxy_conn: WooxySandbox, monkeypatch):
        monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
        set_conn(
            monkeypatch, json.dumps({"conn_type": "wooxy", "host": "https://api.wooxy.com", "password": "t0ken-abc"})
        )
        hook = WooxyHook()
        assert hook.session.proxies.get("https") == "http://proxy.invalid:3128"
        route = hook._route  # the proxy's pool, tunnelling to exactly the configured origin
        assert (route.pool.host, route.pool.port, route.pool.proxy.host) == ("api.wooxy.com", 443, "proxy.invalid")

    def test_gateway_refusal_page_is_an_auth_error(self, raw_answer, monkeypatch):
        # A 401/403 HTML page (an API gateway's, not Wooxy's JSON) is still about the credentials.
        set_conn(monkeypatch, connection_json(raw_answer(403, b"<html>403 Forbidden</html>")))
        hook = WooxyHook()
        with pytest.raises(WooxyAuthError, match=r"HTTP 403"):
            hook.remove_email_blacklist("a@example.com")
        assert hook.retries == 0


class TestHookArguments:
    def test_max_attempts_argument_overrides_the_connection(self, sandbox: WooxySandbox, monkeypatch):
        set_conn(monkeypatch, connection_json(sandbox.url, max_attempts=5))
        sandbox.outage()
        with pytest.raises(WooxyTransientError, match="gave up after 2 attempts"):
            WooxyHook(max_attempts=2).remove_email_blacklist("a@example.com")
        assert sandbox.stats()["total_requests"] == 2

    def test_max_attempts_one_disables_retries(self, sandbox: WooxySandbox, monkeypatch):
        set_conn(monkeypatch, connection_json(sandbox.url, max_attempts=5))
        sandbox.outage()
        with pytest.raises(WooxyTransientError) as info:
            WooxyHook(max_attempts=1).remove_email_blacklist("a@example.com")
        assert "gave up" not in str(info.value)
        assert sandbox.stats()["total_requests"] == 1

    def test_timeout_argument_overrides_the_connection(self, sandbox: WooxySandbox, monkeypatch):
        set_conn(monkeypatch, connection_json(sandbox.url, timeout=30))
        sandbox.slow_seconds = 10.0
        sandbox.inject("slow")
        hook = WooxyHook(timeout=0.3, max_attempts=1)
        assert hook.conn_params.timeout == 0.3
        started = time.monotonic()
        with pytest.raises(WooxyTransientError, match=r"no response within 0.3 s"):
            hook.remove_email_blacklist("a@example.com")
        assert time.monotonic() - started < 10  # the connection's 30 s would have waited for the held answer


class TestAuthErrors:
    """Each of the API's auth and account texts, with each plausible status: permanent, never retried, no token."""

    @pytest.mark.parametrize("status", [pytest.param(s, id=f"http{s}") for s in (200, 401, 403)])
    @pytest.mark.parametrize("failure", list(AUTH_FAILURES))
    def test_every_auth_text_is_a_permanent_auth_error(self, wooxy_conn: WooxySandbox, failure, status):
        wooxy_conn.auth_failure, wooxy_conn.auth_status = failure, status
        hook = WooxyHook()
        with pytest.raises(WooxyAuthError) as info:
            hook.add_email_blacklist([{"email": "a@example.com", "rejectType": "hard"}])
        exc = info.value
        assert isinstance(exc, AirflowFailException)
        assert exc.http_status == status
        expected = AUTH_FAILURES[failure].format(token="***")
        assert exc.errors == [expected]
        assert TOKEN not in str(exc)
        assert hook.retries == 0
        assert wooxy_conn.stats()["total_requests"] == 1

    @pytest.mark.parametrize("status", [pytest.param(401, id="http401"), pytest.param(403, id="http403")])
    def test_status_alone_makes_an_auth_error(self, monkeypatch, status):
        # An error text the hook does not know, with 401/403: the status decides.
        with WooxySandbox(token=TOKEN, auth_failure="user_disabled", auth_status=status) as sandbox:
            set_conn(monkeypatch, connection_json(sandbox.url))
            from airflow_provider_wooxy.hooks import transport

            monkeypatch.setattr(transport, "AUTH_ERROR_MARKERS", ())
            with pytest.raises(WooxyAuthError):
                WooxyHook().remove_email_blacklist("a@example.com")


class TestTls:
    """The sandbox over real HTTPS, with a certificate from a CA made for the test (trustme)."""

    @pytest.fixture
    def trusted(self, ca_bundle, monkeypatch):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_bundle)
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)

    @pytest.mark.parametrize(
        "conn",
        [
            pytest.param(lambda port: {"host": f"https://127.0.0.1:{port}"}, id="url-with-port"),
            pytest.param(lambda port: {"host": "localhost", "port": port}, id="bare-host-port-field"),
            pytest.param(lambda port: {"host": "https://localhost", "port": port}, id="url-without-port"),
        ],
    )
    def test_https_with_the_ca_bundle_from_the_environment(self, tls_sandbox: WooxySandbox, trusted, monkeypatch, conn):
        set_conn(monkeypatch, json.dumps({"conn_type": "wooxy", "password": TOKEN, **conn(tls_sandbox.port)}))
        hook = WooxyHook()
        assert hook.conn_params.base_url.startswith("https://")
        assert hook._route.pool.cert_reqs == "CERT_REQUIRED"
        hook.add_email_blacklist([{"email": "a@example.com", "rejectType": "hard"}])
        assert hook.find_email_blacklist("hard")["totalCount"] == 1
        assert tls_sandbox.email_addresses() == {"a@example.com"}
        assert hook.retries == 0

    @pytest.mark.parametrize(
        "ca_env",
        [
            pytest.param({}, id="system-bundle"),
            pytest.param({"REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": ""}, id="empty-bundle-variables"),
        ],
    )
    def test_untrusted_certificate_fails_at_once(self, tls_sandbox: WooxySandbox, monkeypatch, ca_env):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
        for name, value in ca_env.items():
            monkeypatch.setenv(name, value)
        set_conn(monkeypatch, connection_json(tls_sandbox.url))
        waits: list[float] = []
        hook = WooxyHook(sleep=waits.append)
        with pytest.raises(WooxyCertificateError) as info:
            hook.add_email_blacklist([{"email": "a@example.com", "rejectType": "hard"}])
        message = str(info.value)
        assert isinstance(info.value, AirflowFailException)  # Airflow must not retry it either
        assert f"TLS certificate of 127.0.0.1:{tls_sandbox.port} could not be verified" in message
        assert "certificate verify failed" in message
        assert "REQUESTS_CA_BUNDLE" in message and "CA bundle" in message
        assert "Traceback" not in message and info.value.__cause__ is None
        assert (hook.retries, waits) == (0, [])
        assert tls_sandbox.stats()["total_requests"] == 0  # the token never left: the handshake failed first

    def test_certificate_for_another_host_fails_at_once(self, test_ca, ca_bundle, monkeypatch):

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        test_ca.issue_cert("api.wooxy.com").configure_cert(context)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_bundle)
        with WooxySandbox(token=TOKEN, ssl_context=context) as sandbox:
            set_conn(monkeypatch, connection_json(sandbox.url))
            with pytest.raises(WooxyCertificateError, match=r"certificate is not valid for '127\.0\.0\.1'"):
                WooxyHook().remove_email_blacklist("a@example.com")


class TestProxy:
    """The proxy route (requests' session instead of the urllib3 pool) through a real forward proxy on loopback."""

    def test_http_through_the_proxy(self, wooxy_conn: WooxySandbox, proxied):
        hook = WooxyHook()
        assert hook._route.pool.proxy is not None
        hook.add_email_blacklist([{"email": "a@example.com", "rejectType": "hard"}])
        assert hook.find_email_blacklist("hard")["totalCount"] == 1
        assert wooxy_conn.email_addresses() == {"a@example.com"}
        hook.close()  # proxy.py logs a connection's requests when it closes
        # One line per connection, naming its first request: both went over the one kept-alive connection.
        line = f"POST 127.0.0.1:{wooxy_conn.port}/v3/blacklist/add - 200 OK"
        assert line in proxied.access_log(expect=line)

    def test_https_through_the_proxy_via_connect(self, tls_sandbox: WooxySandbox, ca_bundle, proxied, monkeypatch):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_bundle)
        set_conn(monkeypatch, connection_json(tls_sandbox.url))
        hook = WooxyHook()
        assert hook._route.pool.proxy is not None
        hook.add_phone_blacklist([{"phoneNumber": "+14155552671"}])
        assert tls_sandbox.phone_numbers() == {"+14155552671"}
        hook.close()
        assert f"CONNECT 127.0.0.1:{tls_sandbox.port}" in proxied.access_log(expect="CONNECT")

    def test_untrusted_certificate_through_the_proxy_fails_at_once(
        self, tls_sandbox: WooxySandbox, proxied, monkeypatch
    ):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
        set_conn(monkeypatch, connection_json(tls_sandbox.url))
        hook = WooxyHook()
        with pytest.raises(WooxyCertificateError, match="REQUESTS_CA_BUNDLE"):
            hook.remove_email_blacklist("a@example.com")
        assert hook.retries == 0

    def test_transient_faults_are_retried_through_the_proxy(self, wooxy_conn: WooxySandbox, proxied):
        wooxy_conn.inject("http500", "drop_before")
        hook = WooxyHook()
        hook.remove_email_blacklist("a@example.com")
        assert hook.retries == 2
        hook.close()
        assert "/v3/blacklist/remove" in proxied.access_log(expect="/v3/blacklist/remove")


# -- closing the gaps a mutation run (scripts/mutation.sh) found ----------------------------------------------------


class TestApiMethodBodies:
    """What each API method puts in its request body, read back from the sandbox's answers and state."""

    def test_email_find_pages_with_offset_and_limit(self, wooxy_conn: WooxySandbox):
        hook = WooxyHook()
        hook.add_email_blacklist([{"email": f"u{i:02d}@example.com", "rejectType": "hard"} for i in range(25)])
        page = hook.find_email_blacklist("hard", offset=5, limit=3)
        assert (page["offset"], page["limit"], page["totalCount"]) == (5, 3, 25)  # the sandbox echoes what it got
        assert [row["email"] for row in page["data"]] == [f"u{i:02d}@example.com" for i in (5, 6, 7)]

    def test_email_find_defaults_are_the_first_20_rows_without_raw_log(self, wooxy_conn: WooxySandbox):
        hook = WooxyHook()
        hook.add_email_blacklist(
            [{"email": f"u{i:02d}@example.com", "rejectType": "hard", "rawLog": "bounced"} for i in range(25)]
        )
        page = hook.find_email_blacklist("hard")
        assert (page["offset"], page["limit"], len(page["data"])) == (0, 20, 20)
        assert page["data"][0]["email"] == "u00@example.com"
        assert not any("rawLog" in row for row in page["data"])

    def test_email_find_one_address(self, wooxy_conn: WooxySandbox):
        hook = WooxyHook()
        hook.add_email_blacklist([{"email": f"u{i}@example.com", "rejectType": "hard"} for i in range(3)])
        found = hook.find_email_blacklist("hard", "u1@example.com")
        assert found["totalCount"] == 1
        assert [row["email"] for row in found["data"]] == ["u1@example.com"]

    def test_email_remove_of_one_reject_type_keeps_the_others(self, wooxy_conn: WooxySandbox):
        hook = WooxyHook()
        hook.add_email_blacklist(
            [{"email": "a@example.com", "rejectType": "hard"}, {"email": "a@example.com", "rejectType": "complaint"}]
        )
        hook.remove_email_blacklist("a@example.com", reject_type="hard")
        assert hook.find_email_blacklist("hard", "a@example.com")["totalCount"] == 0
        assert hook.find_email_blacklist("complaint", "a@example.com")["totalCount"] == 1

    def test_phone_find_sends_offset_limit_and_reject_type(self, wooxy_conn: WooxySandbox):
        hook = WooxyHook()
        hook.add_phone_blacklist([{"phoneNumber": "+14155552671", "rejectType": "unsubscribe"}])
        page = hook.find_phone_blacklist("+14155552671")
        assert (page["offset"], page["limit"], page["totalCount"]) == (0, 20, 1)
        page = hook.find_phone_blacklist("+14155552671", offset=1, limit=7)
        assert (page["offset"], page["limit"], page["data"]) == (1, 7, [])
        assert hook.find_phone_blacklist("+14155552671", "unsubscribe")["totalCount"] == 1
        assert hook.find_phone_blacklist("+14155552671", "import")["totalCount"] == 0

    @pytest.mark.parametrize(
        ("method", "record", "name"),
        [
            pytest.param("add_email_blacklist", {"rejectType": "hard"}, "blacklist/add", id="email"),
            pytest.param("add_phone_blacklist", {}, "phone-blacklist/add", id="phone"),
        ],
    )
    def test_exactly_100_records_are_sent_and_101_name_the_method(self, wooxy_conn: WooxySandbox, method, record, name):
        def records(n: int) -> list[dict[str, str]]:
            return [{"email": f"u{i}@example.com", "phoneNumber": "+14155552671", **record} for i in range(n)]

        with pytest.raises(WooxyInputError, match=f"^Wooxy {name} takes at most 100"):
            getattr(WooxyHook(), method)(records(101))
        assert getattr(WooxyHook(), method)(records(100)) == {"result": True}
        assert wooxy_conn.stats()["max_batch"] == 100

    @pytest.mark.parametrize(
        ("method", "records", "message"),
        [
            pytest.param("blacklist/add", [b"{}"] * 101, "at most 100 records per request, got 101", id="add-101"),
            pytest.param("phone-blacklist/add", [], "needs at least one record, got none", id="add-none"),
            pytest.param("blacklist/remove", [b"{}", b"{}"], "takes one record per request, got 2", id="remove-two"),
            pytest.param("blacklist/find", [b"{}"], "is not a Wooxy write method", id="not-a-write"),
        ],
    )
    def test_send_records_is_the_one_checked_door(self, wooxy_conn: WooxySandbox, method, records, message):
        with pytest.raises(WooxyInputError, match=message):
            WooxyHook().send_records(method, records)
        assert wooxy_conn.stats()["total_requests"] == 0

    def test_the_batch_sender_cannot_bypass_the_check(self, wooxy_conn: WooxySandbox):
        from airflow_provider_wooxy.pipeline.sending import Batch, BatchSender

        oversized = Batch(0, [(row, b'{"email":"u%d@example.com","rejectType":"hard"}' % row) for row in range(101)])
        with pytest.raises(WooxyInputError, match="at most 100 records per request, got 101"):
            BatchSender(WooxyHook(), "blacklist/add", max_concurrency=1).run(iter([oversized]))
        assert wooxy_conn.stats()["total_requests"] == 0

    def test_test_connection_tries_once(self, wooxy_conn: WooxySandbox):
        wooxy_conn.inject("http500")
        ok, message = WooxyHook().test_connection()
        assert not ok, message
        assert wooxy_conn.stats()["total_requests"] == 1

    def test_repr_names_the_class_and_connection(self):
        assert repr(WooxyHook("wooxy_prod")) == "WooxyHook(wooxy_conn_id='wooxy_prod')"


class TestRetryAfterZero:
    """``Retry-After: 0`` (or a date already past) asks for no wait: the hook waits only its own short backoff."""

    @pytest.mark.parametrize(
        "value",
        [pytest.param("0", id="seconds"), pytest.param(formatdate(time.time() - 60, usegmt=True), id="past-date")],
    )
    def test_no_wait_beyond_the_backoff(self, wooxy_conn: WooxySandbox, monkeypatch, value):
        set_conn(monkeypatch, connection_json(wooxy_conn.url, backoff=0.001, max_backoff=60))
        wooxy_conn.retry_after = value
        wooxy_conn.inject("http429")
        waits: list[float] = []
        hook = WooxyHook(sleep=waits.append)
        hook.remove_email_blacklist("a@example.com")
        assert len(waits) == 1
        assert waits[0] <= 0.001


class TestRetryLog:
    def test_each_retry_logs_the_error_the_wait_and_the_attempt(self, wooxy_conn: WooxySandbox, monkeypatch, logs):
        set_conn(monkeypatch, connection_json(wooxy_conn.url, backoff=1, max_backoff=1))
        wooxy_conn.inject("http500")
        waits: list[float] = []
        hook = WooxyHook(sleep=waits.append)
        hook.remove_email_blacklist("a@example.com")
        assert len(waits) == 1 and 0.5 <= waits[0] <= 1
        line = f"; retrying in {waits[0]:.2f} s (attempt 2 of 5)"
        assert re.search(r"Wooxy blacklist/remove failed \(HTTP 500\)[^\n]*" + re.escape(line), logs())


class TestConnectionFormWidgets:
    """The fields Airflow 3.0 / 3.1 draw, field by field, from the provider info (their values, not just kinds)."""

    def test_every_field_is_optional_with_its_description_and_typed_default(self):
        from wtforms.validators import Optional

        from airflow_provider_wooxy import get_provider_info

        (info,) = get_provider_info()["connection-types"]
        widgets = WooxyHook.get_connection_form_widgets()
        for name, field in info["conn-fields"].items():
            kwargs = widgets[name].kwargs
            assert widgets[name].args == (field["label"],), name
            assert kwargs["description"] == field["description"], name
            assert [type(v) for v in kwargs["validators"]] == [Optional], name
        # numbers are typed as text (the hook parses them); an integer or a boolean keeps its type
        assert widgets["backoff"].kwargs["default"] == "0.5"
        assert widgets["max_attempts"].kwargs["default"] == 5
        assert widgets["allow_insecure_http"].kwargs["default"] is False


class TestAnswersThatAreNotWooxys:
    """Pages from something other than Wooxy (a gateway, a proxy, a wrong URL): each mapped, each message usable."""

    def test_a_500_page_is_transient_and_quoted_on_one_line(self, raw_answer, monkeypatch):
        set_conn(monkeypatch, connection_json(raw_answer(500, b"<html>\n<b>Server Error</b>\n</html>"), max_attempts=1))
        with pytest.raises(WooxyTransientError) as info:
            WooxyHook().remove_email_blacklist("a@example.com")
        assert str(info.value) == (
            "Wooxy blacklist/remove failed (HTTP 500): response is not a Wooxy JSON answer: "
            "'<html> <b>Server Error</b> </html>'"
        )

    def test_a_429_page_honours_retry_after(self, raw_answer, monkeypatch):
        url = raw_answer(429, b"<html>slow down</html>", {"Retry-After": "7"})
        set_conn(monkeypatch, connection_json(url, max_attempts=2, max_backoff=60))
        waits: list[float] = []
        hook = WooxyHook(sleep=waits.append)
        with pytest.raises(WooxyTransientError, match=r"^Wooxy blacklist/remove failed \(HTTP 429\)"):
            hook.remove_email_blacklist("a@example.com")
        assert len(waits) == 1 and waits[0] >= 7

    def test_a_401_page_is_an_auth_error(self, raw_answer, monkeypatch):
        set_conn(monkeypatch, connection_json(raw_answer(401, b"<html>401 Unauthorized</html>")))
        hook = WooxyHook()
        with pytest.raises(WooxyAuthError, match=r"^Wooxy blacklist/remove failed \(HTTP 401\): response is not"):
            hook.remove_email_blacklist("a@example.com")
        assert hook.retries == 0

    def test_an_undecodable_page_is_quoted_to_120_characters(self, raw_answer, monkeypatch):
        url = raw_answer(404, b"\xff" + b"x" * 300)
        set_conn(monkeypatch, connection_json(url))
        hook = WooxyHook()
        with pytest.raises(WooxyConfigurationError) as info:
            hook.remove_email_blacklist("a@example.com")
        assert info.value.errors == [
            "response is not a Wooxy JSON answer: " + repr("\ufffd" + "x" * 119),
            f"{url.removeprefix('http://')} does not answer as Wooxy does: check the connection's base URL",
        ]
        assert hook.retries == 0

    def test_a_redirect_is_not_followed(self, raw_answer, wooxy_conn: WooxySandbox, monkeypatch):
        # Following it would send the access token wherever the redirect points.
        url = raw_answer(307, b"", {"Location": f"{wooxy_conn.url}/v3/blacklist/remove"})
        set_conn(monkeypatch, connection_json(url))
        with pytest.raises(
            WooxyConfigurationError, match=r"HTTP 307\): 127\.0\.0\.1:\d+ answered with a redirect to 127"
        ):
            WooxyHook().remove_email_blacklist("a@example.com")
        assert wooxy_conn.stats()["total_requests"] == 0


class TestTransportErrorMessages:
    def test_a_dropped_connection_names_the_method_and_the_error(self, sandbox: WooxySandbox, monkeypatch):
        set_conn(monkeypatch, connection_json(sandbox.url, max_attempts=1))
        sandbox.inject("drop_before")
        with pytest.raises(WooxyTransientError, match=r"^Wooxy blacklist/remove failed: [A-Za-z]+Error: "):
            WooxyHook().remove_email_blacklist("a@example.com")

    def test_a_timeout_names_the_method(self, sandbox: WooxySandbox, monkeypatch):
        set_conn(monkeypatch, connection_json(sandbox.url, timeout=0.3, max_attempts=1))
        sandbox.slow_seconds = 10.0
        sandbox.inject("slow")
        with pytest.raises(WooxyTransientError, match=r"^Wooxy blacklist/remove failed: no response within 0.3 s$"):
            WooxyHook().remove_email_blacklist("a@example.com")

    def test_a_refused_connection_says_so_not_timeout(self, monkeypatch):
        with socket.socket() as closed:  # a port nothing listens on
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        set_conn(monkeypatch, connection_json(f"http://127.0.0.1:{port}", max_attempts=1))
        with pytest.raises(WooxyTransientError, match=rf"failed: could not connect to 127\.0\.0\.1:{port}: .*refused"):
            WooxyHook().remove_email_blacklist("a@example.com")

    def test_an_untrusted_certificate_says_why_and_what_to_do(self, tls_sandbox: WooxySandbox, monkeypatch):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
        set_conn(monkeypatch, connection_json(tls_sandbox.url))
        with pytest.raises(WooxyCertificateError) as info:
            WooxyHook().remove_email_blacklist("a@example.com")
        assert str(info.value).startswith("Wooxy blacklist/remove failed: ")
        assert info.value.errors == [
            f"the TLS certificate of 127.0.0.1:{tls_sandbox.port} could not be verified "
            "(certificate verify failed: unable to get local issuer certificate)",
            "if the server uses a private or corporate CA, point the REQUESTS_CA_BUNDLE environment variable at a "
            "CA bundle (PEM file) that holds it",
        ]


class TestProxyRoute:
    """The session's own handling of a timeout and of ``Retry-After`` (the route taken behind a proxy)."""

    def test_the_timeout_applies(self, sandbox: WooxySandbox, proxied, monkeypatch):
        set_conn(monkeypatch, connection_json(sandbox.url, timeout=0.5, max_attempts=1))
        sandbox.slow_seconds = 10.0
        sandbox.inject("slow")
        hook = WooxyHook()
        assert hook._route.pool.proxy is not None
        with pytest.raises(WooxyTransientError, match=r"no response within 0.5 s"):
            hook.remove_email_blacklist("a@example.com")

    def test_retry_after_is_honoured(self, wooxy_conn: WooxySandbox, proxied, monkeypatch):
        set_conn(monkeypatch, connection_json(wooxy_conn.url, max_backoff=60))
        wooxy_conn.retry_after = "7"
        wooxy_conn.inject("http429")
        waits: list[float] = []
        hook = WooxyHook(sleep=waits.append)
        hook.remove_email_blacklist("a@example.com")
        assert hook._route.pool.proxy is not None
        assert len(waits) == 1 and waits[0] >= 7


class TestRequestDefaults:
    """The retry defaults, a permanent answer after a retry, and the headers every request sends."""

    def test_defaults_five_attempts_half_second_backoff_30_second_cap(self, sandbox: WooxySandbox, monkeypatch):
        set_conn(monkeypatch, json.dumps({"conn_type": "wooxy", "host": sandbox.url, "password": TOKEN}))
        sandbox.retry_after = "3600"
        sandbox.inject("http500", "http429")
        waits: list[float] = []
        hook = WooxyHook(sleep=waits.append)
        hook.remove_email_blacklist("a@example.com")
        assert 0.25 <= waits[0] <= 0.5  # the first backoff: 0.5 s with jitter
        assert waits[1] == 30  # Retry-After capped by the default max_backoff
        sandbox.outage()
        with pytest.raises(WooxyTransientError) as info:
            hook.remove_email_blacklist("a@example.com")
        assert info.value.errors[-1] == "gave up after 5 attempts"

    def test_a_permanent_answer_after_a_retry_is_not_retried(self, wooxy_conn: WooxySandbox):
        wooxy_conn.inject("http500")
        with pytest.raises(WooxyRejectedError):
            WooxyHook().add_email_blacklist([{"email": "not-an-address", "rejectType": "hard"}])
        assert wooxy_conn.stats()["total_requests"] == 2

    def test_requests_say_they_send_and_accept_json(self, monkeypatch):
        seen: list[dict[str, str]] = []

        class Recorder(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                seen.append({k.lower(): v for k, v in self.headers.items()})
                body = b'{"result": true}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            set_conn(monkeypatch, connection_json(f"http://127.0.0.1:{server.server_address[1]}"))
            WooxyHook().remove_email_blacklist("a@example.com")
        finally:
            server.shutdown()
            server.server_close()
        assert seen[0]["content-type"] == "application/json"
        assert seen[0]["accept"] == "application/json"
        assert seen[0]["access-token"] == TOKEN
