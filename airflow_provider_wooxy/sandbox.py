"""
A local stand-in for the Wooxy v3 blacklist API, for tests, demos and benchmarks.

It implements the six blacklist methods with the documented validation and error texts, keeps the blacklists
in memory, enforces the account's 10-requests-in-flight rule (and records the most requests that were ever
attempted at once, refused ones included), can add latency, inject transient faults, answer with each of the
API's auth errors, and serve HTTPS with a certificate given by the test.

From Python::

    with WooxySandbox(token="demo", latency=0.05) as sandbox:
        ...  # point a connection at sandbox.url
        assert sandbox.stats()["max_in_flight"] <= 10

From a shell::

    python -m airflow_provider_wooxy.sandbox --port 8080 --token demo --latency 0.05

Besides the API it answers ``GET /_sandbox/stats``, ``GET /_sandbox/blacklists``, ``POST /_sandbox/reset`` and
``POST /_sandbox/seed`` (``{"emails": N, "rejectType": ...}``: N generated entries) so that a test or a benchmark
in another process can read what it received.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import random
import re
import signal
import socket
import ssl
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import phonenumbers

from airflow_provider_wooxy.pipeline.validation import EMAIL_REJECT_TYPES, PHONE_REJECT_TYPES, is_valid_email

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

FAULT_KINDS = ("http500", "html502", "http429", "internal200", "drop_before", "drop_after", "slow")
"""Transient faults the sandbox can inject: see :class:`WooxySandbox`."""

AUTH_FAILURES = {
    "invalid_token": "Invalid authorization token!",
    "unknown_token": "no matches found for access token {token}",
    "user_disabled": "user 4217 not enabled",
    "no_key": "no data found for key 4217",
    "check_failed": "access token check failed for key/secret 4217/{token}",
}
"""The API's auth and account error texts (``{token}`` is the token sent: the API echoes it), by name."""

MAX_RECORDS = 100  # the hook's MAX_RECORDS_PER_REQUEST; not imported, to keep Airflow out of the sandbox process

# Deliberately not the provider's own validator: the API's idea of a valid address may differ from ours.
_E164_SHAPE = re.compile(r"^\+[1-9][0-9]{6,14}$")


class _Refused(Exception):
    def __init__(self, errors: list[str], status: int = 400) -> None:
        super().__init__(errors)
        self.errors = errors
        self.status = status


