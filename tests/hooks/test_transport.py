"""What the wire's answers and faults mean (hooks/transport.py): pure, without a server."""

from __future__ import annotations

import json
import ssl
import threading
import time
from email.utils import formatdate

import pytest
import requests
import urllib3

from airflow_provider_wooxy import api
from airflow_provider_wooxy.exceptions import (
    WooxyAuthError,
    WooxyCertificateError,
    WooxyConfigurationError,
    WooxyError,
    WooxyRejectedError,
    WooxyTransientError,
)
from airflow_provider_wooxy.hooks.connection import ConnectionSettings
from airflow_provider_wooxy.hooks.transport import (
    Outcome,
    certificate_problem,
    classify,
    raise_transport_error,
    retry_after_seconds,
)

TOKEN = "t0ken-5ecret"
NOT_JSON = "response is not a Wooxy JSON answer: "
WHERE = "api.example.test:8443"
NOT_WOOXY = f"{WHERE} does not answer as Wooxy does: check the connection's base URL"


def answer(result: object = False, errors: object = None, **more: object) -> bytes:
    body = {"result": result, **more}
    if errors is not None:
        body["errors"] = errors
    return json.dumps(body).encode()


class TestClassify:
    @pytest.mark.parametrize(
        ("status", "content"),
        [
            pytest.param(200, b'{"result": true}', id="result-true"),
            pytest.param(200, answer(True, data=[{"email": "a@example.com"}], totalCount=1), id="find-page"),
            pytest.param(201, b'{"result": true}', id="any-2xx"),
            pytest.param(204, b'{"result": true}', id="below-300"),
        ],
    )
    def test_a_success_is_the_answer(self, status, content):
        assert classify(status, content, TOKEN) == Outcome(json.loads(content))

    @pytest.mark.parametrize(
        ("status", "content", "error", "errors"),
        [
            pytest.param(
                200, answer(errors=[api.INTERNAL_ERROR]), WooxyTransientError, [api.INTERNAL_ERROR], id="internal-200"
            ),
            pytest.param(
                200,
                answer(errors="internal SERVER error"),
                WooxyTransientError,
                ["internal SERVER error"],
                id="internal-any-case-as-text",
            ),
            pytest.param(500, answer(errors=["Oops"]), WooxyTransientError, ["Oops"], id="json-500"),
            pytest.param(
                503, answer(errors=["Service unavailable"]), WooxyTransientError, ["Service unavailable"], id="json-503"
            ),
            pytest.param(
                429, answer(errors=["Too many requests"]), WooxyTransientError, ["Too many requests"], id="json-429"
            ),
            pytest.param(
                200,
                answer(errors=[api.AUTH_ERRORS["invalid_token"]]),
                WooxyAuthError,
                [api.AUTH_ERRORS["invalid_token"]],
                id="auth-text-200",
            ),
            pytest.param(
                500,
                answer(errors=["user 4217 not enabled"]),
                WooxyAuthError,
                ["user 4217 not enabled"],
                id="auth-text-wins-over-500",
            ),
            pytest.param(401, answer(errors=["Nope"]), WooxyAuthError, ["Nope"], id="json-401"),
            pytest.param(403, answer(errors=["Nope"]), WooxyAuthError, ["Nope"], id="json-403"),
            pytest.param(200, answer(errors=[api.BAD_REQUEST]), WooxyRejectedError, [api.BAD_REQUEST], id="rejected"),
            pytest.param(400, answer(errors=["Bad", "Worse"]), WooxyRejectedError, ["Bad", "Worse"], id="json-400"),
            pytest.param(400, answer(True, errors=["Bad"]), WooxyRejectedError, ["Bad"], id="result-true-over-400"),
            pytest.param(200, answer(), WooxyRejectedError, ["result False"], id="no-errors-names-the-result"),
            pytest.param(200, answer("ok", errors=[]), WooxyRejectedError, ["result 'ok'"], id="result-not-true"),
            pytest.param(200, answer(None, errors=[7]), WooxyRejectedError, ["7"], id="error-not-text"),
        ],
    )
    def test_a_refusal_is_classified_by_its_texts_then_its_status(self, status, content, error, errors):
        outcome = classify(status, content, TOKEN)
        assert (outcome.error, list(outcome.errors)) == (error, errors)
        assert outcome.payload == json.loads(content)

    @pytest.mark.parametrize(
        ("status", "content", "error", "errors"),
        [
            pytest.param(502, b"<html>Bad Gateway</html>", WooxyTransientError, [], id="html-502"),
            pytest.param(429, b"slow down", WooxyTransientError, [], id="text-429"),
            pytest.param(401, b"<html>401</html>", WooxyAuthError, [], id="gateway-401"),
            pytest.param(403, b"<html>403</html>", WooxyAuthError, [], id="gateway-403"),
            pytest.param(200, b"<html>Welcome</html>", WooxyConfigurationError, [NOT_WOOXY], id="html-200"),
            pytest.param(404, b"Not Found", WooxyConfigurationError, [NOT_WOOXY], id="text-404"),
            pytest.param(400, b"<html>Bad Request</html>", WooxyConfigurationError, [NOT_WOOXY], id="html-400"),
            pytest.param(200, b'{"errors": ["x"]}', WooxyConfigurationError, [NOT_WOOXY], id="json-no-result"),
            pytest.param(200, b"[true]", WooxyConfigurationError, [NOT_WOOXY], id="json-not-an-object"),
        ],
    )
    def test_an_answer_that_is_not_wooxys_is_classified_by_its_status(self, status, content, error, errors):
        outcome = classify(status, content, TOKEN, where=WHERE)
        snippet = content.decode().strip()
        assert (outcome.error, list(outcome.errors)) == (error, [f"{NOT_JSON}{snippet!r}", *errors])
        assert outcome.payload == {}

    @pytest.mark.parametrize(
        ("status", "error", "errors"),
        [
            pytest.param(500, WooxyTransientError, [f"{NOT_JSON}an empty body"], id="empty-500"),
            pytest.param(200, WooxyConfigurationError, [f"{NOT_JSON}an empty body", NOT_WOOXY], id="empty-200"),
            pytest.param(204, WooxyConfigurationError, [f"{NOT_JSON}an empty body", NOT_WOOXY], id="empty-204"),
        ],
    )
    def test_an_empty_answer_says_so(self, status, error, errors):
        outcome = classify(status, b" \r\n", TOKEN, where=WHERE)
        assert (outcome.error, list(outcome.errors)) == (error, errors)

    @pytest.mark.parametrize(
        ("status", "location", "target"),
        [
            pytest.param(307, "http://127.0.0.1:9/v3/blacklist/add", "127.0.0.1", id="307-other-host"),
            pytest.param(301, "https://evil.example/x?t=1", "evil.example", id="301"),
            pytest.param(302, f"http://{TOKEN}@evil.example/", "evil.example", id="userinfo-not-named"),
            pytest.param(308, "/v4/blacklist/add", f"{WHERE} (another path)", id="relative"),
        ],
    )
    def test_a_redirect_is_a_configuration_error_naming_the_target_host(self, status, location, target):
        outcome = classify(status, b'{"result": true}', TOKEN, where=WHERE, location=location)
        assert outcome.error is WooxyConfigurationError
        assert outcome.errors == (
            f"{WHERE} answered with a redirect to {target}, which is not followed: the access token goes to the "
            "configured host only",
            "check the connection's base URL",
        )

    @pytest.mark.parametrize("location", [None, "", "http://[::1", "//"])
    def test_a_redirect_without_a_readable_target(self, location):
        outcome = classify(302, b"", TOKEN, where=WHERE, location=location)
        assert outcome.error is WooxyConfigurationError
        assert outcome.errors[0].startswith(f"{WHERE} answered with a redirect without a readable target, ")

    def test_a_page_is_quoted_on_one_line_to_120_characters(self):
        outcome = classify(500, b"  <html>\n<b>" + b"x" * 200 + b"</b>", TOKEN)
        assert outcome.errors == (f"{NOT_JSON}{('<html> <b>' + 'x' * 110)!r}",)
        outcome = classify(500, b"\xff" + b"x" * 300, TOKEN)
        assert outcome.errors[0] == NOT_JSON + repr("\ufffd" + "x" * 119)

    def test_a_success_with_errors_keeps_them_masked_for_a_warning(self):
        content = answer(True, errors=[f"token {TOKEN} is old", "a@example.com skipped"])
        assert classify(200, content, TOKEN) == Outcome(
            json.loads(content), None, ("token *** is old", "a***@e***.com skipped")
        )

    @pytest.mark.parametrize(
        ("status", "content"),
        [
            pytest.param(200, answer(errors=[f"no matches found for access token {TOKEN}"]), id="json-echo"),
            pytest.param(502, f"<html>token {TOKEN} refused</html>".encode(), id="page-echo"),
        ],
    )
    def test_the_token_is_never_kept(self, status, content):
        outcome = classify(status, content, TOKEN)
        assert outcome.error is not None
        assert TOKEN not in " ".join(outcome.errors) and "***" in " ".join(outcome.errors)

    def test_records_in_the_texts_are_masked(self):
        outcome = classify(
            200, answer(errors=["Invalid RFC2822 email john.doe@example.com", "+14155552671 bad"]), TOKEN
        )
        assert outcome.errors == ("Invalid RFC2822 email j***@e***.com", "+1********71 bad")

    def test_the_auth_markers_are_the_apis(self, monkeypatch):
        # The markers are read when an answer is classified: without them, only the status makes an auth error.
        from airflow_provider_wooxy.hooks import transport

        monkeypatch.setattr(transport, "AUTH_ERROR_MARKERS", ())
        assert classify(200, answer(errors=[api.AUTH_ERRORS["invalid_token"]]), TOKEN).error is WooxyRejectedError


