"""The connection's fields and the hook's overrides turned into settings (hooks/connection.py), and the hook's
``conn_params`` reading an Airflow connection into them."""

from __future__ import annotations

import dataclasses
import json

import pytest

from airflow_provider_wooxy.api import DEFAULT_BASE_URL
from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.hooks.connection import ConnectionSettings, connection_settings
from airflow_provider_wooxy.hooks.wooxy import WooxyHook

TOKEN = "t0ken-abc"


def set_conn(monkeypatch: pytest.MonkeyPatch, value: str, conn_id: str = "wooxy_default") -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", value)


def settings(
    host: str | None = None,
    *,
    port: int | None = None,
    password: str | None = TOKEN,
    conn_id: str = "wooxy_default",
    timeout: float | None = None,
    max_attempts: int | None = None,
    **extra: object,
) -> ConnectionSettings:
    """The settings of a connection with these fields and extras (the pure function, no Airflow connection)."""
    return connection_settings(
        conn_id, host=host, port=port, password=password, extra=extra, timeout=timeout, max_attempts=max_attempts
    )


class TestBaseUrl:
    @pytest.mark.parametrize(
        ("host", "port", "extra", "expected"),
        [
            pytest.param(None, None, {}, DEFAULT_BASE_URL, id="no-host"),
            pytest.param("  ", None, {}, DEFAULT_BASE_URL, id="blank-host"),
            pytest.param("https://api.eu.wooxy.com/", None, {}, "https://api.eu.wooxy.com", id="url-trailing-slash"),
            pytest.param(" api.eu.wooxy.com/ ", None, {}, "https://api.eu.wooxy.com", id="bare-host-https"),
            pytest.param("localhost", None, {"scheme": "http"}, "http://localhost", id="scheme-extra"),
            pytest.param("localhost", 9000, {"scheme": "http"}, "http://localhost:9000", id="bare-host-port-field"),
            pytest.param("https://api.example.test", 8443, {}, "https://api.example.test:8443", id="url-port-field"),
            pytest.param(
                "https://h.example.test/base", 8443, {}, "https://h.example.test:8443/base", id="url-path-port"
            ),
            pytest.param("https://h.test:9443", 8443, {}, "https://h.test:9443", id="url-port-wins"),
            pytest.param("https://10.1.2.3", None, {}, "https://10.1.2.3", id="ip-address"),
            pytest.param("https://[2001:db8::1]:8443", None, {}, "https://[2001:db8::1]:8443", id="ipv6-address"),
            pytest.param(
                "https://under_score.example.test", None, {}, "https://under_score.example.test", id="underscore"
            ),
        ],
    )
    def test_host_port_and_scheme_make_the_base_url(self, host, port, extra, expected):
        assert settings(host, port=port, **extra).base_url == expected

    @pytest.mark.parametrize(
        "host",
        [
            pytest.param("ftp://files.example.com", id="ftp"),
            pytest.param("https:///v3", id="no-host"),
            pytest.param("https://-bad-.example.com", id="label-with-dashes-at-the-ends"),
            pytest.param("https://api..wooxy.com", id="empty-label"),
        ],
    )
    def test_not_an_http_url_is_refused_with_the_url(self, host):
        with pytest.raises(WooxyInputError) as info:
            settings(host, conn_id="wooxy_prod")
        url = host if "://" in host else f"https://{host}"
        assert str(info.value) == (
            f"Wooxy connection 'wooxy_prod': base URL {url!r} is not an http(s) URL; the host field takes a URL "
            "such as https://api.wooxy.com, or a host name (letters, digits, '-', '.')."
        )


