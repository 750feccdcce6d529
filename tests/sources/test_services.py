"""The real services' fixtures fail, not skip, under CI=true when a service cannot start."""

from __future__ import annotations

import pytest

from tests.sources.services import unavailable


class TestUnavailable:
    def test_fails_under_ci(self, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.setenv("CI", "true")
        with pytest.raises(pytest.fail.Exception, match=r"PostgreSQL could not start: no initdb .*CI=true"):
            unavailable("PostgreSQL", "no initdb")

    def test_skips_on_a_workstation(self, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.delenv("CI", raising=False)
        with pytest.raises(pytest.skip.Exception, match="moto's S3 server could not start"):
            unavailable("moto's S3 server", "port in use")
