"""
The hook's requests on the wire (hooks/wire.py) against hostile servers on loopback: redirects are never followed
(with or without a proxy), connections go to exactly the approved origin, the timeout bounds the whole request, and
an answer's size is capped.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import pytest
import urllib3

from airflow_provider_wooxy.api import MAX_ANSWER_BYTES
from airflow_provider_wooxy.exceptions import WooxyConfigurationError, WooxyInputError, WooxyTransientError
from airflow_provider_wooxy.hooks.wooxy import WooxyHook
from tests.helpers.sandbox import TOKEN, connection_json

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def set_conn(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", value)


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[BaseHTTPRequestHandler, threading.Event], None]], int]]:
    """Starts loopback servers whose POST handler is given; stops them (and their loops) at the end. Returns ports."""
    stop = threading.Event()
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Callable[[BaseHTTPRequestHandler, threading.Event], None]) -> int:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with contextlib.suppress(OSError):  # the client gave up: what these servers wait for
                    answer(self, stop)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return int(server.server_address[1])

    yield start
    stop.set()
    for server in servers:
        server.shutdown()
        server.server_close()


class TestRedirects:
    @pytest.mark.parametrize("route", ["direct", "proxied"])
    @pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
    def test_a_redirect_is_never_followed_and_the_token_stays_home(self, serve, monkeypatch, request, route, status):
        received: list[str | None] = []

        def other_host(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
            received.append(handler.headers.get("Access-Token"))
            handler.send_response(200)
            handler.send_header("Content-Length", "16")
            handler.end_headers()
            handler.wfile.write(b'{"result": true}')

        other = serve(other_host)

        def redirect(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
            handler.send_response(status)
            handler.send_header("Location", f"http://127.0.0.2:{other}/v3/blacklist/remove?token={TOKEN}")
            handler.send_header("Content-Length", "16")
            handler.end_headers()
            handler.wfile.write(b'{"result": true}')  # a success body does not make a redirect a success

        if route == "proxied":
            request.getfixturevalue("proxied")
        set_conn(monkeypatch, connection_json(f"http://127.0.0.1:{serve(redirect)}"))
        hook = WooxyHook()
        with pytest.raises(WooxyConfigurationError) as info:
            hook.remove_email_blacklist("a@example.com")
        assert (hook._route.pool.proxy is not None) == (route == "proxied")
        assert str(info.value).startswith(f"Wooxy blacklist/remove failed (HTTP {status}): 127.0.0.1:")
        assert "answered with a redirect to 127.0.0.2, which is not followed" in str(info.value)
        assert TOKEN not in str(info.value)
        assert hook.retries == 0
        time.sleep(0.2)  # anything following the redirect would have reached the other host by now
        assert received == []


class TestOrigin:
    """Connections are intercepted in this process: each is recorded, then refused, so no packet leaves."""

    @pytest.fixture
    def connections(self, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
        seen: list[tuple[str, int]] = []

        def refuse(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
            seen.append(address)
            raise ConnectionRefusedError(f"intercepted {address}")

        monkeypatch.setattr(urllib3.util.connection, "create_connection", refuse)
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        return seen

    @pytest.mark.parametrize(
        ("conn", "expected"),
        [
            pytest.param({}, ("api.wooxy.com", 443), id="default"),
            pytest.param({"host": "https://API.wooxy.com:8443/base"}, ("api.wooxy.com", 8443), id="url-port-path"),
            pytest.param({"host": "https://api.eu.wooxy.com"}, ("api.eu.wooxy.com", 443), id="other-host"),
            pytest.param({"host": "http://127.0.0.1:9"}, ("127.0.0.1", 9), id="loopback"),
            pytest.param({"host": "http://[::1]:9"}, ("::1", 9), id="ipv6-loopback"),
            pytest.param({"host": "localhost", "port": 9, "extra": {"scheme": "http"}}, ("localhost", 9), id="fields"),
        ],
    )
    def test_the_connection_goes_to_exactly_the_approved_host_and_port(self, connections, monkeypatch, conn, expected):
        conn = {"conn_type": "wooxy", "password": TOKEN, **conn}
        conn["extra"] = {"max_attempts": 1, **conn.get("extra", {})}
        set_conn(monkeypatch, json.dumps(conn))
        hook = WooxyHook()
        with pytest.raises(WooxyTransientError, match="intercepted"):
            hook.remove_email_blacklist("a@example.com")
        assert (hook.conn_params.host, hook.conn_params.port) == expected
        assert connections == [expected]

    def test_through_a_proxy_only_the_proxy_is_connected_to(self, connections, monkeypatch):
        monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
        set_conn(monkeypatch, json.dumps({"conn_type": "wooxy", "password": TOKEN, "extra": {"max_attempts": 1}}))
        hook = WooxyHook()
        with pytest.raises(WooxyTransientError):
            hook.remove_email_blacklist("a@example.com")
        assert connections == [("proxy.test", 3128)]
        assert (hook._route.pool.host, hook._route.pool.port) == ("api.wooxy.com", 443)  # the CONNECT's target

    @pytest.mark.parametrize(
        "host",
        ["http://evil.example\\@127.0.0.1:8080", "http://evil.example@127.0.0.1:8080", "http://127.0.0.1:8080#@evil"],
    )
    def test_an_ambiguous_base_url_connects_nowhere(self, connections, monkeypatch, host):
        set_conn(monkeypatch, connection_json(host))
        with pytest.raises(WooxyInputError, match="give only scheme://host"):
            WooxyHook().remove_email_blacklist("a@example.com")
        assert connections == []


def trickle(head: bytes, body: bytes) -> Callable[[BaseHTTPRequestHandler, threading.Event], None]:
    """Sends ``head`` at once, then ``body`` one byte every 1.5 s (at most 40 bytes, until the client leaves)."""

    def answer(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        handler.wfile.write(head)
        handler.wfile.flush()
        for byte in body[:40]:
            if stop.wait(1.5):
                return
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()

    return answer


class TestDeadline:
    @pytest.mark.parametrize(
        ("head", "body"),
        [
            pytest.param(
                b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n",
                b'{"result": true, "padding": "' + b"x" * 40,
                id="body",
            ),
            pytest.param(b"", b"HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n", id="status-line-and-headers"),
        ],
    )
    def test_a_trickling_server_fails_within_timeout_times_attempts(self, serve, monkeypatch, head, body):
        port = serve(trickle(head, body))
        set_conn(monkeypatch, connection_json(f"http://127.0.0.1:{port}", timeout=2, max_attempts=2))
        hook = WooxyHook()
        started = time.monotonic()
        with pytest.raises(WooxyTransientError, match=r"no response within 2 s \(gave up after 2 attempts\)"):
            hook.remove_email_blacklist("a@example.com")
        elapsed = time.monotonic() - started
        print(f"trickle ({'headers' if not head else 'body'}): failed after {elapsed:.2f} s")
        assert 3.9 <= elapsed <= 2 * 2 + 0.05 + 1.0  # two whole-request deadlines, a 0.05 s backoff, some slack
        assert hook.retries == 1


class TestAnswerSize:
    def test_an_announced_length_over_the_limit_is_not_read(self, serve, monkeypatch):
        def announce(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
            handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n{" % (MAX_ANSWER_BYTES + 1))
            stop.wait(10)  # holds the body back: a client waiting for it would time out instead

        set_conn(monkeypatch, connection_json(f"http://127.0.0.1:{serve(announce)}", timeout=5))
        started = time.monotonic()
        with pytest.raises(WooxyConfigurationError) as info:
            WooxyHook().remove_email_blacklist("a@example.com")
        assert time.monotonic() - started < 2
        assert info.value.errors == [
            f"the answer from 127.0.0.1:{info.value.errors[0].split(':')[1].split()[0]} is larger than 16,777,216 "
            "bytes, more than any Wooxy answer the provider asks for (it was not read further)",
            "check the connection's base URL",
        ]

    def test_a_chunked_answer_over_the_limit_fails_naming_the_limit(self, serve, monkeypatch):
        def chunks(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
            handler.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"x" * 65536
            for _ in range(MAX_ANSWER_BYTES // len(chunk) + 16):  # a little past the limit, then the end
                handler.wfile.write(b"10000\r\n" + chunk + b"\r\n")
            handler.wfile.write(b"0\r\n\r\n")

        set_conn(monkeypatch, connection_json(f"http://127.0.0.1:{serve(chunks)}"))
        hook = WooxyHook()
        with pytest.raises(WooxyConfigurationError, match=r"is larger than 16,777,216 bytes"):
            hook.remove_email_blacklist("a@example.com")
        assert hook.retries == 0

    def test_an_answer_at_the_limit_is_read(self, serve, monkeypatch):
        body = b'{"result": true, "pad": "' + b"x" * (MAX_ANSWER_BYTES - 27) + b'"}'
        assert len(body) == MAX_ANSWER_BYTES

        def whole(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
            handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)

        set_conn(monkeypatch, connection_json(f"http://127.0.0.1:{serve(whole)}"))
        assert WooxyHook().remove_email_blacklist("a@example.com")["result"] is True

    def test_an_endless_answer_keeps_the_workers_memory_flat(self, serve, monkeypatch):
        sent = [0]

        def endless(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
            handler.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n")  # until it closes
            chunk = b"x" * (1 << 20)
            for _ in range(320):  # 320 MB at most, then it stops by itself
                if stop.is_set():
                    return
                handler.wfile.write(chunk)
                sent[0] += len(chunk)

        url = f"http://127.0.0.1:{serve(endless)}"
        child = (
            "import json, sys\n"
            "from airflow_provider_wooxy.hooks.wooxy import WooxyHook\n"
            "try:\n"
            "    WooxyHook().remove_email_blacklist('a@example.com')\n"
            "    error = None\n"
            "except Exception as exc:\n"
            "    error = f'{type(exc).__name__}: {exc}'\n"
            "status = open('/proc/self/status').read()\n"
            "peak = next(int(line.split()[1]) for line in status.splitlines() if line.startswith('VmHWM:'))\n"
            "print(json.dumps({'peak_kb': peak, 'error': error}))\n"
        )
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])),
            "AIRFLOW_CONN_WOOXY_DEFAULT": connection_json(url, timeout=60),
        }
        done = subprocess.run(
            [sys.executable, "-c", child], env=env, capture_output=True, text=True, timeout=300, check=True
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"endless answer: child's peak RSS {result['peak_kb'] / 1024:.0f} MB, server sent {sent[0] >> 20} MB")
        assert result["error"].startswith("WooxyConfigurationError: Wooxy blacklist/remove failed (HTTP 200)")
        assert "is larger than 16,777,216 bytes" in result["error"]
        assert result["peak_kb"] < 600 * 1024


class TestCompressedAnswers:
    """Compressed answers are decoded by the hook, at most one byte past the limit, on every urllib3 (2.4 too)."""

    @staticmethod
    def answering(serve, body: bytes, encoding: str) -> str:
        def answer(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Encoding", encoding)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

        return f"http://127.0.0.1:{serve(answer)}"

    @pytest.mark.parametrize(
        ("encoding", "compress"),
        [
            pytest.param("gzip", lambda data: zlib.compress(data, wbits=31), id="gzip"),
            pytest.param("deflate", zlib.compress, id="deflate-zlib"),
            pytest.param("deflate", lambda data: zlib.compress(data, wbits=-15), id="deflate-raw"),
        ],
    )
    def test_decoded(self, serve, monkeypatch, encoding, compress):
        set_conn(monkeypatch, connection_json(self.answering(serve, compress(b'{"result": true}'), encoding)))
        assert WooxyHook().remove_email_blacklist("a@example.com")["result"] is True

    @pytest.mark.parametrize(
        ("body", "encoding", "message"),
        [
            pytest.param(b"\x1f\x8b not gzip", "gzip", "is not valid gzip", id="broken-gzip"),
            pytest.param(b'{"result": true}', "br", "is encoded as 'br', which the provider did not ask for", id="br"),
        ],
    )
    def test_refused(self, serve, monkeypatch, body, encoding, message):
        set_conn(monkeypatch, connection_json(self.answering(serve, body, encoding)))
        with pytest.raises(WooxyConfigurationError, match=message):
            WooxyHook().remove_email_blacklist("a@example.com")

    def test_a_compression_bomb_keeps_the_workers_memory_flat(self, serve, monkeypatch):
        """1 MiB of gzip that decodes to 1 GiB: under urllib3 2.4 its own decoding took the child to 2.2 GB."""
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        bomb = b"".join(packer.compress(b"\0" * (1 << 20)) for _ in range(1024)) + packer.flush()
        url = self.answering(serve, bomb, "gzip")
        child = (
            "import json\n"
            "from airflow_provider_wooxy.hooks.wooxy import WooxyHook\n"
            "try:\n"
            "    WooxyHook().remove_email_blacklist('a@example.com')\n"
            "    error = None\n"
            "except Exception as exc:\n"
            "    error = f'{type(exc).__name__}: {exc}'\n"
            "status = open('/proc/self/status').read()\n"
            "peak = next(int(line.split()[1]) for line in status.splitlines() if line.startswith('VmHWM:'))\n"
            "print(json.dumps({'peak_kb': peak, 'error': error}))\n"
        )
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])),
            "AIRFLOW_CONN_WOOXY_DEFAULT": connection_json(url, timeout=60),
        }
        done = subprocess.run(
            [sys.executable, "-c", child], env=env, capture_output=True, text=True, timeout=300, check=True
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"gzip bomb (urllib3 {urllib3.__version__}): child's peak RSS {result['peak_kb'] / 1024:.0f} MB")
        assert "is larger than 16,777,216 bytes" in result["error"]
        assert result["peak_kb"] < 600 * 1024
