"""
Writing the entries a read flow found (the export's list, the look-up's listed numbers) to a CSV or JSON Lines
file, optionally gzipped: the format a path asks for, and the writer.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from typing import IO, TYPE_CHECKING, Any

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.sources.file import detect_format

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

EXPORT_FORMATS = ("csv", "jsonl")
"""The formats a file of entries is written in."""
_WRITE_SIZE = 1 << 20
_READ_AS = {"csv": "csv", "jsonl": "jsonl", "json": "jsonl"}
"""Input formats an export may be written in: a ``.json`` name gets JSON Lines."""


class ExportError(Exception):
    """An export or a look-up cannot be done as asked (a format it cannot write, an answer that is not a page)."""


def export_format(path: str) -> tuple[str, bool]:
    """``(format, gzipped)`` from the path's suffixes: ``.csv`` or ``.jsonl`` / ``.ndjson`` / ``.json`` (written as
    JSON Lines), optionally ``.gz``; read as the input readers read them (:func:`~.sources.file.detect_format`)."""
    try:
        fmt, gzipped = detect_format(path, None)
    except WooxyInputError:
        fmt, gzipped = "", False
    if fmt not in _READ_AS:
        raise ExportError(
            f"cannot tell the export format of {path!r} from its name: use a .csv or .jsonl suffix (optionally .gz)."
        )
    return _READ_AS[fmt], gzipped


class EntryWriter:
    """
    Writes blacklist entries to a binary stream, one row per entry: ``email``, ``rejectType``, ``createdAt``,
    ``expireAt`` (when present) and ``rawLog`` (when asked for).

    CSV always has the same columns (empty when absent); JSON Lines leaves absent keys out.

    :param stream: an open binary stream (local file or object storage); not closed here.
    :param fmt: ``csv`` or ``jsonl``.
    :param gzipped: compress what is written.
    :param with_raw_log: include the ``rawLog`` column.
    :param columns: other columns than the email blacklist's (the phone look-up's).
    """

    def __init__(
        self,
        stream: IO[bytes],
        fmt: str,
        *,
        gzipped: bool = False,
        with_raw_log: bool = False,
        columns: Sequence[str] | None = None,
    ) -> None:
        if fmt not in EXPORT_FORMATS:
            raise ExportError(f"export format {fmt!r} is not one of {', '.join(EXPORT_FORMATS)}.")
        self._gzip = gzip.GzipFile(fileobj=stream, mode="wb") if gzipped else None
        self._out: IO[bytes] = self._gzip if self._gzip is not None else stream  # type: ignore[assignment]
        if columns is not None:
            self.columns = list(columns)
        else:
            self.columns = ["email", "rejectType", "createdAt", "expireAt"] + (["rawLog"] if with_raw_log else [])
        self._csv = fmt == "csv"
        # Pages are gathered into writes of about 1 MiB: every write may block on I/O and release the GIL, and
        # taking it back from the paging threads can cost milliseconds.
        self._pending: list[bytes] = []
        self._pending_size = 0
        if self._csv:
            self.write_text(",".join(self.columns) + "\n")

    def write_text(self, text: str) -> None:
        data = text.encode("utf-8")
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= _WRITE_SIZE:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self._out.write(b"".join(self._pending))
            self._pending, self._pending_size = [], 0

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        """Write one page of rows: encoded together and written at once (a write per row costs more than the row)."""
        if self._csv:
            page = io.StringIO()
            columns = self.columns
            csv.writer(page, lineterminator="\n").writerows([row.get(c, "") for c in columns] for row in rows)
            self.write_text(page.getvalue())
        else:
            dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
            self.write_text("".join([dumps(row) + "\n" for row in rows]))

    def close(self) -> None:
        """Write what is pending and end the gzip member, if any; the underlying stream stays open."""
        self.flush()
        if self._gzip is not None:
            self._gzip.close()
