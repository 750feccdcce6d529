"""
Reading blacklist input, streamed: records handed over through XCom, or a CSV / JSON / JSON Lines file
(optionally gzipped) on local disk or any Airflow object storage.

Every reader yields ``(row, item)`` pairs, ``row`` being the record's 1-based position in the input (for CSV,
data rows after the header). A row that cannot be read at all (a ragged CSV row, a broken JSON line) is yielded as
a :class:`~airflow_provider_wooxy.pipeline.validation.RecordError`, so that it is reported like any invalid record.
A file that is unusable as a whole raises :class:`~airflow_provider_wooxy.exceptions.WooxyInputError`.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import ijson
from airflow.providers.common.compat.sdk import ObjectStoragePath

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.validation import RecordError

FILE_FORMATS = ("csv", "json", "jsonl")
_SUFFIXES = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_CHUNK = 1 << 16
_BUFFER = 1 << 20

Item = tuple[int, object]


def storage_path(path: str, conn_id: str | None = None) -> ObjectStoragePath | Path:
    """
    An ``ObjectStoragePath`` for a URI (``s3://``, ``gs://``, ``file://`` ...); a plain ``Path`` for a local path.

    A plain path skips the object storage machinery (its first use loads every provider's filesystems, about
    0.2 s) for what is only a local file. Both types offer the same ``open`` / ``exists`` / ``read_text`` /
    ``write_text`` / ``mkdir`` / ``unlink`` / ``parent`` used here.
    """
    if "://" in path:
        return ObjectStoragePath(path, conn_id=conn_id)
    return Path(path)


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
        "(optionally .gz), or set file_format."
    )


def iter_xcom_records(records: object) -> Iterator[Item]:
    """Items from a ``records`` argument: a list of strings or objects (typically an upstream task's XCom)."""
    if isinstance(records, (str | bytes, Mapping)) or not isinstance(records, Iterable):
        hint = " (a JSON string? decode it upstream, or pass a file via path=)" if isinstance(records, str) else ""
        raise WooxyInputError(f"records must be a list of addresses or of objects, got {type(records).__name__}{hint}.")
    yield from enumerate(records, start=1)


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
def _open_text(path: str, conn_id: str | None, gzipped: bool) -> Iterator[IO[str]]:
    try:
        raw: IO[bytes] = storage_path(path, conn_id).open("rb")
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
        # Object storage files come wrapped for lineage tracking, at a Python call per attribute access; one
        # large buffer in front keeps that to one call per megabyte instead of several per line. A local file
        # is buffered already.
        buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(_RawAdapter(raw), _BUFFER)
        stream: IO[bytes] = gzip.GzipFile(fileobj=buffered, mode="rb") if gzipped else buffered  # type: ignore[assignment]
        # utf-8-sig drops a byte-order mark; newline="" lets the csv module see quoted line breaks.
        yield io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")


def iter_file_records(
    path: str, *, file_format: str | None = None, conn_id: str | None = None, field: str
) -> Iterator[Item]:
    """Items from a CSV (with a header row), JSON array or JSON Lines file, streamed."""
    fmt, gzipped = detect_format(path, file_format)
    readers = {"csv": _iter_csv, "json": _iter_json_array, "jsonl": _iter_json_lines}
    row = 0
    try:
        with _open_text(path, conn_id, gzipped) as text:
            for row, item in readers[fmt](text, field):
                yield row, item
    except (gzip.BadGzipFile, zlib.error, EOFError) as exc:
        raise WooxyInputError(f"{path} is not a readable gzip file ({exc}).") from None
    except UnicodeDecodeError as exc:
        raise WooxyInputError(
            f"{path} is not UTF-8 text: byte 0x{exc.object[exc.start]:02x} cannot be decoded after row {row}. "
            "Re-export it as UTF-8."
        ) from None
    except csv.Error as exc:
        raise WooxyInputError(f"{path} is not valid CSV near row {row + 1}: {exc}.") from None


def _iter_csv(text: IO[str], field: str) -> Iterator[Item]:
    reader = csv.reader(text, strict=True)
    header = next(reader, None)
    if header is None:
        return
    header = [name.strip() for name in header]
    if field not in header:
        found = ", ".join(repr(name) for name in header[:20]) or "none"
        raise WooxyInputError(
            f"CSV header has no {field!r} column (columns found: {found}); set field= to the column holding the "
            "address."
        )
    index = header.index(field)
    extra = [(i, name) for i, name in enumerate(header) if name in ("rejectType", "rawLog")]
    width = len(header)
    row = 0
    for row, values in enumerate(reader, start=1):
        if len(values) != width:
            if not values or (len(values) == 1 and not values[0].strip()):
                yield row, RecordError("empty CSV row")
            else:
                yield row, RecordError(f"CSV row has {len(values)} fields but the header has {width}")
            continue
        if not extra:
            yield row, values[index]
        else:
            item = {field: values[index]}
            for i, name in extra:
                item[name] = values[i]
            yield row, item


def _iter_json_lines(text: IO[str], field: str) -> Iterator[Item]:
    decode = json.loads
    for row, line in enumerate(text, start=1):
        if not line.strip():
            yield row, RecordError("empty line")
            continue
        try:
            yield row, decode(line)
        except ValueError as exc:
            yield row, RecordError(f"line is not valid JSON ({exc})")


class _Utf8Chunks:
    """The decoded text (byte-order mark dropped, bad bytes reported as for CSV) as UTF-8 bytes again, for ijson."""

    def __init__(self, head: str, text: IO[str]) -> None:
        self._head = head
        self._text = text

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson's probe for bytes or text
            return b""
        if self._head:
            chunk, self._head = self._head, ""
        else:
            chunk = self._text.read(size)
        return chunk.encode()


def _iter_json_array(text: IO[str], field: str) -> Iterator[Item]:
    """Stream the elements of a top-level JSON array without loading the whole document (ijson's C parser)."""
    chunk_size = _CHUNK
    head = ""
    while not head.strip():
        chunk = text.read(chunk_size)
        if not chunk:
            return  # an empty document: no records
        head += chunk
    first = head.lstrip(" \t\r\n")[0]
    if first != "[":
        kind = "an object" if first == "{" else f"{first!r}"
        raise WooxyInputError(f"expected a JSON array of records, but the document starts with {kind}.")
    row = 0
    try:
        # use_float: numbers as json.loads gives them (int or float), not Decimal.
        for value in ijson.items(_Utf8Chunks(head, text), "item", use_float=True, buf_size=chunk_size):
            row += 1
            yield row, value
    except ijson.JSONError as exc:
        # yajl's message is several lines with a caret under the bad spot: its first line is the part to read.
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WooxyInputError(f"the JSON array is broken after element {row}: {reason}.") from None


def iter_input(
    *,
    records: Any = None,
    path: str | None = None,
    file_format: str | None = None,
    conn_id: str | None = None,
    field: str,
) -> Iterator[Item]:
    """The items of whichever input the operator was given: exactly one of ``records`` and ``path``."""
    if (records is None) == (path is None or path == ""):
        raise WooxyInputError("give exactly one of records= (a list, e.g. an XComArg) and path= (a file or URI).")
    if records is not None:
        return iter_xcom_records(records)
    return iter_file_records(str(path), file_format=file_format, conn_id=conn_id, field=field)
