"""
Reading blacklist input, streamed: records handed over through XCom, or a CSV / JSON / JSON Lines file
(optionally gzipped) on local disk or any Airflow object storage.

Every reader yields ``(row, item)`` pairs, ``row`` being the record's 1-based position in the input (for CSV,
data rows after the header), and hands them over a chunk of rows at a time as well (pipeline/chunks.py). A
one-column CSV is split into lines by ``str.split``, a block at a time, at several times the speed of the ``csv``
module, which reads from the first block holding a quote, a comma, NUL or a lone CR on. A row that cannot be read
at all (a ragged CSV row, a broken JSON line) is yielded as a
:class:`~airflow_provider_wooxy.pipeline.validation.RecordError`, so that it is reported like any invalid record.
A file that is unusable as a whole raises :class:`~airflow_provider_wooxy.exceptions.WooxyInputError`.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from typing import IO, Any, cast

import ijson

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.masking import looks_personal, mask_value, scrub
from airflow_provider_wooxy.pipeline.chunks import CHUNK_ROWS, Chunk, Item, Items, TextChunk, chunks_of
from airflow_provider_wooxy.pipeline.files import FileItems, expand, is_many
from airflow_provider_wooxy.pipeline.parquet import parquet_chunks
from airflow_provider_wooxy.pipeline.sql import iter_sql_records
from airflow_provider_wooxy.pipeline.storage import storage_path
from airflow_provider_wooxy.pipeline.validation import RecordError

FILE_FORMATS = ("csv", "json", "jsonl", "parquet")
_SUFFIXES = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
_CHUNK = 1 << 16
_BUFFER = 1 << 20

_BLOCK = 1 << 16
"""Characters of a one-column CSV split into lines at once (a megabyte held 10 MB more in a streaming push)."""


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
def _open_binary(path: str, conn_id: str | None) -> Iterator[IO[bytes]]:
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
        yield raw


@contextlib.contextmanager
def _open_text(path: str, conn_id: str | None, gzipped: bool, errors: str = "strict") -> Iterator[IO[str]]:
    with _open_binary(path, conn_id) as raw:
        # Object storage files come wrapped for lineage tracking, at a Python call per attribute access; one
        # large buffer in front keeps that to one call per megabyte instead of several per line. A local file
        # is buffered already.
        buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(_RawAdapter(raw), _BUFFER)
        stream: IO[bytes] = gzip.GzipFile(fileobj=buffered, mode="rb") if gzipped else buffered  # type: ignore[assignment]
        # utf-8-sig drops a byte-order mark; newline="" lets the csv module see quoted line breaks.
        yield io.TextIOWrapper(stream, encoding="utf-8-sig", errors=errors, newline="")


def iter_file_records(path: str, *, file_format: str | None = None, conn_id: str | None = None, field: str) -> Items:
    """Items from a CSV (with a header row), JSON array, JSON Lines or Parquet file, streamed."""
    fmt, gzipped = detect_format(path, file_format)
    if fmt == "parquet":
        return Items(lambda: _parquet_file_chunks(path, conn_id, field))
    return Items(lambda: _text_file_chunks(path, fmt, gzipped, conn_id, field))


def _parquet_file_chunks(path: str, conn_id: str | None, field: str) -> Iterator[Chunk]:
    with _open_binary(path, conn_id) as raw:
        yield from parquet_chunks(raw, path, field)


def _text_file_chunks(path: str, fmt: str, gzipped: bool, conn_id: str | None, field: str) -> Iterator[Chunk]:
    readers: dict[str, Callable[[IO[str], str], Iterator[Chunk]]] = {
        "csv": _csv_chunks,
        "json": lambda text, field: chunks_of(_iter_json_array(text, field)),
        "jsonl": lambda text, field: chunks_of(_iter_json_lines(text, field)),
    }
    try:
        with _open_text(path, conn_id, gzipped) as text:
            yield from readers[fmt](text, field)
    except _CsvError as exc:
        raise WooxyInputError(f"{path} is not valid CSV near row {exc.row + 1}: {exc.reason}.") from None
    except WooxyInputError as exc:  # a reader's whole-file problem: say which file
        raise WooxyInputError(f"{path}: {exc}") from None
    except _MaybeDuplicate:
        try:
            with _open_text(path, conn_id, gzipped) as text:
                for _ in _iter_json_array(text, field, exact=True):
                    pass
        except WooxyInputError as exc:
            raise WooxyInputError(f"{path}: {exc}") from None
    except (gzip.BadGzipFile, zlib.error, EOFError) as exc:
        raise WooxyInputError(f"{path} is not a readable gzip file ({exc}).") from None
    except UnicodeDecodeError as exc:
        # The decoder reads ahead of the rows handed out: read the file again to find the row the byte is in.
        where = _bad_byte_place(path, conn_id, gzipped, fmt)
        raise WooxyInputError(
            f"{path} is not UTF-8 text: byte 0x{exc.object[exc.start]:02x} {where} cannot be decoded. "
            "Re-export it as UTF-8."
        ) from None


def _bad_byte_place(path: str, conn_id: str | None, gzipped: bool, fmt: str) -> str:
    """Where the first byte that is not UTF-8 is: ``in data row 3`` (CSV, JSON Lines) or ``on line 7`` (JSON)."""
    with _open_text(path, conn_id, gzipped, errors="surrogateescape") as text:
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


class _CsvError(Exception):
    """The csv module's error, with the data row it stopped at."""

    def __init__(self, row: int, reason: str) -> None:
        super().__init__(reason)
        self.row = row
        self.reason = reason