class TestStrictBaseUrl:
    """Anything another parser (urllib3's, a proxy's) could read as another host or port is refused."""

    @pytest.mark.parametrize(
        ("host", "port", "problem"),
        [
            pytest.param("http://evil.example\\@127.0.0.1:8080", None, "a backslash", id="backslash-userinfo"),
            pytest.param("http://127.0.0.1:8080\\v3", None, "a backslash", id="backslash-in-path"),
            pytest.param("http://user@127.0.0.1:8080", None, "a user name (user@host)", id="userinfo"),
            pytest.param("https://u:p@api.wooxy.com", None, "a user name (user@host)", id="userinfo-password"),
            pytest.param("api wooxy.com", None, "whitespace or a control character", id="space-in-host"),
            pytest.param("http://127.0.0.1:80/a b", None, "whitespace or a control character", id="space-in-path"),
            pytest.param("http://127.0.0.1\x00:8080", None, "whitespace or a control character", id="nul"),
            pytest.param("http://127.0.0.1\r\n:8080", None, "whitespace or a control character", id="crlf"),
            pytest.param("https://api.wooxy.com#@evil.example", None, "a query or a fragment (? or #)", id="fragment"),
            pytest.param("https://api.wooxy.com#", None, "a query or a fragment (? or #)", id="empty-fragment"),
            pytest.param("https://api.wooxy.com?x=1", None, "a query or a fragment (? or #)", id="query"),
            pytest.param("https://h.test#x", 8443, "a query or a fragment (? or #)", id="fragment-with-port-field"),
            pytest.param("http://127.0.0.1:abc", None, "a port or a path that is not plain", id="port-not-a-number"),
            pytest.param("http://127.0.0.1:0", None, "a port or a path that is not plain", id="port-zero"),
            pytest.param("http://127.0.0.1:99999", None, "a port or a path that is not plain", id="port-too-big"),
            pytest.param("http://127.0.0.1:+80", None, "a port or a path that is not plain", id="port-signed"),
            pytest.param("http://127.0.0.1:08080", None, "a port or a path that is not plain", id="port-zero-padded"),
            pytest.param('http://127.0.0.1:80/a"b', None, "a port or a path that is not plain", id="quote-in-path"),
        ],
    )
    def test_an_ambiguous_url_is_refused_naming_what_it_holds(self, host, port, problem):
        with pytest.raises(WooxyInputError) as info:
            settings(host, port=port, conn_id="wooxy_prod")
        assert str(info.value).startswith("Wooxy connection 'wooxy_prod': base URL ")
        assert str(info.value).endswith(
            f" holds {problem}; give only scheme://host[:port][/path], e.g. https://api.wooxy.com."
        )

    @pytest.mark.parametrize(
        "host",
        [
            pytest.param("javascript://127.0.0.1", id="javascript"),
            pytest.param("file://127.0.0.1/etc", id="file"),
            pytest.param("https://[fe80::1%25eth0]:443", id="ipv6-zone"),
        ],
    )
    def test_another_scheme_or_an_ipv6_zone_is_refused(self, host):
        with pytest.raises(WooxyInputError, match="is not an http\\(s\\) URL"):
            settings(host)

    @pytest.mark.parametrize(
        ("host", "port", "extra", "origin"),
        [
            pytest.param(None, None, {}, ("https", "api.wooxy.com", 443, ""), id="default"),
            pytest.param(
                "https://API.Wooxy.com:8443/base/", None, {}, ("https", "api.wooxy.com", 8443, "/base"), id="url"
            ),
            pytest.param("http://[::1]:8080", None, {}, ("http", "::1", 8080, ""), id="ipv6"),
            pytest.param("localhost", 9000, {"scheme": "http"}, ("http", "localhost", 9000, ""), id="port-field"),
            pytest.param("http://127.0.0.1", None, {}, ("http", "127.0.0.1", 80, ""), id="default-http-port"),
        ],
    )
    def test_the_origin_is_parsed_once(self, host, port, extra, origin):
        result = settings(host, port=port, **extra)
        assert (result.scheme, result.host, result.port, result.path) == origin


class TestPlainHttp:
    @pytest.mark.parametrize(
        "host",
        [
            pytest.param("http://localhost:8080", id="localhost"),
            pytest.param("http://LOCALHOST.localdomain", id="localhost-localdomain"),
            pytest.param("http://ip6-localhost", id="ip6-localhost"),
            pytest.param("http://127.0.0.1:8080", id="ipv4-loopback"),
            pytest.param("http://127.8.9.10", id="ipv4-loopback-range"),
            pytest.param("http://[::1]:8080", id="ipv6-loopback"),
        ],
    )
    def test_to_this_machine_is_allowed_without_a_warning(self, host):
        result = settings(host)
        assert result.base_url == host
        assert result.plain_http_host is None

    def test_to_another_machine_is_refused_with_what_to_do(self):
        with pytest.raises(WooxyInputError) as info:
            settings("http://api.example.test", conn_id="wooxy_prod")
        assert str(info.value) == (
            "Wooxy connection 'wooxy_prod': plain http:// to api.example.test would send the access token "
            "unencrypted. Use https://, or set the extra allow_insecure_http=true if you really mean it."
        )

    @pytest.mark.parametrize(
        "value",
        [
            pytest.param("1", id="one"),
            pytest.param("true", id="true"),
            pytest.param("YES", id="yes"),
            pytest.param(" on ", id="on"),
            pytest.param(True, id="json-true"),
            pytest.param(1, id="json-one"),
        ],
    )
    def test_allow_insecure_http_lets_it_through_and_names_the_host(self, value):
        result = settings("http://api.example.test", allow_insecure_http=value)
        assert result.base_url == "http://api.example.test"
        assert result.plain_http_host == "api.example.test"

    @pytest.mark.parametrize(
        "value",
        [
            pytest.param("no", id="no"),
            pytest.param("false", id="false"),
            pytest.param("", id="empty"),
            pytest.param("2", id="two"),
            pytest.param(False, id="json-false"),
            pytest.param(0, id="json-zero"),
            pytest.param(None, id="json-null"),
        ],
    )
    def test_other_values_of_allow_insecure_http_still_refuse(self, value):
        with pytest.raises(WooxyInputError, match="unencrypted"):
            settings("http://api.example.test", allow_insecure_http=value)

    def test_https_sends_nothing_in_the_clear(self):
        assert settings("https://api.example.test").plain_http_host is None


