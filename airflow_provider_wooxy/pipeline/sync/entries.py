"""
What one entry of each Wooxy list is, for a sync: how it is written in the state, compared, and removed.

An email entry is an address with a reject type (``john@example.com`` + ``hard``): Wooxy keeps one entry per
type, and a sync removes only the type it added. Addresses are compared case-insensitively (as the push
operators' dedupe does), so a warehouse that changes ``John@`` into ``john@`` changes nothing on Wooxy. A phone
entry is an E.164 number: the phone list's remove method takes no reject type.

Plain Python: no Airflow import.
"""

from __future__ import annotations

import functools
import json
import re
from typing import TYPE_CHECKING, Any

import phonenumbers

from airflow_provider_wooxy.api import EMAIL_LIST, EMAIL_REJECT_TYPES, PHONE_LIST, WooxyList

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from airflow_provider_wooxy.pipeline.door import WooxyDoor


class ListKind:
    """
    The email or the phone list, as a sync holds its entries. Four forms of an entry appear below:

    * its **state line**, as the state stores it: ``address<TAB>reject type`` (email, the address as added), or an
      E.164 number (phone);
    * its **identity**, the form two entries are compared in: the state line lower-cased (email), the number (phone);
    * its **address**, the identity without the reject type: the lower-cased address (email), the number (phone).
      Entries are spread over a state's partitions by it
      (:func:`~airflow_provider_wooxy.pipeline.sync.partitions.partition_of`);
    * its **payload**, the JSON record of an add or a remove request.
    """

    wooxy: WooxyList
    """The list as the API defines it (method paths, key field, reject types, remove semantics)."""
    name: str
    """``wooxy.name``: how states, plans and summaries name the list."""
    address_key: str
    """``wooxy.key_field``: the record key holding an entry's address."""
    entry_described: str
    """How a message names one state line (``line 5 is not {entry_described}``)."""
    find_pages_the_list: bool
    """Whether the list's find method pages every entry of a reject type (email), so that a drift check reads the
    whole list; else it looks one address up (phone), and a drift check looks up a sample."""
    shape: re.Pattern[str]
    """What a state line of this list looks like (a corrupt or foreign state fails loading)."""

    def identity(self, lines: str) -> str:
        """The identity of the state line ``lines``, or of each line of a text of them at once (lines stay lines)."""
        raise NotImplementedError

    def identity_of_key(self, key: str) -> str:
        """The identity of a validated record, from its validation (dedupe) key."""
        raise NotImplementedError

    def address_of(self, identity: str) -> str:
        """The address of an identity."""
        raise NotImplementedError

    def addresses(self, text: str) -> str:
        """The address of each state line of ``text`` (each ending in a newline), at once; lines stay lines."""
        raise NotImplementedError

    # A sync's first pass (pipeline/sync/first_pass.py) matches input texts to managed entries as they stand.

    def plain_addresses(self, reject_type: str | None) -> Callable[[list[str]], list[str]] | None:
        """
        A function giving, for a list of input texts, the address each names as it stands (without trimming or
        parsing, in C), and ``""`` for a text that names none that way. None when the run's records have no such
        form.

        :param reject_type: the run's reject type for records that give none.
        """
        raise NotImplementedError

    def named_plainly(self, text: str, reject_type: str | None) -> list[str]:
        """
        For each state line of ``text`` (each ending in a newline), the plain input text that names its entry in a
        run of ``reject_type``: its address, or, for an entry of another reject type, a text no input holds.
        """
        raise NotImplementedError

    def loose_address(self, value: object, default_region: str | None) -> str | None:
        """
        The address an input value that failed validation would name, as far as it can be read (None: none), so
        that a managed entry named by an invalid row is recognised (and kept) rather than taken for missing.
        """
        raise NotImplementedError

    def line_of_payload(self, payload: bytes | str) -> str:
        """The state line of an add or remove request body (one JSON record)."""
        raise NotImplementedError

    def remove_payload(self, line: str) -> bytes:
        """The remove request body for a managed entry (its state line)."""
        raise NotImplementedError

    def find_in(self, door: WooxyDoor) -> Callable[..., Mapping[str, Any]]:
        """The door's method that calls this list's find method (``wooxy.find``)."""
        raise NotImplementedError

    @functools.cached_property
    def _not_a_line(self) -> re.Pattern[str]:
        return re.compile(rf"^(?!(?:{self.shape.pattern})$)", re.MULTILINE)

    def first_bad_line(self, text: str) -> int | None:
        """The 0-based number of the first line of ``text`` (lines ending in a newline) not of :attr:`shape`."""
        found = self._not_a_line.search(text, 0, len(text) - 1)  # not past the last newline, where no line starts
        return None if found is None else text.count("\n", 0, found.start())


