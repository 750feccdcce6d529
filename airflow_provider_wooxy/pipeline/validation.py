"""Validation and normalisation of blacklist records, before anything is sent."""

from __future__ import annotations

import re
from collections.abc import Mapping
from json.encoder import encode_basestring_ascii as _json_string

import phonenumbers
from phonenumbers import NumberParseException, national_significant_number

from airflow_provider_wooxy.api import EMAIL_PATTERN as _EMAIL
from airflow_provider_wooxy.api import (
    EMAIL_REJECT_TYPES,
    MAX_RAW_LOG_BYTES,
    PHONE_REJECT_TYPES,
    DomainError,
    ascii_domain,
)
from airflow_provider_wooxy.api import NORMAL_EMAIL_PATTERN as _NORMAL_EMAIL
from airflow_provider_wooxy.pipeline.phone_validity import COUNTRY_CODES, country_validity

_LETTERS = re.compile(r"[A-Za-z]")
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+")
_MAIN_REGION = {
    code: region
    for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE
    if (region := phonenumbers.region_code_for_country_code(code)) not in ("001", "ZZ")
}


class RecordError(ValueError):
    """One record is unusable; the message says why, for a person to act on."""


Normalised = tuple[str, str]
"""A record ready to send: ``(dedupe key, the API's JSON object as text)``."""


def check_reject_type(value: object, allowed: tuple[str, ...], what: str = "rejectType") -> str:
    if not isinstance(value, str) or value not in allowed:
        raise RecordError(f"{what} {value!r} is not one of {', '.join(allowed)}")
    return value


def utf8(value: str, what: str) -> bytes:
    """``value`` in UTF-8; a lone surrogate, which has no UTF-8 form (neither Wooxy nor a file can take it), is
    the record's :class:`RecordError`."""
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RecordError(
            f"{what} holds U+{ord(value[exc.start]):04X} at character {exc.start + 1}, a lone surrogate that has "
            "no UTF-8 form (text decoded with errors='surrogateescape', or a broken \\u escape)"
        ) from None


def check_raw_log(value: object) -> str:
    if not isinstance(value, str):
        raise RecordError(f"rawLog must be a string, got {type(value).__name__}")
    size = len(utf8(value, "rawLog"))
    if size > MAX_RAW_LOG_BYTES:
        raise RecordError(f"rawLog is {size} bytes in UTF-8; Wooxy accepts at most {MAX_RAW_LOG_BYTES}")
    return value


def normalise_email(value: object) -> str:
    """Return the address trimmed, with its domain lower-cased (IDN domains in their IDNA 2008 ASCII form)."""
    if isinstance(value, str):
        # An address in normal form is its own result: one regex match (no white space to trim, nothing to lower).
        # An A-label (xn--) takes the slow path, which checks it decodes.
        plain = "xn--" not in value and "XN--" not in value
        if plain and _NORMAL_EMAIL.fullmatch(value) is not None and len(value) <= 254 and value.find("@") <= 64:
            return value
        address = value.strip()
        match = _EMAIL.fullmatch(address) if plain else None
        # The common case in one regex: ASCII (the pattern allows nothing else) and well-formed.
        if match is not None and len(match.group(1)) <= 64 and len(address) <= 254:
            domain = match.group(2)
            lowered = domain.lower()
            return address if lowered == domain else f"{match.group(1)}@{lowered}"
    return _explain_email(value)


def _explain_email(value: object) -> str:
    """The slow path: normalise what the fast path could not (IDN domains, upper case), or say what is wrong."""
    if not isinstance(value, str):
        raise RecordError(_not_a_string("email address", value))
    address = value.strip()
    if not address:
        raise RecordError("empty email address")
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise RecordError("not an email address: no local part and domain around an '@'")
    if local.startswith('"'):
        raise RecordError('a quoted local part ("...") is not accepted: Wooxy\'s validator is not known to take one')
    if not local.isascii():
        raise RecordError("non-ASCII characters in the local part (before the '@') are not valid in RFC 2822")
    if not domain.isascii() or "xn--" in domain.lower():
        try:
            domain = ascii_domain(domain)
        except DomainError as exc:
            raise RecordError(str(exc)) from None
    domain = domain.lower()
    if len(local) > 64:
        raise RecordError("the local part (before the '@') is longer than 64 characters")
    address = f"{local}@{domain}"
    if len(address) > 254:
        raise RecordError("the address is longer than 254 characters")
    if not _EMAIL.fullmatch(address):
        raise RecordError("not a valid RFC 2822 email address")
    return address