LONG_TOKEN = "Zx9Qw3Er7Ty1Ui5Op2As8Df4Gh6Jk0Lm"


def token_pieces(token: str, size: int = 8) -> set[str]:
    """Every run of ``size`` characters of the token: its prefixes, suffixes and middles of that length."""
    return {token[i : i + size] for i in range(len(token) - size + 1)}


class TestRedaction:
    """The token is removed before a text is cut, so no cut leaves 8 or more of its characters."""

    @pytest.mark.parametrize("token", [pytest.param(TOKEN, id="short"), pytest.param(LONG_TOKEN, id="long")])
    @pytest.mark.parametrize("filler", [pytest.param(b"x", id="letters"), pytest.param(b" ", id="spaces")])
    @pytest.mark.parametrize("status", [200, 404, 401, 502])
    def test_a_page_echoing_the_token_at_every_offset_around_the_cut(self, token, filler, status):
        for offset in range(60, 180):
            for page in (
                filler * offset + token.encode() + b"</html>",
                token.encode() + filler * offset + token.encode(),  # an earlier echo shortens the text
                filler * offset + token[:20].encode(),  # the page itself cut the token
                filler * offset + token[-20:].encode(),
            ):
                text = " ".join(classify(status, page, token, where=WHERE).errors)
                leaked = [piece for piece in token_pieces(token) if piece in text]
                assert not leaked, (offset, page, text)

    @pytest.mark.parametrize(
        "echo",
        [
            pytest.param(LONG_TOKEN, id="whole"),
            pytest.param(LONG_TOKEN[:10], id="prefix"),
            pytest.param(LONG_TOKEN[-9:], id="suffix"),
            pytest.param(LONG_TOKEN[5:14], id="middle"),
        ],
    )
    def test_wooxys_texts_keep_no_piece_of_the_token(self, echo):
        outcome = classify(200, answer(errors=[f"no matches found for access token {echo}"]), LONG_TOKEN)
        assert outcome.errors == ("no matches found for access token ***",)

    def test_anything_shaped_like_a_key_is_masked(self):
        outcome = classify(404, b"<p>key ab12cd34ef56gh78ij90kl12 rejected at /v3/blacklist/add</p>", TOKEN)
        assert outcome.errors[0] == f"{NOT_JSON}{'<p>key *** rejected at /v3/blacklist/add</p>'!r}"

    def test_words_and_short_pieces_are_kept(self):
        page = b"Internationalisation-and-localisation failed for t0ken- (HTTP 404)"
        assert classify(404, page, TOKEN).errors[0] == f"{NOT_JSON}{page.decode()!r}"


