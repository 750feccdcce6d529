"""
Where the engine's files live: a local path is a :class:`pathlib.Path`; anything on object storage (``s3://``,
``gs://``, ``file://`` ...) comes from the caller as a path object (any object with ``open`` / ``exists`` /
``read_text`` / ``write_text`` / ``mkdir`` / ``unlink`` / ``parent``, e.g. ``upath.UPath``), used as it is
(:func:`storage_path`).

The operators make those path objects themselves, Airflow's ``ObjectStoragePath`` under their storage connection
(``WooxyOperator.location`` in ``operators/base.py``), and hand them down as arguments; for an input glob or folder,
whose files are only known once listed, they hand down that maker as a callable (``open_path``). The engine itself
imports nothing from Airflow and keeps no object storage of its own: a URI string reaching it is refused.

It also checks the files an operator writes or reads back (checkpoint, state, plan, rejects, export output) on the
rendered argument before any request (:func:`check_file_location`), so that a wrong location is one clear error
naming the argument.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from airflow_provider_wooxy.exceptions import WooxyInputError


def storage_path(path: Any) -> Any:
    """
    The path object for ``path``: itself when it is one already, a ``Path`` for a local path. A URI string raises
    :class:`WooxyInputError`: object storage paths come from the caller as path objects.

    A plain path skips the object storage machinery (its first use loads every provider's filesystems, about
    0.2 s) for what is only a local file.
    """
    if not isinstance(path, str):
        return path
    if "://" not in path:
        return Path(path)
    raise WooxyInputError(
        f"cannot open {path}: object storage URIs are opened through Airflow's ObjectStoragePath, which the "
        "operators install; outside Airflow, pass a path object (e.g. upath.UPath) instead of a string."
    )


TABLE_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".json")
"""What a rejects or plan file may be called: CSV, or JSON Lines (``.json`` too, as before), optionally ``.gz``."""


def check_rendered(argument: str, value: object, what: str, *, path_object: bool = False) -> None:
    """
    Raise :class:`WooxyInputError` naming ``argument`` and the type it got when ``value`` is not text (or, with
    ``path_object``, a path object): a templated argument may render to anything (``{{ 5 }}``, a list).
    """
    if isinstance(value, str) or (path_object and (isinstance(value, os.PathLike) or hasattr(value, "open"))):
        return
    raise WooxyInputError(f"{argument} must be text ({what}), got {type(value).__name__}.")


def check_file_location(argument: str, path: str | None, *, suffixes: tuple[str, ...] | None = None) -> None:
    """
    Raise :class:`WooxyInputError` when ``path`` (the value of ``argument``) cannot be a file: a folder (a local one
    that exists, or any path ending in ``/``), or a name without one of ``suffixes`` (``.gz`` allowed after it).

    Object storage folders are only recognised by a trailing ``/``: looking one up would be a request of its own.
    """
    if not path:
        return
    check_rendered(argument, path, "a path or URI", path_object=True)
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