class TestToken:
    @pytest.mark.parametrize(
        "password", [pytest.param(None, id="none"), pytest.param("", id="empty"), pytest.param(" \t", id="blank")]
    )
    def test_missing_token_names_the_connection_and_the_field(self, password):
        with pytest.raises(WooxyInputError) as info:
            settings(password=password, conn_id="wooxy_prod")
        assert str(info.value) == (
            "Wooxy connection 'wooxy_prod' has no access token: put the API key in its password field."
        )

    def test_the_token_is_stripped_and_checked_first(self):
        # A connection wrong in every field names the token: the first thing to fix.
        with pytest.raises(WooxyInputError, match="no access token"):
            settings("ftp://x", password="", timeout="soon")  # type: ignore[arg-type]
        assert settings(password=f"  {TOKEN}\n").token == TOKEN

    def test_repr_hides_the_token(self):
        result = settings("https://api.example.test")
        assert repr(result) == "ConnectionSettings(base_url='https://api.example.test', token='***', timeout=30.0)"
        assert TOKEN not in repr(result) and TOKEN not in str(result)


class TestNumbers:
    def test_defaults(self):
        result = settings()
        assert (result.timeout, result.max_attempts, result.backoff, result.max_backoff) == (30.0, 5, 0.5, 30.0)
        assert isinstance(result.max_attempts, int)

    @pytest.mark.parametrize(
        ("extra", "field", "expected"),
        [
            pytest.param({"timeout": "7"}, "timeout", 7.0, id="timeout-text"),
            pytest.param({"timeout": 2.5}, "timeout", 2.5, id="timeout-number"),
            pytest.param({"timeout": 0}, "timeout", 30.0, id="timeout-zero-means-default"),
            pytest.param({"timeout": ""}, "timeout", 30.0, id="timeout-empty-means-default"),
            pytest.param({"max_attempts": "3"}, "max_attempts", 3, id="max-attempts-text"),
            pytest.param({"max_attempts": 1}, "max_attempts", 1, id="max-attempts-one"),
            pytest.param({"max_attempts": 4.0}, "max_attempts", 4, id="max-attempts-whole-float"),
            pytest.param({"max_attempts": None}, "max_attempts", 5, id="max-attempts-null-means-default"),
            pytest.param({"backoff": "0.25"}, "backoff", 0.25, id="backoff"),
            pytest.param({"backoff": 0}, "backoff", 0.0, id="backoff-zero"),
            pytest.param({"max_backoff": 60}, "max_backoff", 60.0, id="max-backoff"),
            pytest.param({"max_backoff": ""}, "max_backoff", 30.0, id="max-backoff-empty-means-default"),
        ],
    )
    def test_each_extra(self, extra, field, expected):
        assert getattr(settings(**extra), field) == expected

    @pytest.mark.parametrize(
        ("overrides", "field", "expected"),
        [
            pytest.param({"timeout": 0.3}, "timeout", 0.3, id="timeout"),
            pytest.param({"timeout": 0}, "timeout", 30.0, id="timeout-zero-means-default"),
            pytest.param({"max_attempts": 1}, "max_attempts", 1, id="max-attempts"),
            pytest.param({"max_attempts": None}, "max_attempts", 7, id="none-keeps-the-extra"),
        ],
    )
    def test_each_override_wins_over_its_extra(self, overrides, field, expected):
        result = connection_settings(
            "wooxy_default",
            host=None,
            port=None,
            password=TOKEN,
            extra={"timeout": 12, "max_attempts": 7},
            **overrides,
        )
        assert getattr(result, field) == expected

    @pytest.mark.parametrize(
        ("extra", "message"),
        [
            pytest.param({"timeout": "soon"}, "extra timeout='soon' is not a number.", id="timeout-text"),
            pytest.param({"timeout": [1]}, "extra timeout=[1] is not a number.", id="timeout-list"),
            pytest.param({"timeout": -1}, "extra timeout must be >= 0.", id="timeout-negative"),
            pytest.param({"max_attempts": "many"}, "extra max_attempts='many' is not a number.", id="attempts-text"),
            pytest.param({"max_attempts": -2}, "extra max_attempts must be >= 0.", id="attempts-negative"),
            pytest.param(
                {"max_attempts": 0},
                "max_attempts (Attempts per request) must be a whole number >= 1 (1 disables retries), got 0.",
                id="attempts-zero",
            ),
            pytest.param(
                {"max_attempts": "2.5"},
                "max_attempts (Attempts per request) must be a whole number >= 1 (1 disables retries), got 2.5.",
                id="attempts-fraction",
            ),
            pytest.param({"backoff": "fast"}, "extra backoff='fast' is not a number.", id="backoff-text"),
            pytest.param({"backoff": -0.5}, "extra backoff must be >= 0.", id="backoff-negative"),
            pytest.param({"max_backoff": {}}, "extra max_backoff={} is not a number.", id="max-backoff-object"),
            pytest.param({"max_backoff": "-1"}, "extra max_backoff must be >= 0.", id="max-backoff-negative"),
        ],
    )
    def test_each_bad_value_is_named(self, extra, message):
        with pytest.raises(WooxyInputError) as info:
            settings(conn_id="wooxy_prod", **extra)
        assert str(info.value) == f"Wooxy connection 'wooxy_prod': {message}"

    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            pytest.param({"timeout": -1}, "extra timeout must be >= 0.", id="timeout"),
            pytest.param(
                {"max_attempts": 0},
                "max_attempts (Attempts per request) must be a whole number >= 1 (1 disables retries), got 0.",
                id="max-attempts",
            ),
        ],
    )
    def test_a_bad_override_is_named_like_its_extra(self, overrides, message):
        with pytest.raises(WooxyInputError) as info:
            settings(**overrides)
        assert str(info.value) == f"Wooxy connection 'wooxy_default': {message}"