def _csv_chunks(text: IO[str], field: str) -> Iterator[Chunk]:
    reader = csv.reader(text, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise _CsvError(0, str(exc)) from None
    if header is None:
        return
    header = [name.strip() for name in header]
    _check_header(header, field)
    row = 0
    if header == [field]:
        # One column: whole blocks split into lines while they hold nothing the csv module reads otherwise.
        plain = _plain_chunks(text)
        while True:
            try:
                chunk = next(plain)
            except StopIteration as end:
                row, rest = end.value
                break
            yield chunk
        if rest is None:
            return
        reader = csv.reader(_resumed(rest, text), strict=True)
    yield from _csv_row_chunks(reader, header, field, row)


def _plain_chunks(text: IO[str]) -> Generator[Chunk, None, tuple[int, str | None]]:
    """
    The values of a one-column CSV (its header read), a block at a time, as the csv module reads them: one per
    line, an empty line being an empty row. Returns ``(last row, None)`` at the end, or ``(last row, text)`` at the
    first block the csv module reads otherwise, with the unread text from the start of that block.
    """
    row = 0
    carry = ""
    while block := text.read(_BLOCK):
        while block[-1] == "\r":  # a CR LF must not be cut in two (nor the last of several CRs from its LF)
            more = text.read(1)
            if not more:
                break
            block += more
        block = carry + block
        # What the csv module reads otherwise than one value per line: a quote, the delimiter, NUL, a lone CR (a
        # substring test runs at memory speed; a regex would take longer than the split).
        if '"' in block or "," in block or "\x00" in block:
            return row, block
        if "\r" in block:
            if block.count("\r") != block.count("\r\n"):
                return row, block
            block = block.replace("\r\n", "\n")
        end = block.rfind("\n") + 1
        block, carry = block[:end], block[end:]
        if not block:
            continue
        values = cast("list[object]", block.split("\n"))
        values.pop()  # after the last newline
        rows = range(row + 1, row + 1 + len(values))
        if "" in values:
            yield Chunk(rows, [RecordError("empty CSV row") if value == "" else value for value in values])
        else:
            yield TextChunk(rows, values)
        row += len(values)
    if carry:  # a last line without a newline
        row += 1
        yield Chunk(range(row, row + 1), [carry])
    return row, None


def _resumed(rest: str, text: IO[str]) -> Iterator[str]:
    """The lines of ``rest`` (text read ahead), then of ``text``: what a csv reader on ``text`` would have read."""
    lines = io.StringIO(rest, newline="").readlines()
    if lines and not lines[-1].endswith(("\n", "\r")):  # the block's last line goes on in ``text``
        lines[-1] += next(text, "")
    yield from lines
    yield from text


def _csv_row_chunks(reader: Iterator[list[str]], header: list[str], field: str, row: int) -> Iterator[Chunk]:
    """The rows of a CSV, ``CHUNK_ROWS`` at a time, after ``row``."""
    index = header.index(field)
    extra = [(i, name) for i, name in enumerate(header) if name in ("rejectType", "rawLog")]
    width = len(header)
    start = row + 1
    items: list[object] = []
    try:
        for row, values in enumerate(reader, start=start):  # noqa: B007 (the row is the error's)
            if len(values) != width:
                if not values or (len(values) == 1 and not values[0].strip()):
                    items.append(RecordError("empty CSV row"))
                else:
                    items.append(RecordError(f"CSV row has {len(values)} fields but the header has {width}"))
            elif not extra:
                items.append(values[index])
            else:
                item = {field: values[index]}
                for i, name in extra:
                    item[name] = values[i]
                items.append(item)
            if len(items) == CHUNK_ROWS:
                yield Chunk(range(start, start + CHUNK_ROWS), items)
                start += CHUNK_ROWS
                items = []
    except csv.Error as exc:
        if items:  # the rows read before the error are handed out first, as a row-by-row reader would
            yield Chunk(range(start, start + len(items)), items)
        raise _CsvError(start + len(items) - 1, str(exc)) from None
    except Exception:  # a byte that is not UTF-8, a broken gzip stream: the same
        if items:
            yield Chunk(range(start, start + len(items)), items)
        raise
    if items:
        yield Chunk(range(start, start + len(items)), items)


def _check_header(header: list[str], field: str) -> None:
    """A usable header: the ``field`` column present, no column that is read named twice; else one clear error."""
    for name in (field, "rejectType", "rawLog"):
        columns = [str(i) for i, found in enumerate(header, start=1) if found == name]
        if len(columns) > 1:
            raise WooxyInputError(
                f"the CSV header names the column {name!r} {len(columns)} times (columns {', '.join(columns)}): "
                "which one to read is ambiguous; rename or drop the extra columns."
            )
    if field in header:
        return
    if header[0].startswith(("[", "{")):
        raise WooxyInputError("the file looks like JSON, not CSV: set file_format='json' (or 'jsonl').")
    data = [f"column {i}: {mask_value(name)}" for i, name in enumerate(header, start=1) if looks_personal(name)]
    if data:  # a first row of data: name it, never quote it (only the masked cells that look personal)
        raise WooxyInputError(
            f"the CSV has no header row: its first row holds what looks like an address or a number "
            f"({', '.join(data[:5])}); add a first row naming the columns, one of them {field!r}, or set field= "
            "to the column name it has."
        )
    found = ", ".join(repr(name) for name in header[:20]) or "none"
    raise WooxyInputError(
        f"CSV header has no {field!r} column (columns found: {found}); set field= to the column holding the address."
    )


def _iter_json_lines(text: IO[str], field: str) -> Iterator[Item]:
    decode = json.loads
    key = f'"{field}"'
    for row, line in enumerate(text, start=1):
        if not line.strip():
            yield row, RecordError("empty line")
            continue
        try:
            value = decode(line)
        except ValueError as exc:
            yield row, RecordError(f"line is not valid JSON ({exc})")
            continue
        if line.count(key) > 1 and _duplicated_key(line, field):  # the count is the cheap test; then parse to know
            raise _ambiguous_key(field, row)
        yield row, value


class _Utf8Chunks:
    """The decoded text (byte-order mark dropped, bad bytes reported as for CSV) as UTF-8 bytes again, for ijson."""

    def __init__(self, head: str, text: IO[str], token: str) -> None:
        self._head = head
        self._text = text
        self._token = token
        self._tail = ""
        self.tokens = 0
        """How often ``token`` occurs in the text (a quoted key: the duplicate test's cheap half)."""

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson's probe for bytes or text
            return b""
        if self._head:
            chunk, self._head = self._head, ""
        else:
            chunk = self._text.read(size)
        # The previous chunk's tail is too short to hold the token: only tokens ending in this chunk are counted.
        self.tokens += (self._tail + chunk).count(self._token)
        self._tail = chunk[-len(self._token) + 1 :]
        return chunk.encode()


def _duplicated_key(line: str, field: str) -> bool:
    """Whether the JSON object on ``line`` holds the key ``field`` more than once (the last value would win)."""
    objects: list[list[tuple[str, object]]] = []

    def keep(pairs: list[tuple[str, object]]) -> dict[str, object]:
        objects.append(pairs)
        return dict(pairs)

    json.loads(line, object_pairs_hook=keep)
    return bool(objects) and sum(key == field for key, _ in objects[-1]) > 1  # the outermost object comes last


def _ambiguous_key(field: str, row: int) -> WooxyInputError:
    return WooxyInputError(
        f"row {row}: the JSON object holds the key {field!r} more than once: which value to read is ambiguous; "
        "keep one."
    )


_DUPLICATE = "\x00duplicate key"


class _Object(dict[str, object]):
    """A JSON object from ijson that notes a repeated key (under ``_DUPLICATE``) instead of keeping the last value."""

    __slots__ = ()

    def __setitem__(self, key: str, value: object) -> None:
        if key in self:
            dict.__setitem__(self, _DUPLICATE, key)
        dict.__setitem__(self, key, value)


def _iter_json_array(text: IO[str], field: str, exact: bool = False) -> Iterator[Item]:
    """
    Stream the elements of a top-level JSON array without loading the whole document (ijson's C parser).

    An object holding ``field`` twice raises :class:`WooxyInputError` naming its row with ``exact``; without,
    :class:`_MaybeDuplicate` at the end of a document that may hold one.
    """
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
    row = keyed = 0
    chunks = _Utf8Chunks(head, text, f'"{field}"')
    try:
        # use_float: numbers as json.loads gives them (int or float), not Decimal. ijson keeps the last value of a
        # repeated key: the key's quoted name occurring more often than objects holding it is the cheap sign of
        # one (or of the name in a value or a nested object); exact= reads again with objects that note it.
        items = ijson.items(chunks, "item", use_float=True, buf_size=chunk_size, map_type=_Object if exact else None)
        for value in items:
            row += 1
            if exact:
                if value.__class__ is _Object and _DUPLICATE in value and value.pop(_DUPLICATE) == field:
                    raise _ambiguous_key(field, row)
            elif value.__class__ is dict and field in value:
                keyed += 1
            yield row, value
    except ijson.JSONError as exc:
        # yajl's message is several lines with a caret under the bad spot: its first line is the part to read.
        reason = scrub(str(exc).strip().splitlines()[0]) if str(exc).strip() else type(exc).__name__
        raise WooxyInputError(f"the JSON array is broken after element {row}: {reason}.") from None
    if not exact and chunks.tokens > keyed:
        raise _MaybeDuplicate


class _MaybeDuplicate(Exception):
    """A JSON array may hold an object with a repeated key: read it again, exactly, to know."""


def iter_input(
    *,
    records: Any = None,
    path: str | None = None,
    sql: str | None = None,
    connect: Callable[[], Any] | None = None,
    parameters: Any = None,
    file_format: str | None = None,
    conn_id: str | None = None,
    field: str,
    allow_empty: bool = False,
) -> Iterable[Item]:
    """
    The items of whichever input the operator was given: exactly one of ``records``, ``path`` (a file, a glob or
    a folder: pipeline/files.py) and ``sql`` (run on the DB-API connection ``connect()`` opens: pipeline/sql.py).
    """
    given = [name for name, value in (("records", records), ("path", path), ("sql", sql)) if value not in (None, "")]
    if len(given) != 1:
        raise WooxyInputError(
            "give exactly one of records= (a list, e.g. an XComArg), path= (a file, glob, folder or URI) and sql= "
            f"(a query), got {' and '.join(given) or 'none'}."
        )
    if records is not None:
        return iter_xcom_records(records)
    if sql:
        if connect is None:
            raise WooxyInputError("sql= needs sql_conn_id=, the connection to run the query on.")
        return iter_sql_records(connect(), sql, parameters=parameters, field=field)
    path = str(path)
    if not is_many(path):
        return iter_file_records(path, file_format=file_format, conn_id=conn_id, field=field)
    paths = expand(path, lambda p: storage_path(p, conn_id))
    if not paths and not allow_empty:
        raise WooxyInputError(
            f"no data file matches {path} (markers such as _SUCCESS, hidden and empty files are skipped); "
            "set allow_empty=True if that can be normal."
        )
    return FileItems(paths, lambda one: iter_file_records(one, file_format=file_format, conn_id=conn_id, field=field))