def normalise_phone(value: object, default_region: str | None) -> str:
    """
    Return the number in E.164, reading national formats with ``default_region``.

    A number given in E.164 is checked against libphonenumber's metadata directly (:func:`_e164`); anything else,
    and any E.164 text the direct check cannot settle, takes one ``phonenumbers.parse``.
    """
    if isinstance(value, str):
        text = value.strip()
        if text[:1] == "+" and _e164(text):
            return text
    return _parsed_phone(value, default_region)


def _e164(text: str) -> bool:
    """
    Whether ``text`` (``+`` and digits) is a valid number that ``phonenumbers.parse`` reads as itself: the slow
    path would return ``text``. False means "not settled here", never "invalid": the caller parses.

    What parse does to such a text: the country code is the prefix of 1 to 3 digits that is one (country codes are
    prefix-free), the rest is the national significant number, unless the region's national prefix for parsing
    matches at its start (then parse may strip or transform it: not settled here). No extension, no letters, and
    leading zeros are kept (``italian_leading_zero``), so the E.164 form of the parsed number is ``text`` again.
    """
    digits = text[1:]
    if not (digits.isdigit() and digits.isascii()):
        return False
    for size in (1, 2, 3):
        code = digits[:size]
        if code in COUNTRY_CODES:
            check = country_validity(code)
            return check is not None and check.e164(digits[size:])
    return False


def _check_phone_text(text: str) -> None:
    """The reasons a number's text is refused before it is parsed."""
    if not text.isascii():
        utf8(text, "phone number")
    # A tel: URI (RFC 3966) is read as its number; phonenumbers parses the URI, parameters included.
    digits = text[4:].partition(";")[0] if text[:4].lower() == "tel:" else text
    if _SCIENTIFIC.fullmatch(digits):
        raise RecordError(
            "phone number is in scientific notation (as Excel shows a long number): its last digits are lost; "
            "re-export the column formatted as text"
        )
    if _LETTERS.search(digits):
        raise RecordError("phone number contains letters (extensions and vanity numbers are not accepted)")


def _parsed_phone(value: object, default_region: str | None) -> str:
    """The slow path: one ``phonenumbers.parse``, and a message for what is not a valid number."""
    if not isinstance(value, str):
        raise RecordError(_not_a_string("phone number", value))
    text = value.strip()
    if not text:
        raise RecordError("empty phone number")
    _check_phone_text(text)
    try:
        number = phonenumbers.parse(text, default_region)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            hint = "" if default_region else "; start it with + and the country code, or set default_region"
            raise RecordError(f"phone number has no valid country code{hint}") from None
        raise RecordError(f"not a phone number ({exc._msg})") from None
    if number.extension:
        raise RecordError("phone number has an extension; blacklists take whole numbers only")
    national = national_significant_number(number)
    country_code = number.country_code or 0
    code = str(country_code)
    check = country_validity(code) if code in COUNTRY_CODES else None
    if not (check.valid(national) if check is not None else phonenumbers.is_valid_number(number)):
        # The number's own country, from its country code: default_region only read national formats.
        region = _MAIN_REGION.get(country_code)
        country = f"+{country_code}, {region}" if region else f"+{country_code}"
        raise RecordError(f"not a valid phone number (country code {country})")
    return f"+{country_code}{national}"


def _not_a_string(what: str, value: object) -> str:
    if value is None:
        return f"{what} is missing (null)"
    if isinstance(value, bool | int | float):
        return f"{what} must be a string, got a number ({type(value).__name__})"
    return f"{what} must be a string, got {type(value).__name__}"


