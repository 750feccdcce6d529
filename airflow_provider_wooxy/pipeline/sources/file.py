"""
Reading one file: its format from ``file_format`` or its name (:func:`detect_format`), opened on local disk or any
object storage (optionally gzipped), read by the reader of its format (delimited.py, json_records.py,
parquet.py). A problem of the file as a whole raises :class:`~airflow_provider_wooxy.exceptions.WooxyInputError`
naming it.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import zlib
from typing import IO, TYPE_CHECKING, Any

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.sources.chunks import Items, chunks_of
from airflow_provider_wooxy.pipeline.sources.columns import checked_keys
from airflow_provider_wooxy.pipeline.sources.delimited import CsvError, csv_chunks
from airflow_provider_wooxy.pipeline.sources.json_records import MaybeDuplicate, iter_json_array, iter_json_lines
from airflow_provider_wooxy.pipeline.sources.parquet import parquet_chunks
from airflow_provider_wooxy.pipeline.storage import storage_path

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from airflow_provider_wooxy.pipeline.sources.chunks import Chunk

FILE_FORMATS = ("csv", "json", "jsonl", "parquet")
_SUFFIXES = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
_BUFFER = 1 << 20


def detect_format(path: str, file_format: str | None) -> tuple[str, bool]:
    """Return ``(format, gzipped)`` from ``file_format`` or the path's suffixes."""
    name = path.rsplit("/", 1)[-1].lower()
    gzipped = name.endswith(".gz")
    if gzipped:
        name = name[:-3]
    if file_format:
        fmt = file_format.lower().removesuffix(".gz").lstrip(".")
        fmt = _SUFFIXES.get(f".{fmt}", fmt)
        if fmt not in FILE_FORMATS:
            raise WooxyInputError(f"file_format {file_format!r} is not one of {', '.join(FILE_FORMATS)}.")
        return fmt, gzipped or file_format.lower().endswith(".gz")
    for suffix, fmt in _SUFFIXES.items():
        if name.endswith(suffix):
            return fmt, gzipped
    raise WooxyInputError(
        f"cannot tell the format of {path!r} from its name: use a .csv, .json, .jsonl or .ndjson suffix "
        "(optionally .gz) or .parquet, or set file_format."
    )


class _RawAdapter(io.RawIOBase):
    """Presents any file-like object with ``read`` as a raw stream that ``io.BufferedReader`` can sit on."""

    def __init__(self, source: IO[bytes]) -> None:
        self._read = source.read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._read(len(buffer))
        size = len(data)
        buffer[:size] = data
        return size


@contextlib.contextmanager
def _open_binary(path: str, open_path: Callable[[str], Any]) -> Iterator[IO[bytes]]:
    try:
        raw: IO[bytes] = open_path(path).open("rb")
    except FileNotFoundError:
        raise WooxyInputError(f"input file not found: {path}") from None
    except IsADirectoryError:
        raise WooxyInputError(f"input path is a directory, not a file: {path}") from None
    except ValueError as exc:  # object storage: no filesystem for the scheme, or none under that connection
        raise WooxyInputError(
            f"cannot open {path}: {exc}. Check the URI's scheme, storage_conn_id, and that the Airflow provider "
            "for that storage is installed."
        ) from None
    with raw:
        yield raw


@contextlib.contextmanager
def _open_text(path: str, open_path: Callable[[str], Any], gzipped: bool, errors: str = "strict") -> Iterator[IO[str]]:
    with _open_binary(path, open_path) as raw:
        # Object storage files come wrapped for lineage tracking, at a Python call per attribute access; one
        # large buffer in front keeps that to one call per megabyte instead of several per line. A local file
        # is buffered already.
        buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(_RawAdapter(raw), _BUFFER)
        stream: IO[bytes] = gzip.GzipFile(fileobj=buffered, mode="rb") if gzipped else buffered  # type: ignore[assignment]
        encoding = _wide_encoding(stream.peek(64)[:64]) if errors == "strict" else None  # type: ignore[attr-defined]
        if encoding:
            raise WooxyInputError(f"the file is {encoding} text, not UTF-8: re-export it as UTF-8.")
        # utf-8-sig drops a byte-order mark; newline="" lets the csv module see quoted line breaks.
        yield io.TextIOWrapper(stream, encoding="utf-8-sig", errors=errors, newline="")


