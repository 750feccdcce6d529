"""
The Wooxy v3 blacklist API's facts, in one place: method paths, limits, reject types, error texts, the header.

The hook, the validation, the engine (``pipeline/``) and the sandbox import them from here; none restates them.
No Airflow import: the sandbox and the engine run without Airflow.
"""

from __future__ import annotations

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

EMAIL_ADD = "blacklist/add"
EMAIL_REMOVE = "blacklist/remove"
EMAIL_FIND = "blacklist/find"
PHONE_ADD = "phone-blacklist/add"
PHONE_REMOVE = "phone-blacklist/remove"
PHONE_FIND = "phone-blacklist/find"

ADD_METHODS = frozenset({EMAIL_ADD, PHONE_ADD})
"""Write methods taking ``{"records": [...]}``, up to :data:`MAX_RECORDS_PER_REQUEST` records."""
REMOVE_METHODS = frozenset({EMAIL_REMOVE, PHONE_REMOVE})
"""Write methods taking one record as the whole body."""
WRITE_METHODS = {"email": (EMAIL_ADD, EMAIL_REMOVE), "phone": (PHONE_ADD, PHONE_REMOVE)}
"""``(add, remove)`` per list."""

EMAIL_REJECT_TYPES = ("hard", "complaint", "list-unsubscribe")
PHONE_REJECT_TYPES = ("import", "invalid", "unsubscribe", "undeliverable")
DEFAULT_PHONE_REJECT_TYPE = "import"
"""What the phone list records for an entry added without a reject type."""

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
