"""The sandbox's HTTP server: :class:`WooxySandbox` (settings, life, counters, the 10-in-flight rule) and the CLI."""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import signal
import socket
import ssl
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from airflow_provider_wooxy import api
from airflow_provider_wooxy.api import EMAIL_LIST
from airflow_provider_wooxy.sandbox.api import FakeApi, Refused
from airflow_provider_wooxy.sandbox.faults import FAULT_KINDS, Faults

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

AUTH_FAILURES = {name: text.replace("{user}", "4217") for name, text in api.AUTH_ERRORS.items()}
"""The API's auth and account error texts (``{token}`` is the token sent: the API echoes it), by name."""


class WooxySandbox(FakeApi, Faults):
    """
    An in-memory Wooxy API on a local port: the fake API (:class:`~.api.FakeApi`) and its faults
    (:class:`~.faults.Faults`) behind a threading HTTP server that enforces the account's requests-in-flight rule.

    :param host: address to listen on.
    :param port: port to listen on; 0 picks a free one (read :attr:`url`).
    :param token: the access token it accepts.
    :param latency: seconds each API request takes to be answered (its processing included).
    :param max_in_flight: concurrent requests allowed; beyond it a request is refused with 429 and counted.
    :param fault_rate: probability (0..1) that an API request gets a random transient fault.
    :param fault_kinds: the faults ``fault_rate`` draws from (a subset of :data:`FAULT_KINDS`).
    :param seed: seed for the fault draws, for repeatable runs.
    :param retry_after: the ``Retry-After`` header value sent with injected 429s.
    :param slow_seconds: how long a ``slow`` fault holds its answer (set it above the client's timeout).
    :param refuse: values (emails or phone numbers) the sandbox refuses as invalid although they look fine,
        standing in for API validation that differs from the client's.
    :param auth_failure: answer every API request with this auth error (a key of :data:`AUTH_FAILURES`),
        whatever the token.
    :param auth_status: the HTTP status sent with ``auth_failure`` (the API's status for them is undocumented).
    :param ssl_context: a server-side TLS context: the sandbox then serves HTTPS (:attr:`url` says ``https``).
    :param max_find_limit: a server-side cap on the find methods' ``limit``: a page never holds more rows,
        whatever the client asks for (``None``: no cap).
    :param on_find: called with the sandbox and the request body before each ``blacklist/find`` is answered,
        outside the sandbox's lock: a test changes the list while a client pages through it
        (:meth:`add_emails`, :meth:`remove_emails`).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "sandbox-token",
        latency: float = 0.0,
        max_in_flight: int = api.MAX_CONCURRENT_REQUESTS,
        fault_rate: float = 0.0,
        fault_kinds: Iterable[str] = FAULT_KINDS,
        seed: int | None = None,
        retry_after: str = "1",
        slow_seconds: float = 2.0,
        refuse: Iterable[str] = (),
        auth_failure: str | None = None,
        auth_status: int = 200,
        ssl_context: ssl.SSLContext | None = None,
        max_find_limit: int | None = None,
        on_find: Callable[[WooxySandbox, dict[str, Any]], None] | None = None,
    ) -> None:
        if auth_failure is not None and auth_failure not in AUTH_FAILURES:
            raise ValueError(f"unknown auth failure {auth_failure!r}; known: {sorted(AUTH_FAILURES)}")
        FakeApi.__init__(self, refuse=refuse, max_find_limit=max_find_limit, on_find=on_find)
        Faults.__init__(self, fault_rate=fault_rate, fault_kinds=fault_kinds, seed=seed)
        self.host = host
        self.port = port
        self.token = token
        self.latency = latency
        self.max_in_flight = max_in_flight
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        self.auth_failure = auth_failure
        self.auth_status = auth_status
        self.ssl_context = ssl_context
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # -- lifecycle -------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:43817``."""
        return f"{'https' if self.ssl_context else 'http'}://{self.host}:{self.port}"

    def start(self) -> WooxySandbox:
        handler = type("Handler", (_Handler,), {"sandbox": self})
        server = _Server((self.host, self.port), handler)
        server.ssl_context = self.ssl_context
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="wooxy-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.open.set()  # paused requests must not outlive the server
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for_signal(self, ready: Callable[[], object] | None = None) -> None:
        """
        Block until SIGINT or SIGTERM, then stop (the CLI). ``ready`` is called once the signals are handled (the
        CLI says it listens then: a caller that stops it at once must find the handlers in place).
        """
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        if ready is not None:
            ready()
        stop.wait()
        self.stop()

    def __enter__(self) -> WooxySandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- counters --------------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Empty the blacklists and the counters, forget queued faults (the configuration stays)."""
        self.reset_lists()
        self.reset_faults()
        with self._lock:
            self.requests: collections.Counter[str] = collections.Counter()
            self.in_flight = 0
            self.max_in_flight_seen = 0  # attempted: a request refused over the limit counts too
            self.max_served_in_flight = 0
            self.over_limit = 0

    def stats(self) -> dict[str, Any]:
        with self._faults_lock:
            faults = dict(self.faults)
        with self._lock:
            return {
                "requests": dict(self.requests),
                "total_requests": sum(self.requests.values()),
                "faults": faults,
                "max_in_flight": self.max_in_flight_seen,
                "max_served_in_flight": self.max_served_in_flight,
                "over_limit": self.over_limit,
                "max_batch": self.max_batch,
                "records_received": self.records_received,
                "emails": sum(len(v) for v in self.emails.values()),
                "phones": len(self.phones),
            }

    def enter(self, method: str) -> bool:
        """Count a request in; ``False`` when it is over the in-flight limit (refused with 429)."""
        with self._lock:
            self.requests[method] += 1
            # Counted before the limit is applied: a client that overruns it must show in max_in_flight.
            self.max_in_flight_seen = max(self.max_in_flight_seen, self.in_flight + 1)
            if self.in_flight >= self.max_in_flight:
                self.over_limit += 1
                return False
            self.in_flight += 1
            self.max_served_in_flight = max(self.max_served_in_flight, self.in_flight)
            return True

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    # -- the API ---------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 refuses bursts of new connections
    ssl_context: ssl.SSLContext | None = None

    def get_request(self) -> tuple[Any, Any]:
        connection, address = super().get_request()
        if self.ssl_context is not None:
            # The handshake runs in the request's thread (_Handler.setup): a client that refuses the certificate
            # must not hold up the accepting loop.
            connection = self.ssl_context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout) or refused the certificate closes its end: not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError | ssl.SSLError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    sandbox: WooxySandbox
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else every answer waits ~40 ms for the client's delayed ACK

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()

    def parse_request(self) -> bool:
        self.received_at = time.monotonic()  # the request line is in: the answer's clock starts
        return super().parse_request()

    def _response(
        self,
        status: int,
        payload: Any,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> bytes:
        """A whole HTTP answer, built ahead so that it leaves in one write when its time comes."""
        data = raw if raw is not None else json.dumps(payload).encode()
        lines = [
            f"{self.protocol_version} {status} {HTTPStatus(status).phrase}",
            f"Server: {self.version_string()}",
            f"Date: {self.date_time_string()}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(data)}",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.wfile.write(self._response(status, payload, headers))

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def do_GET(self) -> None:
        sandbox = self.sandbox
        if self.path == "/_sandbox/stats":
            self._send(200, sandbox.stats())
        elif self.path == "/_sandbox/blacklists":
            self._send(200, {"emails": sorted(sandbox.email_addresses()), "phones": sorted(sandbox.phone_numbers())})
        else:
            self._send(404, {"result": False, "errors": [api.BAD_REQUEST]})

    def _process(self, method: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        try:
            return 200, self.sandbox.handle(method, json.loads(raw))
        except ValueError:
            return 400, {"result": False, "errors": [api.BAD_REQUEST]}
        except Refused as refused:
            return refused.status, {"result": False, "errors": refused.errors}

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self._control(raw):
            return
        if not self.path.startswith(api.PATH_PREFIX):
            self._send(404, {"result": False, "errors": [api.BAD_REQUEST]})
            return
        self._api_call(self.path[len(api.PATH_PREFIX) :], raw)

    def _control(self, raw: bytes) -> bool:
        """Answer the sandbox's own POSTs (reset, seed); ``False`` for any other path."""
        sandbox = self.sandbox
        if self.path == "/_sandbox/reset":
            sandbox.reset()
        elif self.path == "/_sandbox/seed":  # {"emails": N, "rejectType": "hard"}: N generated entries, no requests
            seed = json.loads(raw)
            reject_type = seed.get("rejectType", EMAIL_LIST.reject_types[0])
            sandbox.add_emails((f"seed{i}-{reject_type}@example.com", reject_type) for i in range(int(seed["emails"])))
        else:
            return False
        self._send(200, {"result": True})
        return True

    def _api_call(self, method: str, raw: bytes) -> None:
        """One API request: counted in flight (429 over the limit), answered after the latency, or dropped."""
        sandbox = self.sandbox
        if not sandbox.enter(method):
            self._send(429, _refused("Too many concurrent requests"), {"Retry-After": "1"})
            return
        # Decide the answer while counted in flight; leave before answering, so that a client that sends its next
        # request the moment it reads this answer is never counted twice.
        # The latency is the whole time the API takes to answer: the sandbox's own processing comes out of it.
        answer_at = self.received_at + sandbox.latency
        try:
            sandbox.open.wait()
            fault, answer = self._answer(method, raw)
            pause = answer_at - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        finally:
            sandbox.leave()
        if answer is None:
            self._drop()
            return
        if fault == "slow":
            time.sleep(sandbox.slow_seconds)
        self.wfile.write(answer)

    def _answer(self, method: str, raw: bytes) -> tuple[str | None, bytes | None]:
        """
        The fault the request gets (if any) and the whole answer, built ahead so that it leaves in one write
        (``None``: the connection is dropped). A refused token gets no fault.
        """
        refusal = self._auth_refusal()
        fault = None
        headers: dict[str, str] = {}
        if refusal is not None:
            status, payload = refusal
        else:
            fault = self.sandbox.next_fault()
            status, payload, headers = self._result(fault, method, raw)
        if fault in ("drop_before", "drop_after"):
            return fault, None
        if fault == "html502":
            html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            return fault, self._response(502, None, raw=html, content_type="text/html")
        return fault, self._response(status, payload, headers)

    def _auth_refusal(self) -> tuple[int, dict[str, Any]] | None:
        """The auth error the request gets: the configured ``auth_failure``, no token or an unknown one."""
        sandbox = self.sandbox
        token = self.headers.get(api.TOKEN_HEADER)
        if sandbox.auth_failure:
            return sandbox.auth_status, _refused(AUTH_FAILURES[sandbox.auth_failure].format(token=token))
        if not token:
            return 401, _refused(api.AUTH_ERRORS["invalid_token"])
        if token != sandbox.token:
            # The real API echoes the token back: clients must keep it out of their errors and logs.
            return 200, _refused(AUTH_FAILURES["unknown_token"].format(token=token))
        return None

    def _result(self, fault: str | None, method: str, raw: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Status, payload and headers of an authorised request with this fault (``None``: none)."""
        # Only drop_after and slow do the work before failing; the other faults answer without it.
        if fault in (None, "drop_after", "slow"):
            return (*self._process(method, raw), {})
        if fault == "http429":
            return 429, _refused("Too many requests"), {"Retry-After": self.sandbox.retry_after}
        if fault == "internal200":
            return 200, _refused(api.INTERNAL_ERROR), {}
        return 500, _refused(api.INTERNAL_ERROR), {}


def _refused(text: str) -> dict[str, Any]:
    """An API error answer's payload."""
    return {"result": False, "errors": [text]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_wooxy.sandbox", description="A local stand-in for the Wooxy v3 blacklist API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--token", default="sandbox-token", help="access token to accept")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per API request")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of requests given a transient fault")
    parser.add_argument("--fault-kinds", default=",".join(FAULT_KINDS), help="comma-separated subset of faults")
    parser.add_argument("--retry-after", default="1", help="Retry-After value sent with injected 429s")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    sandbox = WooxySandbox(
        host=args.host,
        port=args.port,
        token=args.token,
        latency=args.latency,
        fault_rate=args.fault_rate,
        fault_kinds=[k for k in args.fault_kinds.split(",") if k],
        retry_after=args.retry_after,
        seed=args.seed,
    )
    sandbox.start()
    sandbox.wait_for_signal(
        lambda: print(f"Wooxy sandbox listening on {sandbox.url} (latency {args.latency:g} s)", flush=True)
    )
    return 0