class WooxySandbox:
    """
    An in-memory Wooxy API on a local port.

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
        max_in_flight: int = 10,
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
        self.host = host
        self.port = port
        self.token = token
        self.latency = latency
        self.max_in_flight = max_in_flight
        self.fault_rate = fault_rate
        self.fault_kinds = _checked_kinds(fault_kinds)
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        self.refuse = set(refuse)
        if auth_failure is not None and auth_failure not in AUTH_FAILURES:
            raise ValueError(f"unknown auth failure {auth_failure!r}; known: {sorted(AUTH_FAILURES)}")
        self.auth_failure = auth_failure
        self.auth_status = auth_status
        self.ssl_context = ssl_context
        self.max_find_limit = max_find_limit
        self.on_find = on_find
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._queued_faults: collections.deque[str] = collections.deque()
        self._outage: tuple[int, str] | None = None
        self._open = threading.Event()
        self._open.set()
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
        self._open.set()  # paused requests must not outlive the server
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for_signal(self) -> None:
        """Block until SIGINT or SIGTERM, then stop (the CLI)."""
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        self.stop()

    def __enter__(self) -> WooxySandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- state -----------------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Empty the blacklists and the counters (the configuration stays)."""
        with self._lock:
            self.emails: dict[str, dict[str, dict[str, Any]]] = {}
            self.phones: dict[str, dict[str, Any]] = {}
            self.requests: collections.Counter[str] = collections.Counter()
            self.faults: collections.Counter[str] = collections.Counter()
            self.in_flight = 0
            self.max_in_flight_seen = 0  # attempted: a request refused over the limit counts too
            self.max_served_in_flight = 0
            self.over_limit = 0
            self.max_batch = 0
            self.records_received = 0
            self._queued_faults.clear()
            self._outage = None
            self._email_version = 0  # bumped by every change of `emails`: find's per-type listing is cached on it
            self._email_index: dict[str, tuple[int, list[dict[str, Any]]]] = {}

    def outage(self, after: int = 0, kind: str = "http500") -> None:
        """After ``after`` more API requests, answer every request with the fault ``kind`` until :meth:`recover`."""
        _checked_kinds([kind])
        with self._lock:
            self._outage = (after, kind)

    def recover(self) -> None:
        """End an :meth:`outage`."""
        with self._lock:
            self._outage = None

    def pause(self) -> None:
        """Hold every API request that gets in (counted in flight) until :meth:`resume`: concurrency without timing."""
        self._open.clear()

    def resume(self) -> None:
        """Let the requests held by :meth:`pause` be answered."""
        self._open.set()

    def inject(self, *kinds: str) -> None:
        """Queue faults for the next API requests, in order (before any random ones)."""
        with self._lock:
            self._queued_faults.extend(_checked_kinds(kinds))

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(self.requests),
                "total_requests": sum(self.requests.values()),
                "faults": dict(self.faults),
                "max_in_flight": self.max_in_flight_seen,
                "max_served_in_flight": self.max_served_in_flight,
                "over_limit": self.over_limit,
                "max_batch": self.max_batch,
                "records_received": self.records_received,
                "emails": sum(len(v) for v in self.emails.values()),
                "phones": len(self.phones),
            }

    def email_addresses(self) -> set[str]:
        with self._lock:
            return set(self.emails)

    def phone_numbers(self) -> set[str]:
        with self._lock:
            return set(self.phones)

    def _next_fault(self) -> str | None:
        with self._lock:
            if self._outage is not None:
                after, kind = self._outage
                if after <= 0:
                    return kind
                self._outage = (after - 1, kind)
            if self._queued_faults:
                return self._queued_faults.popleft()
            if self.fault_rate and self.fault_kinds and self._random.random() < self.fault_rate:
                return self._random.choice(self.fault_kinds)
        return None

    def _enter(self, method: str) -> bool:
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

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    # -- the API ---------------------------------------------------------------------------------------------

    def handle(self, method: str, body: Any) -> dict[str, Any]:
        """Apply one API call to the in-memory state; raises :class:`_Refused` like the API's errors."""
        if not isinstance(body, dict):
            raise _Refused(["Bad Request"])
        action = getattr(self, "_" + method.replace("-", "_").replace("/", "__"), None)
        if action is None:
            raise _Refused(["Bad Request"], 404)
        result: dict[str, Any] = action(body)
        return result

    def _records(self, body: dict[str, Any]) -> list[Any]:
        records = body.get("records")
        if not isinstance(records, list) or not records:
            raise _Refused(["Argument records required"])
        if len(records) > MAX_RECORDS:
            raise _Refused([f"Maximum count of records per transaction is {MAX_RECORDS}, current {len(records)}"])
        with self._lock:
            self.max_batch = max(self.max_batch, len(records))
            self.records_received += len(records)
        return records

    def _valid_email(self, value: Any) -> bool:
        return is_valid_email(value) and value not in self.refuse

    def _valid_phone(self, value: Any) -> bool:
        if not isinstance(value, str) or not _E164_SHAPE.match(value) or value in self.refuse:
            return False
        try:
            return phonenumbers.is_valid_number(phonenumbers.parse(value, None))
        except phonenumbers.NumberParseException:
            return False

    def _blacklist__add(self, body: dict[str, Any]) -> dict[str, Any]:
        records = self._records(body)
        errors: list[str] = []
        for record in records:
            if not isinstance(record, dict):
                errors.append("Bad Request")
                continue
            email, reject_type, raw_log = record.get("email"), record.get("rejectType"), record.get("rawLog")
            if email is None:
                errors.append("Argument email required")
            elif not self._valid_email(email):
                errors.append(f"Invalid RFC2822 email {email}")
            if reject_type is None:
                errors.append("Argument rejectType required")
            elif reject_type not in EMAIL_REJECT_TYPES:
                errors.append(_email_type_error(reject_type))
            if raw_log is not None:
                if not isinstance(raw_log, str):
                    errors.append("Argument rawLog must be a string")
                elif len(raw_log.encode()) > 1024:
                    errors.append("Argument rawLog cannot be longest 1024 bytes")
        if errors:
            raise _Refused(errors)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self._lock:
            for record in records:
                types = self.emails.setdefault(record["email"], {})
                if record["rejectType"] not in types:  # duplicates are ignored, as Wooxy does
                    row = {"email": record["email"], "type": record["rejectType"], "createdAt": now}
                    if record.get("rawLog") is not None:
                        row["rawLog"] = record["rawLog"]
                    types[record["rejectType"]] = row
            self._email_version += 1
        return {"result": True}

    def _blacklist__remove(self, body: dict[str, Any]) -> dict[str, Any]:
        email, reject_type = body.get("email"), body.get("rejectType")
        if not isinstance(email, str) or not email:
            raise _Refused(["Argument email must be a non-empty string"])
        if reject_type is not None and reject_type not in EMAIL_REJECT_TYPES:
            raise _Refused([_email_type_error(reject_type)])
        with self._lock:
            self.records_received += 1
            types = self.emails.get(email)
            if types is not None:
                if reject_type is None:
                    types.clear()
                else:
                    types.pop(reject_type, None)
                if not types:
                    del self.emails[email]
            self._email_version += 1
        return {"result": True}

    def _blacklist__find(self, body: dict[str, Any]) -> dict[str, Any]:
        reject_type = body.get("rejectType")
        if reject_type is None:
            raise _Refused(["Argument rejectType required"])
        if reject_type not in EMAIL_REJECT_TYPES:
            raise _Refused([_email_type_error(reject_type)])
        offset, limit = int(body.get("offset") or 0), int(body.get("limit") or 20)
        if self.on_find is not None:
            self.on_find(self, body)
        email = body.get("email")
        with self._lock:
            if email is None:
                listing = self._email_listing(reject_type)
                total, rows = len(listing), [dict(row) for row in listing[offset : offset + self._capped(limit)]]
            else:
                row = self.emails.get(email, {}).get(reject_type)
                total, rows = (1, [dict(row)]) if row else (0, [])
                rows = rows[offset : offset + self._capped(limit)]
        if not body.get("withRawLog"):
            for row in rows:
                row.pop("rawLog", None)
        return {"result": True, "data": rows, "totalCount": total, "offset": offset, "limit": limit}

    def _phone_blacklist__add(self, body: dict[str, Any]) -> dict[str, Any]:
        records = self._records(body)
        errors: list[str] = []
        for record in records:
            if not isinstance(record, dict):
                errors.append("Bad Request")
                continue
            number, reject_type = record.get("phoneNumber"), record.get("rejectType")
            if number is None:
                errors.append("Argument phoneNumber required")
            elif not self._valid_phone(number):
                errors.append(f"{number} is not a valid E.164 phone number")
            if reject_type is not None and reject_type not in PHONE_REJECT_TYPES:
                errors.append(f"Allowed reject types are {', '.join(PHONE_REJECT_TYPES)}, but {reject_type} given")
        if errors:
            raise _Refused(errors)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self._lock:
            for record in records:
                self.phones.setdefault(
                    record["phoneNumber"],
                    {
                        "phoneNumber": record["phoneNumber"],
                        "rejectType": record.get("rejectType") or "import",
                        "createdAt": now,
                    },
                )
        return {"result": True}

    def _phone_blacklist__remove(self, body: dict[str, Any]) -> dict[str, Any]:
        number = body.get("phoneNumber")
        if number is None:
            raise _Refused(["Argument phoneNumber required"])
        if not self._valid_phone(number):
            raise _Refused([f"{number} is not a valid E.164 phone number"])
        with self._lock:
            self.records_received += 1
            self.phones.pop(number, None)
        return {"result": True}

    def _phone_blacklist__find(self, body: dict[str, Any]) -> dict[str, Any]:
        number = body.get("phoneNumber")
        if number is None:
            raise _Refused(["Argument phoneNumber required"])
        offset, limit = int(body.get("offset") or 0), int(body.get("limit") or 20)
        with self._lock:
            row = self.phones.get(number)
        rows = [dict(row)] if row and body.get("rejectType") in (None, row["rejectType"]) else []
        return _page(rows, offset, self._capped(limit))

    # -- paging helpers (find's server-side cap, a listing that changes while it is paged) ---------------------

    def _capped(self, limit: int) -> int:
        return limit if self.max_find_limit is None else min(limit, self.max_find_limit)

    def _email_listing(self, reject_type: str) -> list[dict[str, Any]]:
        """The entries of one reject type in list order; rebuilt only after a change (call with the lock held)."""
        cached = self._email_index.get(reject_type)
        if cached is None or cached[0] != self._email_version:
            rows = [types[reject_type] for types in self.emails.values() if reject_type in types]
            cached = self._email_index[reject_type] = (self._email_version, rows)
        return cached[1]

    def add_emails(
        self,
        rows: Iterable[tuple[str, str]],
        *,
        first: bool = False,
        raw_log: str | None = None,
        expire_at: str | None = None,
    ) -> None:
        """
        Put ``(email, rejectType)`` entries on the email blacklist directly (no request, no validation).

        :param first: put them at the head of the list, ahead of every entry already there (as a list ordered
            newest first would), so that a client paging through it sees the rest shift.
        :param raw_log: the entries' ``rawLog``.
        :param expire_at: the entries' ``expireAt``.
        """
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self._lock:
            added: dict[str, dict[str, dict[str, Any]]] = {}
            for email, reject_type in rows:
                types = self.emails.get(email) or added.setdefault(email, {})
                row: dict[str, Any] = {"email": email, "type": reject_type, "createdAt": now}
                if raw_log is not None:
                    row["rawLog"] = raw_log
                if expire_at is not None:
                    row["expireAt"] = expire_at
                types.setdefault(reject_type, row)
            if first:
                self.emails = {**added, **{k: v for k, v in self.emails.items() if k not in added}}
            else:
                self.emails.update(added)
            self._email_version += 1

    def remove_emails(self, emails: Iterable[str]) -> None:
        """Take addresses off the email blacklist directly (every reject type)."""
        with self._lock:
            for email in emails:
                self.emails.pop(email, None)
            self._email_version += 1