class TestRetryAfterSeconds:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param(None, None, id="absent"),
            pytest.param("", None, id="empty"),
            pytest.param("7", 7.0, id="seconds"),
            pytest.param("0.5", 0.5, id="fraction"),
            pytest.param("-3", 0.0, id="negative-is-now"),
            pytest.param("soon", None, id="garbage"),
            pytest.param(formatdate(time.time() - 60, usegmt=True), 0.0, id="past-date"),
        ],
    )
    def test_values(self, value, expected):
        assert retry_after_seconds(value) == expected

    def test_an_http_date_is_the_seconds_until_it(self):
        wait = retry_after_seconds(formatdate(time.time() + 8, usegmt=True))
        assert wait is not None and 6 <= wait <= 8


class TestRaiseTransportError:
    SETTINGS = ConnectionSettings(
        base_url="https://api.example.test:8443", token=TOKEN, timeout=0.3, max_attempts=5, backoff=0.5, max_backoff=30
    )

    def raised(self, method: str, exc: BaseException) -> WooxyError:
        with pytest.raises(WooxyError) as info:
            raise_transport_error(method, exc, self.SETTINGS)
        assert info.value.__cause__ is None and info.value.__suppress_context__  # no traceback of the fault
        return info.value

    @pytest.mark.parametrize(
        "exc",
        [
            pytest.param(requests.ReadTimeout("read timed out"), id="requests-timeout"),
            pytest.param(urllib3.exceptions.ReadTimeoutError(None, "/v3/x", "read timed out"), id="urllib3-timeout"),
        ],
    )
    def test_a_timeout_names_the_timeout(self, exc):
        error = self.raised("blacklist/add", exc)
        assert type(error) is WooxyTransientError
        assert str(error) == "Wooxy blacklist/add failed: no response within 0.3 s"

    def test_a_refused_connection_names_the_host_without_the_token(self):
        exc = urllib3.exceptions.NewConnectionError(None, f"Connection refused (token {TOKEN})")
        error = self.raised("blacklist/add", exc)
        assert type(error) is WooxyTransientError
        assert error.errors[0].startswith("could not connect to api.example.test:8443: ")
        assert TOKEN not in str(error) and "token ***" in str(error)

    def test_a_dropped_connection_names_the_error(self):
        error = self.raised("phone-blacklist/remove", ConnectionResetError(f"reset {TOKEN}"))
        assert type(error) is WooxyTransientError
        assert error.errors == ["ConnectionResetError: reset ***"]

    def test_a_certificate_that_does_not_verify_is_permanent_and_says_what_to_do(self):
        problem = ssl.SSLCertVerificationError(1, "certificate verify failed")
        problem.verify_message = "unable to get local issuer certificate"
        exc = requests.exceptions.SSLError(urllib3.exceptions.MaxRetryError(None, "/v3/x", reason=problem))
        error = self.raised("blacklist/find", exc)
        assert type(error) is WooxyCertificateError
        assert error.errors == [
            "the TLS certificate of api.example.test:8443 could not be verified "
            "(certificate verify failed: unable to get local issuer certificate)",
            "if the server uses a private or corporate CA, point the REQUESTS_CA_BUNDLE environment variable at a "
            "CA bundle (PEM file) that holds it",
        ]


class TestCertificateProblem:
    """The search for a certificate failure through an exception's wrappers (pure: no transport needed)."""

    def test_found_through_a_reason_attribute(self):
        problem = ssl.SSLCertVerificationError(1, "certificate verify failed")

        class Wrapper(Exception):
            reason = problem

        assert certificate_problem(Wrapper("wrapped")) is problem

    def test_a_cycle_of_wrappers_ends(self):
        outer, inner = OSError("outer"), OSError("inner")
        outer.args, inner.args = (inner,), (outer,)  # each names the other: the search must not go round forever
        result: list[object] = []
        worker = threading.Thread(target=lambda: result.append(certificate_problem(outer)), daemon=True)
        worker.start()
        worker.join(timeout=30)
        assert result == [None]