def _wide_encoding(head: bytes) -> str | None:
    """``UTF-16`` or ``UTF-32`` when a file starts as one (its byte-order mark, or NULs between ASCII characters:
    UTF-8 would decode those NULs without a word), else None."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    head = head[: len(head) // 4 * 4]
    if not head or (head[0] and head[1]):  # an ASCII file's first two bytes are both characters
        return None
    for size, name in ((4, "UTF-32"), (2, "UTF-16")):
        for first in range(size):  # where each character's one non-NUL byte is: little- or big-endian
            if all(head[i] == 0 for i in range(len(head)) if i % size != first) and all(head[first::size]):
                return name
    return None


def iter_file_records(
    path: str, *, file_format: str | None = None, open_path: Callable[[str], Any] = storage_path, field: str
) -> Items:
    """
    Items from a CSV (with a header row), JSON array, JSON Lines or Parquet file, streamed; ``open_path(path)`` is
    the path object to open (the operator's for an object storage URI; by default a local path).
    """
    fmt, gzipped = detect_format(path, file_format)
    if fmt == "parquet":
        return Items(lambda: _parquet_file_chunks(path, open_path, field))
    return Items(lambda: _text_file_chunks(path, fmt, gzipped, open_path, field))


def _parquet_file_chunks(path: str, open_path: Callable[[str], Any], field: str) -> Iterator[Chunk]:
    with _open_binary(path, open_path) as raw:
        yield from parquet_chunks(raw, path, field)


def _text_file_chunks(
    path: str, fmt: str, gzipped: bool, open_path: Callable[[str], Any], field: str
) -> Iterator[Chunk]:
    readers: dict[str, Callable[[IO[str], str], Iterator[Chunk]]] = {
        "csv": csv_chunks,
        "json": lambda text, field: chunks_of(checked_keys(iter_json_array(text, field), field)),
        "jsonl": lambda text, field: chunks_of(checked_keys(iter_json_lines(text, field), field)),
    }
    try:
        with _open_text(path, open_path, gzipped) as text:
            yield from readers[fmt](text, field)
    except CsvError as exc:
        raise WooxyInputError(f"{path} is not valid CSV near row {exc.row + 1}: {exc.reason}.") from None
    except WooxyInputError as exc:  # a reader's whole-file problem: say which file
        raise WooxyInputError(f"{path}: {exc}") from None
    except MaybeDuplicate:
        try:
            with _open_text(path, open_path, gzipped) as text:
                for _ in iter_json_array(text, field, exact=True):
                    pass
        except WooxyInputError as exc:
            raise WooxyInputError(f"{path}: {exc}") from None
    except (gzip.BadGzipFile, zlib.error, EOFError) as exc:
        raise WooxyInputError(f"{path} is not a readable gzip file ({exc}).") from None
    except UnicodeDecodeError as exc:
        # The decoder reads ahead of the rows handed out: read the file again to find the row the byte is in.
        where = _bad_byte_place(path, open_path, gzipped, fmt)
        raise WooxyInputError(
            f"{path} is not UTF-8 text: byte 0x{exc.object[exc.start]:02x} {where} cannot be decoded. "
            "Re-export it as UTF-8."
        ) from None


def _bad_byte_place(path: str, open_path: Callable[[str], Any], gzipped: bool, fmt: str) -> str:
    """Where the first byte that is not UTF-8 is: ``in data row 3`` (CSV, JSON Lines) or ``on line 7`` (JSON)."""
    with _open_text(path, open_path, gzipped, errors="surrogateescape") as text:
        if fmt == "csv":
            for row, values in enumerate(csv.reader(text), start=0):
                if any(_has_bad_byte(value) for value in values):
                    return f"in data row {row}" if row else "in the header row"
        else:
            for line, content in enumerate(text, start=1):
                if _has_bad_byte(content):
                    return f"in row {line}" if fmt == "jsonl" else f"on line {line}"
    return "somewhere"


def _has_bad_byte(text: str) -> bool:
    # surrogateescape turns each undecodable byte into a lone surrogate, U+DC80 to U+DCFF.
    return not text.isascii() and any("\udc80" <= char <= "\udcff" for char in text)
