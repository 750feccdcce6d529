"""
What the wire's answers and faults mean, beside the hook's I/O: pure functions, no request.

:func:`classify` reads an HTTP status and body into an :class:`Outcome` (a success's answer, or the error to raise);
:func:`raise_transport_error` raises the error for a fault on the way (no answer). The hook
(:class:`~airflow_provider_wooxy.hooks.wooxy.WooxyHook`) does the exchange and raises what classify says.
"""

from __future__ import annotations

import json
import re
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
    WooxyConfigurationError,
    WooxyError,
    WooxyRejectedError,
    WooxyTransientError,
)
from airflow_provider_wooxy.masking import scrub

if TYPE_CHECKING:
    from airflow_provider_wooxy.hooks.connection import ConnectionSettings

_TRANSIENT_ERRORS = (INTERNAL_ERROR.lower(),)
_AUTH_STATUSES = (401, 403)
_QUOTE_CHARS = 120
"""How much of a page that is not Wooxy's JSON a message quotes (after the token is removed)."""
_TOKEN_PIECE = 8
"""No run of this many characters of the token survives in a quoted text (a prefix or suffix cut by a limit)."""
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9_+=-]{24,}")
"""A run long enough to be a key: masked when it mixes letters and digits (a token echoed in another form)."""


class Outcome(NamedTuple):
    """What one answer means: a success (``error`` is ``None``), or the error to raise with its texts."""

    payload: dict[str, Any]
    """The answer's JSON object (empty when the answer is not Wooxy's JSON)."""
    error: type[WooxyError] | None = None
    """The error to raise (:class:`WooxyTransientError`, :class:`WooxyAuthError`, :class:`WooxyRejectedError`,
    :class:`WooxyConfigurationError`); ``None``: success."""
    errors: tuple[str, ...] = ()
    """The error's texts, with the token and anything personal masked; for a success, the ``errors`` it carried
    anyway (``{"result": true, "errors": [...]}``), for a warning."""


def classify(status: int, content: bytes, token: str, *, where: str = "", location: str | None = None) -> Outcome:
    """
    What an answer means: Wooxy's ``{"result": true, ...}`` with a 2xx status is a success; a redirect or an answer
    that is not Wooxy's JSON is a configuration error (:class:`WooxyConfigurationError`, never a refusal of the
    records) unless its status says transient (429, 5xx) or auth (401, 403); Wooxy's own failures are transient
    (429, 5xx, ``Internal server error``), an auth error (401, 403 or an auth text) or a rejection.

    :param status: the HTTP status.
    :param content: the answer's body.
    :param token: the access token, masked wherever the answer echoes it.
    :param where: the server's ``host[:port]``, for the messages.
    :param location: the answer's ``Location`` header, for a redirect's message.
    """
    if 300 <= status < 400:
        return _redirect(where, location, token)
    try:
        payload = json.loads(content)
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or "result" not in payload:
        return _not_wooxys(status, content, token, where)
    if payload.get("result") is True and status < 300:
        return (
            Outcome(payload, None, _error_texts(payload, token, default=()))
            if payload.get("errors")
            else Outcome(payload)
        )
    return _refusal(status, payload, token)


def _redirect(where: str, location: str | None, token: str) -> Outcome:
    """A redirect is never followed: the token goes to the configured host only."""
    try:
        target = urlsplit(location).hostname if location else None
    except ValueError:
        target = None
    if location and not target and location.startswith("/") and not location.startswith("//"):
        target = f"{where} (another path)"
    to = f"a redirect to {quoted(target, token)}" if target else "a redirect without a readable target"
    return Outcome(
        {},
        WooxyConfigurationError,
        (
            f"{where} answered with {to}, which is not followed: the access token goes to the configured host only",
            "check the connection's base URL",
        ),
    )


