"""Where the engine's files live: local paths and path objects; a URI string is refused."""

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
        assert storage.storage_path(location) is location

    def test_uri_string_names_the_fix(self):
        with pytest.raises(WooxyInputError, match=r"pass a path object \(e.g. upath.UPath\)"):
            storage.storage_path("s3://bucket/a.csv")

    def test_no_object_storage_of_its_own(self):
        """No module-level factory to install: object storage paths only come from the caller."""
        assert not hasattr(storage, "use_object_storage")
        assert not hasattr(storage, "_object_storage")