def test_the_settings_are_frozen():
    result = settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.token = "other"  # type: ignore[misc]


class TestConnParams:
    """The connection as Airflow stores it (JSON or URI form), read by ``WooxyHook.conn_params``."""

    @pytest.mark.parametrize(
        ("conn", "expected"),
        [
            pytest.param({"conn_type": "wooxy", "password": "t0ken-abc"}, DEFAULT_BASE_URL, id="no-host-default"),
            pytest.param(
                {"conn_type": "wooxy", "host": "http://127.0.0.1:8080/", "password": "t0ken-abc"},
                "http://127.0.0.1:8080",
                id="full-url-in-host",
            ),
            pytest.param(
                {"conn_type": "wooxy", "host": "api.eu.wooxy.com", "password": "t0ken-abc"},
                "https://api.eu.wooxy.com",
                id="bare-host-https",
            ),
            pytest.param(
                {
                    "conn_type": "wooxy",
                    "host": "localhost",
                    "port": 9000,
                    "password": "t0ken-abc",
                    "extra": {"scheme": "http"},
                },
                "http://localhost:9000",
                id="host-port-scheme-extra",
            ),
        ],
    )
    def test_base_url_json_form(self, monkeypatch, conn, expected):
        set_conn(monkeypatch, json.dumps(conn))
        assert WooxyHook().conn_params.base_url == expected

    def test_uri_form(self, monkeypatch):
        set_conn(monkeypatch, "wooxy://:t0ken-abc@127.0.0.1:8080/?scheme=http&timeout=7")
        params = WooxyHook().conn_params
        assert params.base_url == "http://127.0.0.1:8080"
        assert params.token == "t0ken-abc"
        assert params.timeout == 7

    def test_missing_token_names_the_connection(self, monkeypatch):
        set_conn(monkeypatch, json.dumps({"conn_type": "wooxy", "host": "http://127.0.0.1:1"}), "wooxy_prod")
        with pytest.raises(WooxyInputError, match=r"'wooxy_prod' has no access token"):
            _ = WooxyHook("wooxy_prod").conn_params

    def test_unknown_connection_is_clear(self):
        with pytest.raises(Exception, match="wooxy_nowhere"):
            _ = WooxyHook("wooxy_nowhere").conn_params

    def test_plain_http_to_remote_host_refused(self, monkeypatch):
        set_conn(
            monkeypatch,
            json.dumps({"conn_type": "wooxy", "host": "http://api.wooxy.com", "password": "t0ken-abc"}),
        )
        with pytest.raises(WooxyInputError, match="unencrypted"):
            _ = WooxyHook().conn_params

    def test_plain_http_to_remote_host_with_explicit_extra_warns(self, monkeypatch, logs):
        set_conn(
            monkeypatch,
            json.dumps(
                {
                    "conn_type": "wooxy",
                    "host": "http://10.0.0.5",
                    "password": "t0ken-abc",
                    "extra": {"allow_insecure_http": "true"},
                }
            ),
        )
        assert WooxyHook().conn_params.base_url == "http://10.0.0.5"
        assert "plain http://" in logs()

    @pytest.mark.parametrize(
        ("extra", "timeout"),
        [pytest.param({}, 30, id="default"), pytest.param({"timeout": 0}, 30, id="zero-means-default")],
    )
    def test_timeout_extra(self, monkeypatch, extra, timeout):
        set_conn(monkeypatch, json.dumps({"conn_type": "wooxy", "password": "t0ken-abc", "extra": extra}))
        assert WooxyHook().conn_params.timeout == timeout

    def test_bad_numeric_extra(self, monkeypatch):
        set_conn(
            monkeypatch,
            json.dumps({"conn_type": "wooxy", "password": "t0ken-abc", "extra": {"timeout": "soon"}}),
        )
        with pytest.raises(WooxyInputError, match="timeout='soon' is not a number"):
            _ = WooxyHook().conn_params


