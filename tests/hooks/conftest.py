"""Fixtures of the hook tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.helpers.servers import HostileServer, fixed

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


@pytest.fixture
def raw_answer() -> Iterator[Callable[..., str]]:
    """
    A local HTTP server that answers every POST with one fixed status, body and headers (what a gateway, a proxy
    error page or a misconfigured URL sends instead of Wooxy's JSON); returns its base URL.
    """
    servers: list[HostileServer] = []

    def start(status: int, body: bytes, headers: dict[str, str] | None = None) -> str:
        servers.append(HostileServer(fixed(status, body, headers)))
        return servers[-1].url

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def proxied(forward_proxy, monkeypatch: pytest.MonkeyPatch):
    """Every request of the test goes through the forward proxy on loopback (http, and https via CONNECT)."""
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)
    monkeypatch.setenv("HTTPS_PROXY", forward_proxy.url)
    return forward_proxy
