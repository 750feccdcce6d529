"""
The Wooxy v3 blacklist API's facts, in one place: method paths, limits, reject types, error texts, the header.

The hook, the validation, the engine (``pipeline/``) and the sandbox import them from here; none restates them.
No Airflow import: the sandbox and the engine run without Airflow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import idna

DEFAULT_BASE_URL = "https://api.wooxy.com"
PATH_PREFIX = "/v3/"
"""Every method is ``POST {base URL}/v3/{method}`` with a JSON body."""

TOKEN_HEADER = "Access-Token"
"""The request header carrying the API key."""

MAX_RECORDS_PER_REQUEST = 100
"""Records per add request; the remove methods take one record per request."""
MAX_CONCURRENT_REQUESTS = 10
"""Requests in flight per account: a hard, account-wide rule."""
MAX_RAW_LOG_BYTES = 1024
"""The email add method's ``rawLog``, in UTF-8 bytes."""
DEFAULT_FIND_LIMIT = 20
"""The find methods' page size when none is asked for."""
MAX_ANSWER_BYTES = 16 * 1024 * 1024
"""
The largest answer body the hook reads (16 MiB); a longer one is an error, so no server can fill a worker's memory.

The largest answer the provider asks for is a find page: 100 rows by default (the export's and the drift check's
``page_size``, the look-up's 100 entries per number), at most :data:`MAX_PAGE_SIZE` rows of at most
:data:`MAX_FIND_ROW_BYTES` each: 15 MiB, under the cap whatever the rows hold. 10 requests in flight hold at most
160 MiB. Adds and removes answer a few hundred bytes.
"""
MAX_FIND_ROW_BYTES = 10 * 1024
"""
The largest find row, JSON-encoded (10 KiB): a ``rawLog`` of :data:`MAX_RAW_LOG_BYTES` bytes escaped (at most
6 bytes per byte, ``\\u00XX``: 6 KiB), an address of up to 254 characters escaped (at most 12 bytes per character, a
surrogate pair: about 3 KiB), the reject type and the dates.
"""
MAX_PAGE_SIZE = 1_500
"""The largest ``page_size`` an export or a drift check may ask for: :data:`MAX_PAGE_SIZE` rows of
:data:`MAX_FIND_ROW_BYTES` (15 MiB) stay under :data:`MAX_ANSWER_BYTES`."""

EMAIL_ADD = "blacklist/add"
EMAIL_REMOVE = "blacklist/remove"
EMAIL_FIND = "blacklist/find"
PHONE_ADD = "phone-blacklist/add"
PHONE_REMOVE = "phone-blacklist/remove"
PHONE_FIND = "phone-blacklist/find"

EMAIL_REJECT_TYPES = ("hard", "complaint", "list-unsubscribe")
PHONE_REJECT_TYPES = ("import", "invalid", "unsubscribe", "undeliverable")
DEFAULT_PHONE_REJECT_TYPE = "import"
"""What the phone list records for an entry added without a reject type."""


@dataclass(frozen=True)
class WooxyList:
    """
    One Wooxy blacklist as the API defines it: everything the provider needs to know to read or write it. The
    operators, the lineage, the engine and the sandbox read these values; none compares a list's name or a method's
    prefix.
    """

    name: str
    """``email`` or ``phone``: how the provider names the list (state files, datasets, summaries)."""
    key_field: str
    """The record key holding the entry's address: ``email`` or ``phoneNumber``."""
    add: str
    """The add method: ``{"records": [...]}``, up to :data:`MAX_RECORDS_PER_REQUEST` records."""
    remove: str
    """The remove method: one record as the whole body."""
    find: str
    """The find method (paged with ``limit`` / ``offset``)."""
    reject_types: tuple[str, ...]
    """The reject types an entry may have."""
    remove_takes_reject_type: bool
    """Whether remove names the entry's reject type (the email list keeps one entry per type; the phone list one
    entry per number, whatever its type)."""
    has_raw_log: bool
    """Whether an added record may carry a ``rawLog`` (at most :data:`MAX_RAW_LOG_BYTES` bytes)."""

    @property
    def methods(self) -> tuple[str, str, str]:
        """``(add, remove, find)``."""
        return self.add, self.remove, self.find


EMAIL_LIST = WooxyList(
    name="email",
    key_field="email",
    add=EMAIL_ADD,
    remove=EMAIL_REMOVE,
    find=EMAIL_FIND,
    reject_types=EMAIL_REJECT_TYPES,
    remove_takes_reject_type=True,
    has_raw_log=True,
)
PHONE_LIST = WooxyList(
    name="phone",
    key_field="phoneNumber",
    add=PHONE_ADD,
    remove=PHONE_REMOVE,
    find=PHONE_FIND,
    reject_types=PHONE_REJECT_TYPES,
    remove_takes_reject_type=False,
    has_raw_log=False,
)
WOOXY_LISTS = (EMAIL_LIST, PHONE_LIST)

