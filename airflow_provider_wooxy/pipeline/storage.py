"""
Where the engine's files live: a local path is a :class:`pathlib.Path`; an object storage URI (``s3://``,
``gs://``, ``file://`` ...) is opened by the factory the caller installed with :func:`use_object_storage`.

The operators install Airflow's ``ObjectStoragePath`` (``operators/base.py``), so that URIs use Airflow
connections; the engine itself imports nothing from Airflow. Outside Airflow, pass a path object instead of a
string (any object with ``open`` / ``exists`` / ``read_text`` / ``write_text`` / ``mkdir`` / ``unlink`` /
``parent``, e.g. ``upath.UPath``): it is used as it is.

It also checks the files an operator writes or reads back (checkpoint, state, plan, rejects, export output) on the
rendered argument before any request (:func:`check_file_location`), so that a wrong location is one clear error
naming the argument.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from airflow_provider_wooxy.exceptions import WooxyInputError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

_object_storage: Callable[[str, str | None], Any] | None = None


def use_object_storage(factory: Callable[[str, str | None], Any]) -> None:
    """Open object storage URIs with ``factory(uri, conn_id)`` from now on (the operators install Airflow's)."""
    global _object_storage
    _object_storage = factory


def storage_path(path: Any, conn_id: str | None = None) -> Any:
    """
    The path object for ``path``: itself when it is one already, a ``Path`` for a local path, the installed
    object storage's for a URI.

    A plain path skips the object storage machinery (its first use loads every provider's filesystems, about
    0.2 s) for what is only a local file.
    """
    if not isinstance(path, str):
        return path
    if "://" not in path:
        return Path(path)
    if _object_storage is None:
        raise WooxyInputError(
            f"cannot open {path}: object storage URIs are opened through Airflow's ObjectStoragePath, which the "
            "operators install; outside Airflow, pass a path object (e.g. upath.UPath) instead of a string."
        )
    return _object_storage(path, conn_id)


@contextlib.contextmanager
def output_file(location: Any) -> Iterator[IO[bytes]]:
    """
    Open ``location`` (a path object) for writing, its folder created; if the block fails, the partial file is
    removed, so that it cannot pass for a whole one.
    """
    location.parent.mkdir(parents=True, exist_ok=True)
    try:
        with location.open("wb") as stream:
            yield stream
    except BaseException:
        if location.exists():
            location.unlink()
        raise


TABLE_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".json")
"""What a rejects or plan file may be called: CSV, or JSON Lines (``.json`` too, as before), optionally ``.gz``."""


def check_file_location(argument: str, path: str | None, *, suffixes: tuple[str, ...] | None = None) -> None:
    """
    Raise :class:`WooxyInputError` when ``path`` (the value of ``argument``) cannot be a file: a folder (a local one
    that exists, or any path ending in ``/``), or a name without one of ``suffixes`` (``.gz`` allowed after it).

    Object storage folders are only recognised by a trailing ``/``: looking one up would be a request of its own.
    """
    if not path:
        return
    text = str(path)
    if text.endswith("/") or _local_folder(text):
        raise WooxyInputError(
            f"{argument} {text!r} is a folder: give the path of a file, e.g. {_example(argument, text, suffixes)}."
        )
    if suffixes is not None:
        name = text.rsplit("/", 1)[-1].lower().removesuffix(".gz")
        if not name.endswith(suffixes):
            accepted = ", ".join(suffixes)
            raise WooxyInputError(f"{argument} {text!r}: unknown suffix; use one of {accepted} (optionally .gz).")


def _local_folder(path: str) -> bool:
    parts = urlsplit(path)
    if "://" not in path:
        return Path(path).is_dir()
    return parts.scheme == "file" and Path(unquote(parts.path)).is_dir()


def _example(argument: str, path: str, suffixes: tuple[str, ...] | None) -> str:
    return f"{path.rstrip('/')}/{argument.removesuffix('_path')}{(suffixes or ('.json',))[0]}"