class TestInsecureHttpFlag:
    @pytest.mark.parametrize(
        "value",
        [
            pytest.param("1", id="one"),
            pytest.param("yes", id="yes"),
            pytest.param(" On ", id="on"),
            pytest.param(True, id="json-true"),
        ],
    )
    def test_truthy_spellings_allow_plain_http(self, monkeypatch, value):
        conn = {"conn_type": "wooxy", "host": "http://api.example.test", "password": "t0ken-abc"}
        set_conn(monkeypatch, json.dumps({**conn, "extra": {"allow_insecure_http": value}}))
        assert WooxyHook().conn_params.base_url == "http://api.example.test"

    @pytest.mark.parametrize("value", [pytest.param("no", id="no"), pytest.param(False, id="json-false")])
    def test_falsy_spellings_refuse_plain_http(self, monkeypatch, value):
        conn = {"conn_type": "wooxy", "host": "http://api.example.test", "password": "t0ken-abc"}
        set_conn(monkeypatch, json.dumps({**conn, "extra": {"allow_insecure_http": value}}))
        with pytest.raises(WooxyInputError, match="unencrypted"):
            _ = WooxyHook().conn_params


class TestConnectionChecks:
    """The connection's defaults and refusals, message by message."""

    def test_a_non_http_url_is_refused(self, monkeypatch):
        set_conn(monkeypatch, json.dumps({"conn_type": "wooxy", "host": "ftp://files.example.com", "password": "t"}))
        with pytest.raises(WooxyInputError) as info:
            _ = WooxyHook().conn_params
        assert str(info.value) == (
            "Wooxy connection 'wooxy_default': base URL 'ftp://files.example.com' is not an http(s) URL; the host "
            "field takes a URL such as https://api.wooxy.com, or a host name (letters, digits, '-', '.')."
        )

    def test_plain_http_refusal_and_warning_say_it_all(self, monkeypatch, logs):
        conn = {"conn_type": "wooxy", "host": "http://api.example.test", "password": "t0ken-abc"}
        set_conn(monkeypatch, json.dumps(conn))
        with pytest.raises(WooxyInputError) as info:
            _ = WooxyHook().conn_params
        assert str(info.value) == (
            "Wooxy connection 'wooxy_default': plain http:// to api.example.test would send the access token "
            "unencrypted. Use https://, or set the extra allow_insecure_http=true if you really mean it."
        )
        set_conn(monkeypatch, json.dumps({**conn, "extra": {"allow_insecure_http": "true"}}))
        _ = WooxyHook().conn_params
        assert (
            "Wooxy connection 'wooxy_default' sends the access token over plain http:// to api.example.test "
            "(allow_insecure_http is set)."
        ) in logs()

    def test_an_empty_extra_means_the_default_and_a_negative_one_is_named(self, monkeypatch):
        conn = {"conn_type": "wooxy", "host": "https://api.example.test", "password": "t0ken-abc"}
        set_conn(monkeypatch, json.dumps({**conn, "extra": {"timeout": ""}}))
        assert WooxyHook().conn_params.timeout == 30
        set_conn(monkeypatch, json.dumps({**conn, "extra": {"backoff": -1}}))
        with pytest.raises(WooxyInputError) as info:
            _ = WooxyHook().conn_params
        assert str(info.value) == "Wooxy connection 'wooxy_default': extra backoff must be >= 0."
