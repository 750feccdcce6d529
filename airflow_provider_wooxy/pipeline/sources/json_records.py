"""
Reading a JSON array of records (streamed by ijson's C parser) or JSON Lines (one record a line).

A line that is not JSON is yielded as a :class:`~airflow_provider_wooxy.pipeline.validation.RecordError`; a broken
array, or an object holding the address key twice (which value to read is ambiguous), raises
:class:`~airflow_provider_wooxy.exceptions.WooxyInputError`.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import IO, TYPE_CHECKING

import ijson

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.masking import scrub
from airflow_provider_wooxy.pipeline.validation import RecordError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_wooxy.pipeline.sources.chunks import Item

_CHUNK = 1 << 16
"""Characters of a JSON array read at once."""
MAX_DEPTH = 32
"""The deepest nesting read (the array of records counts as one level): records are flat, and a parser's cost
grows with the depth (ijson keeps a path per level: 40 KB of ``[[[...`` took 1 GB), so deeper is refused."""

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_STRING_END = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
"""The rest of a string that began in an earlier part, up to its closing quote."""
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class TooDeep(Exception):
    """Text nests deeper than :data:`MAX_DEPTH`."""


def _odd_backslashes(text: str) -> bool:
    return (len(text) - len(text.rstrip("\\"))) % 2 == 1


class Nesting:
    """
    The nesting depth of JSON text fed a part at a time, in time linear in the text: only the state at a part's
    end is kept (the depth, whether a string is open, whether its last backslash escapes the next character).
    """

    def __init__(self) -> None:
        self.depth = 0
        self._in_string = False
        self._escaped = False

    def feed(self, text: str) -> int:
        """How much of ``text`` is within the limit: ``len(text)``, or where it first nests too deep."""
        in_string, escaped = self._in_string, self._escaped
        body = text
        if in_string:  # the string open at the last part's end goes on here
            end = _STRING_END.match(("\\" if escaped else "") + text)
            if end is None:
                self._escaped = _odd_backslashes(("\\" if escaped else "") + text)
                return len(text)
            body = text[end.end() - escaped :]
        if "\\" in body:  # escapes: the strings found by a regex
            scanned = _STRING.sub("", body)
            quote = scanned.find('"')
            outside, self._in_string = (scanned[:quote], True) if quote >= 0 else (scanned, False)
            self._escaped = quote >= 0 and _odd_backslashes(scanned[quote:])
        else:  # no escapes (the common case): every other piece between quotes is outside a string
            pieces = body.split('"')
            outside, self._in_string, self._escaped = "".join(pieces[0::2]), len(pieces) % 2 == 0, False
        brackets = _NOT_BRACKET.sub("", outside)
        levels = list(itertools.accumulate(map(_STEP.__getitem__, brackets), initial=self.depth))
        if max(levels) <= MAX_DEPTH:
            self.depth = levels[-1]
            return len(text)
        return self._first_too_deep(text, in_string, escaped)

    def _first_too_deep(self, text: str, in_string: bool, escaped: bool) -> int:
        """Where in ``text`` the limit is passed: the same count, a character at a time (the rare case)."""
        depth = self.depth
        for index, char in enumerate(text):
            if in_string:
                in_string = escaped or char != '"'
                escaped = not escaped and char == "\\"
            elif char == '"':
                in_string = True
            elif char in _STEP:
                depth += _STEP[char]
                if depth > MAX_DEPTH:
                    return index
        return len(text)


def too_deep(text: str) -> bool:
    """Whether one JSON text (a line) nests deeper than :data:`MAX_DEPTH`: a cheap count first."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    nesting = Nesting()
    return nesting.feed(text) < len(text)


def iter_json_lines(text: IO[str], field: str) -> Iterator[Item]:
    """The records of a JSON Lines text, one a line."""
    decode = json.loads
    key = f'"{field}"'
    for row, line in enumerate(text, start=1):
        if not line.strip():
            yield row, RecordError("empty line")
            continue
        if too_deep(line):  # before decoding: json.loads would recurse, and stop with a RecursionError
            yield row, RecordError(f"the line nests deeper than {MAX_DEPTH} levels: records are flat objects")
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
        self._nesting = Nesting()
        self.deep = False
        """Whether the text nests deeper than :data:`MAX_DEPTH` (read stops there)."""

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson's probe for bytes or text
            return b""
        if self.deep:  # the text before the limit was handed out: its elements are read, then this stops
            raise TooDeep
        if self._head:
            chunk, self._head = self._head, ""
        else:
            chunk = self._text.read(size)
        within = self._nesting.feed(chunk)
        if within < len(chunk):
            chunk, self.deep = chunk[:within], True
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


def iter_json_array(text: IO[str], field: str, exact: bool = False) -> Iterator[Item]:
    """
    Stream the elements of a top-level JSON array without loading the whole document (ijson's C parser).

    An object holding ``field`` twice raises :class:`WooxyInputError` naming its row with ``exact``; without,
    :class:`MaybeDuplicate` at the end of a document that may hold one.
    """
    chunk_size = _CHUNK
    head = _array_head(text, chunk_size)
    if not head:
        return  # an empty document: no records
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
    except (ijson.JSONError, TooDeep) as exc:
        if chunks.deep:
            raise WooxyInputError(
                f"element {row + 1} of the JSON array nests deeper than {MAX_DEPTH} levels: records are flat "
                "objects or strings; flatten it or leave it out."
            ) from None
        raise WooxyInputError(f"the JSON array is broken after element {row}: {_yajl_reason(exc)}.") from None
    if not exact and chunks.tokens > keyed:
        raise MaybeDuplicate


def _array_head(text: IO[str], chunk_size: int) -> str:
    """The document's first chunks, up to one holding more than blanks ("" for an empty document); raises
    :class:`WooxyInputError` unless they start an array."""
    head = ""
    while not head.strip():
        chunk = text.read(chunk_size)
        if not chunk:
            return ""
        head += chunk
    first = head.lstrip(" \t\r\n")[0]
    if first != "[":
        kind = "an object" if first == "{" else f"{first!r}"
        raise WooxyInputError(f"expected a JSON array of records, but the document starts with {kind}.")
    return head


def _yajl_reason(exc: ijson.JSONError) -> str:
    # yajl's message is several lines with a caret under the bad spot: its first line is the part to read.
    return scrub(str(exc).strip().splitlines()[0]) if str(exc).strip() else type(exc).__name__


class MaybeDuplicate(Exception):
    """A JSON array may hold an object with a repeated key: read it again, exactly, to know."""
