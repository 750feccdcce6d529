"""
Checks of the operators' arguments, shared by every Wooxy operator; each raises :class:`WooxyInputError` with
one clear message.

The ``check_*`` ones are for arguments that are not templated: they run in ``__init__`` (at DAG parse time)
because ``pool_slots`` is derived from ``max_concurrency``, and a wrong value should fail the DAG file, not a run.
:func:`rendered_region` reads a templated value, in ``execute``.
"""

from __future__ import annotations

import warnings

import phonenumbers

from airflow_provider_wooxy.api import MAX_CONCURRENT_REQUESTS, MAX_RECORDS_PER_REQUEST
from airflow_provider_wooxy.exceptions import WooxyInputError


def check_max_concurrency(value: object) -> None:
    """Requests in flight: 1 to 10, Wooxy's limit per account."""
    if not isinstance(value, int) or not 1 <= value <= MAX_CONCURRENT_REQUESTS:
        raise WooxyInputError(
            f"max_concurrency must be between 1 and {MAX_CONCURRENT_REQUESTS} (Wooxy allows at most "
            f"{MAX_CONCURRENT_REQUESTS} requests in flight per account), got {value!r}."
        )


def check_batch_size(value: object) -> None:
    """Records per add request: 1 to 100, Wooxy's limit per request."""
    if not isinstance(value, int) or not 1 <= value <= MAX_RECORDS_PER_REQUEST:
        raise WooxyInputError(
            f"batch_size must be between 1 and {MAX_RECORDS_PER_REQUEST} (Wooxy takes at most "
            f"{MAX_RECORDS_PER_REQUEST} records per request), got {value!r}."
        )


def check_max_invalid(value: object) -> None:
    """How many rejected records a run tolerates: a whole number >= 0, or ``None`` for any number."""
    if value is not None and (not isinstance(value, int) or value < 0):
        raise WooxyInputError(f"max_invalid must be a whole number >= 0 or None, got {value!r}.")


def rendered_lease_seconds(value: object) -> float:
    """``lease_seconds`` as rendered: seconds > 0 (a number, or text holding one)."""
    try:
        seconds = float(value) if isinstance(value, int | float | str) and not isinstance(value, bool) else -1.0
    except ValueError:
        seconds = -1.0
    if not seconds > 0 or seconds == float("inf"):
        raise WooxyInputError(
            f"lease_seconds must be a number of seconds > 0 (how long the state's lease lives without renewal), "
            f"got {value!r}."
        )
    return seconds


def check_field(field: str | None) -> str | None:
    """``field`` as given (``None``: the default), or one clear error for a blank or non-text one."""
    if field is not None and (not isinstance(field, str) or not field.strip()):
        raise WooxyInputError(
            f"field {field!r} names no key or column: give the name of the one holding the address, or leave "
            "field unset for the API's name (email, phoneNumber)."
        )
    return field


def rendered_region(default_region: str | None) -> str | None:
    """``default_region`` as ``phonenumbers`` reads it (upper case, ``None`` when empty), or one clear error."""
    region = (default_region or "").strip().upper() or None
    if region is not None and region not in phonenumbers.SUPPORTED_REGIONS:
        raise WooxyInputError(f"default_region {default_region!r} is not an ISO 3166 country code phonenumbers knows.")
    return region


def output_path_argument(output_path: str | None, path: str | None) -> str:
    """
    The export and look-up operators' ``output_path``, or ``path``, its deprecated name (with a warning); exactly
    one of them.
    """
    if path is not None:
        if output_path is not None:
            raise WooxyInputError("give output_path only: path is its deprecated name.")
        warnings.warn(
            "path= is deprecated for the export and look-up operators (it names their output): use output_path=.",
            DeprecationWarning,
            stacklevel=4,  # the DAG file's line: this function, the operator's __init__, Airflow's apply_defaults
        )
        return path
    if output_path is None:
        raise WooxyInputError("output_path is required: where to write the file.")
    return output_path
