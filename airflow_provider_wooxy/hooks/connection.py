"""
An Airflow connection's fields, and the hook's overrides, turned into the hook's settings: pure, no I/O.

:func:`connection_settings` checks each field and raises :class:`~airflow_provider_wooxy.exceptions.WooxyInputError`
naming the connection and the field; :class:`~airflow_provider_wooxy.hooks.wooxy.WooxyHook` reads the connection and
calls it (``WooxyHook.conn_params``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
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
# What a base URL may hold beyond its scheme, host and port: a plain path. Anything another parser could read
# differently (a backslash, user@, whitespace or control characters, a query or a fragment) is refused.
_PATH = re.compile(r"(?:/[A-Za-z0-9._~%!$&'()*+,;=:-]*)*")
_DEFAULT_PORTS = {"http": 80, "https": 443}


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
    scheme: str = field(init=False)
    """``http`` or ``https``, parsed from ``base_url`` once: the transport connects to exactly this origin."""
    host: str = field(init=False)
    """The host name or IP address (IPv6 without brackets), lower-cased."""
    port: int = field(init=False)
    """The TCP port (the scheme's default when the URL names none)."""
    path: str = field(init=False)
    """The path before ``/v3/``: empty, or ``/base``."""

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        object.__setattr__(self, "scheme", parts.scheme)
        object.__setattr__(self, "host", parts.hostname or "")
        object.__setattr__(self, "port", parts.port or _DEFAULT_PORTS.get(parts.scheme, 443))
        object.__setattr__(self, "path", parts.path)

    def __repr__(self) -> str:  # the token must never reach a log line through a repr
        return f"ConnectionSettings(base_url={self.base_url!r}, token='***', timeout={self.timeout})"

    @property
    def netloc(self) -> str:
        """``host[:port]`` as the base URL names it: how messages name the server."""
        return urlsplit(self.base_url).netloc

    @property
    def plain_http_host(self) -> str | None:
        """The host the token goes to unencrypted (plain ``http://`` to another machine), if any."""
        if self.scheme == "http" and self.host and not _is_loopback(self.host):
            return self.host
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
    if port and _valid_port(parts) and parts.port is None:
        origin = f"{parts.scheme}://{parts.netloc}"
        base_url = f"{origin}:{port}{base_url[len(origin) :]}"  # the rest kept as given, to be checked whole
    return base_url


def _checked_url(conn_id: str, base_url: str) -> SplitResult:
    """
    ``base_url``'s parts, or an error when it is not an http(s) URL to a host name or an IP address with an optional
    port and path: parsed strictly, so that no other parser (urllib3's, a proxy's) can read another host from it.
    """
    _check_unambiguous(conn_id, base_url)
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or not _is_host_name(parts.hostname):
        raise WooxyInputError(
            f"Wooxy connection {conn_id!r}: base URL {base_url!r} is not an http(s) URL; the host "
            "field takes a URL such as https://api.wooxy.com, or a host name (letters, digits, '-', '.')."
        )
    return parts


def _check_unambiguous(conn_id: str, base_url: str) -> None:
    """Refuse what parsers read differently: a backslash, user@, whitespace, control characters, ?query, #fragment."""
    problem = None
    if any(c.isspace() or not c.isprintable() for c in base_url):
        problem = "whitespace or a control character"
    elif "\\" in base_url:
        problem = "a backslash"
    else:
        parts = urlsplit(base_url)
        if "@" in parts.netloc:
            problem = "a user name (user@host)"
        elif parts.query or parts.fragment or base_url.endswith(("?", "#")):
            problem = "a query or a fragment (? or #)"
        elif not _valid_port(parts) or not _PATH.fullmatch(parts.path):
            problem = "a port or a path that is not plain"
    if problem:
        raise WooxyInputError(
            f"Wooxy connection {conn_id!r}: base URL {base_url!r} holds {problem}; give only "
            "scheme://host[:port][/path], e.g. https://api.wooxy.com."
        )


def _valid_port(parts: SplitResult) -> bool:
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range
        return False
    netloc_port = parts.netloc.rpartition("]")[2].partition(":")[2]
    return (port is None and not netloc_port) or (port is not None and netloc_port == str(port) and port > 0)


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
    """A DNS name or an IP address (no IPv6 zone), as a URL's host: what requests can connect to."""
    if "%" in host:
        return False
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
