"""
Checks of the files an operator writes or reads back (checkpoint, state, plan, rejects, export output), made on
the rendered argument before any request, so that a wrong location is one clear error naming the argument.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from airflow_provider_wooxy.exceptions import WooxyInputError

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