class EmailList(ListKind):
    """The email list: an entry is an address with a reject type, compared case-insensitively."""

    wooxy = EMAIL_LIST
    name = EMAIL_LIST.name
    address_key = EMAIL_LIST.key_field
    entry_described = "an email entry (address, tab, reject type)"
    find_pages_the_list = True

    def identity(self, lines: str) -> str:
        return lines.lower()  # reject types are lower case already

    def identity_of_key(self, key: str) -> str:
        return key.replace("\x00", "\t", 1)  # validation keys are "address-lower-cased\x00type"

    def addresses(self, text: str) -> str:
        lowered = text.lower()
        stripped = lowered
        for reject_type in EMAIL_REJECT_TYPES:  # each type's tail replaced at once (faster than a regex)
            tail = f"\t{reject_type}\n"
            if tail in stripped:
                stripped = stripped.replace(tail, "\n")
        return stripped if "\t" not in stripped else _TYPE_TAIL.sub("", lowered)

    def plain_addresses(self, reject_type: str | None) -> Callable[[list[str]], list[str]] | None:
        if not reject_type:
            return None

        def addresses(texts: list[str]) -> list[str]:
            joined = "".join(texts)
            if joined.isascii() and "\t" not in joined:
                return texts if joined.lower() == joined else list(map(str.lower, texts))
            # str.lower turns a few non-ASCII letters into ASCII ones (the Kelvin sign into "k"), but an address
            # with a non-ASCII local part is invalid, and one with a non-ASCII domain is sent in its ASCII form:
            # such a text names no entry as it stands, nor does one holding a tab.
            return [text.lower() if text.isascii() and "\t" not in text else "" for text in texts]

        return addresses

    def named_plainly(self, text: str, reject_type: str | None) -> list[str]:
        # The run's entries lose their "\t<type>": their addresses. Entries of other types keep theirs, which no
        # input text (none holds a tab) can equal.
        named = text.lower().replace(f"\t{reject_type}\n", "\n").split("\n")
        named.pop()  # after the last newline
        return named

    def line_of_payload(self, payload: bytes | str) -> str:
        record = json.loads(payload)
        return f"{record['email']}\t{record['rejectType']}"

    def remove_payload(self, line: str) -> bytes:
        address, _, reject_type = line.partition("\t")
        return json.dumps({"email": address, "rejectType": reject_type}, separators=(",", ":")).encode()

    def address_of(self, identity: str) -> str:
        return identity.partition("\t")[0]

    def find_in(self, door: WooxyDoor) -> Callable[..., Mapping[str, Any]]:
        return door.find_email_blacklist

    def loose_address(self, value: object, default_region: str | None) -> str | None:
        if isinstance(value, str) and "@" in value:
            return value.strip().lower()
        return None

    # An address with an "@" before the first tab, then a reject type (no tab).
    shape = re.compile(r"[^\t\n]*@[^\t\n]*\t[^\t\n]+")


_TYPE_TAIL = re.compile(r"\t[^\n]*")
_NOT_DIGITS = re.compile(r"\D")
_E164 = re.compile(r"\+[1-9][0-9]{5,15}")


class PhoneList(ListKind):
    """The phone list: an entry is an E.164 number (its own identity and address), whatever its reject type."""

    wooxy = PHONE_LIST
    name = PHONE_LIST.name
    address_key = PHONE_LIST.key_field
    entry_described = "an E.164 number"
    find_pages_the_list = False

    def identity(self, lines: str) -> str:
        return lines

    def identity_of_key(self, key: str) -> str:
        return key.partition("\x00")[0]  # validation keys are "number\x00type": a number is one entry, any type

    def addresses(self, text: str) -> str:
        return text

    def plain_addresses(self, reject_type: str | None) -> Callable[[list[str]], list[str]] | None:
        return _as_they_stand  # an E.164 number is its own identity, whatever the reject type

    def named_plainly(self, text: str, reject_type: str | None) -> list[str]:
        named = text.split("\n")
        named.pop()  # after the last newline
        return named

    def line_of_payload(self, payload: bytes | str) -> str:
        number: str = json.loads(payload)["phoneNumber"]
        return number

    def remove_payload(self, line: str) -> bytes:
        return b'{"phoneNumber":"' + line.encode() + b'"}'

    def address_of(self, identity: str) -> str:
        return identity

    def find_in(self, door: WooxyDoor) -> Callable[..., Mapping[str, Any]]:
        return door.find_phone_blacklist

    def loose_address(self, value: object, default_region: str | None) -> str | None:
        if not isinstance(value, str) or not value.strip():
            return None
        try:
            number = phonenumbers.parse(value, default_region)
        except phonenumbers.NumberParseException:
            digits = _NOT_DIGITS.sub("", value)
            return f"+{digits}" if digits else None
        return f"+{number.country_code}{phonenumbers.national_significant_number(number)}"

    shape = _E164


def _as_they_stand(texts: list[str]) -> list[str]:
    return texts


EMAIL = EmailList()
PHONE = PhoneList()