def field_value(item: object, field: str) -> tuple[object, Mapping[str, object]]:
    """Split an input item into (address value, the item's other keys)."""
    if isinstance(item, str):
        return item, {}
    if isinstance(item, Mapping):
        if field not in item:
            found = ", ".join(repr(k) for k in list(item)[:10]) or "none"
            raise RecordError(f"no {field!r} key (keys found: {found}); set field= to the key holding the address")
        return item[field], item
    raise RecordError(f"expected a string or an object with {field!r}, got {type(item).__name__}")


def _optional(item: Mapping[str, object], key: str) -> object:
    """A per-record setting; a blank CSV cell counts as absent."""
    value = item.get(key)
    return None if value is None or (isinstance(value, str) and not value.strip()) else value


class EmailRecords:
    """
    Turns input items into email blacklist records ``{"email", "rejectType", "rawLog"?}``, encoded as JSON.

    Called once per input record, so the common case (a plain address, the operator's defaults) does no more than
    the regex match and two string joins.
    """

    def __init__(
        self,
        *,
        field: str = "email",
        reject_type: str | None = "hard",
        raw_log: str | None = None,
        require_reject_type: bool = True,
        with_raw_log: bool = True,
    ) -> None:
        self.field = field
        self.reject_type = reject_type
        self.raw_log = raw_log if with_raw_log else None
        self.require_reject_type = require_reject_type
        self.with_raw_log = with_raw_log
        self._default_tail = self._tail(reject_type, self.raw_log)
        self._default_key_tail = f"\x00{reject_type or ''}"
        self._no_default_type = reject_type is None and require_reject_type

    @staticmethod
    def _tail(reject_type: str | None, raw_log: str | None) -> str:
        tail = f',"rejectType":"{reject_type}"' if reject_type else ""
        if raw_log is not None:
            tail += ',"rawLog":' + _json_string(raw_log)
        return tail + "}"

    def __call__(self, item: object) -> Normalised:
        if item.__class__ is str:
            if self._no_default_type:
                raise RecordError("no rejectType: set reject_type= or give each record one")
            address = normalise_email(item)
            return address.lower() + self._default_key_tail, '{"email":' + _json_string(address) + self._default_tail
        value, extra = field_value(item, self.field)
        address = normalise_email(value)
        given = _optional(extra, "rejectType") or self.reject_type
        reject_type = None if given is None else check_reject_type(given, EMAIL_REJECT_TYPES)
        if reject_type is None and self.require_reject_type:
            raise RecordError("no rejectType: set reject_type= or give each record one")
        given_log = (_optional(extra, "rawLog") or self.raw_log) if self.with_raw_log else None
        raw_log = None if given_log is None else check_raw_log(given_log)
        key = f"{address.lower()}\x00{reject_type or ''}"
        return key, '{"email":' + _json_string(address) + self._tail(reject_type, raw_log)


class PhoneRecords:
    """Turns input items into phone blacklist records ``{"phoneNumber", "rejectType"?}`` in E.164, as JSON."""

    def __init__(
        self,
        *,
        field: str = "phoneNumber",
        reject_type: str | None = None,
        default_region: str | None = None,
        with_reject_type: bool = True,
    ) -> None:
        self.field = field
        self.reject_type = reject_type if with_reject_type else None
        self.default_region = default_region
        self.with_reject_type = with_reject_type

    def __call__(self, item: object) -> Normalised:
        if item.__class__ is str:
            number = normalise_phone(item, self.default_region)
            reject_type = self.reject_type
        else:
            value, extra = field_value(item, self.field)
            number = normalise_phone(value, self.default_region)
            given = (_optional(extra, "rejectType") or self.reject_type) if self.with_reject_type else None
            reject_type = None if given is None else check_reject_type(given, PHONE_REJECT_TYPES)
        tail = f',"rejectType":"{reject_type}"}}' if reject_type else "}"
        return f"{number}\x00{reject_type or ''}", '{"phoneNumber":"' + number + '"' + tail