def _not_wooxys(status: int, content: bytes, token: str, where: str) -> Outcome:
    """An answer that is not Wooxy's JSON (a gateway's page, a proxy's, a wrong URL's): the status decides."""
    errors = (
        f"response is not a Wooxy JSON answer: {repr(quoted(content, token)) if content.strip() else 'an empty body'}",
    )
    if status == 429 or status >= 500:
        return Outcome({}, WooxyTransientError, errors)
    if status in _AUTH_STATUSES:  # a gateway's own refusal page: still the credentials, not the content
        return Outcome({}, WooxyAuthError, errors)
    return Outcome(
        {},
        WooxyConfigurationError,
        (*errors, f"{where} does not answer as Wooxy does: check the connection's base URL"),
    )


def _refusal(status: int, payload: dict[str, Any], token: str) -> Outcome:
    """Wooxy's JSON saying no: its texts (or the status) decide."""
    errors = _error_texts(payload, token)
    lowered = " ".join(errors).lower()
    if any(marker in lowered for marker in AUTH_ERROR_MARKERS) or status in _AUTH_STATUSES:
        return Outcome(payload, WooxyAuthError, errors)
    if status == 429 or status >= 500 or any(marker in lowered for marker in _TRANSIENT_ERRORS):
        return Outcome(payload, WooxyTransientError, errors)
    return Outcome(payload, WooxyRejectedError, errors)


def _error_texts(payload: dict[str, Any], token: str, default: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The answer's ``errors`` (a list or one text), masked; ``default`` (or the ``result``) when there are none."""
    raw_errors = payload.get("errors")
    if isinstance(raw_errors, str):
        raw_errors = [raw_errors]
    if not isinstance(raw_errors, list):
        raw_errors = [raw_errors] if raw_errors else []
    # Wooxy's texts echo the token and the record ("Invalid RFC2822 email {email}"): neither is kept whole.
    errors = tuple(scrub(without_token(str(e), token)) for e in raw_errors)
    if errors or default is not None:
        return errors or default  # type: ignore[return-value]
    return (f"result {payload.get('result')!r}",)


def quoted(content: bytes | str, token: str) -> str:
    """
    The start of ``content`` on one line, for a message: the token, any piece of it and anything token-shaped are
    removed before the text is cut to :data:`_QUOTE_CHARS` characters, so that no cut leaves a prefix of the token.
    """
    window = content[: (_QUOTE_CHARS + len(token)) * 4]  # enough for the quote whatever is removed before it
    text = window.decode("utf-8", "replace") if isinstance(window, bytes) else window
    return without_token(text, token).strip().replace("\n", " ")[:_QUOTE_CHARS]


def without_token(text: str, token: str) -> str:
    """``text`` with the token, every run of 8+ of its characters, and anything token-shaped, masked."""
    if token:
        text = text.replace(token, "***")
        text = _without_pieces(text, token)
    return _TOKEN_LIKE.sub(_mask_key_like, text)


def _without_pieces(text: str, token: str) -> str:
    """``text`` with every run of :data:`_TOKEN_PIECE` or more characters that the token holds replaced by ``***``."""
    size = _TOKEN_PIECE
    if len(token) < size or len(text) < size:
        return text
    covered = [False] * len(text)
    for start in range(len(text) - size + 1):
        if text[start : start + size] in token:
            covered[start : start + size] = [True] * size
    if not any(covered):
        return text
    kept = [c if not hide else "\0" for c, hide in zip(text, covered, strict=True)]
    return re.sub("\0+", "***", "".join(kept))


def _mask_key_like(match: re.Match[str]) -> str:
    run = match.group()
    return "***" if any(c.isdigit() for c in run) and any(c.isalpha() for c in run) else run


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
            where = settings.netloc
            raise WooxyTransientError(
                method, [without_token(f"could not connect to {where}: {exc}", settings.token)]
            ) from None
        raise WooxyTransientError(method, [f"no response within {settings.timeout:g} s"]) from None
    problem = certificate_problem(exc)
    if problem is None:
        raise WooxyTransientError(method, [without_token(f"{type(exc).__name__}: {exc}", settings.token)]) from None
    # A certificate that does not verify will not start verifying on a retry: fail at once.
    host = settings.netloc
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
