"""
The hook's requests on the wire: one urllib3 pool to the configured origin, a deadline and a size limit per request.

* :func:`open_route` asks requests' adapter for the pool (so that TLS verification, the CA bundle and the
  environment's proxy are configured as requests configures them) for exactly the scheme, host and port that
  :mod:`~airflow_provider_wooxy.hooks.connection` parsed and checked, and refuses a pool to any other origin.
* :func:`exchange` sends one POST and never follows a redirect, whatever the environment: a 3xx comes back as an
  answer (which :func:`~airflow_provider_wooxy.hooks.transport.classify` refuses).
* The connection's ``timeout`` bounds the whole request (connect, send, headers and body): every read from the socket
  waits only for what is left of it. The answer's body is read up to
  :data:`~airflow_provider_wooxy.api.MAX_ANSWER_BYTES`.
"""

from __future__ import annotations

import http.client
import io
import threading
import time
import zlib
from typing import TYPE_CHECKING, Any, NamedTuple

import requests
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection

from airflow_provider_wooxy.api import MAX_ANSWER_BYTES, PATH_PREFIX
from airflow_provider_wooxy.exceptions import WooxyConfigurationError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider_wooxy.hooks.connection import ConnectionSettings

_request = threading.local()
"""The deadline (``time.monotonic()``) of the request the current thread is making, if any."""


class Route(NamedTuple):
    """Where the requests go: the pool, and what comes before a method's name in the request's target."""

    pool: urllib3.HTTPConnectionPool
    prefix: str
    """``{path}/v3/``, or the full ``http://host:port{path}/v3/`` when plain http goes through a proxy."""
    timeout: urllib3.Timeout
    """Connect and read timeouts, each the whole request's: the deadline bounds their sum."""


def open_route(session: requests.Session, settings: ConnectionSettings) -> Route:
    """
    The pool for ``settings``' origin, through the session's proxy if it has one (plain http is forwarded, https
    tunnelled with CONNECT), with its connections bound by each request's deadline.

    :param session: holds the proxies and the TLS verification read from the environment.
    :param settings: the connection's checked settings: the origin to connect to.
    """
    origin = f"{settings.scheme}://{settings.netloc}"
    prefix = settings.path + PATH_PREFIX
    adapter = session.get_adapter(origin)
    assert isinstance(adapter, requests.adapters.HTTPAdapter)  # the one the hook mounted
    request = requests.Request("POST", origin + prefix).prepare()
    pool = adapter.get_connection_with_tls_context(request, session.verify, session.proxies)
    assert isinstance(pool, urllib3.HTTPConnectionPool)  # HTTPSConnectionPool for https
    forwarded = pool.proxy is not None and settings.scheme == "http"  # the pool is the proxy's
    expected = (pool.proxy.host, pool.proxy.port) if forwarded and pool.proxy else (settings.host, settings.port)
    if (pool.host.strip("[]"), pool.port) != expected:  # the parsers disagree: never send the token
        raise WooxyConfigurationError(
            "connect",
            [f"the transport would connect to {pool.host}:{pool.port} instead of {expected[0]}:{expected[1]}"],
        )
    secure = issubclass(pool.ConnectionCls, HTTPSConnection)
    pool.ConnectionCls = _DeadlineHTTPSConnection if secure else _DeadlineHTTPConnection
    timeout = urllib3.Timeout(connect=settings.timeout, read=settings.timeout)
    return Route(pool, origin + prefix if forwarded else prefix, timeout)


def exchange(
    route: Route, method: str, body: bytes, headers: Mapping[str, str], settings: ConnectionSettings
) -> tuple[int, bytes, Mapping[str, str]]:
    """
    One POST to ``method``: ``(status, body, headers)``. Transport faults raise as urllib3 or socket errors; an
    answer over :data:`MAX_ANSWER_BYTES` raises :class:`WooxyConfigurationError`.
    """
    _request.deadline = time.monotonic() + settings.timeout
    try:
        response = route.pool.urlopen(
            "POST",
            route.prefix + method,
            body=body,
            headers=headers,
            timeout=route.timeout,
            retries=False,
            redirect=False,
            assert_same_host=False,  # through a proxy the pool's host is the proxy's
            preload_content=False,
        )
        try:
            content = _read(response, method, settings)
        except BaseException:
            response.close()  # never hand the rest of a refused or broken answer to the next request
            raise
        finally:
            response.release_conn()
    finally:
        _request.deadline = None
    return response.status, content, response.headers


