"""
Reading a CSV file (with a header row), streamed a chunk of rows at a time.

A one-column CSV is split into lines by ``str.split``, a block at a time, at several times the speed of the ``csv``
module, which reads from the first block holding a quote, a comma, NUL or a lone CR on. A ragged row is yielded as
a :class:`~airflow_provider_wooxy.pipeline.validation.RecordError`; a header that cannot be read raises
:class:`~airflow_provider_wooxy.exceptions.WooxyInputError`, and text the csv module refuses :class:`CsvError`.
"""

from __future__ import annotations

import csv
import io
from typing import IO, TYPE_CHECKING, cast

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.masking import looks_personal, mask_value
from airflow_provider_wooxy.pipeline.sources.chunks import CHUNK_ROWS, Chunk, TextChunk
from airflow_provider_wooxy.pipeline.sources.columns import columns_read
from airflow_provider_wooxy.pipeline.validation import RecordError

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator

_BLOCK = 1 << 16
FIELD_LIMIT = 1 << 17
"""The longest field read (128 Ki characters, the csv module's default limit): an address is at most 254
characters and a rawLog 1024 bytes, so a longer field is a file that is not the CSV it seems."""
"""Characters of a one-column CSV split into lines at once (a megabyte held 10 MB more in a streaming push)."""


class CsvError(Exception):
    """The csv module's error, with the data row it stopped at."""

    def __init__(self, row: int, reason: str) -> None:
        super().__init__(reason)
        self.row = row
        self.reason = reason


def csv_chunks(text: IO[str], field: str) -> Iterator[Chunk]:
    """The rows of a CSV text (its first row the header), a chunk at a time: the ``field`` cells, with
    ``rejectType`` / ``rawLog`` when the header names them."""
    reader = csv.reader(text, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise CsvError(0, _csv_reason(exc)) from None
    if header is None:
        return
    header = [name.strip() for name in header]
    check_header(header, field)
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
    yield from csv_row_chunks(reader, header, field, row)


def _plain_chunks(text: IO[str]) -> Generator[Chunk, None, tuple[int, str | None]]:
    """
    The values of a one-column CSV (its header read), a block at a time, as the csv module reads them: one per
    line, an empty line being an empty row. Returns ``(last row, None)`` at the end, or ``(last row, text)`` at the
    first block the csv module reads otherwise, with the unread text from the start of that block.
    """
    row = 0
    carry: list[str] = []  # a line not ended yet, in parts: joined once it ends, so a long line costs linear time
    carried = 0
    while block := text.read(_BLOCK):
        while block[-1] == "\r":  # a CR LF must not be cut in two (nor the last of several CRs from its LF)
            more = text.read(1)
            if not more:
                break
            block += more
        # Only the new block is looked at: the carried parts were looked at when they came.
        plain = _plain_lines(block)
        if plain is None:
            return row, "".join(carry) + block
        block = plain
        end = block.rfind("\n") + 1
        line = carried + (block.find("\n") if end else len(block))  # the carried line, with this block's part
        if line > FIELD_LIMIT:  # a block is shorter than the limit: only a carried line can be longer
            raise CsvError(row, _too_long(line))
        if not end:
            carry.append(block)
            carried = line
            continue
        block, rest = "".join(carry) + block[:end], block[end:]
        carry, carried = ([rest], len(rest)) if rest else ([], 0)
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
        yield Chunk(range(row, row + 1), ["".join(carry)])
    return row, None


def _plain_lines(block: str) -> str | None:
    """
    ``block`` with CR LF as LF, or None when the csv module reads it otherwise than one value per line: a quote,
    the delimiter, NUL, a lone CR (a substring test runs at memory speed; a regex would take longer than the split).
    """
    if '"' in block or "," in block or "\x00" in block:
        return None
    if "\r" in block:
        if block.count("\r") != block.count("\r\n"):
            return None
        return block.replace("\r\n", "\n")
    return block


def _too_long(size: int | None = None) -> str:
    more = f" ({size} or more)" if size else ""
    return (
        f"a field is longer than {FIELD_LIMIT} characters{more}: no address, reject type or rawLog is that long; "
        "check that the file is CSV with commas between fields"
    )


def _csv_reason(exc: csv.Error) -> str:
    """The csv module's error, in words a person can act on where it has a plainer one."""
    return _too_long() if "field larger than field limit" in str(exc) else str(exc)


def _resumed(rest: str, text: IO[str]) -> Iterator[str]:
    """The lines of ``rest`` (text read ahead), then of ``text``: what a csv reader on ``text`` would have read."""
    lines = io.StringIO(rest, newline="").readlines()
    if lines and not lines[-1].endswith(("\n", "\r")):  # the block's last line goes on in ``text``
        lines[-1] += next(text, "")
    yield from lines
    yield from text


def csv_row_chunks(reader: Iterator[list[str]], header: list[str], field: str, row: int) -> Iterator[Chunk]:
    """The rows of a CSV (``reader`` past the ``header``), ``CHUNK_ROWS`` at a time, numbered after ``row``."""
    found = columns_read(header, field, "the CSV header")
    index = found.pop(field)
    extra = [(i, name) for name, i in found.items()]
    width = len(header)
    start = row + 1
    items: list[object] = []
    try:
        for row, values in enumerate(reader, start=start):  # noqa: B007 (the row is the error's)
            if len(values) != width:
                items.append(_ragged(values, width))
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
        raise CsvError(start + len(items) - 1, _csv_reason(exc)) from None
    except Exception:  # a byte that is not UTF-8, a broken gzip stream: the same
        if items:
            yield Chunk(range(start, start + len(items)), items)
        raise
    if items:
        yield Chunk(range(start, start + len(items)), items)


def _ragged(values: list[str], width: int) -> RecordError:
    """The reject of a row whose number of fields is not the header's: an empty row, or a ragged one."""
    if not values or (len(values) == 1 and not values[0].strip()):
        return RecordError("empty CSV row")
    return RecordError(f"CSV row has {len(values)} fields but the header has {width}")


def check_header(header: list[str], field: str) -> None:
    """A usable header: the ``field`` column present, the columns read found by columns.py's rule; else one clear
    error."""
    if field in columns_read(header, field, "the CSV header"):
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
