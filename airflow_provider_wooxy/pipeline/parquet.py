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
from airflow_provider_wooxy.pipeline.validation import RecordError

if TYPE_CHECKING:
    from collections.abc import Iterator

Item = tuple[int, object]

BATCH_ROWS = 65_536
_EXTRA = ("rejectType", "rawLog")


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


def iter_parquet(stream: IO[bytes], name: str, field: str) -> Iterator[Item]:
    """Items from one Parquet file: the ``field`` column's cells, with ``rejectType`` / ``rawLog`` when present."""
    pq = _pyarrow()
    import pyarrow as pa

    try:
        parquet = pq.ParquetFile(stream)
    except (pa.ArrowException, OSError) as exc:
        raise WooxyInputError(f"{name} is not a readable Parquet file ({exc}).") from None
    columns = parquet.schema_arrow.names
    if field not in columns:
        found = ", ".join(repr(column) for column in columns[:20]) or "none"
        raise WooxyInputError(
            f"Parquet file has no {field!r} column (columns found: {found}); set field= to the column holding the "
            "address."
        )
    extra = [column for column in _EXTRA if column in columns and column != field]
    row = 0
    null = RecordError(f"null in column {field!r}")
    try:
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=[field, *extra]):
            values = batch.column(0).to_pylist()
            if not extra:
                for value in values:
                    row += 1
                    yield row, null if value is None else cell_text(value)
                continue
            others = [batch.column(i + 1).to_pylist() for i in range(len(extra))]
            for i, value in enumerate(values):
                row += 1
                if value is None:
                    yield row, null
                    continue
                item = {field: cell_text(value)}
                for column, cells in zip(extra, others, strict=True):
                    item[column] = cells[i]
                yield row, item
    except (pa.ArrowException, OSError) as exc:
        raise WooxyInputError(f"{name} is not a readable Parquet file after row {row} ({exc}).") from None
