"""
Many files as one input: a glob (``s3://bucket/unload/*.parquet``, ``exports/part-*.csv.gz``) or a folder (a path
ending in ``/``), local or on object storage, read in name order as one stream.

A folder holds what an export job wrote: its data files, and markers that are not data: ``_SUCCESS``, Spark's
``_committed_*`` / ``_started_*``, ``.crc`` checksums beside each part (hidden files), and empty objects standing
for folders (``dir_$folder$``, zero-byte keys). Names starting with ``_`` or ``.``, names ending in ``$folder$``,
and empty files are skipped; a glob's matches are filtered the same way.

Rows are numbered across the whole stream (the first file's rows, then the second's...), so every later step
sees one input; :meth:`FileItems.locate` turns such a row back into the file and its own row, for the rejects.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.sources.chunks import Chunk, Item, chunks_of

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator


_GLOB_CHARS = frozenset("*?[")


def is_many(path: str) -> bool:
    """Whether ``path`` names several files: a glob, or a folder (a trailing ``/``)."""
    return path.endswith("/") or _has_glob(path)


def _has_glob(text: str) -> bool:
    """Whether ``text`` holds a glob character (``*``, ``?`` or ``[``)."""
    return any(char in _GLOB_CHARS for char in text)


def is_data_file(name: str, size: int | None) -> bool:
    """Whether a file found in a folder or by a glob is data (not an export's marker, checksum or folder stand-in)."""
    return not (name.startswith(("_", ".")) or name.endswith("$folder$") or size == 0)


def expand(path: str, open_path: Callable[[str], Any]) -> list[str]:
    """
    The data files a glob or folder names, in name order, as paths ``open_path`` (the operator's path maker,
    ``WooxyOperator.location``; ``storage.storage_path`` for local paths) opens again.

    A path that is neither is returned as it is. Raises :class:`WooxyInputError` when a folder does not exist.
    """
    if not is_many(path):
        return [path]
    candidates = _glob_files(path, open_path) if _has_glob(path) else _folder_files(path, open_path)
    userinfo = "@" in urlsplit(path).netloc
    return sorted(_uri(c, userinfo=userinfo) for c in candidates if is_data_file(c.name, c.stat().st_size))


def _folder_files(path: str, open_path: Callable[[str], Any]) -> list[Any]:
    """The files in the folder ``path`` (ending in ``/``); raises :class:`WooxyInputError` when there is none."""
    folder = _fresh(open_path(path.rstrip("/") or "/"))
    if not folder.is_dir():
        raise WooxyInputError(f"input folder not found: {path}")
    return [child for child in folder.iterdir() if child.is_file()]


def _glob_files(path: str, open_path: Callable[[str], Any]) -> list[Any]:
    """The files the glob ``path`` matches (none when the folder before its first glob character does not exist)."""
    # Split at the first component holding a glob character: the part before it is listed, the rest matched.
    scheme, sep, rest = path.rpartition("://")
    parts = rest.split("/")
    first = next(i for i, part in enumerate(parts) if _has_glob(part))
    base = "/".join(parts[:first]) or ("" if sep else ".")
    if sep:
        base = f"{scheme}{sep}{base}"
    pattern = "/".join(parts[first:]).rstrip("/")
    root = _fresh(open_path(base))
    return [match for match in root.glob(pattern) if match.is_file()] if root.exists() else []


def _fresh(location: Any) -> Any:
    """
    ``location`` with its filesystem's listing cache dropped. s3fs keeps listings (with each object's ETag) for the
    life of the process; a worker that read an export yesterday would list yesterday's parts, and fail to open a
    part rewritten since ("no longer exists").
    """
    fs = getattr(location, "fs", None)
    if fs is not None:
        fs.invalidate_cache()
    return location


def _uri(found: Any, *, userinfo: bool) -> str:
    """A found file's path or URI as the user wrote it: an object storage path prints its connection in it
    (``s3://conn@bucket/key``; the attribute naming it differs between Airflow releases), which ``open_path``
    adds back. Kept only where the user's own path named one (``userinfo``)."""
    text = str(found)
    parts = urlsplit(text)
    if userinfo or not parts.scheme or "@" not in parts.netloc:
        return text
    prefix = f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{text[len(prefix) :]}"


class FileItems:
    """
    The items of several files as one stream of ``(row, item)``, rows numbered across the files.

    :param paths: the files, in the order to read them.
    :param read: reads one file's items (``file.iter_file_records`` with the format and field bound).
    """

    def __init__(self, paths: list[str], read: Callable[[str], Iterable[Item]]) -> None:
        self.paths = paths
        self._read = read
        self._starts: list[int] = []  # the stream row before each started file's first row
        self._chunks = self._file_chunks()

    def __iter__(self) -> Iterator[Item]:
        for rows, items in self._chunks:
            yield from zip(rows, items, strict=True)

    def chunks(self) -> Iterator[Chunk]:
        """The stream a chunk of rows at a time (each file's chunks, renumbered)."""
        return self._chunks

    def _file_chunks(self) -> Iterator[Chunk]:
        offset = 0
        for path in self.paths:
            self._starts.append(offset)
            last = 0
            try:
                for rows, items in chunks_of(self._read(path)):
                    if isinstance(rows, range):
                        rows = range(rows.start + offset, rows.stop + offset)
                    else:
                        rows = [offset + row for row in rows]
                    yield Chunk(rows, items)
                    last = rows[-1] - offset
            except WooxyInputError as exc:
                message = str(exc)
                if path not in message:
                    message = f"{path}: {message}"
                raise WooxyInputError(message) from None
            offset += last

    def locate(self, row: int) -> tuple[str, int]:
        """The file a stream row came from, and its row in that file."""
        index = max(bisect.bisect_left(self._starts, row) - 1, 0)
        return self.paths[index], row - self._starts[index]
