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


class TestCheckRendered:
    @pytest.mark.parametrize(
        ("value", "got"),
        [pytest.param(5, "int", id="int"), pytest.param(["a.csv"], "list", id="list"), pytest.param(None, "NoneType")],
    )
    def test_a_value_that_is_not_text_names_the_argument_and_its_type(self, value: object, got: str):
        with pytest.raises(WooxyInputError, match=f"^state_path must be text \\(a path or URI\\), got {got}\\.$"):
            storage.check_rendered("state_path", value, "a path or URI", path_object=True)

    def test_a_path_object_is_a_path(self, tmp_path):
        storage.check_rendered("state_path", tmp_path / "state.json", "a path or URI", path_object=True)
        with pytest.raises(WooxyInputError, match="got PosixPath"):
            storage.check_rendered("sql", tmp_path, "a query")
