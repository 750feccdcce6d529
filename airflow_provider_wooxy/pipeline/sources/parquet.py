"""
Reading a Parquet file, streamed by record batch with pyarrow (the ``[parquet]`` extra), so memory stays flat in
the file's size: only the address column (and ``rejectType`` / ``rawLog`` when present) is read.

Cells come out as the rest of the pipeline expects them from a text file: an integer or decimal phone column
(warehouses often store numbers that way) becomes its digits, then is validated and normalised like text; a null
cell is a reject of its row.
"""

from __future__ import annotations

import decimal
from typing import IO, TYPE_CHECKING, Any

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.sources.chunks import Chunk
from airflow_provider_wooxy.pipeline.sources.columns import columns_read
from airflow_provider_wooxy.pipeline.validation import RecordError

if TYPE_CHECKING:
    from collections.abc import Iterator


BATCH_ROWS = 8_192


def cell_text(value: object) -> object:
    """A number read from a typed column as the text a CSV cell would hold (``447700900123``); others unchanged."""
    if value.__class__ is int:
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, decimal.Decimal) and value.is_finite() and value == value.to_integral_value():
        return str(int(value))
    return value


def _pyarrow() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise WooxyInputError(
            "reading Parquet needs pyarrow: install the provider's parquet extra "
            "(pip install 'airflow-provider-wooxy[parquet]')."
        ) from None
    return pq


def parquet_chunks(stream: IO[bytes], name: str, field: str) -> Iterator[Chunk]:
    """
    Items from one Parquet file, a record batch at a time: the ``field`` column's cells, with ``rejectType`` /
    ``rawLog`` when present.
    """
    pq = _pyarrow()
    import pyarrow as pa

    parquet = _parquet_file(stream, name, pq, pa)
    extra = _columns_read(parquet.schema_arrow.names, field)
    as_text = not pa.types.is_string(parquet.schema_arrow.field(field).type)
    null = RecordError(f"null in column {field!r}")
    row = 0
    try:
        # One thread: Arrow's decoding threads each keep an allocator arena, for no gain on one column.
        batches = parquet.iter_batches(batch_size=BATCH_ROWS, columns=[field, *extra], use_threads=False)
        for batch in batches:
            column = batch.column(0)
            values = column.to_pylist()
            if not values:
                continue
            rows = range(row + 1, row + 1 + len(values))
            if not extra and not as_text and column.null_count == 0:
                yield Chunk(rows, values)  # the common case
            else:
                others = [batch.column(i + 1).to_pylist() for i in range(len(extra))]
                yield Chunk(rows, _cells(values, others, extra, field, as_text, null))
            row += len(values)
    except (pa.ArrowException, OSError) as exc:
        raise WooxyInputError(f"{name} is not a readable Parquet file after row {row} ({exc}).") from None


def _parquet_file(stream: IO[bytes], name: str, pq: Any, pa: Any) -> Any:
    """``stream`` opened as a ``pyarrow.parquet.ParquetFile``; raises :class:`WooxyInputError` if it is not one."""
    # The file is decoded with the system allocator: Arrow's default (mimalloc) keeps what it freed, about 35 MB
    # more peak RSS over a 1M-row input for 7 MB really in use (measured, benchmarks/sources.py). A reader takes
    # the pool current when it is made, and every buffer remembers its pool, so the default is put back at once.
    default_pool = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        return pq.ParquetFile(stream, pre_buffer=False, buffer_size=1 << 20)
    except (pa.ArrowException, OSError) as exc:
        raise WooxyInputError(f"{name} is not a readable Parquet file ({exc}).") from None
    finally:
        pa.set_memory_pool(default_pool)


def _columns_read(columns: list[str], field: str) -> list[str]:
    """The columns read beside ``field`` (``rejectType`` / ``rawLog`` when present); raises
    :class:`WooxyInputError` naming the file's columns when ``field`` is not one of them."""
    found = columns_read(columns, field, "the Parquet file")
    if field not in found:
        listed = ", ".join(repr(column) for column in columns[:20]) or "none"
        raise WooxyInputError(
            f"Parquet file has no {field!r} column (columns found: {listed}); set field= to the column holding the "
            "address."
        )
    return [column for column in found if column != field]


def _cells(
    values: list[object], others: list[list[object]], extra: list[str], field: str, as_text: bool, null: RecordError
) -> list[object]:
    """A batch's items where they are not its ``field`` cells as they are: nulls rejected, numbers as their
    digits (``as_text``), each cell with the ``extra`` columns' cells of its row (``others``)."""
    items: list[object] = []
    for i, value in enumerate(values):
        if value is None:
            items.append(null)
            continue
        cell = cell_text(value) if as_text else value
        if not extra:
            items.append(cell)
            continue
        item = {field: cell}
        for key, cells in zip(extra, others, strict=True):
            item[key] = cells[i]
        items.append(item)
    return items
