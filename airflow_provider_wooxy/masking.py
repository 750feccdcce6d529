"""Masked forms of addresses and phone numbers, for logs, errors and XCom summaries."""

from __future__ import annotations

import re
import unicodedata


def _visible(text: str) -> str:
    """``text`` without control, format (bidi, zero-width), surrogate, private-use or unassigned characters: a
    masked value cannot reorder or break the line it is printed in."""
    if text.isprintable():
        return text
    return "".join(char for char in text if char == " " or unicodedata.category(char)[0] != "C")


def mask_email(value: str) -> str:
    """``john.doe@example.com`` -> ``j***@e***.com``."""
    value = _visible(value)
    local, _, domain = value.rpartition("@")
    name, dot, tld = domain.rpartition(".")
    masked_domain = f"{name[:1]}***.{tld}" if dot else f"{domain[:1]}***"
    return f"{local[:1]}***@{masked_domain}"


def mask_phone(value: str) -> str:
    """``+14155552671`` -> ``+1*******71``."""
    value = _visible(value)
    if len(value) <= 5:
        return "***"
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def mask_value(value: object) -> str:
    """Mask anything a record may carry: an email, a phone number or something else."""
    text = value if isinstance(value, str) else repr(value)
    return mask_email(text) if "@" in text else mask_phone(text)


def mask_in(text: str, value: object) -> str:
    """Replace ``value`` in ``text`` (an error message quoting it) by its masked form."""
    if isinstance(value, str) and value.strip() and value in text:
        return text.replace(value, mask_value(value))
    return text


# Something that may be an address (text around an '@') or a phone number (7 or more digits, possibly grouped by
# spaces, dots, dashes or brackets, possibly after a '+'): what a message must not quote whole. A whole number
# followed by what it counts (``12000000 fields``, ``and 1500000 more``), or a row or line number, is the provider's
# own, kept.
_ADDRESS_LIKE = re.compile(r"(?:\"[^\"\n]*\"|[^\s'\",;:()<>\[\]{}]*)@[^\s'\",;:()<>\[\]{}]*")
_COUNTED = (
    r"(?:fields|records|rows|columns|bytes|characters|lines|times|items|elements|entries|requests|batches|more"
    r"|valid|invalid|duplicates)\b"
)
_NUMBER_LIKE = re.compile(
    rf"(?<!row )(?<!line )(?<!element )\+?\(?(?<!\d)\d(?:[\s().-]?\d){{6,}}(?![\s().-]?\d|\s+{_COUNTED})"
)


def looks_personal(text: str) -> bool:
    """Whether ``text`` holds something that may be an email address or a phone number."""
    return "@" in text or _NUMBER_LIKE.search(text) is not None


def scrub(text: str) -> str:
    """``text`` with every address-like and number-like part masked: for messages that quote input."""
    if "@" in text:
        # A lone '@' is the provider's word for the sign ("around an '@'"), not an address.
        text = _ADDRESS_LIKE.sub(lambda m: m.group() if m.group() == "@" else mask_email(m.group()), text)
    return _NUMBER_LIKE.sub(lambda m: mask_phone(m.group()), text)
