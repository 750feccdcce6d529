"""Collecting rejected records: a capped, masked sample for logs and XCom, the full list for ``rejects_path``."""

from __future__ import annotations

import csv
import gzip
import io
import json
import tempfile
from typing import IO, TYPE_CHECKING, Any

from airflow_provider_wooxy.masking import mask_in, mask_value, scrub
from airflow_provider_wooxy.pipeline.atomic import output_file
from airflow_provider_wooxy.pipeline.storage import storage_path

if TYPE_CHECKING:
    from collections.abc import Callable

SAMPLE_SIZE = 20


def _encodable(text: str) -> str:
    """``text`` as UTF-8 can hold it: a lone surrogate becomes its escape (``\\ud800``), so writing cannot fail."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode()
    return text


class Rejects:
    """
    Every record that will not be sent because it is invalid, with its 1-based row and a reason.

    The full values go to a temporary JSON Lines file (and from there to ``rejects_path``); only masked values
    are kept in memory, for the log and the summary.
    """

    def __init__(self) -> None:
        self.count = 0
        # Set for an input of several files (pipeline/sources/files.py): a stream row -> (file, its row in the file).
        self.locate: Callable[[int], tuple[str, int]] | None = None
        self.sample: list[dict[str, Any]] = []
        # Lives as long as this object: closed by close().
        self._file: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8", prefix="wooxy-rejects-")  # noqa: SIM115

    def add(self, row: int, value: object, reason: str, source: str = "validation") -> None:
        self.count += 1
        where = {} if self.locate is None else dict(zip(("file", "file_row"), self.locate(row), strict=True))
        self._file.write(
            json.dumps(
                {
                    "row": row,
                    "value": _encodable(value if isinstance(value, str) else repr(value)),
                    "reason": _encodable(reason),
                    "source": source,
                    **where,
                }
            )
            + "\n"
        )
        if len(self.sample) < SAMPLE_SIZE:
            self.sample.append(
                {
                    "row": row,
                    "value": mask_value(value),
                    "reason": scrub(mask_in(reason, value)),
                    "source": source,
                    **where,
                }
            )

    def describe(self, limit: int = 5) -> str:
        """``row 3: reason (value j***@e***.com); row 9: ...`` for an error message or a log line."""
        parts = [
            (f"{r['file']} row {r['file_row']}" if "file" in r else f"row {r['row']}")
            + f": {r['reason']} (value {r['value']})"
            for r in self.sample[:limit]
        ]
        more = f"; and {self.count - limit} more" if self.count > limit else ""
        return "; ".join(parts) + more

    def export(self, path: Any) -> None:
        """
        Write every reject, unmasked, as CSV (``.csv``) or JSON Lines (anything else), optionally gzipped, to
        ``path`` (a path object, or a local path).
        """
        self._file.flush()
        self._file.seek(0)
        location = storage_path(path)
        lower = str(location).lower()
        with output_file(location) as raw:  # whole or not at all
            stream: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="wb") if lower.endswith(".gz") else raw  # type: ignore[assignment]
            text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
            if lower.removesuffix(".gz").endswith(".csv"):
                fields = ["row", "value", "reason", "source"] + (["file", "file_row"] if self.locate else [])
                writer = csv.DictWriter(text, fieldnames=fields)
                writer.writeheader()
                for line in self._file:
                    writer.writerow(json.loads(line))
            else:
                for line in self._file:
                    text.write(line)
            text.flush()
            text.detach()
            if stream is not raw:
                stream.close()

    def close(self) -> None:
        self._file.close()
