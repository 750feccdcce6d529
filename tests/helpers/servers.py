"""
Small hostile HTTP servers on loopback (threaded, one per test): what a wrong host, a proxy's error page or a server
that lies about its pages answers instead of Wooxy. The hook tests' ``raw_answer`` fixture and the paging tests use
them.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

Answer = tuple[int, bytes, dict[str, str]]
"""What a server answers one POST with: status, body, headers."""


class HostileServer:
    """
    A threaded HTTP server on 127.0.0.1 whose every POST is answered by ``answer(path, body)`` (the body parsed as
    JSON when it is, else None). Counts the requests; :meth:`close` stops it.
    """

    def __init__(self, answer: Callable[[str, Any], Answer]) -> None:
        self.requests: list[tuple[str, Any]] = []
        lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                with lock:
                    owner.requests.append((self.path, body))
                status, content, headers = answer(self.path, body)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def fixed(status: int, body: bytes, headers: dict[str, str] | None = None) -> Callable[[str, Any], Answer]:
    """Every POST answered the same way (a wrong host: an HTML page, a redirect)."""
    return lambda path, request: (status, body, dict(headers or {}))


def json_answer(value: Any) -> Answer:
    return 200, json.dumps(value).encode(), {"Content-Type": "application/json"}


class LyingList:
    """
    A Wooxy find over ``size`` entries that lies as told: ``ignore_offset`` serves the first page whatever the offset;
    ``total`` reports that count whatever the list holds; ``grow`` adds that many to the count on every answer.
    Answers both finds (``email`` rows for ``blacklist/find``, ``phoneNumber`` for ``phone-blacklist/find``).
    """

    def __init__(self, size: int, *, ignore_offset: bool = False, total: int | None = None, grow: int = 0) -> None:
        self.size = size
        self.ignore_offset = ignore_offset
        self.total = total
        self.grow = grow
        self._answers = 0
        self._lock = threading.Lock()

    def __call__(self, path: str, body: Any) -> Answer:
        with self._lock:
            self._answers += 1
            answers = self._answers
        offset = 0 if self.ignore_offset else int(body.get("offset") or 0)
        limit = int(body.get("limit") or 20)
        reject_type = body.get("rejectType") or "hard"
        if "phoneNumber" in body:
            rows = [{"phoneNumber": body["phoneNumber"], "rejectType": "hard", "createdAt": "2026-01-01"}]
        else:
            rows = [
                {"email": f"user{i}@example.com", "type": reject_type, "createdAt": "2026-01-01"}
                for i in range(offset, min(offset + limit, self.size))
            ]
        total = (self.size if self.total is None else self.total) + self.grow * answers
        return json_answer({"result": True, "data": rows, "totalCount": total})
