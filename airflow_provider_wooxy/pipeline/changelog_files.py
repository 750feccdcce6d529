"""
A changelog file (``changelog_path``): CSV or JSON Lines, optionally ``.gz``, or Parquet (the ``[parquet]`` extra),
as the path's suffix says; local or on object storage.

A run **appends**: its rows go after the file's, and the file is replaced whole or not at all
(:func:`~airflow_provider_wooxy.pipeline.atomic.output_file`): the old file is copied into a temporary file beside
it, the new rows follow, then it is moved into place. CSV and JSON Lines copy the old bytes as they are (a ``.gz``
file gets a gzip member of its own, which every gzip reader reads on); Parquet copies the old row groups. Each run
thus re-writes the file: for a long history, template the path per run (``{{ ds }}``) or use a table.

Plain Python: no Airflow import.
"""

from __future__ import annotations

import csv
import datetime
import gzip
import io
import json
import shutil
from typing import IO, TYPE_CHECKING, Any

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.atomic import output_file
from airflow_provider_wooxy.pipeline.changelog import Row, columns, rows_of

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

CHUNK_ROWS = 20_000
"""Rows encoded at once (CSV, JSON Lines) or per Parquet row group."""


def changelog_format(path: str) -> tuple[str, bool]:
    """``(format, gzipped)`` of a changelog path: ``csv`` / ``jsonl`` (``.ndjson`` too), optionally ``.gz``, or
    ``parquet``."""
    name = str(path).rstrip("/").rsplit("/", 1)[-1].lower()
    base = name.removesuffix(".gz")
    gzipped = base != name
    if base.endswith(".csv"):
        return "csv", gzipped
    if base.endswith((".jsonl", ".ndjson")):
        return "jsonl", gzipped
    if base.endswith(".parquet") and not gzipped:
        return "parquet", False
    raise WooxyInputError(f"changelog_path {path!r}: unknown suffix; use .csv or .jsonl (optionally .gz), or .parquet.")


def _chunks(rows: Iterable[Row]) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class FileSink:
    """
    Appends changelog rows to one file (see the module's docstring).

    :param location: the file (a ``Path``, or a path object on object storage).
    :param display: the path as the user wrote it: its suffix says the format, messages name it.
    """

    def __init__(self, location: Any, display: str) -> None:
        self.location = location
        self.display = display
        self.fmt, self.gzipped = changelog_format(display)

    def write(self, lines: Callable[[], Iterator[bytes]], key_field: str, written: list[int]) -> int:
        """Append the rows of the spool ``lines()``; whole or not at all (``written`` stays 0 on a failure)."""
        names = columns(key_field)
        rows = rows_of(lines(), key_field)
        old = self.location if self.location.exists() and self.location.stat().st_size else None  # empty: new
        with output_file(self.location) as out:
            if self.fmt == "parquet":
                count = _write_parquet(out, rows, names, old, self.display)
            else:
                if old is not None:
                    self._check_header(names)
                    with old.open("rb") as previous:
                        shutil.copyfileobj(previous, out, 1 << 20)
                count = self._write_text(out, rows, names, header=old is None)
        return count

    def _check_header(self, names: tuple[str, ...]) -> None:
        """An existing CSV must have the changelog's columns: rows appended under other columns would lie."""
        if self.fmt != "csv":
            return
        with self.location.open("rb") as raw:
            stream: IO[bytes] = gzip.GzipFile(fileobj=raw) if self.gzipped else raw  # type: ignore[assignment]
            first = stream.readline().decode("utf-8", "replace").rstrip("\r\n")
        if first and first.split(",") != list(names):
            raise WooxyInputError(
                f"changelog_path {self.display!r} has other columns ({first}): it is not this list's changelog; "
                "give another path."
            )

    def _write_text(self, out: IO[bytes], rows: Iterable[Row], names: tuple[str, ...], *, header: bool) -> int:
        stream: IO[bytes] = gzip.GzipFile(fileobj=out, mode="wb") if self.gzipped else out  # type: ignore[assignment]
        text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
        count = 0
        if self.fmt == "csv":
            writer = csv.writer(text, lineterminator="\n")
            if header:
                writer.writerow(names)
            for chunk in _chunks(rows):
                writer.writerows(chunk)
                count += len(chunk)
        else:
            dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
            for chunk in _chunks(rows):
                text.write("".join([dumps(dict(zip(names, row, strict=True))) + "\n" for row in chunk]))
                count += len(chunk)
        text.flush()
        text.detach()
        if stream is not out:
            stream.close()
        return count


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise WooxyInputError(
            "writing a Parquet changelog needs pyarrow: install the provider's parquet extra "
            "(pip install 'airflow-provider-wooxy[parquet]'), or use a .csv or .jsonl changelog_path."
        ) from None
    return pa, pq


def parquet_schema(pa: Any, names: tuple[str, ...]) -> Any:
    """The Parquet changelog's schema: text columns, ``try_number`` an int64, ``at`` a UTC timestamp (ms)."""
    types = {"try_number": pa.int64(), "at": pa.timestamp("ms", tz="UTC")}
    return pa.schema([pa.field(name, types.get(name, pa.string())) for name in names])


def _at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _write_parquet(out: IO[bytes], rows: Iterable[Row], names: tuple[str, ...], old: Any, display: str) -> int:
    pa, pq = _pyarrow()
    schema = parquet_schema(pa, names)
    at = names.index("at")
    count = 0
    writer = pq.ParquetWriter(out, schema)
    try:
        if old is not None:
            with old.open("rb") as previous:
                existing = pq.ParquetFile(previous)
                if existing.schema_arrow.names != list(names):
                    raise WooxyInputError(
                        f"changelog_path {display!r} has other columns ({', '.join(existing.schema_arrow.names)}): "
                        "it is not this list's changelog; give another path."
                    )
                for group in range(existing.num_row_groups):  # one row group in memory at a time
                    writer.write_table(existing.read_row_group(group).cast(schema))
        for chunk in _chunks(rows):
            values = [list(column) for column in zip(*chunk, strict=True)]
            values[at] = [_at(text) for text in values[at]]
            writer.write_table(
                pa.Table.from_arrays([pa.array(v, f.type) for v, f in zip(values, schema, strict=True)], schema=schema)
            )
            count += len(chunk)
    finally:
        writer.close()
    return count
