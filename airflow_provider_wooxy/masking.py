"""Masked forms of addresses and phone numbers, for logs, errors and XCom summaries."""

from __future__ import annotations

import re


def mask_email(value: str) -> str:
    """``john.doe@example.com`` -> ``j***@e***.com``."""
    local, _, domain = value.rpartition("@")
    name, dot, tld = domain.rpartition(".")
    masked_domain = f"{name[:1]}***.{tld}" if dot else f"{domain[:1]}***"
    return f"{local[:1]}***@{masked_domain}"


def mask_phone(value: str) -> str:
    """``+14155552671`` -> ``+1*******71``."""
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
# spaces, dots, dashes or brackets, possibly after a '+'): what a message must not quote whole.
_ADDRESS_LIKE = re.compile(r"(?:\"[^\"\n]*\"|[^\s'\",;:()<>\[\]{}]*)@[^\s'\",;:()<>\[\]{}]*")
_NUMBER_LIKE = re.compile(r"\+?\(?\d(?:[\s().-]?\d){6,}")


def looks_personal(text: str) -> bool:
    """Whether ``text`` holds something that may be an email address or a phone number."""
    return "@" in text or _NUMBER_LIKE.search(text) is not None


def scrub(text: str) -> str:
    """``text`` with every address-like and number-like part masked: for messages that quote input."""
    if "@" in text:
        text = _ADDRESS_LIKE.sub(lambda m: mask_email(m.group()), text)
    return _NUMBER_LIKE.sub(lambda m: mask_phone(m.group()), text)