def _checked_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    kinds = tuple(kinds)
    unknown = sorted(set(kinds) - set(FAULT_KINDS))
    if unknown:
        raise ValueError(f"unknown fault kinds {unknown}; known: {FAULT_KINDS}")
    return kinds


def _email_type_error(reject_type: object) -> str:
    return f"Allowed rejectType is {', '.join(EMAIL_REJECT_TYPES)}, but {reject_type} given"


def _page(rows: list[dict[str, Any]], offset: int, limit: int) -> dict[str, Any]:
    """A find method's answer: one page of rows and the total."""
    return {
        "result": True,
        "data": rows[offset : offset + limit],
        "totalCount": len(rows),
        "offset": offset,
        "limit": limit,
    }


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
            self._send(404, {"result": False, "errors": ["Bad Request"]})

    def _process(self, method: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        try:
            return 200, self.sandbox.handle(method, json.loads(raw))
        except ValueError:
            return 400, {"result": False, "errors": ["Bad Request"]}
        except _Refused as refused:
            return refused.status, {"result": False, "errors": refused.errors}

    def do_POST(self) -> None:
        sandbox = self.sandbox
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/_sandbox/reset":
            sandbox.reset()
            self._send(200, {"result": True})
            return
        if self.path == "/_sandbox/seed":  # {"emails": N, "rejectType": "hard"}: N generated entries, no requests
            seed = json.loads(raw)
            reject_type = seed.get("rejectType", "hard")
            sandbox.add_emails((f"seed{i}-{reject_type}@example.com", reject_type) for i in range(int(seed["emails"])))
            self._send(200, {"result": True})
            return
        if not self.path.startswith("/v3/"):
            self._send(404, {"result": False, "errors": ["Bad Request"]})
            return
        method = self.path[len("/v3/") :]
        if not sandbox._enter(method):
            self._send(429, {"result": False, "errors": ["Too many concurrent requests"]}, {"Retry-After": "1"})
            return
        # Decide the answer while counted in flight; leave before answering, so that a client that sends its next
        # request the moment it reads this answer is never counted twice.
        headers: dict[str, str] = {}
        # The latency is the whole time the API takes to answer: the sandbox's own processing comes out of it.
        answer_at = self.received_at + sandbox.latency
        try:
            sandbox._open.wait()
            token = self.headers.get("Access-Token")
            fault = None
            if sandbox.auth_failure:
                text = AUTH_FAILURES[sandbox.auth_failure].format(token=token)
                status, payload = sandbox.auth_status, {"result": False, "errors": [text]}
            elif not token:
                status, payload = 401, {"result": False, "errors": ["Invalid authorization token!"]}
            elif token != sandbox.token:
                # The real API echoes the token back: clients must keep it out of their errors and logs.
                status, payload = 200, {"result": False, "errors": [f"no matches found for access token {token}"]}
            else:
                fault = sandbox._next_fault()
                if fault:
                    with sandbox._lock:
                        sandbox.faults[fault] += 1
                # Only drop_after and slow do the work before failing; the other faults answer without it.
                if fault in (None, "drop_after", "slow"):
                    status, payload = self._process(method, raw)
                elif fault == "http429":
                    status, payload = 429, {"result": False, "errors": ["Too many requests"]}
                    headers["Retry-After"] = sandbox.retry_after
                elif fault == "internal200":
                    status, payload = 200, {"result": False, "errors": ["Internal server error"]}
                else:
                    status, payload = 500, {"result": False, "errors": ["Internal server error"]}
            # The answer is built inside the latency too (only drops have none), and leaves in one write.
            if fault in ("drop_before", "drop_after"):
                answer = None
            elif fault == "html502":
                html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
                answer = self._response(502, None, raw=html, content_type="text/html")
            else:
                answer = self._response(status, payload, headers)
            pause = answer_at - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        finally:
            sandbox._leave()
        if answer is None:
            self._drop()
            return
        if fault == "slow":
            time.sleep(sandbox.slow_seconds)
        self.wfile.write(answer)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_wooxy.sandbox", description=__doc__.split("\n\n")[0]
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
    print(f"Wooxy sandbox listening on {sandbox.url} (latency {args.latency:g} s)", flush=True)
    sandbox.wait_for_signal()
    return 0


if __name__ == "__main__":
    sys.exit(main())