ADD_METHODS = frozenset(wooxy_list.add for wooxy_list in WOOXY_LISTS)
"""Write methods taking ``{"records": [...]}``, up to :data:`MAX_RECORDS_PER_REQUEST` records."""
REMOVE_METHODS = frozenset(wooxy_list.remove for wooxy_list in WOOXY_LISTS)
"""Write methods taking one record as the whole body."""


def list_of_method(method: str) -> WooxyList:
    """The list a method path belongs to (``KeyError`` for a path of no list)."""
    for wooxy_list in WOOXY_LISTS:
        if method in wooxy_list.methods:
            return wooxy_list
    raise KeyError(method)


# -- the email address Wooxy accepts ---------------------------------------------------------------------

# The one definition of an address Wooxy accepts (docs/bad-input.md says why), used by the validation and the
# sandbox (is_valid_email): RFC 5322 addr-spec without comments, folding white space, obsolete forms or a
# quoted-string local part; a dot-atom local part, and a domain of host-name labels (a deliverable one, so at
# least two labels) or an address literal.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LOCAL = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = (
    rf"(?:{_LABEL}(?:\.{_LABEL})*\.(?:[A-Za-z]{{2,63}}|xn--[A-Za-z0-9-]{{1,59}})|\[(?:\d{{1,3}}\.){{3}}\d{{1,3}}\])"
)
EMAIL_PATTERN = re.compile(rf"({_LOCAL})@({_DOMAIN})")
# The normal form most addresses come in, a subset of EMAIL_PATTERN: a dot-atom local part and a lower-case host name.
NORMAL_EMAIL_PATTERN = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*@(?:{_LABEL.replace('A-Za-z', 'a-z')}\.)+[a-z]{{2,63}}")


_CODE_POINT = re.compile(r"U\+[0-9A-F]{4,6}")
_QUOTED_TAIL = re.compile(r"(?:\s+(?:of|in|label|at))*\s*$")


class DomainError(ValueError):
    """A domain that has no IDNA 2008 form; the message names the rule it breaks, never the domain."""


def ascii_domain(domain: str) -> str:
    """
    ``domain`` as it is sent: its IDNA 2008 ASCII form (UTS 46 mapping, non-transitional: ``straße.de`` ->
    ``xn--strae-oqa.de``, not IDNA 2003's ``strasse.de``), lower case. An ``xn--`` label must be a valid A-label.
    Raises :class:`DomainError`.
    """
    try:
        return idna.encode(domain, uts46=True, transitional=False).decode("ascii")
    except UnicodeError as exc:  # idna.IDNAError and its subclasses
        point = _CODE_POINT.search(str(exc))
        # idna's texts quote the label (``... of 'label'``): the rule is kept, the label dropped.
        rule = _QUOTED_TAIL.sub("", str(exc).split("'")[0])
        detail = f"code point {point.group()} is not allowed" if point else rule[:1].lower() + rule[1:]
        raise DomainError(f"the domain is not a valid internationalised domain name (IDNA 2008: {detail})") from None


def is_valid_email(value: object) -> bool:
    """Whether ``value`` is an address as it is sent (normalised): the rule the sandbox applies too."""
    if not isinstance(value, str):
        return False
    match = EMAIL_PATTERN.fullmatch(value)
    if match is None or len(match.group(1)) > 64 or len(value) > 254:
        return False
    domain = match.group(2)
    if "xn--" in domain.lower():  # an A-label must decode (IDNA 2008), or it names no domain
        try:
            ascii_domain(domain)
        except DomainError:
            return False
    return True


# -- error texts (``{...}`` is what the API puts there) -------------------------------------------------------

AUTH_ERRORS = {
    "invalid_token": "Invalid authorization token!",
    "unknown_token": "no matches found for access token {token}",
    "user_disabled": "user {user} not enabled",
    "no_key": "no data found for key {user}",
    "check_failed": "access token check failed for key/secret {user}/{token}",
}
"""The auth and account texts every method may answer, by name (the API echoes the token it was sent)."""
AUTH_ERROR_MARKERS = (
    "invalid authorization token",
    "no matches found for access token",
    "not enabled",
    "no data found for key",
    "access token check failed",
)
"""Lower-cased fragments that identify :data:`AUTH_ERRORS` in an answer: never retried, never bisected."""
INTERNAL_ERROR = "Internal server error"
"""The API's transient failure text (worth a retry)."""
BAD_REQUEST = "Bad Request"
ARGUMENT_REQUIRED = "Argument {argument} required"

TOO_MANY_RECORDS = "Maximum count of records per transaction is {limit}, current {count}"
INVALID_EMAIL = "Invalid RFC2822 email {email}"
EMAIL_REJECT_TYPE_ERROR = "Allowed rejectType is {allowed}, but {reject_type} given"
RAW_LOG_NOT_STRING = "Argument rawLog must be a string"
RAW_LOG_TOO_LONG = "Argument rawLog cannot be longest {limit} bytes"
EMPTY_EMAIL = "Argument email must be a non-empty string"
INVALID_PHONE = "{phone_number} is not a valid E.164 phone number"
PHONE_REJECT_TYPE_ERROR = "Allowed reject types are {allowed}, but {reject_type} given"
