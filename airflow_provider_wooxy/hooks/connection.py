"""
An Airflow connection's fields, and the hook's overrides, turned into the hook's settings: pure, no I/O.

:func:`connection_settings` checks each field and raises :class:`~airflow_provider_wooxy.exceptions.WooxyInputError`
naming the connection and the field; :class:`~airflow_provider_wooxy.hooks.wooxy.WooxyHook` reads the connection and
calls it (``WooxyHook.conn_params``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit

from airflow_provider_wooxy.api import DEFAULT_BASE_URL
from airflow_provider_wooxy.exceptions import WooxyInputError

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_BACKOFF = 0.5
DEFAULT_MAX_BACKOFF = 30.0

_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOST_NAME = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}\.?")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


@dataclass(frozen=True)
class ConnectionSettings:
    """
    The hook's settings, read from its connection and checked.

    :param base_url: the API's base URL, without a trailing slash (``https://api.wooxy.com``).
    :param token: the access token (never shown by the repr).
    :param timeout: seconds per request.
    :param max_attempts: tries per request for transient faults (1 disables retries).
    :param backoff: the first retry's wait, in seconds (doubled for each further retry, with jitter).
    :param max_backoff: the longest wait between two tries, in seconds (``Retry-After`` included).
    """

    base_url: str
    token: str
    timeout: float
    max_attempts: int
    backoff: float
    max_backoff: float

    def __repr__(self) -> str:  # the token must never reach a log line through a repr
        return f"ConnectionSettings(base_url={self.base_url!r}, token='***', timeout={self.timeout})"

    @property
    def plain_http_host(self) -> str | None:
        """The host the token goes to unencrypted (plain ``http://`` to another machine), if any."""
        parts = urlsplit(self.base_url)
        if parts.scheme == "http" and parts.hostname and not _is_loopback(parts.hostname):
            return parts.hostname
        return None


def connection_settings(
    conn_id: str,
    *,
    host: str | None,
    port: int | None,
    password: str | None,
    extra: Mapping[str, Any],
    timeout: float | None = None,
    max_attempts: int | None = None,
) -> ConnectionSettings:
    """
    The settings of the connection ``conn_id``, from its fields and the hook's overrides.

    :param conn_id: the connection's id, for the messages.
    :param host: the host field: empty (the default base URL), a base URL or a bare host name.
    :param port: the port field, completing a base URL without one.
    :param password: the password field: the access token.
    :param extra: the extras: ``scheme``, ``timeout``, ``max_attempts``, ``backoff``, ``max_backoff``,
        ``allow_insecure_http``.
    :param timeout: overrides the ``timeout`` extra.
    :param max_attempts: overrides the ``max_attempts`` extra.
    """
    token = (password or "").strip()
    if not token:
        raise WooxyInputError(
            f"Wooxy connection {conn_id!r} has no access token: put the API key in its password field."
        )
    base_url = _base_url(host, port, str(extra.get("scheme") or "https"))
    _check_encrypted(conn_id, _checked_url(conn_id, base_url), allow_insecure_http=extra.get("allow_insecure_http"))
    return ConnectionSettings(
        base_url=base_url.rstrip("/"),
        token=token,
        timeout=_number(conn_id, extra, "timeout", DEFAULT_TIMEOUT, timeout) or DEFAULT_TIMEOUT,
        max_attempts=_attempts(conn_id, _number(conn_id, extra, "max_attempts", DEFAULT_MAX_ATTEMPTS, max_attempts)),
        backoff=_number(conn_id, extra, "backoff", DEFAULT_BACKOFF, None),
        max_backoff=_number(conn_id, extra, "max_backoff", DEFAULT_MAX_BACKOFF, None),
    )


def _base_url(host: str | None, port: int | None, scheme: str) -> str:
    """The base URL the host field, the port field and the ``scheme`` extra make (not checked yet)."""
    host = (host or "").strip().rstrip("/")
    if not host:
        base_url = DEFAULT_BASE_URL
    elif "://" in host:
        base_url = host
    else:
        base_url = f"{scheme}://{host}"
    parts = urlsplit(base_url)
    if port and parts.port is None:
        base_url = f"{parts.scheme}://{parts.netloc}:{port}{parts.path}"
    return base_url


def _checked_url(conn_id: str, base_url: str) -> SplitResult:
    """``base_url``'s parts, or an error when it is not an http(s) URL to a host name or an IP address."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or not _is_host_name(parts.hostname):
        raise WooxyInputError(
            f"Wooxy connection {conn_id!r}: base URL {base_url!r} is not an http(s) URL; the host "
            "field takes a URL such as https://api.wooxy.com, or a host name (letters, digits, '-', '.')."
        )
    return parts


def _check_encrypted(conn_id: str, parts: SplitResult, *, allow_insecure_http: object) -> None:
    """Refuse plain ``http://`` to another machine unless the ``allow_insecure_http`` extra is set."""
    if parts.scheme == "http" and not _is_loopback(parts.hostname or "") and not _as_bool(allow_insecure_http):
        raise WooxyInputError(
            f"Wooxy connection {conn_id!r}: plain http:// to {parts.hostname} would send the access token "
            "unencrypted. Use https://, or set the extra allow_insecure_http=true if you really mean it."
        )


def _number(conn_id: str, extra: Mapping[str, Any], name: str, default: float, override: float | None) -> float:
    """The extra ``name`` (or its override) as a number >= 0; ``default`` when it is missing or empty."""
    value: Any = override if override is not None else extra.get(name)
    if value in (None, ""):
        return default
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise WooxyInputError(f"Wooxy connection {conn_id!r}: extra {name}={value!r} is not a number.") from None
    if result < 0:
        raise WooxyInputError(f"Wooxy connection {conn_id!r}: extra {name} must be >= 0.")
    return result


def _attempts(conn_id: str, value: float) -> int:
    if value < 1 or value != int(value):
        raise WooxyInputError(
            f"Wooxy connection {conn_id!r}: max_attempts (Attempts per request) must be a whole "
            f"number >= 1 (1 disables retries), got {value:g}."
        )
    return int(value)


def _is_loopback(host: str) -> bool:
    """Whether ``host`` (a URL's host) is this machine."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_host_name(host: str) -> bool:
    """A DNS name or an IP address, as a URL's host: what requests can connect to."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return _HOST_NAME.fullmatch(host) is not None
    return True


def _as_bool(value: object) -> bool:
    """An extra's truth: ``1``, ``true``, ``yes`` or ``on`` in any case, or a JSON boolean."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