def _read(response: urllib3.BaseHTTPResponse, method: str, settings: ConnectionSettings) -> bytes:
    """
    The answer's body, or an error when it is longer than :data:`MAX_ANSWER_BYTES`, compressed or decoded.

    The body is read as it came (``decode_content=False``) and decoded here, at most one byte past the limit: a
    small compressed answer that decodes to gigabytes never takes more. (urllib3 before 2.6 decodes each read's
    compressed bytes whole, so its own decoding would hold the expansion of up to 16 MiB of compressed bytes.)
    """
    headers = response.headers
    length = headers.get("Content-Length", "")
    encoding = headers.get("Content-Encoding", "identity").strip().lower()
    if length.isdigit() and int(length) > MAX_ANSWER_BYTES:  # the length bounds the read, compressed or not
        raise _too_large(response, method, settings)
    content = response.read(MAX_ANSWER_BYTES + 1, decode_content=False)
    if encoding in _DECODERS:
        try:
            content = _decode(content, _DECODERS[encoding])
        except zlib.error as exc:
            raise WooxyConfigurationError(
                method,
                [
                    f"the answer from {settings.netloc} is not valid {encoding} ({exc})",
                    "check the connection's base URL",
                ],
                response.status,
            ) from None
    elif encoding != "identity":
        raise WooxyConfigurationError(
            method,
            [
                f"the answer from {settings.netloc} is encoded as {encoding!r}, which the provider did not ask for",
                "check the connection's base URL",
            ],
            response.status,
        )
    if len(content) > MAX_ANSWER_BYTES:
        raise _too_large(response, method, settings)
    return content


ACCEPT_ENCODING = "gzip, deflate"
"""The encodings the hook asks for: those :func:`_read` decodes under the size limit."""
_DECODERS = {"gzip": 31, "x-gzip": 31, "deflate": 15}
"""zlib's ``wbits`` per encoding: gzip's header, zlib's (a raw deflate stream is tried when that fails)."""


def _decode(data: bytes, wbits: int) -> bytes:
    """``data`` decoded, at most one byte past :data:`MAX_ANSWER_BYTES` (the rest is never expanded)."""
    try:
        return zlib.decompressobj(wbits).decompress(data, MAX_ANSWER_BYTES + 1)
    except zlib.error:
        if wbits != 15:
            raise
        return zlib.decompressobj(-15).decompress(data, MAX_ANSWER_BYTES + 1)  # deflate without zlib's header


def _too_large(
    response: urllib3.BaseHTTPResponse, method: str, settings: ConnectionSettings
) -> WooxyConfigurationError:
    return WooxyConfigurationError(
        method,
        [
            f"the answer from {settings.netloc} is larger than {MAX_ANSWER_BYTES:,} bytes, more than any Wooxy "
            "answer the provider asks for (it was not read further)",
            "check the connection's base URL",
        ],
        response.status,
    )


class _DeadlineReader(io.RawIOBase):
    """A socket's reading side (its own ``SocketIO``) where every read waits only until the request's deadline."""

    def __init__(self, sock: Any, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)  # keeps the socket open until the answer is closed
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError  # urllib3 reports it as a read timeout: "no response within {timeout} s"
        self._sock.settimeout(left)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineSocket:
    """What :class:`http.client.HTTPResponse` asks of a socket (``makefile``), reading under a deadline."""

    def __init__(self, sock: Any, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))


class _DeadlineResponse(http.client.HTTPResponse):
    """http.client's response (status line, headers, body) read under the current request's deadline."""

    def __init__(self, sock: Any, *args: Any, **kwargs: Any) -> None:
        deadline = getattr(_request, "deadline", None)
        super().__init__(sock if deadline is None else _DeadlineSocket(sock, deadline), *args, **kwargs)  # type: ignore[arg-type]


class _Deadlines:
    """Connects and sends within what is left of the request's deadline; reads the answer under it."""

    response_class = _DeadlineResponse
    timeout: Any

    def request(self, *args: Any, **kwargs: Any) -> None:
        deadline = getattr(_request, "deadline", None)
        if deadline is not None and isinstance(self.timeout, int | float):
            self.timeout = max(0.001, min(self.timeout, deadline - time.monotonic()))
        super().request(*args, **kwargs)  # type: ignore[misc]


class _DeadlineHTTPConnection(_Deadlines, HTTPConnection):  # type: ignore[misc]
    pass


class _DeadlineHTTPSConnection(_Deadlines, HTTPSConnection):  # type: ignore[misc]
    pass
