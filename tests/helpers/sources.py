"""Input files as exports leave them: a Spark folder of parts in three formats, Parquet parts written by pyarrow."""

from __future__ import annotations

import gzip
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    import pyarrow as pa


def emails(n: int, start: int = 0) -> list[str]:
    return [f"user{i}@example.com" for i in range(start, start + n)]


def spark_export(folder: Path) -> Path:
    """What Spark leaves behind: parts in three formats, a _SUCCESS marker, .crc checksums, an empty part."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "part-00000.csv").write_text("email\n" + "\n".join(emails(3)) + "\n")
    (folder / "part-00001.jsonl.gz").write_bytes(
        gzip.compress("".join(json.dumps({"email": e}) + "\n" for e in emails(3, 3)).encode())
    )
    (folder / "part-00002.json").write_text(json.dumps(emails(3, 6)))
    (folder / "part-00003.csv").write_text("")  # an empty object: a marker, not data
    (folder / "_SUCCESS").write_text("")
    (folder / ".part-00000.csv.crc").write_text("crc")
    (folder / "_committed_123").write_text("{}")
    return folder


def write_parts(folder: Path, columns: dict[str, list], parts: int, **schema: pa.DataType) -> list[Path]:
    """Split ``columns`` over ``parts`` Parquet files, as a warehouse export does, with a _SUCCESS marker."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    rows = len(next(iter(columns.values())))
    size = -(-rows // parts)
    paths = []
    for part in range(parts):
        chunk = {name: values[part * size : (part + 1) * size] for name, values in columns.items()}
        table = pa.table({name: pa.array(values, type=schema.get(name)) for name, values in chunk.items()})
        path = folder / f"part-{part:05d}.parquet"
        pq.write_table(table, path, row_group_size=7)  # several row groups per part: batches cross them
        paths.append(path)
    (folder / "_SUCCESS").write_text("")
    return paths


def uk_mobiles(n: int) -> list[int]:
    """UK mobiles as a warehouse keeps them in an integer column: E.164 digits without the +."""
    return [447911000000 + i for i in range(n)]
