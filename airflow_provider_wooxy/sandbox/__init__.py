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

The package: :mod:`.api` (the fake API: the lists, the methods' validation and error texts), :mod:`.faults`
(injected faults), :mod:`.server` (:class:`WooxySandbox`: settings, the HTTP server, counters, the CLI). The
API's own facts come from :mod:`airflow_provider_wooxy.api`; nothing here imports Airflow.
"""

from __future__ import annotations

from airflow_provider_wooxy.sandbox.faults import FAULT_KINDS
from airflow_provider_wooxy.sandbox.server import AUTH_FAILURES, WooxySandbox, main

__all__ = ["AUTH_FAILURES", "FAULT_KINDS", "WooxySandbox", "main"]
