"""
What the wire's answers and faults mean, beside the hook's I/O: pure functions, no request.

:func:`classify` reads an HTTP status and body into an :class:`Outcome` (a success's answer, or the error to raise);
:func:`raise_transport_error` raises the error for a fault on the way (no answer). The hook
(:class:`~airflow_provider_wooxy.hooks.wooxy.WooxyHook`) does the exchange and raises what classify says.
"""

from __future__ import annotations

import json
import ssl
import time
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn
from urllib.parse import urlsplit

import requests
import urllib3

from airflow_provider_wooxy.api import AUTH_ERROR_MARKERS, INTERNAL_ERROR
from airflow_provider_wooxy.exceptions import (
    WooxyAuthError,
    WooxyCertificateError,
    WooxyError,
    WooxyRejectedError,
    WooxyTransientError,
)
from airflow_provider_wooxy.masking import scrub

if TYPE_CHECKING:
    from airflow_provider_wooxy.hooks.connection import ConnectionSettings

_TRANSIENT_ERRORS = (INTERNAL_ERROR.lower(),)
_AUTH_STATUSES = (401, 403)


class Outcome(NamedTuple):
    """What one answer means: a success (``error`` is ``None``), or the error to raise with its texts."""

    payload: dict[str, Any]
    """The answer's JSON object (empty when the answer is not Wooxy's JSON)."""
    error: type[WooxyError] | None = None
    """:class:`WooxyTransientError`, :class:`WooxyAuthError` or :class:`WooxyRejectedError`; ``None``: success."""
    errors: tuple[str, ...] = ()
    """The error's texts, with the token and anything personal masked."""


def classify(status: int, content: bytes, token: str) -> Outcome:
    """
    What an answer means: Wooxy's ``{"result": true, ...}`` with a status below 400 is a success; anything else
    is transient (429, 5xx, ``Internal server error``), an auth error (401, 403 or an auth text) or a rejection.

    :param status: the HTTP status.
    :param content: the answer's body.
    :param token: the access token, masked wherever the answer echoes it.
    """
    try:
        payload = json.loads(content)
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or "result" not in payload:
        return _not_wooxys(status, content, token)
    if payload.get("result") is True and status < 400:
        return Outcome(payload)
    return _refusal(status, payload, token)


def _not_wooxys(status: int, content: bytes, token: str) -> Outcome:
    """An answer that is not Wooxy's JSON (a gateway's page, a proxy's, a wrong URL's): the status decides."""
    snippet = content[:120].decode("utf-8", "replace").strip().replace("\n", " ")
    errors = (f"response is not a Wooxy JSON answer: {_redact(snippet, token)!r}",)
    if status == 429 or status >= 500:
        return Outcome({}, WooxyTransientError, errors)
    if status in _AUTH_STATUSES:  # a gateway's own refusal page: still the credentials, not the content
        return Outcome({}, WooxyAuthError, errors)
    return Outcome({}, WooxyRejectedError, (*errors, "check the connection's base URL"))


def _refusal(status: int, payload: dict[str, Any], token: str) -> Outcome:
    """Wooxy's JSON saying no: its texts (or the status) decide."""
    errors = _error_texts(payload, token)
    lowered = " ".join(errors).lower()
    if any(marker in lowered for marker in AUTH_ERROR_MARKERS) or status in _AUTH_STATUSES:
        return Outcome(payload, WooxyAuthError, errors)
    if status == 429 or status >= 500 or any(marker in lowered for marker in _TRANSIENT_ERRORS):
        return Outcome(payload, WooxyTransientError, errors)
    return Outcome(payload, WooxyRejectedError, errors)


def _error_texts(payload: dict[str, Any], token: str) -> tuple[str, ...]:
    """The answer's ``errors`` (a list or one text), masked; the ``result`` when there are none."""
    raw_errors = payload.get("errors")
    if isinstance(raw_errors, str):
        raw_errors = [raw_errors]
    # Wooxy's texts echo the token and the record ("Invalid RFC2822 email {email}"): neither is kept whole.
    errors = tuple(scrub(_redact(str(e), token)) for e in (raw_errors or []))
    return errors or (f"result {payload.get('result')!r}",)


def raise_transport_error(method: str, exc: BaseException, settings: ConnectionSettings) -> NoReturn:
    """
    Raise the error for a fault on the way (no answer): a certificate that does not verify is permanent
    (:class:`WooxyCertificateError`), anything else (refused, dropped, timed out) transient.

    :param method: the API method the request was for.
    :param exc: what requests or urllib3 raised.
    :param settings: the hook's settings (the base URL and timeout to name, the token to mask).
    """
    if isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError):
        if isinstance(exc, urllib3.exceptions.NewConnectionError):  # refused or unreachable: urllib3 files it here
            where = urlsplit(settings.base_url).netloc
            raise WooxyTransientError(
                method, [_redact(f"could not connect to {where}: {exc}", settings.token)]
            ) from None
        raise WooxyTransientError(method, [f"no response within {settings.timeout:g} s"]) from None
    problem = certificate_problem(exc)
    if problem is None:
        raise WooxyTransientError(method, [_redact(f"{type(exc).__name__}: {exc}", settings.token)]) from None
    # A certificate that does not verify will not start verifying on a retry: fail at once.
    host = urlsplit(settings.base_url).netloc
    reason = f"certificate verify failed: {problem.verify_message}" if problem.verify_message else problem
    raise WooxyCertificateError(
        method,
        [
            f"the TLS certificate of {host} could not be verified ({reason})",
            "if the server uses a private or corporate CA, point the REQUESTS_CA_BUNDLE environment "
            "variable at a CA bundle (PEM file) that holds it",
        ],
    ) from None


def certificate_problem(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification failure behind a transport error (requests and urllib3 wrap it twice), if any."""
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return current
        pending.extend((current.__cause__, current.__context__, getattr(current, "reason", None), *current.args))
    return None


def retry_after_seconds(value: str | None) -> float | None:
    """Read a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _redact(text: str, token: str) -> str:
    """``text`` with the access token masked."""
    return text.replace(token, "***") if token else text
