"""
Outputs that appear whole or not at all (the export's and the look-up's files, the sync plan file, ``rejects_path``):
written under a temporary name beside the target and moved into place at the end. No import beyond the standard
library, so that the sync engine's modules stay free of Airflow.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

TEMP_MARK = ".wooxy-tmp-"
"""What the temporary name of an output holds: ``.{name}.wooxy-tmp-{random}``, beside the output."""


@contextlib.contextmanager
def output_file(location: Any) -> Iterator[IO[bytes]]:
    """
    Open ``location`` (a path object) for writing so that it appears whole or not at all: the stream writes a
    temporary file beside it (``.{name}.wooxy-tmp-{random}``), moved into place when the block ends without error
    and removed when it fails. A process killed at any moment (SIGKILL included) leaves at ``location`` what was there
    before, never a partial file; the next call for the same ``location`` removes the temporary files left over.

    * Local (a :class:`pathlib.Path`): written, flushed and fsynced, then ``os.replace`` (atomic on one file system)
      and the folder fsynced, so that the rename survives a crash of the machine too.
    * Object storage (a path object with an fsspec ``fs``): uploaded under the temporary key (multipart upload
      completed when the stream closes), then copied into place with ``fs.copy`` (the store's server-side copy)
      and the temporary key deleted. A reader sees the old object or the whole new one.
    """
    parent = location.parent
    parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(location)
    temp = parent / f".{location.name}{TEMP_MARK}{secrets.token_hex(6)}"
    local = _is_local(location)
    try:
        with temp.open("wb") as stream:
            yield stream
            if local:
                stream.flush()
                os.fsync(stream.fileno())
        _move_into_place(temp, location, local)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def remove_leftovers(location: Any) -> int:
    """Remove the temporary files an earlier, killed write of ``location`` left beside it; returns how many."""
    prefix = f".{location.name}{TEMP_MARK}"
    try:
        leftovers = [entry for entry in location.parent.iterdir() if entry.name.startswith(prefix)]
    except (FileNotFoundError, NotADirectoryError):  # no folder yet (object storage: no key under the prefix)
        return 0
    for entry in leftovers:
        with contextlib.suppress(FileNotFoundError):
            entry.unlink()
    return len(leftovers)


def _is_local(location: Any) -> bool:
    return isinstance(location, Path) and not hasattr(location, "fs")


def _move_into_place(temp: Any, location: Any, local: bool) -> None:
    if local:
        os.replace(temp, location)
        if hasattr(os, "O_DIRECTORY"):  # POSIX: make the rename itself durable
            folder = os.open(location.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
        return
    fs = location.fs
    fs.copy(temp.path, location.path)
    fs.rm(temp.path)
