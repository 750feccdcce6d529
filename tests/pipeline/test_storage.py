"""Where the engine's files live: local paths, path objects, and object storage URIs through the installed factory."""

from __future__ import annotations

from pathlib import Path

import pytest
from upath import UPath

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline import storage


class TestStoragePath:
    def test_local_path_is_a_pathlib_path(self):
        assert storage.storage_path("out/a.csv") == Path("out/a.csv")

    def test_a_path_object_is_used_as_it_is(self):
        location = UPath("memory://bucket/a.csv")
        assert storage.storage_path(location, "ignored") is location

    def test_uri_goes_to_the_installed_factory_with_the_connection(self, monkeypatch):
        calls: list[tuple[str, str | None]] = []
        monkeypatch.setattr(storage, "_object_storage", None)
        storage.use_object_storage(lambda uri, conn_id: calls.append((uri, conn_id)) or UPath(uri))
        assert storage.storage_path("memory://bucket/a.csv", "aws") == UPath("memory://bucket/a.csv")
        assert calls == [("memory://bucket/a.csv", "aws")]

    def test_uri_without_a_factory_names_the_fix(self, monkeypatch):
        monkeypatch.setattr(storage, "_object_storage", None)
        with pytest.raises(WooxyInputError, match="pass a path object"):
            storage.storage_path("s3://bucket/a.csv")

    def test_the_operators_install_airflows_object_storage(self):
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        import airflow_provider_wooxy.operators.base  # noqa: F401 (installs it)

        assert isinstance(storage.storage_path("file:///tmp/a.csv"), ObjectStoragePath)
